// Row shards of data-parallel workers (row_shard.hpp).
//
// The layout is raw, so that reading is one read straight into the rows'
// vectors and writing one gather-write from the caller's arrays: on this
// kind of VM every first touch of a page costs a fault, and a Cap'n Proto
// message read in place cost three copies (70-80 ms for an 11 MB shard,
// measured in bench_xgb_parallel). The dataset cache already checks the
// file's bytes against their hash on the way.
//
//   bytes 0-7   "TRPSHARD"
//   8-11        layout version (1), little-endian like everything after
//   12-15       columns
//   16-23       rows
//   24-31       zero
//   then rows x columns float32 (row-major, NaN = missing), rows float32

#include "actors/training/row_shard.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::training {

namespace {

constexpr char magic[8] = {'T', 'R', 'P', 'S', 'H', 'A', 'R', 'D'};
constexpr uint32_t layout_version = 1;

struct header {
  char magic[8];
  uint32_t version;
  uint32_t cols;
  uint64_t rows;
  uint64_t zero;
};
static_assert(sizeof(header) == 32, "the row shard header is 32 bytes");

/// The most bytes the values take (rows x columns x 4).
constexpr size_t most_bytes = (size_t{1} << 29) - 1;

caf::error no_shard(const std::string& path, const std::string& why) {
  return make_error(errc::invalid_argument,
                    "'" + path + "' is no row shard (" + why + ")");
}

} // namespace

caf::error write_row_shard(const std::string& path, uint32_t cols,
                           const float* values, const float* labels,
                           size_t rows) {
  auto value_bytes = rows * cols * sizeof(float);
  if (value_bytes > most_bytes)
    return make_error(errc::invalid_argument,
                      "a worker's share of the rows (" + std::to_string(rows) +
                          " x " + std::to_string(cols) +
                          ") passes 512 MiB: use more workers");
  header h{};
  std::memcpy(h.magic, magic, sizeof magic);
  h.version = layout_version;
  h.cols = cols;
  h.rows = rows;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", path);
  iovec parts[3] = {{&h, sizeof h},
                    {const_cast<float*>(values), value_bytes},
                    {const_cast<float*>(labels), rows * sizeof(float)}};
  int at = 0;
  while (at < 3) {
    auto n = ::writev(fd, parts + at, 3 - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto err = io_error("write", path);
      ::close(fd);
      return err;
    }
    // past the parts written whole, into the one written in part
    auto left = static_cast<size_t>(n);
    while (at < 3 && left >= parts[at].iov_len)
      left -= parts[at++].iov_len;
    if (at < 3) {
      parts[at].iov_base = static_cast<char*>(parts[at].iov_base) + left;
      parts[at].iov_len -= left;
    }
  }
  if (::close(fd) != 0) return io_error("write", path);
  return caf::none;
}

caf::expected<row_block> read_row_shard(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path);
  auto fail = [&](caf::error err) -> caf::expected<row_block> {
    ::close(fd);
    return err;
  };
  // reads n bytes at the current offset; false at a short file
  auto read_all = [&](void* to, size_t n) -> caf::expected<bool> {
    auto* c = static_cast<char*>(to);
    while (n > 0) {
      auto k = ::read(fd, c, n);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return io_error("read", path);
      if (k == 0) return false;
      c += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(io_error("read", path));
  if (!S_ISREG(st.st_mode)) return fail(no_shard(path, "not a file"));
  header h{};
  auto got = read_all(&h, sizeof h);
  if (!got) return fail(got.error());
  if (!*got || std::memcmp(h.magic, magic, sizeof magic) != 0)
    return fail(no_shard(path, "no TRPSHARD header"));
  if (h.version != layout_version)
    return fail(no_shard(path, "layout version " + std::to_string(h.version) +
                                   ", this build reads " +
                                   std::to_string(layout_version)));
  // rows x (columns + 1) floats after the header, by division (no product
  // of a bad header's numbers can overflow)
  auto size = static_cast<uint64_t>(st.st_size);
  auto payload = size - sizeof h;
  auto floats = payload / sizeof(float);
  // no columns: labels alone (a pipeline's last stage)
  bool fits = payload % sizeof(float) == 0 &&
              (h.rows == 0 ? floats == 0
                           : floats % h.rows == 0 &&
                                 floats / h.rows == uint64_t{h.cols} + 1);
  if (!fits)
    return fail(no_shard(path, std::to_string(size) + " bytes for " +
                                   std::to_string(h.rows) + " rows of " +
                                   std::to_string(h.cols) + " columns"));
  row_block out;
  out.cols = h.cols;
  out.values.resize(static_cast<size_t>(h.rows) * h.cols);
  out.labels.resize(static_cast<size_t>(h.rows));
  for (auto* v : {&out.values, &out.labels}) {
    got = read_all(v->data(), v->size() * sizeof(float));
    if (!got) return fail(got.error());
    if (!*got) return fail(no_shard(path, "shrank while read"));
  }
  ::close(fd);
  return out;
}

} // namespace troupe::training
