#include "actors/tabular/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

/// More classes than this is surely a mistaken `task` override.
constexpr size_t max_classes = 1000;

/// A numeric target with at most this many distinct integers is multiclass.
constexpr size_t max_inferred_classes = 20;

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string place(const table& t, size_t row, size_t col) {
  return t.source + ":" + std::to_string(t.lines[row]) + ":" +
         std::to_string(col + 1) + ": ";
}

std::string shortest(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string join(const std::vector<std::string>& xs, size_t limit = 10) {
  std::string out;
  for (size_t i = 0; i < xs.size() && i < limit; ++i)
    out += (i ? ", " : "") + xs[i];
  if (xs.size() > limit)
    out += ", ... (" + std::to_string(xs.size() - limit) + " more)";
  return out;
}

std::optional<size_t> column_index(const table& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].name == name) return i;
  return std::nullopt;
}

/// A uniform index below n. The modulo bias is below 2^-40 for any n a
/// dataset has, and unlike std::uniform_int_distribution the result is the
/// same with every standard library.
size_t below(std::mt19937_64& rng, size_t n) {
  return rng() % n;
}

void shuffle(std::vector<size_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[below(rng, i)]);
}

/// Row indices grouped by class (one group for regression), each shuffled.
std::vector<std::vector<size_t>>
shuffled_groups(const std::vector<float>& y, task_kind task, uint64_t seed) {
  std::vector<std::vector<size_t>> groups(1);
  for (size_t r = 0; r < y.size(); ++r) {
    size_t g = 0;
    if (is_classification(task) && y[r] >= 0) g = static_cast<size_t>(y[r]);
    if (g >= groups.size()) groups.resize(g + 1);
    groups[g].push_back(r);
  }
  std::mt19937_64 rng{seed};
  for (auto& g : groups)
    shuffle(g, rng);
  return groups;
}

} // namespace

std::string to_string(task_kind x) {
  switch (x) {
  case task_kind::binary:
    return "binary";
  case task_kind::multiclass:
    return "multiclass";
  case task_kind::regression:
    return "regression";
  }
  return "task_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::expected<task_kind> parse_task_kind(const std::string& text) {
  for (auto k :
       {task_kind::binary, task_kind::multiclass, task_kind::regression})
    if (text == to_string(k)) return k;
  return invalid("unknown task '" + text +
                 "' (expected binary, multiclass or regression)");
}

matrix take_rows(const matrix& m, const std::vector<size_t>& which) {
  matrix out;
  out.rows = which.size();
  out.cols = m.cols;
  out.feature_names = m.feature_names;
  out.values.reserve(which.size() * m.cols);
  for (auto r : which)
    out.values.insert(out.values.end(), m.row(r), m.row(r) + m.cols);
  if (!m.labels.empty()) {
    out.labels.reserve(which.size());
    for (auto r : which)
      out.labels.push_back(m.labels[r]);
  }
  return out;
}

// -- preprocessor: fitting ---------------------------------------------------

caf::expected<preprocessor>
preprocessor::fit(const table& t, const std::string& target,
                  std::optional<task_kind> task,
                  std::vector<std::string>& warnings) {
  auto ti = column_index(t, target);
  if (!ti)
    return make_error(errc::not_found, t.source + ": no target column '" +
                                           target +
                                           "'; columns: " + t.column_list());
  auto& tc = t.columns[*ti];
  auto what = t.source + ": target '" + target + "'";
  if (tc.missing == t.rows()) return invalid(what + " has no values");
  preprocessor p;
  p.target_ = target;
  p.target_numeric_ = tc.kind == column_kind::numeric;
  if (p.target_numeric_) {
    std::set<double> distinct;
    for (auto v : tc.numbers)
      if (!std::isnan(v)) distinct.insert(v);
    if (distinct.size() < 2)
      return invalid(what + " has a single value (" +
                     shortest(*distinct.begin()) + "); nothing to learn");
    bool integers = std::all_of(distinct.begin(), distinct.end(),
                                [](double v) { return v == std::floor(v); });
    p.task_ = distinct.size() == 2 ? task_kind::binary
              : integers && distinct.size() <= max_inferred_classes
                  ? task_kind::multiclass
                  : task_kind::regression;
    if (task) p.task_ = *task;
    if (is_classification(p.task_))
      for (auto v : distinct) {
        p.class_values_.push_back(v);
        p.classes_.push_back(shortest(v));
      }
  } else {
    std::set<std::string> distinct;
    for (auto& s : tc.text)
      if (!s.empty()) distinct.insert(s);
    if (distinct.size() < 2)
      return invalid(what + " has a single class ('" + *distinct.begin() +
                     "'); nothing to learn");
    p.task_ = distinct.size() == 2 ? task_kind::binary : task_kind::multiclass;
    if (task) p.task_ = *task;
    if (p.task_ == task_kind::regression) {
      size_t r = 0;
      double ignored = 0;
      while (tc.is_missing(r) || parse_number(tc.text[r], ignored))
        ++r;
      return invalid(place(t, r, *ti) + "target '" + target + "' holds '" +
                     tc.text[r] + "', not a number: it cannot be regressed");
    }
    p.classes_.assign(distinct.begin(), distinct.end());
  }
  if (p.task_ == task_kind::binary && p.classes_.size() != 2)
    return invalid(what + " has " + std::to_string(p.classes_.size()) +
                   " classes (" + join(p.classes_) +
                   "); a binary task needs exactly 2");
  if (p.classes_.size() > max_classes)
    return invalid(what + " has " + std::to_string(p.classes_.size()) +
                   " classes, more than " + std::to_string(max_classes));
  for (size_t i = 0; i < t.columns.size(); ++i) {
    auto& c = t.columns[i];
    if (i == *ti) continue;
    if (c.missing == t.rows()) {
      warnings.push_back(t.source + ": column '" + c.name +
                         "' has no values; dropped");
      continue;
    }
    feature f{c.name, c.kind, {}};
    if (c.kind == column_kind::categorical) {
      std::set<std::string> cats;
      for (auto& s : c.text)
        if (!s.empty()) cats.insert(s);
      f.categories.assign(cats.begin(), cats.end());
    }
    p.features_.push_back(std::move(f));
  }
  if (p.features_.empty())
    return invalid(t.source + ": no feature columns besides the target '" +
                   target + "'");
  p.index();
  return p;
}

void preprocessor::index() {
  codes_.assign(features_.size(), {});
  for (size_t j = 0; j < features_.size(); ++j) {
    auto& cats = features_[j].categories;
    for (size_t k = 0; k < cats.size(); ++k)
      codes_[j].emplace(cats[k], static_cast<float>(k));
  }
}

std::vector<std::string> preprocessor::feature_names() const {
  std::vector<std::string> out;
  for (auto& f : features_)
    out.push_back(f.name);
  return out;
}

// -- preprocessor: applying --------------------------------------------------

caf::expected<matrix>
preprocessor::transform(const table& t,
                        std::vector<std::string>* warnings) const {
  matrix m;
  m.rows = t.rows();
  m.cols = features_.size();
  m.feature_names = feature_names();
  m.values.assign(m.rows * m.cols, nan_f);
  for (size_t j = 0; j < features_.size(); ++j) {
    auto& f = features_[j];
    auto ci = column_index(t, f.name);
    if (!ci)
      return make_error(errc::not_found, t.source + ": no column '" + f.name +
                                             "', which the model uses");
    auto& c = t.columns[*ci];
    auto out = [&](size_t r) -> float& { return m.values[r * m.cols + j]; };
    if (f.kind == column_kind::numeric) {
      for (size_t r = 0; r < m.rows; ++r) {
        double v = 0;
        if (c.kind == column_kind::numeric)
          out(r) = static_cast<float>(c.numbers[r]);
        else if (c.is_missing(r))
          continue;
        else if (parse_number(c.text[r], v))
          out(r) = static_cast<float>(v);
        else
          return invalid(place(t, r, *ci) + "column '" + f.name + "' holds '" +
                         c.text[r] + "', but the model reads it as numeric");
      }
      continue;
    }
    size_t unseen = 0;
    for (size_t r = 0; r < m.rows; ++r) {
      if (c.is_missing(r)) continue;
      if (auto it = codes_[j].find(c.text[r]); it != codes_[j].end())
        out(r) = it->second;
      else
        ++unseen;
    }
    if (unseen > 0 && warnings)
      warnings->push_back(t.source + ": column '" + f.name +
                          "': " + std::to_string(unseen) +
                          " values of categories not seen in training read "
                          "as missing");
  }
  return m;
}

caf::expected<float> preprocessor::label_of(const table& t, const column& c,
                                            size_t col, size_t r) const {
  double v = 0;
  bool numeric = c.kind == column_kind::numeric ? (v = c.numbers[r], true)
                                                : parse_number(c.text[r], v);
  if (task_ == task_kind::regression) {
    if (!numeric)
      return invalid(place(t, r, col) + "target '" + target_ + "' holds '" +
                     c.text[r] + "', not a number");
    return static_cast<float>(v);
  }
  if (target_numeric_ && numeric) {
    auto it = std::lower_bound(class_values_.begin(), class_values_.end(), v);
    if (it != class_values_.end() && *it == v)
      return static_cast<float>(it - class_values_.begin());
  } else if (!target_numeric_) {
    auto it = std::lower_bound(classes_.begin(), classes_.end(), c.text[r]);
    if (it != classes_.end() && *it == c.text[r])
      return static_cast<float>(it - classes_.begin());
  }
  return invalid(
      place(t, r, col) + "class '" + c.text[r] + "' of target '" + target_ +
      "' was not seen in training (classes: " + join(classes_) + ")");
}

caf::expected<matrix>
preprocessor::transform_labeled(const table& t,
                                std::vector<std::string>& warnings) const {
  auto ti = column_index(t, target_);
  if (!ti)
    return make_error(errc::not_found, t.source + ": no target column '" +
                                           target_ +
                                           "'; columns: " + t.column_list());
  auto m = transform(t, &warnings);
  if (!m) return m.error();
  auto& tc = t.columns[*ti];
  size_t kept = 0;
  m->labels.reserve(m->rows);
  for (size_t r = 0; r < m->rows; ++r) {
    if (tc.is_missing(r)) continue;
    auto y = label_of(t, tc, *ti, r);
    if (!y) return y.error();
    m->labels.push_back(*y);
    if (kept != r)
      std::copy(m->row(r), m->row(r) + m->cols,
                m->values.begin() + kept * m->cols);
    ++kept;
  }
  if (kept < m->rows) {
    warnings.push_back(t.source + ": dropped " +
                       std::to_string(m->rows - kept) + " rows whose target '" +
                       target_ + "' is missing");
    m->rows = kept;
    m->values.resize(kept * m->cols);
  }
  return m;
}

caf::expected<dataset> make_dataset(const table& t, const std::string& target,
                                    std::optional<task_kind> task) {
  dataset ds;
  ds.warnings = t.warnings;
  auto prep = preprocessor::fit(t, target, task, ds.warnings);
  if (!prep) return prep.error();
  auto m = prep->transform_labeled(t, ds.warnings);
  if (!m) return m.error();
  ds.X = std::move(*m);
  ds.task = prep->task();
  ds.classes = prep->classes();
  ds.prep = std::move(*prep);
  return ds;
}

// -- preprocessor: JSON ------------------------------------------------------

nlohmann::json preprocessor::to_json() const {
  auto features = nlohmann::json::array();
  for (auto& f : features_) {
    nlohmann::json jf{{"name", f.name}};
    if (f.kind == column_kind::numeric) {
      jf["kind"] = "numeric";
    } else {
      jf["kind"] = "categorical";
      jf["categories"] = f.categories;
    }
    features.push_back(std::move(jf));
  }
  return {{"format", "troupe.preprocessor"},
          {"version", 1},
          {"target", target_},
          {"task", to_string(task_)},
          {"target_numeric", target_numeric_},
          {"classes", classes_},
          {"features", std::move(features)}};
}

caf::expected<preprocessor> preprocessor::from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& why) {
    return invalid("preprocessor JSON: " + why);
  };
  try {
    if (!j.is_object() || j.value("format", "") != "troupe.preprocessor")
      return bad("not a troupe.preprocessor object");
    if (j.at("version").get<int>() != 1)
      return bad("unsupported version " + j.at("version").dump());
    preprocessor p;
    p.target_ = j.at("target").get<std::string>();
    auto task = parse_task_kind(j.at("task").get<std::string>());
    if (!task) return bad(describe(task.error()));
    p.task_ = *task;
    p.target_numeric_ = j.at("target_numeric").get<bool>();
    p.classes_ = j.at("classes").get<std::vector<std::string>>();
    if (is_classification(p.task_) != !p.classes_.empty())
      return bad("classes do not fit task " + to_string(p.task_));
    if (!std::is_sorted(p.classes_.begin(), p.classes_.end()) &&
        !p.target_numeric_)
      return bad("classes are not sorted");
    for (auto& c : p.classes_) {
      double v = 0;
      if (!p.target_numeric_) break;
      if (!parse_number(c, v)) return bad("class '" + c + "' is not a number");
      p.class_values_.push_back(v);
    }
    for (auto& jf : j.at("features")) {
      feature f;
      f.name = jf.at("name").get<std::string>();
      auto kind = jf.at("kind").get<std::string>();
      if (kind == "categorical") {
        f.kind = column_kind::categorical;
        f.categories = jf.at("categories").get<std::vector<std::string>>();
      } else if (kind != "numeric") {
        return bad("feature '" + f.name + "' has unknown kind '" + kind + "'");
      }
      p.features_.push_back(std::move(f));
    }
    p.index();
    return p;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

caf::error preprocessor::save(const std::string& path) const {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << to_json().dump(2) << '\n';
  out.close();
  if (!out) return make_error(errc::io_failure, "cannot write '" + path + "'");
  return {};
}

caf::expected<preprocessor> preprocessor::load(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::not_found, "cannot open '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  auto j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return invalid(path + ": not valid JSON");
  auto p = from_json(j);
  if (!p) return invalid(path + ": " + describe(p.error()));
  return p;
}

// -- splits ------------------------------------------------------------------

caf::expected<split_indices> train_test_split(const std::vector<float>& labels,
                                              task_kind task, uint64_t seed,
                                              double test_fraction) {
  if (!(test_fraction > 0 && test_fraction < 1))
    return invalid("test fraction must lie strictly between 0 and 1, not " +
                   shortest(test_fraction));
  if (labels.size() < 2)
    return invalid("cannot split " + std::to_string(labels.size()) + " rows");
  split_indices out;
  for (auto& g : shuffled_groups(labels, task, seed)) {
    auto n = g.size();
    auto n_test = static_cast<size_t>(std::llround(n * test_fraction));
    if (n >= 2) n_test = std::clamp<size_t>(n_test, 1, n - 1);
    out.test.insert(out.test.end(), g.begin(), g.begin() + n_test);
    out.train.insert(out.train.end(), g.begin() + n_test, g.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

caf::expected<std::vector<split_indices>>
k_fold(const std::vector<float>& labels, task_kind task, size_t k,
       uint64_t seed) {
  if (k < 2 || k > labels.size())
    return invalid("k-fold needs 2 <= k <= rows; got k = " + std::to_string(k) +
                   " for " + std::to_string(labels.size()) + " rows");
  std::vector<split_indices> folds(k);
  size_t dealt = 0;
  for (auto& g : shuffled_groups(labels, task, seed))
    for (auto r : g) {
      auto fold = dealt++ % k;
      for (size_t i = 0; i < k; ++i)
        (i == fold ? folds[i].test : folds[i].train).push_back(r);
    }
  for (auto& f : folds) {
    std::sort(f.train.begin(), f.train.end());
    std::sort(f.test.begin(), f.test.end());
  }
  return folds;
}

} // namespace troupe::tabular
