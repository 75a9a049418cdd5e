#pragma once

// The feature store's own failures (category "features"). Generic failures
// keep the runtime's codes (runtime/errors.hpp): an unknown group is
// troupe::errc::not_found, a malformed group or row troupe::errc::
// invalid_argument. Numbers never change once released.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>

#include "runtime/errors.hpp"

namespace troupe::features {

/// Failures of the feature store itself.
enum class errc : uint8_t {
  none = 0,
  /// A shard the request needs is not running (its node left, or it is
  /// being respawned).
  shard_down = 1,
  /// No node has joined yet, so the shards cannot be placed.
  no_nodes = 2,
  /// A shard's LMDB environment failed (open, transaction, put, sync).
  storage_failure = 3,
  /// A validation run could not read a shard's rows.
  scan_failed = 4,
  /// A shard's configuration or its node's data directory is unusable.
  bad_shard_config = 5,
  /// A store configuration (shards=N) is malformed.
  bad_service_config = 6,
};

/// Name of a code ("shard_down").
std::string to_string(errc x);

} // namespace troupe::features

namespace troupe {

template <>
struct error_category_of<features::errc> {
  static constexpr caf::atom_value value = caf::atom("features");
  static std::string name(uint8_t code) {
    return features::to_string(static_cast<features::errc>(code));
  }
};

} // namespace troupe
