// Search space files: JSON and TOML parsed into parameters and merged into a
// base space (see space_file.hpp).

#include "actors/automl/space_file.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "runtime/errors.hpp"
#include "runtime/toml_text.hpp"

namespace troupe::automl {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string q(const std::string& name) {
  return "'" + name + "'";
}

std::string param_prefix(const std::string& name) {
  return "parameter " + q(name) + ": ";
}

} // namespace

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
  if (auto prob = find_space_problem(params)) {
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
  if (auto err = check_toml_text(text, origin)) return err;
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

} // namespace troupe::automl
