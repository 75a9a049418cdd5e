// The content-addressed dataset store and chunked downloads
// (dataset_store.hpp).

#include "runtime/dataset_store.hpp"

#include <random>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/content_hash.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/datasets.capnp.h"

namespace troupe {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t least_chunk = uint32_t{4} << 10;
/// Bytes of out-of-order chunks a download keeps to hash as it goes.
constexpr size_t most_pending = size_t{64} << 20;
constexpr uint32_t most_chunk = uint32_t{64} << 20;

std::string short_hash(const std::string& hash) {
  return hash.substr(0, 12);
}

/// "dataset NAME (HASH12)" for messages.
std::string named(const dataset_ref& ref) {
  return "dataset '" + (ref.name.empty() ? std::string{"?"} : ref.name) +
         "' (" + short_hash(ref.hash) + ")";
}

/// Writes all `n` bytes at `offset`.
bool write_at(int fd, const uint8_t* data, size_t n, uint64_t offset) {
  while (n > 0) {
    auto w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return true;
}

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

} // namespace

uint32_t dataset_ref::chunks() const {
  if (size == 0 || chunk_size == 0) return 1;
  return static_cast<uint32_t>((size + chunk_size - 1) / chunk_size);
}

caf::expected<size_t> chunk_length(const dataset_ref& ref, uint32_t index) {
  if (index >= ref.chunks())
    return make_error(errc::invalid_argument,
                      named(ref) + ": chunk " + std::to_string(index) +
                          " is past its " + std::to_string(ref.chunks()));
  uint64_t offset = uint64_t{index} * ref.chunk_size;
  return static_cast<size_t>(std::min<uint64_t>(
      ref.chunk_size, ref.size - std::min(ref.size, offset)));
}

void write_ref(schema::DatasetRef::Builder b, const dataset_ref& ref) {
  b.setHash(ref.hash);
  b.setSize(ref.size);
  b.setName(ref.name);
  b.setChunkSize(ref.chunk_size);
}

dataset_ref read_ref(schema::DatasetRef::Reader r) {
  dataset_ref ref;
  ref.hash = r.getHash();
  ref.size = r.getSize();
  ref.name = r.getName();
  ref.chunk_size = r.getChunkSize();
  return ref;
}

envelope to_envelope(const dataset_ref& ref) {
  return make_envelope<schema::DatasetRef>([&](auto b) { write_ref(b, ref); });
}

caf::error check_ref(const dataset_ref& ref) {
  if (!is_sha256_hex(ref.hash))
    return make_error(errc::invalid_argument,
                      "dataset '" + ref.name + "': hash '" + ref.hash +
                          "' is no SHA-256 (64 lowercase hex digits)");
  if (ref.chunk_size < least_chunk || ref.chunk_size > most_chunk)
    return make_error(errc::invalid_argument,
                      named(ref) + ": chunk size " +
                          std::to_string(ref.chunk_size) +
                          " is outside 4 KiB .. 64 MiB");
  if (ref.size / ref.chunk_size >= UINT32_MAX)
    return make_error(errc::invalid_argument, named(ref) + ": too many chunks");
  return caf::none;
}

caf::expected<dataset_ref> dataset_ref_of(const envelope& env) {
  auto r = env.visit<schema::DatasetRef>([](auto d) { return read_ref(d); });
  if (!r) return r.error();
  if (auto err = check_ref(*r)) return err;
  return r;
}

caf::expected<dataset_ref> describe_file(const fs::path& path,
                                         uint32_t chunk_size) {
  auto d = sha256_file(path);
  if (!d) return d.error();
  dataset_ref ref;
  ref.hash = d->hash;
  ref.size = d->size;
  ref.name = path.filename().string();
  ref.chunk_size = chunk_size;
  return ref;
}

uint64_t chunk_checksum(const void* data, size_t n) {
  auto crc = crc32(0L, Z_NULL, 0);
  auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    auto step = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, p, step);
    p += step;
    n -= step;
  }
  return crc;
}

// --- the store ---

caf::expected<dataset_store> dataset_store::open(fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir / ".part", ec);
  if (ec) return io_error("create the dataset cache", dir, ec.value());
  // a download that never finished starts over
  for (auto& e : fs::directory_iterator(dir / ".part", ec))
    fs::remove(e.path(), ec);
  return dataset_store{std::move(dir)};
}

std::optional<fs::path> dataset_store::find(const std::string& hash) const {
  if (!is_sha256_hex(hash)) return std::nullopt;
  auto p = dir_ / hash;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

caf::expected<dataset_ref> dataset_store::add_file(const fs::path& path,
                                                   uint32_t chunk_size) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return io_error("read", path);
  struct stat sb {};
  if (::fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(in);
    return make_error(errc::invalid_argument,
                      "'" + path.string() + "' is no regular file");
  }
  auto temp = staging() / ("add-" + random_suffix());
  int out =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    auto err = io_error("create", temp);
    ::close(in);
    return err;
  }
  auto fail = [&](caf::error err) -> caf::expected<dataset_ref> {
    ::close(in);
    ::close(out);
    std::error_code ec;
    fs::remove(temp, ec);
    return err;
  };
  sha256 h;
  std::vector<uint8_t> buf(size_t{1} << 20);
  uint64_t size = 0;
  for (;;) {
    auto n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(io_error("read", path));
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    if (!write_at(out, buf.data(), static_cast<size_t>(n), size))
      return fail(io_error("write", temp));
    size += static_cast<uint64_t>(n);
  }
  if (::fsync(out) != 0) return fail(io_error("sync", temp));
  ::close(in);
  ::close(out);
  dataset_ref ref;
  ref.hash = h.hex();
  ref.size = size;
  ref.name = path.filename().string();
  ref.chunk_size = chunk_size;
  std::error_code ec;
  if (find(ref.hash)) {
    fs::remove(temp, ec);
    return ref;
  }
  fs::rename(temp, dir_ / ref.hash, ec);
  if (ec) {
    fs::remove(temp, ec);
    return io_error("store", dir_ / ref.hash, ec.value());
  }
  return ref;
}

caf::expected<dataset_ref> dataset_store::adopt_file(const fs::path& path,
                                                     uint32_t chunk_size) {
  auto ref = describe_file(path, chunk_size);
  if (!ref) return ref.error();
  std::error_code ec;
  if (find(ref->hash)) {
    fs::remove(path, ec);
    return ref;
  }
  fs::rename(path, dir_ / ref->hash, ec);
  if (!ec) return ref;
  // another file system: copy, then remove
  auto copied = add_file(path, chunk_size);
  if (!copied) return copied.error();
  fs::remove(path, ec);
  return copied;
}

bool dataset_store::remove(const std::string& hash) {
  auto p = find(hash);
  if (!p) return false;
  std::error_code ec;
  return fs::remove(*p, ec);
}

caf::expected<std::vector<uint8_t>>
dataset_store::read_chunk(const dataset_ref& ref, uint32_t index) const {
  auto p = find(ref.hash);
  if (!p)
    return make_error(errc::not_found, named(ref) +
                                           " is not held by the cache in '" +
                                           dir_.string() + "'");
  auto len = chunk_length(ref, index);
  if (!len) return len.error();
  auto n = *len;
  uint64_t offset = uint64_t{index} * ref.chunk_size;
  std::vector<uint8_t> out(n);
  int fd = ::open(p->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("read", *p);
  size_t got = 0;
  while (got < n) {
    auto r = ::pread(fd, out.data() + got, n - got,
                     static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      auto err = r < 0 ? io_error("read", *p)
                       : make_error(errc::io_failure, "'" + p->string() +
                                                          "' is shorter than " +
                                                          named(ref) + " says");
      ::close(fd);
      return err;
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return out;
}

dataset_store::usage dataset_store::held() const {
  usage u;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir_, ec)) {
    auto name = e.path().filename().string();
    if (!is_sha256_hex(name) || !e.is_regular_file(ec)) continue;
    ++u.count;
    u.bytes += e.file_size(ec);
  }
  return u;
}

// --- downloads ---

caf::expected<dataset_download>
dataset_download::begin(const dataset_store& store, dataset_ref ref) {
  if (auto err = check_ref(ref)) return err;
  dataset_download d;
  d.store_dir_ = store.dir();
  d.part_ = store.staging() / (ref.hash + "." + random_suffix());
  d.fd_ = ::open(d.part_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (d.fd_ < 0) return io_error("create", d.part_);
  if (::ftruncate(d.fd_, static_cast<off_t>(ref.size)) != 0)
    return io_error("size", d.part_);
  d.have_.assign(ref.chunks(), false);
  d.running_ = std::make_unique<sha256>();
  d.ref_ = std::move(ref);
  return d;
}

dataset_download::dataset_download(dataset_download&& x) noexcept
    : ref_(std::move(x.ref_)), store_dir_(std::move(x.store_dir_)),
      part_(std::move(x.part_)), fd_(x.fd_), have_(std::move(x.have_)),
      received_(x.received_), running_(std::move(x.running_)),
      hashed_(x.hashed_), pending_(std::move(x.pending_)),
      pending_bytes_(x.pending_bytes_), streaming_(x.streaming_) {
  x.fd_ = -1;
  x.part_.clear();
}

dataset_download::~dataset_download() {
  if (fd_ >= 0) ::close(fd_);
  if (!part_.empty()) {
    std::error_code ec;
    fs::remove(part_, ec);
  }
}

caf::error dataset_download::write(uint32_t index, const uint8_t* bytes,
                                   size_t n, uint64_t checksum) {
  auto chunk = [&] {
    return named(ref_) + ": chunk " + std::to_string(index) + " of " +
           std::to_string(ref_.chunks());
  };
  auto len = chunk_length(ref_, index);
  if (!len) return len.error();
  auto want = *len;
  uint64_t offset = uint64_t{index} * ref_.chunk_size;
  if (n != want)
    return make_error(errc::invalid_argument,
                      chunk() + " has " + std::to_string(n) + " bytes, not " +
                          std::to_string(want));
  if (chunk_checksum(bytes, n) != checksum)
    return make_error(errc::malformed_message,
                      chunk() + " is corrupt: its checksum does not match");
  if (have_[index]) return caf::none;
  if (!write_at(fd_, bytes, n, offset)) return io_error("write", part_);
  have_[index] = true;
  ++received_;
  // the whole file's hash as the chunks come, in order
  if (streaming_) {
    if (index == hashed_) {
      running_->update(bytes, n);
      ++hashed_;
      for (auto it = pending_.begin();
           it != pending_.end() && it->first == hashed_;
           it = pending_.erase(it)) {
        running_->update(it->second.data(), it->second.size());
        pending_bytes_ -= it->second.size();
        ++hashed_;
      }
    } else if (pending_bytes_ + n <= most_pending) {
      pending_.emplace(index, std::vector<uint8_t>(bytes, bytes + n));
      pending_bytes_ += n;
    } else {
      streaming_ = false; // commit() reads the file instead
      pending_.clear();
      pending_bytes_ = 0;
    }
  }
  return caf::none;
}

std::vector<uint32_t> dataset_download::missing() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < have_.size(); ++i)
    if (!have_[i]) out.push_back(i);
  return out;
}

caf::expected<fs::path> dataset_download::commit() {
  if (!complete())
    return make_error(errc::invalid_argument,
                      named(ref_) + ": " + std::to_string(missing().size()) +
                          " chunk(s) still missing");
  if (::fsync(fd_) != 0) return io_error("sync", part_);
  ::close(fd_);
  fd_ = -1;
  std::string got;
  if (streaming_ && hashed_ == ref_.chunks()) {
    got = running_->hex();
  } else {
    auto d = sha256_file(part_);
    if (!d) return d.error();
    got = d->hash;
  }
  if (got != ref_.hash) {
    // every chunk passed its checksum, yet the whole differs: the sender's
    // file changed while it was sent, or its ref is wrong
    have_.assign(have_.size(), false);
    received_ = 0;
    return make_error(errc::malformed_message,
                      named(ref_) + ": the received bytes' SHA-256 is " +
                          short_hash(got) + "…, not the one named");
  }
  auto target = store_dir_ / ref_.hash;
  std::error_code ec;
  fs::rename(part_, target, ec);
  if (ec) return io_error("store", target, ec.value());
  part_.clear();
  (void)sync_dir(store_dir_);
  return target;
}

} // namespace troupe
