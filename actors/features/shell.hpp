#pragma once

// The shell's feature-store commands (`groups`, `group G`, `get G ENTITY
// [AS_OF]`), registered by the family (family.cpp). The shell reaches the
// head's "features" RPC service (a FeatureStore, schemas/features.capnp)
// through the gateway's `service`.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "runtime/shell.hpp"

namespace troupe::features {

/// Renders a FeatureGroupList as the `groups` table: NAME VECTOR (name×width)
/// FIELDS TTL SHARDS CREATED, one row per group, then "N groups". An error if
/// `list` holds no FeatureGroupList.
caf::expected<std::string> format_feature_groups(const envelope& list);

/// Renders a GroupStats as `group G` prints it: the definition as aligned
/// "key  value" lines, the fields (FIELD TYPE NULLABLE), then the shards
/// (SHARD NODE ACTOR STATE ENTITIES VERSIONS BYTES) and their totals.
caf::expected<std::string> format_feature_group(const envelope& stats);

/// Renders a FeatureRow of the FeatureGroup `group` as `get` prints it: the
/// entity, the event time (ISO, UTC), each field as "name = value", and the
/// vector (its first 8 values, "…" and the last 2 when wider than 10) with
/// its width, min, max and mean. A row that was not found renders as
/// "ENTITY: not found in GROUP".
caf::expected<std::string> format_feature_row(const envelope& group,
                                              const envelope& row);

/// The group names of a FeatureGroupList, in its order.
caf::expected<std::vector<std::string>>
feature_group_names(const envelope& list);

/// Parses the AS_OF of `get`: an ISO time in UTC ("2024-03-01",
/// "2024-03-01T12:00", "2024-03-01T12:00:00.25Z", "...+01:00") or an integer
/// of microseconds since the epoch. Returns microseconds since the epoch.
caf::expected<int64_t> parse_as_of(const std::string& text);

/// What the commands ask of the feature store, as envelopes: a
/// FeatureGroupList, a GroupStats, a FeatureRow (the latest version, or the
/// one in force at `as_of` microseconds). The defaults answer that there is
/// no feature store; production calls the "features" RPC service, tests fake
/// it.
class feature_shell_backend {
public:
  virtual ~feature_shell_backend();
  virtual caf::expected<envelope> groups();
  virtual caf::expected<envelope> group(const std::string& name);
  virtual caf::expected<envelope> get(const std::string& group,
                                      const std::string& entity,
                                      std::optional<int64_t> as_of);
};

/// The commands over `backend`; group names complete from the last listing
/// (refreshed after about a second).
std::vector<shell_command>
shell_commands(std::shared_ptr<feature_shell_backend> backend);

/// The family's shell extension: the commands over the head's "features"
/// RPC service (reached through the core backend's client).
shell_extension make_shell_extension();

} // namespace troupe::features
