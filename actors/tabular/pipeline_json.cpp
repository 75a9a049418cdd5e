// The JSON form of a fitted feature pipeline: every fitted statistic, so
// that a saved model replays it exactly (doubles are written in shortest
// round-trip form), and a reader that checks every field and names the one
// that is wrong.

#include "actors/tabular/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "actors/tabular/pipeline_steps.hpp"
#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

using json = nlohmann::json;

constexpr const char* format_name = "troupe.pipeline";
constexpr int format_version = 1;

/// Bounds that keep sizes computed from a file from overflowing.
constexpr size_t max_levels = size_t{1} << 31;
constexpr size_t max_classes = 100000;

json scaler_json(const fe::scaler& s) {
  json j{{"kind", fe::to_string(s.kind)}};
  if (s.kind == fe::scaling::standard || s.kind == fe::scaling::minmax) {
    j["shift"] = s.shift;
    j["scale"] = s.scale;
  }
  if (s.kind == fe::scaling::quantile) j["knots"] = s.knots;
  return j;
}

/// A field that fails its check: where it is and why.
struct bad_field {
  std::string path;
  std::string why;
};

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw bad_field{path, why};
}

const json& at(const json& obj, const std::string& path,
               const std::string& key) {
  if (!obj.is_object()) fail(path, "is not an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(path + "." + key, "is missing");
  return *it;
}

std::string text(const json& j, const std::string& path) {
  if (!j.is_string()) fail(path, "is not a string");
  return j.get<std::string>();
}

bool flag(const json& j, const std::string& path) {
  if (!j.is_boolean()) fail(path, "is not true or false");
  return j.get<bool>();
}

double number(const json& j, const std::string& path) {
  if (!j.is_number()) fail(path, "is not a number");
  auto v = j.get<double>();
  if (!std::isfinite(v)) fail(path, "is not finite");
  return v;
}

size_t count(const json& j, const std::string& path, size_t limit) {
  if (!j.is_number_unsigned() &&
      !(j.is_number_integer() && j.get<int64_t>() >= 0))
    fail(path, "is not a non-negative integer");
  auto v = j.get<uint64_t>();
  if (v >= limit) fail(path, std::to_string(v) + " is out of range");
  return static_cast<size_t>(v);
}

const json& array(const json& j, const std::string& path) {
  if (!j.is_array()) fail(path, "is not an array");
  return j;
}

std::string item(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::vector<double> numbers(const json& j, const std::string& path) {
  std::vector<double> out;
  size_t i = 0;
  for (auto& e : array(j, path))
    out.push_back(number(e, item(path, i++)));
  return out;
}

fe::scaler read_scaler(const json& j, const std::string& path) {
  fe::scaler s;
  auto kind = text(at(j, path, "kind"), path + ".kind");
  if (!fe::parse_scaling(kind, s.kind))
    fail(path + ".kind", "'" + kind + "' is no scaling");
  if (s.kind == fe::scaling::standard || s.kind == fe::scaling::minmax) {
    s.shift = number(at(j, path, "shift"), path + ".shift");
    s.scale = number(at(j, path, "scale"), path + ".scale");
    if (!(s.scale > 0)) fail(path + ".scale", "is not positive");
  }
  if (s.kind == fe::scaling::quantile) {
    s.knots = numbers(at(j, path, "knots"), path + ".knots");
    if (s.knots.empty()) fail(path + ".knots", "is empty");
    if (!std::is_sorted(s.knots.begin(), s.knots.end()))
      fail(path + ".knots", "are not ascending");
  }
  return s;
}

pipeline_options read_options(const json& j, const std::string& path) {
  pipeline_options o;
  o.impute = text(at(j, path, "impute"), path + ".impute");
  o.encoding = text(at(j, path, "encoding"), path + ".encoding");
  o.scaling = text(at(j, path, "scaling"), path + ".scaling");
  o.transform = text(at(j, path, "transform"), path + ".transform");
  o.crosses = static_cast<uint32_t>(
      count(at(j, path, "crosses"), path + ".crosses", fe::max_crosses + 1));
  o.select = number(at(j, path, "select"), path + ".select");
  o.max_onehot_levels = static_cast<uint32_t>(
      count(at(j, path, "max_onehot_levels"), path + ".max_onehot_levels",
            uint64_t{1} << 32));
  o.target_folds = static_cast<uint32_t>(count(
      at(j, path, "target_folds"), path + ".target_folds", uint64_t{1} << 32));
  if (o.target_folds < 2) fail(path + ".target_folds", "is less than 2");
  config cfg{{"fe.impute", o.impute},
             {"fe.encoding", o.encoding},
             {"fe.scaling", o.scaling},
             {"fe.transform", o.transform},
             {"fe.select", o.select}};
  if (auto checked = pipeline_options::from_config(cfg); !checked)
    fail(path, describe(checked.error()));
  return o;
}

void read_inputs(fe::fitted& f, const json& j) {
  size_t i = 0;
  for (auto& e : array(at(j, "", "inputs"), "inputs")) {
    auto path = item("inputs", i++);
    fe::input_column c;
    c.name = text(at(e, path, "name"), path + ".name");
    auto kind = text(at(e, path, "kind"), path + ".kind");
    if (kind != "numeric" && kind != "categorical")
      fail(path + ".kind", "'" + kind + "' is neither numeric nor categorical");
    c.categorical = kind == "categorical";
    c.levels = count(at(e, path, "levels"), path + ".levels", max_levels);
    if (!c.categorical && c.levels != 0)
      fail(path + ".levels", "is not 0 for a numeric column");
    f.inputs.push_back(std::move(c));
  }
}

void read_numeric(fe::fitted& f, const json& j, std::vector<bool>& covered) {
  size_t i = 0;
  for (auto& e : array(at(j, "", "numeric"), "numeric")) {
    auto path = item("numeric", i++);
    fe::numeric_step s;
    s.column = count(at(e, path, "column"), path + ".column", f.inputs.size());
    if (f.inputs[s.column].categorical || covered[s.column])
      fail(path + ".column", "is not a numeric input column of its own");
    covered[s.column] = true;
    s.log = flag(at(e, path, "log"), path + ".log");
    auto& fill = at(e, path, "fill");
    if (!fill.is_null()) s.fill = number(fill, path + ".fill");
    s.scale = read_scaler(at(e, path, "scaler"), path + ".scaler");
    f.numeric.push_back(std::move(s));
  }
}

void read_categorical(fe::fitted& f, const json& j,
                      std::vector<bool>& covered) {
  size_t i = 0;
  for (auto& e : array(at(j, "", "categorical"), "categorical")) {
    auto path = item("categorical", i++);
    fe::categorical_step s;
    s.column = count(at(e, path, "column"), path + ".column", f.inputs.size());
    if (!f.inputs[s.column].categorical || covered[s.column])
      fail(path + ".column", "is not a categorical input column of its own");
    covered[s.column] = true;
    s.levels = f.inputs[s.column].levels;
    auto enc = text(at(e, path, "encoding"), path + ".encoding");
    if (!fe::parse_encoding(enc, s.enc))
      fail(path + ".encoding", "'" + enc + "' is no encoding");
    if (s.enc == fe::encoding::onehot) {
      size_t k = 0;
      for (auto& x : array(at(e, path, "onehot"), path + ".onehot"))
        s.onehot.push_back(count(x, item(path + ".onehot", k++), s.levels + 1));
      if (s.onehot.empty() ||
          std::adjacent_find(s.onehot.begin(), s.onehot.end(),
                             std::greater_equal<size_t>()) != s.onehot.end())
        fail(path + ".onehot", "is not a non-empty ascending list of levels");
    }
    if (s.enc == fe::encoding::target) {
      size_t width = f.task == task_kind::multiclass ? f.classes : size_t{1};
      s.width = width;
      s.table = numbers(at(e, path, "table"), path + ".table");
      s.prior = numbers(at(e, path, "prior"), path + ".prior");
      if (s.table.size() != (s.levels + 1) * width)
        fail(path + ".table", "holds " + std::to_string(s.table.size()) +
                                  " values, not " +
                                  std::to_string((s.levels + 1) * width));
      if (s.prior.size() != width)
        fail(path + ".prior", "holds " + std::to_string(s.prior.size()) +
                                  " values, not " + std::to_string(width));
    }
    f.categorical.push_back(std::move(s));
  }
}

void read_crosses(fe::fitted& f, const json& j) {
  size_t i = 0;
  for (auto& e : array(at(j, "", "crosses"), "crosses")) {
    auto path = item("crosses", i++);
    fe::cross_step c;
    c.a = count(at(e, path, "a"), path + ".a", f.inputs.size());
    c.b = count(at(e, path, "b"), path + ".b", f.inputs.size());
    if (f.inputs[c.a].categorical) fail(path + ".a", "is not numeric");
    if (f.inputs[c.b].categorical || c.a == c.b)
      fail(path + ".b", "is not another numeric column");
    auto op = text(at(e, path, "op"), path + ".op");
    if (op != "*" && op != "/")
      fail(path + ".op", "'" + op + "' is not * or /");
    c.ratio = op == "/";
    if (c.ratio) {
      c.eps = number(at(e, path, "eps"), path + ".eps");
      if (!(c.eps > 0)) fail(path + ".eps", "is not positive");
    }
    c.scale = read_scaler(at(e, path, "scaler"), path + ".scaler");
    f.crosses.push_back(std::move(c));
  }
}

fe::fitted read_fitted(const json& j) {
  fe::fitted f;
  auto task = parse_task_kind(text(at(j, "", "task"), "task"));
  if (!task) fail("task", describe(task.error()));
  f.task = *task;
  f.classes = count(at(j, "", "classes"), "classes", max_classes);
  if (f.task == task_kind::regression
          ? f.classes != 0
          : (f.classes < 2 || (f.task == task_kind::binary && f.classes != 2)))
    fail("classes", std::to_string(f.classes) + " classes for a " +
                        to_string(f.task) + " task");
  f.options = read_options(at(j, "", "options"), "options");
  read_inputs(f, j);
  std::vector<bool> covered(f.inputs.size(), false);
  read_numeric(f, j, covered);
  read_categorical(f, j, covered);
  for (size_t c = 0; c < covered.size(); ++c)
    if (!covered[c])
      fail(item("inputs", c), "has no step in numeric or categorical");
  read_crosses(f, j);
  f.index();
  auto cols = count(at(j, "", "columns"), "columns", SIZE_MAX);
  if (cols != f.full_cols)
    fail("columns", std::to_string(cols) + " columns, but the steps make " +
                        std::to_string(f.full_cols));
  size_t i = 0;
  for (auto& e : array(at(j, "", "kept"), "kept")) {
    auto c = count(e, item("kept", i), f.full_cols);
    if (!f.kept.empty() && c <= f.kept.back())
      fail(item("kept", i), "is not ascending");
    f.kept.push_back(c);
    ++i;
  }
  if (f.kept.empty()) fail("kept", "is empty");
  i = 0;
  for (auto& e : array(at(j, "", "names"), "names"))
    f.names.push_back(text(e, item("names", i++)));
  if (f.names.size() != f.kept.size())
    fail("names", std::to_string(f.names.size()) + " names for " +
                      std::to_string(f.kept.size()) + " kept columns");
  auto types = f.full_types();
  for (auto c : f.kept)
    f.types.push_back(types[c]);
  return f;
}

} // namespace

nlohmann::json feature_pipeline::to_json() const {
  json j{{"format", format_name}, {"version", format_version}};
  if (!steps_) {
    j["identity"] = true;
    return j;
  }
  auto& f = *steps_;
  auto& o = f.options;
  j["task"] = to_string(f.task);
  j["classes"] = f.classes;
  j["options"] = {{"impute", o.impute},
                  {"encoding", o.encoding},
                  {"scaling", o.scaling},
                  {"transform", o.transform},
                  {"crosses", o.crosses},
                  {"select", o.select},
                  {"max_onehot_levels", o.max_onehot_levels},
                  {"target_folds", o.target_folds}};
  auto& inputs = j["inputs"] = json::array();
  for (auto& c : f.inputs)
    inputs.push_back({{"name", c.name},
                      {"kind", c.categorical ? "categorical" : "numeric"},
                      {"levels", c.levels}});
  auto& numeric = j["numeric"] = json::array();
  for (auto& s : f.numeric)
    numeric.push_back({{"column", s.column},
                       {"log", s.log},
                       {"fill", std::isnan(s.fill) ? json() : json(s.fill)},
                       {"scaler", scaler_json(s.scale)}});
  auto& categorical = j["categorical"] = json::array();
  for (auto& s : f.categorical) {
    json e{{"column", s.column}, {"encoding", fe::to_string(s.enc)}};
    if (s.enc == fe::encoding::onehot) e["onehot"] = s.onehot;
    if (s.enc == fe::encoding::target) {
      e["table"] = s.table;
      e["prior"] = s.prior;
    }
    categorical.push_back(std::move(e));
  }
  auto& crosses = j["crosses"] = json::array();
  for (auto& c : f.crosses) {
    json e{{"a", c.a}, {"b", c.b}, {"op", c.ratio ? "/" : "*"}};
    if (c.ratio) e["eps"] = c.eps;
    e["scaler"] = scaler_json(c.scale);
    crosses.push_back(std::move(e));
  }
  j["columns"] = f.full_cols;
  j["kept"] = f.kept;
  j["names"] = f.names;
  return j;
}

caf::expected<feature_pipeline>
feature_pipeline::from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& why) {
    return make_error(errc::invalid_argument, "pipeline JSON: " + why);
  };
  if (!j.is_object() || !j.contains("format") || j["format"] != format_name)
    return bad("not a troupe.pipeline object");
  if (!j.contains("version") || j["version"] != format_version)
    return bad("unsupported version " +
               (j.contains("version") ? j["version"].dump() : "(none)"));
  if (j.contains("identity")) {
    if (j["identity"] != true || j.size() != 3)
      return bad("identity: only an identity pipeline has this field");
    return feature_pipeline{};
  }
  try {
    return feature_pipeline{std::make_shared<const fe::fitted>(read_fitted(j))};
  } catch (const bad_field& e) {
    auto path = e.path.rfind('.', 0) == 0 ? e.path.substr(1) : e.path;
    return bad(path + ": " + e.why);
  } catch (const json::exception& e) {
    return bad(e.what());
  }
}

} // namespace troupe::tabular
