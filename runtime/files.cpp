#include "runtime/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"

namespace troupe {

caf::error io_error(const std::string& what, const std::filesystem::path& path,
                    int err) {
  return make_error(errc::io_failure, "cannot " + what + " '" + path.string() +
                                          "': " + std::strerror(err));
}

caf::expected<std::string> read_file(const std::filesystem::path& path) {
  // sized by fstat and read in large blocks (an istreambuf_iterator moves
  // a byte at a time); what comes past that size (a file that grew, a
  // pipe) is appended as it comes
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = io_error("read", path);
    ::close(fd);
    return err;
  }
  std::string bytes;
  bytes.resize(S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0);
  size_t have = 0;
  char more[1 << 16];
  for (;;) {
    bool sized = have < bytes.size();
    auto n = sized ? ::read(fd, bytes.data() + have, bytes.size() - have)
                   : ::read(fd, more, sizeof more);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto err = io_error("read", path);
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    if (!sized) {
      bytes.resize(have);
      bytes.append(more, static_cast<size_t>(n));
    }
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(have);
  return bytes;
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

atomic_file::atomic_file(std::filesystem::path target)
    : target_(std::move(target)) {
  std::error_code ec;
  auto st = std::filesystem::status(target_, ec);
  if (!ec && std::filesystem::exists(st) &&
      !std::filesystem::is_regular_file(st)) {
    out_.open(target_, std::ios::binary);
    return;
  }
  temp_ = target_;
  temp_ += ".tmp-" + std::to_string(::getpid());
  out_.open(temp_, std::ios::binary | std::ios::trunc);
}

atomic_file::~atomic_file() {
  if (done_ || temp_.empty()) return;
  out_.close();
  std::error_code ec;
  std::filesystem::remove(temp_, ec);
}

caf::error atomic_file::commit() {
  done_ = true;
  auto written = static_cast<bool>(out_.is_open() && out_.flush());
  out_.close();
  std::error_code ec;
  if (!written || !out_) {
    if (!temp_.empty()) std::filesystem::remove(temp_, ec);
    return io_error("write", target_);
  }
  if (temp_.empty()) return caf::none;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    auto err = io_error("replace", target_);
    std::filesystem::remove(temp_, ec);
    return err;
  }
  return caf::none;
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

caf::error write_json_file(const std::string& path, const nlohmann::json& j) {
  std::error_code ec;
  auto parent = std::filesystem::path{path}.parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    return make_error(errc::io_failure, "cannot create '" + parent.string() +
                                            "': " + ec.message());
  atomic_file out{path};
  out.stream() << j.dump(2) << '\n';
  return out.commit();
}

} // namespace troupe
