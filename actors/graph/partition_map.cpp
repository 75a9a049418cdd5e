#include "actors/graph/partition_map.hpp"

#include <limits>
#include <string>

#include "runtime/errors.hpp"

namespace troupe::graph {

caf::expected<partition_map>
partition_map::from_counts(const std::vector<uint64_t>& counts) {
  if (counts.empty())
    return make_error(errc::invalid_argument,
                      "a partition map needs at least one partition");
  if (counts.size() >= std::numeric_limits<uint32_t>::max())
    return make_error(errc::invalid_argument,
                      std::to_string(counts.size()) +
                          " partitions (at most 2^32 - 2)");
  partition_map m;
  m.starts_.assign(1, 0);
  m.starts_.reserve(counts.size() + 1);
  constexpr uint64_t most = uint64_t{1} << 63;
  for (size_t p = 0; p < counts.size(); ++p) {
    if (counts[p] > most - m.starts_.back())
      return make_error(errc::invalid_argument,
                        "partition " + std::to_string(p) +
                            "'s nodes take the count past 2^63");
    m.starts_.push_back(m.starts_.back() + counts[p]);
  }
  return m;
}

void partition_map::locate(const uint64_t* ids, size_t n, uint32_t* partitions,
                           uint64_t* locals) const {
  for (size_t i = 0; i < n; ++i) {
    auto p = locate(ids[i]);
    partitions[i] = p.partition;
    locals[i] = p.local;
  }
}

} // namespace troupe::graph
