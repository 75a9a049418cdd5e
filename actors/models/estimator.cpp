#include "actors/models/estimator.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/mlp_family.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

estimator::~estimator() = default;

size_t score_width(const estimator_context& ctx) {
  return ctx.task == tabular::task_kind::multiclass ? ctx.classes : 1;
}

namespace {

struct registry {
  std::mutex mtx;
  // node-based: pointers handed out stay valid as families are added
  std::map<std::string, estimator_family> families;
};

/// The built-in families, each defined in its own file.
std::vector<estimator_family> builtin_families() {
  std::vector<estimator_family> out;
  out.push_back(linear_family());
  out.push_back(knn_family());
  out.push_back(rf_family());
#ifdef TROUPE_WITH_TORCH
  out.push_back(mlp_family());
#endif
  return out;
}

registry& the_registry() {
  static registry* r = [] {
    auto* x = new registry;
    for (auto& f : builtin_families()) {
      auto name = f.name;
      x->families.emplace(std::move(name), std::move(f));
    }
    return x;
  }();
  return *r;
}

} // namespace

caf::error register_estimator_family(estimator_family family) {
  auto& r = the_registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (family.name.empty() || !family.make || !family.load)
    return make_error(errc::invalid_argument,
                      "an estimator family needs a name, make and load");
  if (r.families.count(family.name) > 0)
    return make_error(errc::invalid_argument, "the estimator family '" +
                                                  family.name +
                                                  "' is already registered");
  auto name = family.name;
  r.families.emplace(std::move(name), std::move(family));
  return caf::none;
}

caf::expected<const estimator_family*>
find_estimator_family(const std::string& name) {
  auto& r = the_registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (auto i = r.families.find(name); i != r.families.end()) return &i->second;
  std::string known;
  for (auto& [n, f] : r.families)
    known += (known.empty() ? "" : ", ") + n;
  return make_error(
      errc::invalid_argument,
      "unknown model family '" + name +
          "' (estimator families: " + (known.empty() ? "none" : known) + ")");
}

std::vector<std::string> estimator_families() {
  auto& r = the_registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  std::vector<std::string> out;
  for (auto& [n, f] : r.families)
    out.push_back(n);
  return out;
}

uint64_t family_steps(const estimator_family& family, uint64_t resource,
                      uint64_t max_resource) {
  auto top = std::max<uint64_t>(1, family.max_steps);
  if (max_resource == 0) return top;
  auto s = (resource * top + max_resource - 1) / max_resource;
  return std::clamp<uint64_t>(s, 1, top);
}

} // namespace troupe::models
