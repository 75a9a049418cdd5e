#pragma once

// The `FeatureStore` RPC interface (schemas/features.capnp), served by the
// head's gateway as Cluster.service("features").
//
// The server routes each entity to its shard (routing.hpp) with the layout it
// caches from the features service. A small read whose shards run in this
// process is answered from their LMDB environments on the gateway's thread,
// without a message; everything else goes to the shard actors, in parallel.
// Writes are checked against the group before any shard sees them, so an
// error names the row of the caller's batch.

#include "runtime/clock.hpp"
#include "runtime/gateway.hpp"

namespace troupe::features {

/// The gateway service "features"; `clock` decides when a server's cached
/// layout is old enough to be fetched again (after a second).
rpc_service make_rpc_service(clock_ptr clock = real_clock());

} // namespace troupe::features
