#include "actors/automl/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

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

// -- space files --------------------------------------------------------------

namespace {

/// A value read from a space file, before its meaning is known.
struct raw_value {
  enum kind_t { number, boolean, text, text_list, other } kind = other;
  double x = 0;
  bool flag = false;
  std::vector<std::string> texts; // one for `text`
  size_t line = 0;
};

struct raw_param {
  std::string name;
  size_t line = 0;
  std::vector<std::pair<std::string, raw_value>> fields;
};

/// A space file: parameters in file order, and names to remove.
struct raw_file {
  std::vector<raw_param> params;
  std::vector<std::pair<std::string, size_t>> remove;
};

std::string where(const std::string& origin, size_t line) {
  return line > 0 ? origin + ":" + std::to_string(line) + ": " : origin + ": ";
}

/// Turns a raw parameter into a validated spec.
caf::expected<param_spec> build_spec(const raw_param& rp,
                                     const std::string& origin) {
  auto fail = [&](size_t line, const std::string& msg) {
    return invalid(where(origin, line ? line : rp.line) +
                   param_prefix(rp.name) + msg);
  };
  const raw_value* type = nullptr;
  for (auto& [k, v] : rp.fields)
    if (k == "type") type = &v;
  if (!type || type->kind != raw_value::text)
    return fail(0, "needs a 'type': \"float\", \"int\" or \"categorical\"");
  param_spec s;
  s.name = rp.name;
  auto& t = type->texts[0];
  if (t == "float")
    s.kind = param_kind::real;
  else if (t == "int")
    s.kind = param_kind::integer;
  else if (t == "categorical")
    s.kind = param_kind::categorical;
  else
    return fail(type->line, "unknown type " + q(t) +
                                " (expected float, int or categorical)");
  bool numeric = s.kind != param_kind::categorical;
  bool has_low = false, has_high = false, has_choices = false;
  const raw_value* when = nullptr;
  std::string parent;
  for (auto& [k, v] : rp.fields) {
    if (k == "type") continue;
    if (numeric && (k == "low" || k == "high")) {
      if (v.kind != raw_value::number)
        return fail(v.line, q(k) + " must be a number");
      (k == "low" ? s.low : s.high) = v.x;
      (k == "low" ? has_low : has_high) = true;
    } else if (numeric && k == "log") {
      if (v.kind != raw_value::boolean)
        return fail(v.line, "'log' must be true or false");
      s.log = v.flag;
    } else if (!numeric && k == "choices") {
      if (v.kind != raw_value::text_list)
        return fail(v.line, "'choices' must be a list of strings");
      s.choices = v.texts;
      has_choices = true;
    } else if (k == "parent") {
      if (v.kind != raw_value::text)
        return fail(v.line, "'parent' must be a string");
      parent = v.texts[0];
    } else if (k == "when") {
      if (v.kind != raw_value::text && v.kind != raw_value::text_list)
        return fail(v.line, "'when' must be a string or a list of strings");
      when = &v;
    } else {
      return fail(v.line, "unknown key " + q(k) + " for a " + t + " parameter");
    }
  }
  if (numeric && (!has_low || !has_high))
    return fail(0, "needs 'low' and 'high'");
  if (!numeric && !has_choices) return fail(0, "needs 'choices'");
  if (!parent.empty() != (when != nullptr))
    return fail(0, "'parent' and 'when' go together");
  if (when) s.when = param_condition{parent, when->texts};
  if (auto err = validate(s))
    return invalid(where(origin, rp.line) + describe(err));
  return s;
}

/// Merges a raw file into `base`.
caf::expected<search_space> merge(const search_space& base,
                                  const raw_file& file,
                                  const std::string& origin) {
  auto params = base.params();
  std::map<std::string, size_t> lines;
  for (auto& rp : file.params)
    lines[rp.name] = rp.line;
  for (auto& [name, line] : file.remove) {
    if (lines.count(name))
      return invalid(where(origin, line) + "parameter " + q(name) +
                     " is both removed and defined");
    auto it = std::find_if(params.begin(), params.end(),
                           [&](auto& p) { return p.name == name; });
    if (it == params.end())
      return invalid(where(origin, line) + "remove: " + q(name) +
                     " is not a parameter of the space");
    params.erase(it);
  }
  for (auto& rp : file.params) {
    auto spec = build_spec(rp, origin);
    if (!spec) return std::move(spec.error());
    auto it = std::find_if(params.begin(), params.end(),
                           [&](auto& p) { return p.name == rp.name; });
    if (it != params.end())
      *it = std::move(*spec);
    else
      params.push_back(std::move(*spec));
  }
  std::vector<std::optional<size_t>> parents;
  if (auto prob = order_params(params, parents)) {
    auto it = lines.find(prob->param);
    return invalid(where(origin, it == lines.end() ? 0 : it->second) +
                   prob->message);
  }
  return search_space::make(std::move(params));
}

raw_value from_json(const nlohmann::ordered_json& j) {
  raw_value v;
  if (j.is_number()) {
    v.kind = raw_value::number;
    v.x = j.get<double>();
  } else if (j.is_boolean()) {
    v.kind = raw_value::boolean;
    v.flag = j.get<bool>();
  } else if (j.is_string()) {
    v.kind = raw_value::text;
    v.texts.push_back(j.get<std::string>());
  } else if (j.is_array() && std::all_of(j.begin(), j.end(), [](auto& e) {
               return e.is_string();
             })) {
    v.kind = raw_value::text_list;
    for (auto& e : j)
      v.texts.push_back(e.template get<std::string>());
  }
  return v;
}

caf::expected<raw_file> read_json(const std::string& text,
                                  const std::string& origin) {
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into a line for the message.
    auto upto = text.substr(0, std::min<size_t>(e.byte, text.size()));
    auto line = 1 + std::count(upto.begin(), upto.end(), '\n');
    return invalid(where(origin, line) + "invalid JSON: " + e.what());
  }
  if (!doc.is_object())
    return invalid(where(origin, 0) + "expected a JSON object at the top");
  raw_file file;
  for (auto& [key, val] : doc.items()) {
    if (key == "params") {
      if (!val.is_object())
        return invalid(where(origin, 0) + "'params' must be an object");
      for (auto& [name, body] : val.items()) {
        if (!body.is_object())
          return invalid(where(origin, 0) + param_prefix(name) +
                         "expected an object");
        raw_param rp{name, 0, {}};
        for (auto& [k, v] : body.items())
          rp.fields.emplace_back(k, from_json(v));
        file.params.push_back(std::move(rp));
      }
    } else if (key == "remove") {
      auto v = from_json(val);
      if (v.kind != raw_value::text_list)
        return invalid(where(origin, 0) + "'remove' must be a list of names");
      for (auto& name : v.texts)
        file.remove.emplace_back(name, 0);
    } else {
      return invalid(where(origin, 0) + "unknown key " + q(key) +
                     " (expected 'params' or 'remove')");
    }
  }
  return file;
}

raw_value from_toml(const toml::node& n) {
  raw_value v;
  v.line = n.source().begin.line;
  if (auto* i = n.as_integer()) {
    v.kind = raw_value::number;
    v.x = static_cast<double>(i->get());
  } else if (auto* f = n.as_floating_point()) {
    v.kind = raw_value::number;
    v.x = f->get();
  } else if (auto* b = n.as_boolean()) {
    v.kind = raw_value::boolean;
    v.flag = b->get();
  } else if (auto* s = n.as_string()) {
    v.kind = raw_value::text;
    v.texts.push_back(s->get());
  } else if (auto* a = n.as_array()) {
    v.kind = raw_value::text_list;
    for (auto& e : *a) {
      if (!e.as_string()) {
        v.kind = raw_value::other;
        break;
      }
      v.texts.push_back(e.as_string()->get());
    }
  }
  return v;
}

caf::expected<raw_file> read_toml(const std::string& text,
                                  const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return invalid(where(origin, e.source().begin.line) +
                   "invalid TOML: " + std::string{e.description()});
  }
  raw_file file;
  for (auto& [key, node] : doc) {
    std::string k{key.str()};
    size_t line = node.source().begin.line;
    if (k == "params") {
      auto* tbl = node.as_table();
      if (!tbl)
        return invalid(where(origin, line) + "'params' must be a table");
      for (auto& [name, body] : *tbl) {
        std::string n{name.str()};
        auto* fields = body.as_table();
        if (!fields)
          return invalid(where(origin, body.source().begin.line) +
                         param_prefix(n) + "expected a table");
        raw_param rp{n, body.source().begin.line, {}};
        for (auto& [fk, fv] : *fields)
          rp.fields.emplace_back(std::string{fk.str()}, from_toml(fv));
        file.params.push_back(std::move(rp));
      }
    } else if (k == "remove") {
      auto v = from_toml(node);
      if (v.kind != raw_value::text_list)
        return invalid(where(origin, line) +
                       "'remove' must be a list of names");
      for (auto& name : v.texts)
        file.remove.emplace_back(name, line);
    } else {
      return invalid(where(origin, line) + "unknown key " + q(k) +
                     " (expected 'params' or 'remove')");
    }
  }
  // toml++ tables iterate by key; keep the file's order for new parameters.
  std::stable_sort(file.params.begin(), file.params.end(),
                   [](auto& x, auto& y) { return x.line < y.line; });
  return file;
}

} // namespace

caf::expected<search_space> apply_space_text(const search_space& base,
                                             const std::string& text,
                                             const std::string& format,
                                             const std::string& origin) {
  if (format != "json" && format != "toml")
    return invalid(origin + ": unknown space file format " + q(format) +
                   " (expected json or toml)");
  auto file =
      format == "json" ? read_json(text, origin) : read_toml(text, origin);
  if (!file) return std::move(file.error());
  return merge(base, *file, origin);
}

caf::expected<search_space> apply_space_file(const search_space& base,
                                             const std::string& path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string::npos ? std::string{} : path.substr(dot + 1);
  if (ext != "json" && ext != "toml")
    return invalid(path + ": a search space file ends in .json or .toml");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found,
                      path + ": cannot read the search space file");
  std::ostringstream buf;
  buf << in.rdbuf();
  return apply_space_text(base, buf.str(), ext, path);
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

caf::expected<search_space> xgboost_space() {
  using p = param_spec;
  return search_space::make({
      p::real("eta", 1e-3, 0.3, true),
      p::integer("max_depth", 2, 10),
      p::real("min_child_weight", 1e-2, 20, true),
      p::real("subsample", 0.5, 1),
      p::real("colsample_bytree", 0.4, 1),
      p::real("lambda", 1e-3, 10, true),
      p::real("alpha", 1e-3, 10, true),
      p::categorical("booster", {"gbtree", "dart"}),
      p::real("rate_drop", 0, 0.3).only_if("booster", {"dart"}),
      p::real("skip_drop", 0, 0.5).only_if("booster", {"dart"}),
  });
}

caf::expected<search_space> quadratic_space() {
  return search_space::make(
      {param_spec::real("x", 0, 1), param_spec::real("y", 0, 1)});
}

caf::expected<search_space> load_space(const std::string& family,
                                       const std::string& override_path) {
  auto base = space_registry::global().get(family);
  if (!base || override_path.empty()) return base;
  return apply_space_file(*base, override_path);
}

} // namespace troupe::automl
