#include "actors/automl/cash_space.hpp"

#include <algorithm>

#include "actors/models/estimator.hpp"
#include "actors/models/model_choice.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

std::vector<std::string> all_families() {
  std::vector<std::string> out{"xgboost"};
  auto known = space_registry::global().families();
  for (auto& name : models::estimator_families())
    if (std::find(known.begin(), known.end(), name) != known.end())
      out.push_back(name);
  return out;
}

caf::expected<std::string> resolve_families(const std::string& text) {
  auto names = models::family_list(text);
  if (names.empty())
    return make_error(errc::invalid_argument, "--families: no family given");
  auto all = all_families();
  auto known_text = [&] {
    std::string out;
    for (auto& n : all)
      out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  std::vector<std::string> out;
  for (auto& n : names) {
    if (n == "all") {
      for (auto& a : all)
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
      continue;
    }
    // alone: the synthetic family, and trials run as parameter-server jobs
    if ((n == "quadratic" || n == "sparse-lr") && names.size() == 1) return n;
    if (n == "sparse-lr")
      return make_error(errc::invalid_argument,
                        "family 'sparse-lr' (trials run as parameter-server "
                        "jobs) is searched alone");
    if (std::find(all.begin(), all.end(), n) == all.end())
      return make_error(errc::invalid_argument,
                        "unknown model family '" + n + "' (known: " +
                            known_text() + ", or all; alone: sparse-lr)");
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  std::string joined;
  for (auto& n : out)
    joined += (joined.empty() ? "" : ",") + n;
  return joined;
}

std::vector<param_spec> pipeline_params() {
  using p = param_spec;
  return {
      p::categorical("fe.impute", {"median", "mean", "most_frequent"}),
      p::categorical("fe.encoding", {"onehot", "ordinal", "target"}),
      p::categorical("fe.scaling", {"standard", "quantile", "minmax", "none"}),
      p::categorical("fe.transform", {"none", "log"}),
      p::integer("fe.crosses", 0, 4),
      p::real("fe.select", 0.3, 1.0),
  };
}

bool takes_pipeline(const std::string& family) {
  auto fam = models::find_estimator_family(family);
  if (!fam) return false;
  return !((*fam)->takes_nan && (*fam)->native_categorical);
}

caf::expected<search_space> family_space(const std::string& family) {
  auto names = models::family_list(family);
  if (names.size() <= 1) {
    auto base = space_registry::global().get(family);
    if (!base || !takes_pipeline(family)) return base;
    auto params = base->params();
    for (auto& p : pipeline_params())
      params.push_back(p);
    return search_space::make(std::move(params));
  }
  std::vector<param_spec> params;
  params.push_back(param_spec::categorical(models::family_key, names));
  std::vector<std::string> piped;
  for (auto& name : names) {
    if (name == "quadratic")
      return make_error(errc::invalid_argument,
                        "the quadratic family cannot be searched with others");
    auto base = space_registry::global().get(name);
    if (!base) return base.error();
    auto prefix = name + models::family_separator;
    for (auto p : base->params()) {
      p.name = prefix + p.name;
      if (p.when)
        p.when->parent = prefix + p.when->parent;
      else
        p.when = param_condition{models::family_key, {name}};
      params.push_back(std::move(p));
    }
    if (takes_pipeline(name)) piped.push_back(name);
  }
  if (!piped.empty())
    for (auto& p : pipeline_params())
      params.push_back(p.only_if(models::family_key, piped));
  return search_space::make(std::move(params));
}

} // namespace troupe::automl
