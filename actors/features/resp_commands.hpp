#pragma once

// The feature store's commands over RESP (resp_server.hpp): what a Redis
// client sends to read features, answered from the shard stores on this
// node, read in place in one LMDB read transaction a command (no actor,
// no copy of the row). Keys are GROUP:ENTITY (the first ':' splits them).
//
//   GET key                  the vector, packed float32 little-endian
//                            ($-1 when the entity has none)
//   MGET key [key ...]       an array of GET's answers
//   HGET key field           a field as text (ints and timestamps in
//                            decimal, floats shortest round-trip; $-1 when
//                            missing)
//   HMGET key field [...]    an array of HGET's answers
//   GETASOF key micros       GET as of a time (microseconds since the epoch)
//   PING [msg]  ECHO msg  QUIT  SELECT 0  INFO  COMMAND [COUNT]
//
// A key whose shard is not on this node is answered with an error naming
// the shard (the redirect to its node comes with the endpoint's cluster
// wiring). Plain C++; the handler runs on the server's threads.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/features/group.hpp"
#include "actors/features/resp_server.hpp"
#include "actors/features/store.hpp"

namespace troupe::features {

struct feature_source {
  /// The group named `name` (its fields and shard count), if known.
  std::function<std::optional<group_spec>(const std::string& name)> group;
  /// Shard `shard` of group `name` when it is on this node, else null.
  std::function<std::shared_ptr<const shard_store>(const std::string& name,
                                                   uint32_t shard)>
      store;
  /// The time (microseconds since the epoch) reads are as of (expiry).
  std::function<int64_t()> now_us;
};

/// The handler of the commands above over `source`.
resp_handler feature_commands(feature_source source);

} // namespace troupe::features
