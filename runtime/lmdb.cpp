#include "runtime/lmdb.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "runtime/errors.hpp"

namespace troupe::lmdb {

namespace {

/// The one place LMDB return codes become errors.
caf::error check(int rc, const char* call, const std::string& path) {
  if (rc == MDB_SUCCESS) return caf::none;
  auto code = rc == MDB_MAP_FULL ? errc::no_capacity : errc::io_failure;
  return make_error(code, std::string{"LMDB "} + call + " on '" + path +
                              "': " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

} // namespace

// -- env ----------------------------------------------------------------------

caf::expected<env> env::open(const std::string& dir, env_options opts) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return make_error(errc::io_failure,
                      "LMDB: cannot create the store directory '" + dir + "'");
  MDB_env* h = nullptr;
  if (auto err = check(mdb_env_create(&h), "mdb_env_create", dir)) return err;
  env out{h, dir};
  if (auto err = check(mdb_env_set_mapsize(h, opts.map_size),
                       "mdb_env_set_mapsize", dir))
    return err;
  if (auto err =
          check(mdb_env_set_maxdbs(h, opts.max_dbs), "mdb_env_set_maxdbs", dir))
    return err;
  unsigned flags = MDB_NOTLS | (opts.no_sync ? MDB_NOSYNC : 0);
  if (auto err =
          check(mdb_env_open(h, dir.c_str(), flags, 0644), "mdb_env_open", dir))
    return err;
  return out;
}

size_t env::prefault(size_t from) const {
  MDB_envinfo info;
  MDB_stat st;
  if (!handle_ || mdb_env_info(handle_, &info) != 0 ||
      mdb_env_stat(handle_, &st) != 0 || !info.me_mapaddr)
    return from;
  size_t end = (info.me_last_pgno + 1) * size_t{st.ms_psize};
  end = std::min(end, info.me_mapsize);
  if (end <= from) return from;
  auto* base = static_cast<char*>(info.me_mapaddr);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t start = from / page * page;
  if (madvise(base + start, end - start, MADV_POPULATE_READ) != 0) {
    // (kernels before 5.14) touch each page instead
    volatile char sink = 0;
    for (size_t at = start; at < end; at += page)
      sink = sink + base[at];
  }
  return end;
}

env::env(env&& other) noexcept
    : handle_(other.handle_), path_(std::move(other.path_)) {
  other.handle_ = nullptr;
}

env& env::operator=(env&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(path_, other.path_);
  return *this;
}

env::~env() {
  if (handle_) mdb_env_close(handle_);
}

caf::expected<void> env::sync(bool force) {
  if (auto err =
          check(mdb_env_sync(handle_, force ? 1 : 0), "mdb_env_sync", path_))
    return err;
  return {};
}

caf::expected<MDB_dbi> env::open_db(const std::string& name, unsigned flags) {
  auto t = txn::begin(*this, false);
  if (!t) return t.error();
  MDB_dbi dbi = 0;
  if (auto err =
          check(mdb_dbi_open(t->get(), name.c_str(), flags | MDB_CREATE, &dbi),
                ("mdb_dbi_open(" + name + ")").c_str(), path_))
    return err;
  if (auto r = t->commit(); !r) return r.error();
  return dbi;
}

// -- txn ----------------------------------------------------------------------

caf::expected<txn> txn::begin(env& e, bool read_only) {
  MDB_txn* h = nullptr;
  if (auto err =
          check(mdb_txn_begin(e.get(), nullptr, read_only ? MDB_RDONLY : 0, &h),
                "mdb_txn_begin", e.path()))
    return err;
  return txn{h, e.path()};
}

txn::txn(txn&& other) noexcept
    : handle_(other.handle_), path_(std::move(other.path_)) {
  other.handle_ = nullptr;
}

txn& txn::operator=(txn&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(path_, other.path_);
  return *this;
}

txn::~txn() {
  abort();
}

caf::expected<void> txn::commit() {
  auto h = handle_;
  handle_ = nullptr;
  if (!h)
    return make_error(errc::invalid_argument,
                      "LMDB commit on '" + path_ + "': transaction ended");
  if (auto err = check(mdb_txn_commit(h), "mdb_txn_commit", path_)) return err;
  return {};
}

void txn::abort() {
  if (handle_) {
    mdb_txn_abort(handle_);
    handle_ = nullptr;
  }
}

caf::expected<void> txn::put(MDB_dbi db, std::string_view key,
                             std::string_view value, unsigned flags) {
  auto k = val(key);
  auto v = val(value);
  if (auto err = check(mdb_put(handle_, db, &k, &v, flags), "mdb_put", path_))
    return err;
  return {};
}

caf::expected<std::optional<std::string_view>> txn::get(MDB_dbi db,
                                                        std::string_view key) {
  auto k = val(key);
  MDB_val v{};
  int rc = mdb_get(handle_, db, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
  if (auto err = check(rc, "mdb_get", path_)) return err;
  return std::optional<std::string_view>{view(v)};
}

caf::expected<bool> txn::del(MDB_dbi db, std::string_view key) {
  auto k = val(key);
  int rc = mdb_del(handle_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (auto err = check(rc, "mdb_del", path_)) return err;
  return true;
}

caf::expected<void>
txn::scan(MDB_dbi db, std::string_view prefix,
          const std::function<bool(std::string_view, std::string_view)>& f) {
  MDB_cursor* cur = nullptr;
  if (auto err =
          check(mdb_cursor_open(handle_, db, &cur), "mdb_cursor_open", path_))
    return err;
  auto k = val(prefix);
  MDB_val v{};
  // LMDB refuses an empty key: an empty prefix starts at the first key.
  int rc =
      mdb_cursor_get(cur, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    auto key = view(k);
    if (key.substr(0, prefix.size()) != prefix || !f(key, view(v))) break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
    return check(rc, "mdb_cursor_get", path_);
  return {};
}

caf::expected<std::optional<std::string>>
txn::last_key(MDB_dbi db, std::string_view prefix) {
  std::optional<std::string> last;
  auto r = scan(db, prefix, [&](std::string_view k, std::string_view) {
    last = std::string{k};
    return true;
  });
  if (!r) return r.error();
  return last;
}

std::string be64(uint64_t x) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(x & 0xff);
    x >>= 8;
  }
  return out;
}

uint64_t from_be64(std::string_view bytes) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i)
    x = (x << 8) | static_cast<unsigned char>(bytes[i]);
  return x;
}

} // namespace troupe::lmdb
