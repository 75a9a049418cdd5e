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
//   CONFIG GET ...           an empty array (what redis-benchmark asks)
//
// A key whose shard is on another node is fetched from that node's shard
// in one hop (the reply is deferred meanwhile; the connection's later
// replies wait, other connections do not): every node answers every key,
// so any Redis client may connect to any node. Plain C++; the handler runs
// on the server's threads.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "actors/features/group.hpp"
#include "actors/features/resp_server.hpp"
#include "actors/features/store.hpp"

namespace troupe::features {

/// What a remote read hands back: an error, or one row a key.
using remote_rows = std::function<void(
    const caf::error& err,
    const std::vector<const schema::FeatureRow::Reader*>& rows)>;

struct feature_source {
  /// The group named `name` (its fields and shard count); null if unknown.
  std::function<std::shared_ptr<const group_spec>(const std::string& name)>
      group;
  /// Shard `shard` of group `name` when it is on this node, else null.
  std::function<std::shared_ptr<const shard_store>(const std::string& name,
                                                   uint32_t shard)>
      store;
  /// Reads `entities` of group `name` from shard `shard`, which is on
  /// another node, as of `as_of`, and calls `done` once, from any thread:
  /// rows[i] answers entities[i] (null: no version), or an error. Null:
  /// such keys are answered with an error naming the shard.
  std::function<void(const std::string& name, uint32_t shard,
                     std::vector<std::string> entities, int64_t as_of,
                     remote_rows done)>
      remote;
  /// The time (microseconds since the epoch) reads are as of (expiry).
  std::function<int64_t()> now_us;
};

/// The handler of the commands above over `source`.
resp_handler feature_commands(feature_source source);

} // namespace troupe::features
