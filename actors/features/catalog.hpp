#pragma once

// The feature store's catalog on the head: every group's definition and where
// each shard lives, in one LMDB environment (committed with fsync: it is
// small and rarely written). Plain C++.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/features/group.hpp"
#include "runtime/lmdb.hpp"

namespace troupe::features {

/// Every group definition in `db` (name -> FeatureGroup message): the
/// catalog's and each shard's own copy. A damaged entry is an error naming
/// the store and the group.
caf::expected<std::vector<group_spec>> read_groups(lmdb::env& env, MDB_dbi db);

/// Stores (or replaces) a group's definition in `db`, in one transaction.
caf::error write_group(lmdb::env& env, MDB_dbi db, const group_spec& g);

/// Where one shard lives.
struct placement {
  uint32_t index = 0;
  std::string node;
};

class catalog {
public:
  /// Opens (creating) the catalog at `dir`.
  static caf::expected<catalog> open(const std::string& dir);

  /// Every group, by name.
  caf::expected<std::vector<group_spec>> groups();

  /// Stores (or replaces) a group's definition.
  caf::error put_group(const group_spec& g);

  /// The shards' placement; empty before the store was first laid out.
  caf::expected<std::vector<placement>> placements();

  /// Records the shards' placement.
  caf::error set_placements(const std::vector<placement>& ps);

private:
  catalog(lmdb::env env, MDB_dbi groups, MDB_dbi shards)
      : env_(std::move(env)), groups_(groups), shards_(shards) {}
  lmdb::env env_;
  MDB_dbi groups_;
  MDB_dbi shards_;
};

} // namespace troupe::features
