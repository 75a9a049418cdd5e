#include "actors/automl/importance.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

double encoded_value(const param_spec& p, const config& c) {
  auto it = c.find(p.name);
  if (it == c.end()) return NAN;
  if (auto* s = std::get_if<std::string>(&it->second)) {
    auto i = p.choice_index(*s);
    return i ? static_cast<double>(*i) : NAN;
  }
  double v = NAN;
  if (auto* d = std::get_if<double>(&it->second)) v = *d;
  if (auto* n = std::get_if<int64_t>(&it->second)) v = static_cast<double>(*n);
  if (p.log) return v > 0 ? std::log10(v) : NAN;
  return v;
}

caf::expected<std::vector<std::pair<std::string, double>>>
param_importances(const search_space& space,
                  const std::vector<trial_record>& trials, uint64_t seed) {
  auto& ps = space.params();
  std::vector<float> x, y;
  for (auto& t : trials) {
    if (t.state != trial_state::complete || !t.value ||
        !std::isfinite(*t.value))
      continue;
    for (auto& p : ps)
      x.push_back(static_cast<float>(encoded_value(p, t.params)));
    y.push_back(static_cast<float>(*t.value));
  }
  auto rows = y.size(), cols = ps.size();
  if (rows < 8 || cols == 0)
    return make_error(errc::invalid_argument,
                      "parameter importances need 8 complete trials; the "
                      "study has " +
                          std::to_string(rows));
  auto d = xgb::dmatrix::dense(x.data(), rows, cols, y);
  if (!d) return d.error();
  auto b = xgb::booster::create(&*d);
  if (!b) return b.error();
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"objective", "reg:squarederror"},
           {"max_depth", "3"},
           {"eta", "0.1"},
           {"subsample", "1"},
           {"nthread", "1"},
           {"seed", std::to_string(seed % 2147483647)},
           {"verbosity", "0"}})
    if (auto r = b->set_param(k, v); !r) return r.error();
  for (int i = 0; i < 100; ++i)
    if (auto r = b->update(*d); !r) return r.error();
  auto mse = [&](const std::vector<float>& xs) -> caf::expected<double> {
    auto m = xgb::dmatrix::dense(xs.data(), rows, cols);
    if (!m) return m.error();
    auto p = b->predict(*m);
    if (!p) return p.error();
    double s = 0;
    for (size_t r = 0; r < rows; ++r)
      s += ((*p)[r] - y[r]) * ((*p)[r] - y[r]);
    return s / static_cast<double>(rows);
  };
  auto base = mse(x);
  if (!base) return base.error();
  std::mt19937_64 gen{seed};
  std::vector<std::pair<std::string, double>> out;
  double total = 0;
  for (size_t k = 0; k < cols; ++k) {
    double grow = 0;
    constexpr int shuffles = 5;
    for (int s = 0; s < shuffles; ++s) {
      std::vector<size_t> order(rows);
      for (size_t r = 0; r < rows; ++r)
        order[r] = r;
      std::shuffle(order.begin(), order.end(), gen);
      auto shuffled = x;
      for (size_t r = 0; r < rows; ++r)
        shuffled[r * cols + k] = x[order[r] * cols + k];
      auto e = mse(shuffled);
      if (!e) return e.error();
      grow += std::max(0.0, *e - *base);
    }
    out.emplace_back(ps[k].name, grow / shuffles);
    total += grow / shuffles;
  }
  for (auto& [name, v] : out)
    v = total > 0 ? v / total : 1.0 / static_cast<double>(cols);
  std::stable_sort(out.begin(), out.end(),
                   [](auto& a, auto& b) { return a.second > b.second; });
  return out;
}

} // namespace troupe::automl
