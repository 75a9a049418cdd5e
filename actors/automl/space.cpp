// Search spaces: parameters, sampling, checks and the registry of default
// spaces (see space.hpp; space files are read in space_file.cpp).

#include "actors/automl/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "actors/automl/cash_space.hpp"
#include "actors/automl/space_file.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

namespace {

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string q(const std::string& name) {
  return "'" + name + "'";
}

std::string param_prefix(const std::string& name) {
  return "parameter " + q(name) + ": ";
}

/// A problem found while ordering a space, with the parameter to blame.
struct problem {
  std::string param;
  std::string message;
};

/// Orders `ps` parents first (stable otherwise) and fills `parents`; or
/// names the first structural problem.
std::optional<problem>
order_params(std::vector<param_spec>& ps,
             std::vector<std::optional<size_t>>& parents) {
  const auto n = ps.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i)
    if (!index.emplace(ps[i].name, i).second)
      return problem{ps[i].name,
                     "parameter " + q(ps[i].name) + " is declared twice"};
  std::vector<std::optional<size_t>> parent(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ps[i].when) continue;
    auto& cond = *ps[i].when;
    auto it = index.find(cond.parent);
    auto pre = param_prefix(ps[i].name);
    if (it == index.end())
      return problem{ps[i].name, pre + "unknown parent " + q(cond.parent)};
    auto& p = ps[it->second];
    if (p.kind != param_kind::categorical)
      return problem{ps[i].name,
                     pre + "parent " + q(p.name) + " is not categorical"};
    for (auto& v : cond.values)
      if (!p.choice_index(v))
        return problem{ps[i].name,
                       pre + q(v) + " is not a choice of " + q(p.name)};
    parent[i] = it->second;
  }
  // Each parameter has at most one parent: walking up more than n steps
  // means a cycle.
  for (size_t i = 0; i < n; ++i) {
    std::string path = ps[i].name;
    auto cur = parent[i];
    for (size_t steps = 0; cur; ++steps, cur = parent[*cur]) {
      path += " -> " + ps[*cur].name;
      if (*cur == i || steps > n)
        return problem{ps[i].name, param_prefix(ps[i].name) +
                                       "conditions form a cycle (" + path +
                                       ")"};
    }
  }
  // Emit the first parameter whose parent is out, again and again.
  std::vector<size_t> order;
  std::vector<bool> out(n, false);
  while (order.size() < n)
    for (size_t i = 0; i < n; ++i)
      if (!out[i] && (!parent[i] || out[*parent[i]])) {
        out[i] = true;
        order.push_back(i);
        break;
      }
  std::vector<size_t> new_index(n);
  for (size_t k = 0; k < n; ++k)
    new_index[order[k]] = k;
  std::vector<param_spec> sorted;
  sorted.reserve(n);
  parents.assign(n, std::nullopt);
  for (size_t k = 0; k < n; ++k) {
    sorted.push_back(std::move(ps[order[k]]));
    if (auto p = parent[order[k]]) parents[k] = new_index[*p];
  }
  ps = std::move(sorted);
  return std::nullopt;
}

} // namespace

std::string to_string(param_kind kind) {
  switch (kind) {
  case param_kind::real:
    return "float";
  case param_kind::integer:
    return "int";
  case param_kind::categorical:
    return "categorical";
  }
  return "?";
}

param_spec param_spec::real(std::string name, double low, double high,
                            bool log) {
  param_spec s;
  s.name = std::move(name);
  s.kind = param_kind::real;
  s.low = low;
  s.high = high;
  s.log = log;
  return s;
}

param_spec param_spec::integer(std::string name, int64_t low, int64_t high,
                               bool log) {
  auto s = real(std::move(name), static_cast<double>(low),
                static_cast<double>(high), log);
  s.kind = param_kind::integer;
  return s;
}

param_spec param_spec::categorical(std::string name,
                                   std::vector<std::string> choices) {
  param_spec s;
  s.name = std::move(name);
  s.kind = param_kind::categorical;
  s.choices = std::move(choices);
  return s;
}

param_spec param_spec::only_if(std::string parent,
                               std::vector<std::string> values) const {
  auto s = *this;
  s.when = param_condition{std::move(parent), std::move(values)};
  return s;
}

std::optional<size_t>
param_spec::choice_index(const std::string& choice) const {
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == choice) return i;
  return std::nullopt;
}

caf::error validate(const param_spec& s) {
  if (s.name.empty()) return invalid("a parameter has no name");
  auto pre = param_prefix(s.name);
  if (s.kind == param_kind::categorical) {
    if (s.choices.empty()) return invalid(pre + "no choices");
    for (size_t i = 0; i < s.choices.size(); ++i)
      if (s.choice_index(s.choices[i]) != i)
        return invalid(pre + "choice " + q(s.choices[i]) + " is listed twice");
  } else {
    if (!std::isfinite(s.low) || !std::isfinite(s.high))
      return invalid(pre + "bounds must be finite numbers");
    if (s.kind == param_kind::integer)
      for (double b : {s.low, s.high})
        if (b != std::floor(b) || std::fabs(b) > 0x1.0p53)
          return invalid(pre + "integer bounds must be whole numbers, not " +
                         num(b));
    if (s.low >= s.high)
      return invalid(pre + "low (" + num(s.low) + ") must be below high (" +
                     num(s.high) + ")");
    if (s.log && s.low <= 0)
      return invalid(pre + "a log scale needs low > 0, not " + num(s.low));
  }
  if (s.when && s.when->values.empty())
    return invalid(pre + "its condition on " + q(s.when->parent) +
                   " lists no values");
  if (s.when && s.when->parent == s.name)
    return invalid(pre + "it cannot be conditioned on itself");
  return caf::none;
}

param_value sample_value(const param_spec& s, std::mt19937_64& rng) {
  double u = uniform01(rng);
  switch (s.kind) {
  case param_kind::real: {
    double x = s.log ? std::exp(std::log(s.low) +
                                u * (std::log(s.high) - std::log(s.low)))
                     : s.low + u * (s.high - s.low);
    return std::clamp(x, s.low, s.high);
  }
  case param_kind::integer: {
    double x = s.log ? std::round(std::exp(std::log(s.low - 0.5) +
                                           u * (std::log(s.high + 0.5) -
                                                std::log(s.low - 0.5))))
                     : s.low + std::floor(u * (s.high - s.low + 1));
    return static_cast<int64_t>(std::clamp(x, s.low, s.high));
  }
  case param_kind::categorical:
    return s.choices[std::min(s.choices.size() - 1,
                              static_cast<size_t>(u * s.choices.size()))];
  }
  return 0.0;
}

caf::expected<search_space> search_space::make(std::vector<param_spec> ps) {
  for (auto& p : ps)
    if (auto err = validate(p)) return err;
  search_space result;
  if (auto prob = order_params(ps, result.parents_))
    return invalid(std::move(prob->message));
  result.params_ = std::move(ps);
  return result;
}

std::optional<size_t> search_space::index_of(const std::string& name) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return i;
  return std::nullopt;
}

const param_spec* search_space::find(const std::string& name) const {
  auto i = index_of(name);
  return i ? &params_[*i] : nullptr;
}

bool search_space::is_active(size_t i, const config& c) const {
  auto p = parents_[i];
  if (!p) return true;
  auto it = c.find(params_[*p].name);
  if (it == c.end()) return false;
  auto* v = std::get_if<std::string>(&it->second);
  if (!v) return false;
  auto& values = params_[i].when->values;
  return std::find(values.begin(), values.end(), *v) != values.end();
}

config search_space::sample(std::mt19937_64& rng) const {
  config c;
  for (size_t i = 0; i < params_.size(); ++i)
    if (is_active(i, c))
      c.emplace(params_[i].name, sample_value(params_[i], rng));
  return c;
}

caf::error search_space::check(const config& c) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& s = params_[i];
    auto pre = param_prefix(s.name);
    auto it = c.find(s.name);
    bool active = is_active(i, c);
    if (it == c.end()) {
      if (active) return invalid(pre + "missing");
      continue;
    }
    if (!active)
      return invalid(pre + "present although its parent " + q(s.when->parent) +
                     " does not enable it");
    auto& v = it->second;
    switch (s.kind) {
    case param_kind::real: {
      auto* d = std::get_if<double>(&v);
      if (!d) return invalid(pre + "expected a float");
      if (!(*d >= s.low && *d <= s.high))
        return invalid(pre + num(*d) + " is outside [" + num(s.low) + ", " +
                       num(s.high) + "]");
      break;
    }
    case param_kind::integer: {
      auto* x = std::get_if<int64_t>(&v);
      if (!x) return invalid(pre + "expected an integer");
      if (*x < s.low || *x > s.high)
        return invalid(pre + std::to_string(*x) + " is outside [" + num(s.low) +
                       ", " + num(s.high) + "]");
      break;
    }
    case param_kind::categorical: {
      auto* x = std::get_if<std::string>(&v);
      if (!x || !s.choice_index(*x))
        return invalid(pre + q(to_string(v)) + " is not one of its choices");
      break;
    }
    }
  }
  for (auto& [name, _] : c)
    if (!index_of(name)) return invalid("unknown parameter " + q(name));
  return caf::none;
}

std::optional<space_problem> find_space_problem(std::vector<param_spec> ps) {
  std::vector<std::optional<size_t>> parents;
  if (auto prob = order_params(ps, parents))
    return space_problem{std::move(prob->param), std::move(prob->message)};
  return std::nullopt;
}

// -- registry -----------------------------------------------------------------

space_registry::space_registry(space_registry&& other) noexcept {
  std::lock_guard<std::mutex> guard{other.mtx_};
  factories_ = std::move(other.factories_);
}

space_registry space_registry::with_builtins() {
  space_registry r;
  r.add("xgboost", xgboost_space);
  r.add("quadratic", quadratic_space);
  r.add("linear", linear_space);
  r.add("knn", knn_space);
  r.add("rf", rf_space);
  r.add("sparse-lr", sparse_lr_space);
#ifdef TROUPE_WITH_TORCH
  r.add("mlp", mlp_space);
#endif
  return r;
}

space_registry& space_registry::global() {
  static space_registry instance = with_builtins();
  return instance;
}

caf::error space_registry::add(std::string family, factory make_space) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (factories_.count(family))
    return make_error(errc::already_exists,
                      "model family " + q(family) +
                          " already has a default search space");
  factories_.emplace(std::move(family), std::move(make_space));
  return caf::none;
}

caf::expected<search_space>
space_registry::get(const std::string& family) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = factories_.find(family);
  if (it != factories_.end()) return it->second();
  std::string known;
  for (auto& [name, _] : factories_)
    known += (known.empty() ? "" : ", ") + name;
  return make_error(errc::not_found,
                    "no default search space for model family " + q(family) +
                        " (known: " + known + ")");
}

std::vector<std::string> space_registry::families() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> result;
  for (auto& [name, _] : factories_)
    result.push_back(name);
  return result;
}

config search_space::perturb(const config& c, std::mt19937_64& rng,
                             bool keep_categorical) const {
  std::uniform_real_distribution<double> u{0, 1};
  config out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!is_active(i, out)) continue;
    auto& p = params_[i];
    auto it = c.find(p.name);
    if (it == c.end()) { // newly active: drawn
      out[p.name] = sample_value(p, rng);
      continue;
    }
    auto factor = u(rng) < 0.5 ? 0.8 : 1.2;
    switch (p.kind) {
    case param_kind::real: {
      auto v = std::get_if<double>(&it->second) ? std::get<double>(it->second)
                                                : p.low;
      out[p.name] = std::clamp(v * factor, p.low, p.high);
      break;
    }
    case param_kind::integer: {
      auto v = std::get_if<int64_t>(&it->second)
                   ? static_cast<double>(std::get<int64_t>(it->second))
                   : p.low;
      auto moved = std::round(v * factor);
      if (moved == v) moved += factor > 1 ? 1 : -1;
      out[p.name] = static_cast<int64_t>(std::clamp(moved, p.low, p.high));
      break;
    }
    case param_kind::categorical:
      out[p.name] = !keep_categorical && u(rng) < 0.25 ? sample_value(p, rng)
                                                       : it->second;
      break;
    }
  }
  return out;
}

caf::expected<search_space> xgboost_space() {
  using p = param_spec;
  return search_space::make({
      p::real("eta", 1e-3, 0.3, true),
      p::integer("max_depth", 2, 12),
      p::real("min_child_weight", 1e-2, 20, true),
      p::real("subsample", 0.5, 1),
      p::real("colsample_bytree", 0.3, 1),
      p::real("lambda", 1e-3, 10, true),
      p::real("alpha", 1e-3, 10, true),
      p::categorical("booster", {"gbtree", "dart"}),
      p::real("rate_drop", 0, 0.3).only_if("booster", {"dart"}),
      p::real("skip_drop", 0, 0.5).only_if("booster", {"dart"}),
  });
}

caf::expected<search_space> linear_space() {
  using p = param_spec;
  return search_space::make({
      p::real("alpha", 1e-6, 10, true),
      p::real("l1_ratio", 0, 1),
  });
}

caf::expected<search_space> sparse_lr_space() {
  using p = param_spec;
  return search_space::make({
      p::real("alpha", 0.005, 1, true),
      p::real("l1", 1e-3, 10, true),
      p::real("l2", 1e-3, 10, true),
  });
}

caf::expected<search_space> knn_space() {
  using p = param_spec;
  return search_space::make({
      p::integer("n_neighbors", 1, 64, true),
      p::categorical("weights", {"uniform", "distance"}),
      p::categorical("metric", {"manhattan", "euclidean"}),
  });
}

caf::expected<search_space> rf_space() {
  using p = param_spec;
  return search_space::make({
      p::integer("max_depth", 4, 16),
      p::real("min_child_weight", 1e-2, 20, true),
      p::real("subsample", 0.5, 0.95),
      p::real("colsample_bynode", 0.1, 1),
  });
}

caf::expected<search_space> mlp_space() {
  using p = param_spec;
  return search_space::make({
      p::integer("layers", 1, 3),
      p::integer("width", 16, 256, true),
      p::categorical("activation", {"relu", "gelu", "tanh"}),
      p::real("dropout", 0, 0.5),
      p::real("lr", 1e-4, 3e-2, true),
      p::real("weight_decay", 1e-7, 1e-2, true),
      p::integer("batch_size", 32, 512, true),
  });
}

caf::expected<search_space> quadratic_space() {
  return search_space::make(
      {param_spec::real("x", 0, 1), param_spec::real("y", 0, 1)});
}

caf::expected<search_space> load_space(const std::string& family,
                                       const std::string& override_path) {
  auto base = family_space(family);
  if (!base || override_path.empty()) return base;
  return apply_space_file(*base, override_path);
}

} // namespace troupe::automl
