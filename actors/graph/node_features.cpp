#include "actors/graph/node_features.hpp"

#include <cmath>

namespace troupe::graph {

namespace {

/// FNV-1a of three characters.
uint32_t trigram_hash(const char* p) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 3; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 16777619u;
  }
  return h;
}

} // namespace

std::vector<float> name_features(const std::vector<std::string>& names,
                                 const csr_graph& g, uint32_t dims) {
  auto cols = static_cast<size_t>(dims) + 1;
  std::vector<float> out(names.size() * cols, 0.0f);
  for (size_t v = 0; v < names.size(); ++v) {
    auto* row = out.data() + v * cols;
    auto text = "^" + names[v] + "$";
    if (dims > 0 && !names[v].empty()) {
      for (size_t i = 0; i + 3 <= text.size(); ++i)
        row[trigram_hash(text.data() + i) % dims] += 1.0f;
      double norm = 0;
      for (uint32_t d = 0; d < dims; ++d)
        norm += static_cast<double>(row[d]) * row[d];
      auto scale = static_cast<float>(1.0 / std::sqrt(norm));
      for (uint32_t d = 0; d < dims; ++d)
        row[d] *= scale;
    }
    auto degree = v < g.nodes ? g.degree(static_cast<uint32_t>(v)) : 0;
    row[dims] = static_cast<float>(std::log1p(static_cast<double>(degree)));
  }
  return out;
}

} // namespace troupe::graph
