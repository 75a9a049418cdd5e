#include "actors/graph/halo.hpp"

#include <algorithm>
#include <string>

#include "runtime/errors.hpp"

namespace troupe::graph {

int64_t shard_view::local(uint32_t id) const {
  if (id >= begin && id < end) return id - begin;
  auto it = std::lower_bound(halo.begin(), halo.end(), id);
  if (it == halo.end() || *it != id) return -1;
  return owned() + (it - halo.begin());
}

caf::expected<shard_view> shard_of(const csr_graph& g, const partition_map& map,
                                   uint32_t p) {
  if (map.nodes() != g.nodes)
    return make_error(errc::invalid_argument,
                      "graph shard: the partition map numbers " +
                          std::to_string(map.nodes()) +
                          " nodes, the graph has " + std::to_string(g.nodes));
  if (p >= map.partitions())
    return make_error(errc::invalid_argument,
                      "graph shard: partition " + std::to_string(p) + " of " +
                          std::to_string(map.partitions()));
  shard_view s;
  s.partition = p;
  s.begin = static_cast<uint32_t>(map.start(p));
  s.end = static_cast<uint32_t>(map.start(p + 1));
  // the halo: every neighbour outside [begin, end), sorted, once
  for (uint32_t v = s.begin; v < s.end; ++v)
    for (auto* u = g.begin(v); u != g.end(v); ++u)
      if (*u < s.begin || *u >= s.end) s.halo.push_back(*u);
  std::sort(s.halo.begin(), s.halo.end());
  s.halo.erase(std::unique(s.halo.begin(), s.halo.end()), s.halo.end());
  s.halo.shrink_to_fit();
  s.offsets.reserve(s.owned() + 1);
  s.neighbours.reserve(g.offsets[s.end] - g.offsets[s.begin]);
  for (uint32_t v = s.begin; v < s.end; ++v) {
    for (auto* u = g.begin(v); u != g.end(v); ++u)
      s.neighbours.push_back(static_cast<uint32_t>(s.local(*u)));
    s.offsets.push_back(s.neighbours.size());
  }
  return s;
}

} // namespace troupe::graph
