#include "actors/graph/metis.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <metis.h>

#include "runtime/errors.hpp"

namespace troupe::graph {

caf::expected<std::vector<uint32_t>> metis_partition(const csr_graph& g,
                                                     const metis_options& o) {
  if (o.parts == 0 || o.parts > g.nodes)
    return make_error(errc::invalid_argument,
                      "METIS partitioning: " + std::to_string(o.parts) +
                          " partition(s) for " + std::to_string(g.nodes) +
                          " nodes (need 1 to the node count)");
  if (!(o.slack >= 0))
    return make_error(errc::invalid_argument, "METIS partitioning: slack " +
                                                  std::to_string(o.slack) +
                                                  " is negative");
  constexpr auto most =
      static_cast<uint64_t>(std::numeric_limits<idx_t>::max());
  if (g.nodes > most || g.neighbours.size() > most)
    return make_error(errc::invalid_argument,
                      "METIS partitioning: " + std::to_string(g.nodes) +
                          " nodes and " + std::to_string(g.neighbours.size()) +
                          " adjacency entries pass METIS's " +
                          std::to_string(sizeof(idx_t) * 8) +
                          "-bit indices: use the streaming partitioner");
  std::vector<uint32_t> out(g.nodes, 0);
  if (o.parts == 1) return out;
  // METIS wants its own index type, and no self loops (from_edges drops
  // them already)
  std::vector<idx_t> xadj(g.offsets.begin(), g.offsets.end());
  std::vector<idx_t> adjncy(g.neighbours.begin(), g.neighbours.end());
  idx_t n = static_cast<idx_t>(g.nodes), ncon = 1;
  idx_t nparts = static_cast<idx_t>(o.parts), objval = 0;
  std::vector<idx_t> part(g.nodes, 0);
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_OBJTYPE] = METIS_OBJTYPE_CUT;
  options[METIS_OPTION_SEED] = o.seed;
  options[METIS_OPTION_UFACTOR] =
      static_cast<idx_t>(std::max(1.0, std::round(o.slack * 1000)));
  options[METIS_OPTION_NUMBERING] = 0;
  int rc = METIS_PartGraphKway(&n, &ncon, xadj.data(), adjncy.data(), nullptr,
                               nullptr, nullptr, &nparts, nullptr, nullptr,
                               options, &objval, part.data());
  if (rc != METIS_OK)
    return make_error(errc::invalid_argument,
                      std::string{"METIS partitioning failed: "} +
                          (rc == METIS_ERROR_MEMORY  ? "out of memory"
                           : rc == METIS_ERROR_INPUT ? "bad input"
                                                     : "an error") +
                          " (code " + std::to_string(rc) + ")");
  for (uint32_t v = 0; v < g.nodes; ++v)
    out[v] = static_cast<uint32_t>(part[v]);
  return out;
}

} // namespace troupe::graph
