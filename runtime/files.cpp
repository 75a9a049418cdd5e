#include "runtime/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "runtime/errors.hpp"

namespace troupe {

caf::error io_error(const std::string& what, const std::filesystem::path& path,
                    int err) {
  return make_error(errc::io_failure, "cannot " + what + " '" + path.string() +
                                          "': " + std::strerror(err));
}

caf::error write_synced(const std::filesystem::path& path, const void* data,
                        size_t n) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", path);
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      auto err = io_error("write", path);
      ::close(fd);
      return err;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    auto err = io_error("sync", path);
    ::close(fd);
    return err;
  }
  if (::close(fd) != 0) return io_error("close", path);
  return caf::none;
}

caf::error write_synced(const std::filesystem::path& path,
                        const std::string& text) {
  return write_synced(path, text.data(), text.size());
}

caf::error sync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(),
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir);
  int rc = ::fsync(fd);
  auto err = errno;
  ::close(fd);
  if (rc != 0) return io_error("sync directory", dir, err);
  return caf::none;
}

} // namespace troupe
