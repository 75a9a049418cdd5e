#pragma once

// Neighbour sampling for GraphSAGE-style minibatches: for each node of a
// frontier, k of its neighbours, hop after hop. A node's sample depends
// only on (seed, hop, node) and its neighbour list, never on who samples
// it: so graph shards, each sampling the nodes it owns, give exactly what
// one process sampling the whole graph gives. Plain C++, no CAF actors.

#include <cstdint>
#include <functional>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/partition_map.hpp"

namespace troupe::graph {

/// Up to `k` of the `degree` neighbours `list[0..degree)` of node `node`,
/// uniformly without replacement (all of them, in list order, when degree
/// <= k): a partial Fisher-Yates shuffle of their positions drawing from
/// splitmix64 seeded with (seed, hop, node). Appends to `out`.
void sample_neighbours(const uint32_t* list, uint64_t degree, uint32_t k,
                       uint64_t seed, uint32_t hop, uint32_t node,
                       std::vector<uint32_t>& out);

/// One hop of a sampled neighbourhood: frontier node i's sampled
/// neighbours are neighbours[offsets[i] .. offsets[i + 1]).
struct sampled_hop {
  std::vector<uint32_t> frontier;
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> neighbours;
};

/// A multi-hop neighbourhood of `seeds`: hop h samples fanouts[h]
/// neighbours of every node of its frontier; the first frontier is the
/// seeds, each later one the distinct nodes sampled at the hop before, in
/// order of first appearance.
struct neighbourhood {
  std::vector<sampled_hop> hops;
};

struct sample_options {
  std::vector<uint32_t> fanouts{10, 5};
  uint64_t seed = 0;
};

/// A shard's answer for nodes it owns: their samples at `hop`, appended
/// node by node (the offsets as sampled_hop's). Errors name a node the
/// shard does not own.
caf::expected<sampled_hop> sample_owned(const shard_view& s,
                                        const std::vector<uint32_t>& nodes,
                                        uint32_t k, uint64_t seed,
                                        uint32_t hop);

/// Sampled in one process over the whole graph. Errors name a seed out of
/// range and a fanout of 0.
caf::expected<neighbourhood>
sample_neighbourhood(const csr_graph& g, const std::vector<uint32_t>& seeds,
                     const sample_options& o);

/// Sampled through shards: each hop's frontier is split by owner
/// (map.locate) and `ask(nodes, k, hop)` answers every partition's part at
/// once (nodes[p]: partition p's nodes, empty where it has none; the answer
/// holds one sampled_hop per partition, as a shard's sample_owned gives
/// it), so that the shards sample side by side; the parts are put back in
/// frontier order. The same neighbourhood as sample_neighbourhood on the
/// whole graph.
using shard_ask = std::function<caf::expected<std::vector<sampled_hop>>(
    const std::vector<std::vector<uint32_t>>& nodes, uint32_t k, uint32_t hop)>;

caf::expected<neighbourhood>
sample_through_shards(const partition_map& map,
                      const std::vector<uint32_t>& seeds,
                      const sample_options& o, const shard_ask& ask);

/// A shard_ask that asks each partition in turn: `one(p, nodes, k, hop)`
/// (in-process shards).
shard_ask ask_each(std::function<caf::expected<sampled_hop>(
                       uint32_t partition, const std::vector<uint32_t>& nodes,
                       uint32_t k, uint32_t hop)>
                       one);

/// Renumbers every node of `n` (its frontiers and sampled neighbours) to
/// its row among the distinct nodes, in order of first appearance (the
/// seeds first), and returns those nodes' global IDs by row: the rows of
/// the minibatch's feature table.
std::vector<uint32_t> compact(neighbourhood& n);

} // namespace troupe::graph
