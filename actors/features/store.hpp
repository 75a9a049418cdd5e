#pragma once

// One feature-store shard's storage: an LMDB environment holding, per group,
// every version of every entity's row, keyed so that an as-of read is one
// cursor seek. Plain C++ (no CAF actors); the shard actor owns the writes,
// and read transactions may run on any thread at the same time (MDB_NOTLS).
//
// Layout: database "groups" maps a group name to its FeatureGroup; database
// "g:NAME" maps  [entity length (1 byte)][entity][~time (8 bytes, big
// endian)]  to a FeatureRow message (flat words). Versions of an entity sort
// newest first, so the version in force at T is the first key at or after
// key(entity, T).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/features/group.hpp"
#include "runtime/lmdb.hpp"
#include "runtime/time.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

/// What a shard holds of one group.
struct shard_group_stats {
  uint64_t entities = 0;
  uint64_t versions = 0;
  uint64_t bytes = 0; ///< key and value bytes
};

/// The key of (entity, event time).
std::string version_key(std::string_view entity, int64_t time_us);

/// Reads of one group of one shard in one read transaction, for many
/// entities in a row (the RESP endpoint reads a command's keys through
/// one a shard). Move-only; the transaction ends with it.
class shard_reader {
public:
  shard_reader(shard_reader&&) noexcept;
  shard_reader& operator=(shard_reader&&) noexcept;
  ~shard_reader();

  /// Calls f with `entity`'s version in force at `as_of`, read in place
  /// from LMDB's pages (null when there is none or it expired).
  void read(std::string_view entity, int64_t as_of,
            const std::function<void(const schema::FeatureRow::Reader*)>& f);

  struct impl;

private:
  friend class shard_store;
  explicit shard_reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

class shard_store {
public:
  /// Opens (creating) the shard at `dir`.
  static caf::expected<std::shared_ptr<shard_store>>
  open(const std::string& dir, uint32_t index);

  uint32_t index() const { return index_; }
  const std::string& path() const { return env_.path(); }

  /// Registers a group (its database); the same definition again is a
  /// no-op, a different one under the same name an error.
  caf::error add_group(const group_spec& g);

  /// The group named `name`, if registered here.
  std::optional<group_spec> group(const std::string& name) const;

  /// Every group registered here.
  std::vector<group_spec> groups() const;

  /// Writes `rows` (indices into batch.getRows(); all when empty) of a batch
  /// in one transaction: all or nothing. Upserts fill a row's missing fields
  /// and empty vector from the version in force at its time. Returns the rows
  /// written.
  caf::expected<uint64_t> write(schema::FeatureWrite::Reader batch,
                                const std::vector<uint32_t>& rows,
                                int64_t now_us);

  /// Reads, in one read transaction, the version of each key in force at its
  /// asOf: for each i in `indices`, keys[i] into out[i] (found = false when
  /// there is none or it expired). `out` has as many rows as `keys`.
  caf::error read(const std::string& group,
                  capnp::List<schema::LookupKey>::Reader keys,
                  const std::vector<uint32_t>& indices,
                  capnp::List<schema::FeatureRow>::Builder out,
                  int64_t now_us) const;

  /// Reads one entity as of `as_of` into `out`.
  caf::error read_one(const std::string& group, std::string_view entity,
                      int64_t as_of, schema::FeatureRow::Builder out,
                      int64_t now_us) const;

  /// A reader of `group` (errors: no such group here, LMDB failures);
  /// versions older than the group's TTL before `now_us` count as gone.
  caf::expected<shard_reader> reader(const std::string& group,
                                     int64_t now_us) const;

  /// Counts what the shard holds of `group`.
  caf::expected<shard_group_stats> stats(const std::string& group) const;

  /// Calls f with the latest live version of each entity of `group` whose
  /// key sorts after `after` (all when empty), at most `limit` of them.
  /// Returns the last entity visited ("" when the scan reached the end).
  caf::expected<std::string>
  scan_latest(const std::string& group, const std::string& after, size_t limit,
              const std::function<void(schema::FeatureRow::Reader)>& f,
              int64_t now_us) const;

  /// Deletes the versions that expired (event time before now - ttl) in
  /// groups with a TTL. Returns how many were deleted.
  caf::expected<uint64_t> sweep(int64_t now_us);

  /// Forces committed writes to disk (the store commits without fsync).
  caf::error sync();

  /// Maps the pages written since the last call into this process's page
  /// tables (lmdb::env::prefault): the RESP endpoint's reads then take no
  /// page fault, as a server holding its data in its own memory does not.
  /// Any thread; calls do not overlap.
  void prefault() const;

private:
  shard_store(lmdb::env env, MDB_dbi groups_db, uint32_t index);

  struct group_entry {
    group_spec spec;
    MDB_dbi db = 0;
  };

  /// The entry of `name`, or an error naming the group.
  caf::expected<group_entry> entry(const std::string& name) const;

  /// Runs f(entry, txn, cursor) in a read transaction with a cursor on the
  /// group's database; returns f's error (store.cpp only).
  template <class F>
  caf::error in_read(const std::string& group, F&& f) const;

  lmdb::env env_;
  mutable std::mutex prefault_mtx_;
  mutable size_t prefaulted_ = 0; ///< bytes of the file mapped so far
  MDB_dbi groups_db_;
  uint32_t index_;
  mutable std::shared_mutex mtx_; ///< guards groups_
  std::map<std::string, group_entry> groups_;
};

} // namespace troupe::features
