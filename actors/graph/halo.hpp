#pragma once

// One partition's share of a renumbered graph (partition.hpp's renumber and
// relabel): the nodes it owns, a contiguous range of IDs, their adjacency,
// and its halo, the nodes of other partitions that its nodes link to. It is
// what a graph shard holds: a sampler walks the owned nodes' neighbours
// locally and asks the halo nodes' owners (partition_map::locate) for the
// rest. Plain C++, no CAF actors.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/partition_map.hpp"

namespace troupe::graph {

struct shard_view {
  uint32_t partition = 0;
  /// The owned global IDs: [begin, end).
  uint32_t begin = 0, end = 0;
  /// Nodes of other partitions adjacent to an owned node, by global ID,
  /// ascending, each once.
  std::vector<uint32_t> halo;
  /// Owned node begin + i's neighbours, as local IDs, are
  /// neighbours[offsets[i] .. offsets[i + 1]): an owned node v is v - begin,
  /// halo[j] is owned() + j.
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> neighbours;

  uint32_t owned() const { return end - begin; }
  /// Global ID of local ID `local` (< owned() + halo.size()).
  uint32_t global(uint32_t local) const {
    return local < owned() ? begin + local : halo[local - owned()];
  }
  /// Local ID of global ID `id`, or -1 when it is neither owned nor in the
  /// halo.
  int64_t local(uint32_t id) const;
  size_t bytes() const {
    return halo.capacity() * sizeof(uint32_t) +
           offsets.capacity() * sizeof(uint64_t) +
           neighbours.capacity() * sizeof(uint32_t);
  }
};

/// Partition `p`'s shard of `g`, whose nodes are numbered as `map` says
/// (each partition a contiguous range). Errors: `p` out of range, a map
/// of another node count than the graph's.
caf::expected<shard_view> shard_of(const csr_graph& g, const partition_map& map,
                                   uint32_t p);

} // namespace troupe::graph
