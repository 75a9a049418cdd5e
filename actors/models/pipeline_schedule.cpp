#include "actors/models/pipeline_schedule.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace troupe::models {

std::string to_string(pipeline_schedule s) {
  return s == pipeline_schedule::gpipe ? "gpipe" : "1f1b";
}

bool parse_schedule(const std::string& text, pipeline_schedule& out) {
  if (text == "gpipe") {
    out = pipeline_schedule::gpipe;
    return true;
  }
  if (text == "1f1b") {
    out = pipeline_schedule::one_f_one_b;
    return true;
  }
  return false;
}

std::vector<pipeline_op> stage_plan(pipeline_schedule s, uint32_t stage,
                                    uint32_t stages, uint32_t micro) {
  std::vector<pipeline_op> plan;
  plan.reserve(2 * static_cast<size_t>(micro));
  if (s == pipeline_schedule::gpipe) {
    for (uint32_t m = 0; m < micro; ++m)
      plan.push_back({true, m});
    for (uint32_t m = 0; m < micro; ++m)
      plan.push_back({false, m});
    return plan;
  }
  // 1F1B: fill, then one forward and one backward, then drain
  auto warmup = std::min(stages > stage ? stages - stage - 1 : 0, micro);
  for (uint32_t m = 0; m < warmup; ++m)
    plan.push_back({true, m});
  uint32_t backward = 0;
  for (uint32_t m = warmup; m < micro; ++m) {
    plan.push_back({true, m});
    plan.push_back({false, backward++});
  }
  while (backward < micro)
    plan.push_back({false, backward++});
  return plan;
}

uint32_t most_in_flight(const std::vector<pipeline_op>& plan) {
  uint32_t now = 0, most = 0;
  for (auto& op : plan) {
    if (op.forward)
      most = std::max(most, ++now);
    else if (now > 0)
      --now;
  }
  return most;
}

double bubble_bound(uint32_t stages, uint32_t micro) {
  if (stages == 0 || micro == 0) return 0;
  return static_cast<double>(stages - 1) /
         static_cast<double>(micro + stages - 1);
}

std::vector<size_t> balance_stages(const std::vector<double>& costs,
                                   size_t stages) {
  auto n = costs.size();
  if (stages < 1 || stages > n)
    throw std::invalid_argument("cannot cut " + std::to_string(n) +
                                " layers into " + std::to_string(stages) +
                                " stages");
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  constexpr auto inf = std::numeric_limits<double>::infinity();
  // best[j][i]: the least largest stage cutting the first i layers into j
  // stages; cut[j][i] where the last of them starts
  std::vector<std::vector<double>> best(stages + 1,
                                        std::vector<double>(n + 1, inf));
  std::vector<std::vector<size_t>> cut(stages + 1,
                                       std::vector<size_t>(n + 1, 0));
  best[0][0] = 0;
  for (size_t j = 1; j <= stages; ++j)
    for (size_t i = j; i <= n - (stages - j); ++i)
      for (size_t p = j - 1; p < i; ++p) {
        auto v = std::max(best[j - 1][p], prefix[i] - prefix[p]);
        if (v < best[j][i]) {
          best[j][i] = v;
          cut[j][i] = p;
        }
      }
  std::vector<size_t> starts(stages);
  size_t i = n;
  for (size_t j = stages; j >= 1; --j) {
    starts[j - 1] = cut[j][i];
    i = cut[j][i];
  }
  return starts;
}

} // namespace troupe::models
