#pragma once

// Node features for learning on a labelled graph whose nodes have names
// (Debian's packages): each name's character trigrams, hashed into `dims`
// buckets and counted, the row scaled to unit length, then the node's
// log(1 + degree). Names carry much of a package's kind ("python3-",
// "lib", "-dev", "fonts-"); the degree says how linked it is. Plain C++.

#include <cstdint>
#include <string>
#include <vector>

#include "actors/graph/csr.hpp"

namespace troupe::graph {

/// Row-major [names.size(), dims + 1] floats: the hashed trigrams of "^" +
/// name + "$" (unit length; an empty name gives zeros) and log(1 +
/// degree) from `g` (whose node v is names[v]).
std::vector<float> name_features(const std::vector<std::string>& names,
                                 const csr_graph& g, uint32_t dims);

} // namespace troupe::graph
