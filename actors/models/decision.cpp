#include "actors/models/servable.hpp"

#include "actors/models/servable_detail.hpp"

// A row's decision (label, confidence, value) from its scores.

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

using detail::nan_f;

std::vector<decision> decide(task_kind task, size_t outputs,
                             const float* scores, size_t rows) {
  std::vector<decision> out(rows);
  for (size_t r = 0; r < rows; ++r) {
    auto* s = scores + r * outputs;
    auto& d = out[r];
    switch (task) {
    case task_kind::binary:
      d.value = s[0];
      d.label = s[0] >= 0.5f ? 1 : 0;
      d.confidence = std::max(s[0], 1 - s[0]);
      break;
    case task_kind::multiclass: {
      size_t best = 0;
      for (size_t c = 1; c < outputs; ++c)
        if (s[c] > s[best]) best = c;
      d.label = static_cast<int32_t>(best);
      d.value = d.confidence = s[best];
      break;
    }
    case task_kind::regression:
      d.label = -1;
      d.value = s[0];
      d.confidence = nan_f;
      break;
    }
  }
  return out;
}

} // namespace troupe::models
