#pragma once

// A graph shard actor (the kind "graph.shard"): one partition of a
// renumbered graph (shard_file.hpp), placed on a node, serving the
// neighbour samples and node features of the nodes it owns. Samplers
// (shard_client.hpp) split each hop's frontier by owner through the O(P)
// partition_map and ask every shard at once; a node's sample depends only
// on (seed, hop, node), so the shards together answer what one process
// sampling the whole graph would.

#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::graph {

inline constexpr const char* graph_shard_kind = "graph.shard";

using graph_load_atom = caf::atom_constant<caf::atom("gload")>;
using graph_sample_atom = caf::atom_constant<caf::atom("gsample")>;
using graph_features_atom = caf::atom_constant<caf::atom("gfeatures")>;

using graph_shard_actor = caf::typed_actor<
    /// (graph_load_atom, path) -> GraphShardInfo: loads the shard file at
    /// `path` on this node (replacing what it held). Errors: the file's,
    /// named.
    caf::replies_to<graph_load_atom, std::string>::with<envelope>,
    /// (graph_load_atom, DatasetRef, source) -> GraphShardInfo: the same
    /// with the file fetched into this node's dataset cache from the cache
    /// `source` first (a cluster without a shared file system).
    caf::replies_to<graph_load_atom, envelope, caf::actor>::with<envelope>,
    /// (graph_sample_atom, GraphSampleRequest) -> GraphSampledHop. Errors:
    /// nothing loaded, a node it does not own (named).
    caf::replies_to<graph_sample_atom, envelope>::with<envelope>,
    /// (graph_features_atom, GraphNodes) -> GraphNodeFeatures. Errors as
    /// for samples.
    caf::replies_to<graph_features_atom,
                    envelope>::with<envelope>>::extend_with<stats_actor>;

/// Registers graph.shard and the graph schemas.
void register_graph_kinds(caf::actor_system_config& cfg);

} // namespace troupe::graph
