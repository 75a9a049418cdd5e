#pragma once

// LMDB wrapped once: move-only environment, transaction and cursor classes;
// every return code goes through one check that turns mdb_strerror() into a
// troupe error naming the call and the store. Environments are opened with
// MDB_NOTLS so a transaction may begin and end inside one actor handler on
// any scheduler thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <lmdb.h>

namespace troupe::lmdb {

/// Options of an environment.
struct env_options {
  /// Largest size the store may grow to (address space, not disk).
  size_t map_size = size_t{1} << 34; // 16 GiB
  /// Named databases it may hold.
  unsigned max_dbs = 16;
  /// Skip the fsync at commit (faster; a crash may lose the last commits
  /// but never corrupts the store).
  bool no_sync = false;
};

class txn;

/// One LMDB environment: a directory holding data.mdb and lock.mdb.
class env {
public:
  /// Opens (creating the directory if needed) the store at `dir`.
  static caf::expected<env> open(const std::string& dir, env_options opts = {});

  env(env&& other) noexcept;
  env& operator=(env&& other) noexcept;
  env(const env&) = delete;
  env& operator=(const env&) = delete;
  ~env();

  MDB_env* get() const { return handle_; }
  const std::string& path() const { return path_; }

  /// Flushes buffers to disk (for no_sync stores).
  caf::expected<void> sync(bool force = true);

  /// Maps the data file's pages from byte `from` to its current end into
  /// this process's page tables (MADV_POPULATE_READ; a read of each page
  /// where the kernel lacks it), so that readers take no page fault on a
  /// page's first touch. Returns the end reached: pass it back next time
  /// (a file page once mapped stays mapped while LMDB rewrites it).
  size_t prefault(size_t from) const;

  /// Opens (creating) the named database; call once after open.
  caf::expected<MDB_dbi> open_db(const std::string& name, unsigned flags = 0);

private:
  env(MDB_env* h, std::string path) : handle_(h), path_(std::move(path)) {}
  MDB_env* handle_ = nullptr;
  std::string path_;
};

/// A transaction; aborted on destruction unless committed.
class txn {
public:
  static caf::expected<txn> begin(env& e, bool read_only);

  txn(txn&& other) noexcept;
  txn& operator=(txn&& other) noexcept;
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  ~txn();

  caf::expected<void> commit();
  void abort();

  /// Stores value under key (replacing).
  caf::expected<void> put(MDB_dbi db, std::string_view key,
                          std::string_view value, unsigned flags = 0);

  /// The value under key, or nullopt. The view lives until the transaction
  /// ends.
  caf::expected<std::optional<std::string_view>> get(MDB_dbi db,
                                                     std::string_view key);

  /// Deletes key; false if it was absent.
  caf::expected<bool> del(MDB_dbi db, std::string_view key);

  /// Calls f(key, value) for every key starting with `prefix`, in order,
  /// until f returns false.
  caf::expected<void>
  scan(MDB_dbi db, std::string_view prefix,
       const std::function<bool(std::string_view, std::string_view)>& f);

  /// The last key starting with `prefix`, if any.
  caf::expected<std::optional<std::string>> last_key(MDB_dbi db,
                                                     std::string_view prefix);

  MDB_txn* get() const { return handle_; }

private:
  txn(MDB_txn* h, std::string path) : handle_(h), path_(std::move(path)) {}
  MDB_txn* handle_ = nullptr;
  std::string path_;
};

/// Big-endian bytes of x: keys that sort numerically.
std::string be64(uint64_t x);

/// Reads be64 bytes back.
uint64_t from_be64(std::string_view bytes);

} // namespace troupe::lmdb
