#include "actors/models/servable.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "actors/models/errors.hpp"
#include "actors/models/forest.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

namespace fs = std::filesystem;
using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

/// Rows of zeros the checks at load run the model on (two, so that a model
/// ignoring the batch dimension shows).
constexpr size_t probe_rows = 2;

caf::error invalid(std::string msg) {
  return make_error(troupe::errc::invalid_argument, std::move(msg));
}

/// A model file that cannot be loaded or does not fit its spec.
caf::error bad_model(std::string msg) {
  return make_error(errc::bad_model, std::move(msg));
}

std::string shortest(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i ? ", " : "") + xs[i];
  return out;
}

std::string shape_text(const int64_t* shape, size_t ndim) {
  std::string out = "[";
  for (size_t i = 0; i < ndim; ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

/// Rescales a row of K scores to probabilities: kept when they already are
/// (each in [0, 1], summing to 1 within 1e-3), a softmax otherwise (logits).
void to_probabilities(float* row, size_t k) {
  float sum = 0;
  bool probs = true;
  for (size_t c = 0; c < k; ++c) {
    probs = probs && row[c] >= 0 && row[c] <= 1;
    sum += row[c];
  }
  if (probs && std::fabs(sum - 1) <= 1e-3f) return;
  auto top = *std::max_element(row, row + k);
  double total = 0;
  for (size_t c = 0; c < k; ++c)
    total += std::exp(static_cast<double>(row[c]) - top);
  for (size_t c = 0; c < k; ++c)
    row[c] =
        static_cast<float>(std::exp(static_cast<double>(row[c]) - top) / total);
}

/// The first non-finite score, as an error naming the row.
caf::error check_finite(const std::string& where, const std::vector<float>& s,
                        size_t outputs) {
  for (size_t i = 0; i < s.size(); ++i)
    if (!std::isfinite(s[i]))
      return invalid(where + ": row " + std::to_string(i / outputs) +
                     ": the model's output is " + shortest(s[i]) +
                     ", not a finite number");
  return caf::none;
}

/// What the spec's task asks of a model's outputs, for messages.
std::string task_text(const preprocessor& p) {
  auto out = "the spec's task is " + tabular::to_string(p.task());
  if (tabular::is_classification(p.task()))
    out += " with " + std::to_string(p.classes().size()) + " classes (" +
           join(p.classes()) + ")";
  return out;
}

// -- XGBoost -----------------------------------------------------------------

/// `err` (its code kept) with `where` before its message.
caf::error at(const std::string& where, const caf::error& err) {
  return caf::error{err.code(), err.category(),
                    caf::make_message(where + ": " + describe(err))};
}

/// ".json" or ".ubj" (in any case): the formats XGBoost loads by extension.
bool xgb_extension(const std::string& path) {
  auto ext = fs::path{path}.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".json" || ext == ".ubj";
}

class xgb_servable : public servable {
public:
  xgb_servable(model_format f, std::string source, preprocessor prep,
               bool allow_nan, xgb::booster b)
      : servable(f, std::move(source), std::move(prep), allow_nan),
        booster_(std::move(b)) {}

  /// Predicts without checking the output's shape against the spec.
  caf::expected<std::vector<float>> raw(const float* x, size_t rows,
                                        size_t& groups) const {
    auto out = booster_.predict_dense(x, rows, features(), groups);
    if (!out) return at(source(), out.error());
    return out;
  }

  /// Compiles the booster into a forest, unless it has what the forest does
  /// not compile or the forest's predictions on probe rows differ from
  /// XGBoost's (by more than 1e-6, relative above 1): then XGBoost goes on
  /// predicting, and predictor() says why.
  caf::error compile() {
    auto json = booster_.save_bytes("json");
    if (!json) return at(source(), json.error());
    auto f = forest::compile(std::string_view{
        reinterpret_cast<const char*>(json->data()), json->size()});
    if (!f) {
      why_not_ = describe(f.error());
      return caf::none;
    }
    if (f->groups() != outputs() || f->features() != features()) {
      why_not_ = "compiled forest: its shape differs from XGBoost's";
      return caf::none;
    }
    constexpr size_t rows = 256;
    auto x = f->probe_rows(rows, 17);
    size_t groups = 0;
    auto want = raw(x.data(), rows, groups);
    if (!want) return want.error();
    std::vector<float> got(rows * outputs());
    f->predict(x.data(), rows, got.data());
    for (size_t i = 0; i < got.size(); ++i) {
      float a = got[i], b = (*want)[i];
      bool same = a == b || (std::isnan(a) && std::isnan(b)) ||
                  std::fabs(a - b) <= 1e-6f * std::max(1.0f, std::fabs(b));
      if (!same) {
        why_not_ = "compiled forest: probe row " + std::to_string(i / groups) +
                   " gives " + shortest(a) + ", XGBoost " + shortest(b);
        return caf::none;
      }
    }
    forest_ = std::move(*f);
    return caf::none;
  }

  std::string predictor() const override {
    if (forest_)
      return "compiled forest (" + std::to_string(forest_->trees()) + " trees)";
    return why_not_.empty() ? "XGBoost" : "XGBoost (" + why_not_ + ")";
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    if (forest_) {
      std::vector<float> out(rows * outputs());
      forest_->predict(x, rows, out.data());
      return out;
    }
    size_t groups = 0;
    auto out = raw(x, rows, groups);
    if (!out) return out;
    if (groups != outputs())
      return invalid(source() + ": XGBoost gave " + std::to_string(groups) +
                     " outputs per row; expected " + std::to_string(outputs()));
    return out;
  }

private:
  xgb::booster booster_;
  std::optional<forest> forest_;
  std::string why_not_; ///< why the booster was not compiled
};

/// Loads an XGBoost model file and checks it against `prep`.
caf::expected<std::unique_ptr<servable>>
load_xgboost(model_format f, const std::string& where,
             const std::string& model_file, preprocessor prep,
             const load_options& opts) {
  auto b = xgb::booster::load(model_file);
  if (!b) return bad_model(where + ": " + describe(b.error()));
  auto threads = std::to_string(std::max<size_t>(opts.threads, 1));
  if (auto r = b->set_param("nthread", threads); !r)
    return at(where, r.error());
  // Reading the configuration also configures the learner, so that
  // concurrent predictions later find it ready.
  auto cfg = b->config();
  if (!cfg) return at(where, cfg.error());
  std::string objective;
  size_t num_class = 0;
  {
    auto j = nlohmann::json::parse(*cfg, nullptr, false);
    try {
      objective = j.at("learner").at("objective").at("name").get<std::string>();
      auto nc = j.at("learner")
                    .at("learner_model_param")
                    .at("num_class")
                    .get<std::string>();
      num_class = std::stoul(nc);
    } catch (const std::exception& e) {
      return bad_model(where +
                       ": cannot read the booster's objective: " + e.what());
    }
  }
  auto nfeat = b->num_features();
  if (!nfeat) return at(where, nfeat.error());
  auto spec_width = prep.features().size();
  if (*nfeat != spec_width)
    return bad_model(where + ": the booster takes " + std::to_string(*nfeat) +
                     " features, but the spec lists " +
                     std::to_string(spec_width));
  auto k = prep.classes().size();
  auto starts = [&](const char* prefix) {
    return objective.rfind(prefix, 0) == 0;
  };
  switch (prep.task()) {
  case task_kind::binary:
    if (objective != "binary:logistic" && objective != "reg:logistic")
      return bad_model(where + ": the booster's objective is " + objective +
                       ", but " + task_text(prep) +
                       "; a binary model must give the probability of class 1 "
                       "(binary:logistic)");
    break;
  case task_kind::multiclass:
    if (objective != "multi:softprob" || num_class != k)
      return bad_model(
          where + ": the booster's objective is " + objective +
          (num_class > 0 ? " with " + std::to_string(num_class) + " classes"
                         : std::string{}) +
          ", but " + task_text(prep) +
          "; a multiclass model must give each class's probability "
          "(multi:softprob with num_class " +
          std::to_string(k) + ")");
    break;
  case task_kind::regression:
    if (starts("binary:") || starts("multi:"))
      return bad_model(where + ": the booster's objective is " + objective +
                       ", a classifier, but " + task_text(prep));
    break;
  }
  auto s = std::make_unique<xgb_servable>(f, where, std::move(prep),
                                          opts.allow_nan, std::move(*b));
  std::vector<float> zeros(probe_rows * spec_width, 0.0f);
  size_t groups = 0;
  auto probe = s->raw(zeros.data(), probe_rows, groups);
  if (!probe) return probe.error();
  if (groups != s->outputs())
    return bad_model(where + ": the booster gives " + std::to_string(groups) +
                     " outputs per row, but " + task_text(s->prep()));
  if (auto err = check_finite(where, *probe, groups)) return err;
  if (opts.compile)
    if (auto err = s->compile()) return err;
  return std::unique_ptr<servable>{std::move(s)};
}

// -- TorchScript plugin ------------------------------------------------------

/// The plugin's functions, resolved once.
struct torch_api {
  decltype(&troupe_torch_abi_version) abi_version = nullptr;
  decltype(&troupe_torch_load) load = nullptr;
  decltype(&troupe_torch_free) free = nullptr;
  decltype(&troupe_torch_forward) forward = nullptr;
  decltype(&troupe_torch_write_linear) write_linear = nullptr;
};

constexpr const char* plugin_name = "libtroupe_torch.so";

std::string exe_dir() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  buf[n] = '\0';
  return fs::path{buf}.parent_path().string();
}

/// Where the plugin may be, in order.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> out;
  if (auto* env = std::getenv("TROUPE_TORCH_PLUGIN"); env && *env)
    out.emplace_back(env);
  if (auto dir = exe_dir(); !dir.empty())
    out.push_back(dir + "/" + plugin_name);
#ifdef TROUPE_TORCH_PLUGIN_BUILD_PATH
  out.emplace_back(TROUPE_TORCH_PLUGIN_BUILD_PATH);
#endif
  return out;
}

/// The plugin, dlopen()ed on first use and kept for the process's life.
caf::expected<const torch_api*> torch_plugin() {
  static std::mutex mtx;
  static std::unique_ptr<torch_api> api;
  std::lock_guard<std::mutex> guard{mtx};
  if (api) return api.get();
  std::string tried;
  for (auto& path : plugin_candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += "\n  " + path + ": no such file";
      continue;
    }
    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      tried += "\n  " + path + ": " + ::dlerror();
      continue;
    }
    auto a = std::make_unique<torch_api>();
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::decay_t<decltype(fn)>>(::dlsym(lib, name));
      return fn != nullptr;
    };
    if (!sym(a->abi_version, "troupe_torch_abi_version") ||
        !sym(a->load, "troupe_torch_load") ||
        !sym(a->free, "troupe_torch_free") ||
        !sym(a->forward, "troupe_torch_forward") ||
        !sym(a->write_linear, "troupe_torch_write_linear")) {
      tried += "\n  " + path + ": not a troupe torch plugin (symbols missing)";
      continue; // never dlclose'd: LibTorch does not unload cleanly
    }
    if (a->abi_version() != TROUPE_TORCH_ABI_VERSION) {
      tried += "\n  " + path + ": plugin interface " +
               std::to_string(a->abi_version()) + ", this troupe needs " +
               std::to_string(TROUPE_TORCH_ABI_VERSION);
      continue;
    }
    api = std::move(a);
    return api.get();
  }
  return make_error(troupe::errc::not_found,
                    std::string{"TorchScript support is not available: "} +
                        plugin_name +
                        " (built by the troupe_torch target) was not found "
                        "or did not load; set TROUPE_TORCH_PLUGIN to its "
                        "path. Tried:" +
                        tried);
}

std::string plugin_message(const char* err) {
  return err[0] ? std::string{err} : std::string{"unknown error"};
}

class torch_servable : public servable {
public:
  torch_servable(std::string source, preprocessor prep, bool allow_nan,
                 const torch_api* api, void* model)
      : servable(model_format::torchscript, std::move(source), std::move(prep),
                 allow_nan),
        api_(api), model_(model) {}

  ~torch_servable() override { api_->free(model_); }

  std::string predictor() const override { return "TorchScript"; }

  /// Runs forward(), checking that the output is [rows] or [rows, width]
  /// (width 0: learn it, for the probe at load).
  caf::expected<std::vector<float>> forward(const float* x, size_t rows,
                                            size_t& width) const {
    auto cap = rows * std::max<size_t>(width, 1);
    std::vector<float> out(cap);
    int64_t shape[8];
    size_t ndim = 0;
    char err[1024] = "";
    if (api_->forward(model_, x, rows, features(), out.data(), out.size(),
                      shape, &ndim, err, sizeof(err)) != 0)
      return invalid(source() + ": forward() on " + std::to_string(rows) +
                     " rows of " + std::to_string(features()) +
                     " features failed: " + plugin_message(err));
    auto r = static_cast<int64_t>(rows);
    size_t got = 0;
    if (ndim == 1 && shape[0] == r)
      got = 1;
    else if (ndim == 2 && shape[0] == r && shape[1] > 0)
      got = static_cast<size_t>(shape[1]);
    if (got == 0 || (width != 0 && got != width)) {
      auto expected = width <= 1 ? "[" + std::to_string(rows) + "] or [" +
                                       std::to_string(rows) + ", 1]"
                                 : "[" + std::to_string(rows) + ", " +
                                       std::to_string(width) + "]";
      return invalid(source() + ": forward() on " + std::to_string(rows) +
                     " rows gave a tensor of shape " + shape_text(shape, ndim) +
                     "; expected " + expected);
    }
    if (width == 0) {
      width = got;
      out.resize(rows * got);
      if (got > 1) // the probe's buffer was too small: run again
        return forward(x, rows, width);
    }
    return out;
  }

  /// Scores as predict gives them from forward()'s output.
  caf::expected<std::vector<float>> finish(std::vector<float> y,
                                           size_t rows) const {
    if (auto err = check_finite(source(), y, width_)) return err;
    switch (task()) {
    case task_kind::regression:
      return y;
    case task_kind::binary:
      if (width_ == 1) {
        for (size_t r = 0; r < rows; ++r)
          if (y[r] < 0 || y[r] > 1)
            return invalid(source() + ": row " + std::to_string(r) +
                           ": the model's output " + shortest(y[r]) +
                           " is not a probability in [0, 1]; a binary "
                           "TorchScript model must give the probability of "
                           "class 1 (end forward() with a sigmoid)");
        return y;
      } else {
        std::vector<float> p(rows);
        for (size_t r = 0; r < rows; ++r) {
          to_probabilities(y.data() + r * 2, 2);
          p[r] = y[r * 2 + 1];
        }
        return p;
      }
    case task_kind::multiclass:
      for (size_t r = 0; r < rows; ++r)
        to_probabilities(y.data() + r * width_, width_);
      return y;
    }
    return y;
  }

  /// Learns the output width from a probe and checks it against the task.
  caf::error probe() {
    std::vector<float> zeros(probe_rows * features(), 0.0f);
    size_t width = 0;
    auto y = forward(zeros.data(), probe_rows, width);
    if (!y) return y.error();
    auto k = classes().size();
    bool fits = task() == task_kind::regression ? width == 1
                : task() == task_kind::binary   ? width == 1 || width == 2
                                                : width == k;
    if (!fits)
      return invalid(source() + ": the model gives " + std::to_string(width) +
                     " outputs per row, but " + task_text(prep()) +
                     (task() == task_kind::binary
                          ? "; a binary model gives the probability of class "
                            "1 ([rows] or [rows, 1]) or two class scores"
                      : task() == task_kind::multiclass
                          ? "; a multiclass model gives one score per "
                            "class ([rows, " +
                                std::to_string(k) + "])"
                          : "; a regression model gives one value per "
                            "row ([rows] or [rows, 1])"));
    width_ = width;
    auto s = finish(std::move(*y), probe_rows);
    if (!s) return s.error();
    return caf::none;
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    auto width = width_;
    auto y = forward(x, rows, width);
    if (!y) return y;
    return finish(std::move(*y), rows);
  }

private:
  const torch_api* api_;
  void* model_;
  size_t width_ = 0; ///< forward()'s values per row
};

caf::expected<std::unique_ptr<servable>> load_torch(const std::string& where,
                                                    preprocessor prep,
                                                    const load_options& opts) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  void* model = (*api)->load(
      where.c_str(), static_cast<int>(std::max<size_t>(opts.threads, 1)), err,
      sizeof(err));
  if (!model)
    return bad_model("TorchScript model '" + where +
                     "' does not load: " + plugin_message(err));
  auto s = std::make_unique<torch_servable>(where, std::move(prep),
                                            opts.allow_nan, *api, model);
  if (auto e = s->probe()) return e;
  return std::unique_ptr<servable>{std::move(s)};
}

caf::expected<preprocessor> load_spec(model_format f, const std::string& spec) {
  if (spec.empty())
    return invalid(to_string(f) +
                   " model needs its feature spec (a troupe.preprocessor "
                   "JSON file); none was given");
  auto p = preprocessor::load(spec);
  if (!p) return invalid("feature spec " + describe(p.error()));
  return p;
}

} // namespace

// -- formats -----------------------------------------------------------------

std::string to_string(model_format x) {
  switch (x) {
  case model_format::troupe:
    return "troupe";
  case model_format::xgboost:
    return "xgboost";
  case model_format::torchscript:
    return "torchscript";
  }
  return "model_format(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::expected<model_format> parse_model_format(const std::string& text) {
  for (auto f :
       {model_format::troupe, model_format::xgboost, model_format::torchscript})
    if (text == to_string(f)) return f;
  return invalid("unknown model format '" + text +
                 "' (expected troupe, xgboost or torchscript)");
}

// -- encoding ----------------------------------------------------------------

row_encoder::row_encoder(const preprocessor& prep)
    : features_(prep.features()), codes_(features_.size()) {
  for (size_t j = 0; j < features_.size(); ++j) {
    auto& cats = features_[j].categories;
    for (size_t k = 0; k < cats.size(); ++k)
      codes_[j].emplace(cats[k], static_cast<float>(k));
  }
}

caf::expected<std::vector<float>>
row_encoder::encode(const std::vector<std::string>& columns,
                    const std::vector<std::vector<cell>>& rows,
                    size_t* unseen) const {
  // Where each feature's cells are.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < columns.size(); ++i)
    if (!index.emplace(columns[i], i).second)
      return invalid("column '" + columns[i] + "' is given twice");
  std::vector<size_t> from(features_.size());
  for (size_t j = 0; j < features_.size(); ++j) {
    auto it = index.find(features_[j].name);
    if (it == index.end())
      return make_error(troupe::errc::not_found,
                        "no column '" + features_[j].name +
                            "', which the model uses; columns given: " +
                            (columns.empty() ? "none" : join(columns)));
    from[j] = it->second;
  }
  auto n = features_.size();
  std::vector<float> out(rows.size() * n, nan_f);
  size_t missed = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    auto& row = rows[r];
    if (row.size() != columns.size())
      return invalid("row " + std::to_string(r) + " has " +
                     std::to_string(row.size()) + " cells for " +
                     std::to_string(columns.size()) + " columns");
    for (size_t j = 0; j < n; ++j) {
      auto& c = row[from[j]];
      auto& f = features_[j];
      auto& dst = out[r * n + j];
      if (c.k == cell::kind::missing ||
          (c.k == cell::kind::text && c.text.empty()))
        continue;
      if (f.kind == column_kind::numeric) {
        double v = c.number;
        if (c.k == cell::kind::text && !tabular::parse_number(c.text, v))
          return invalid("row " + std::to_string(r) + ": column '" + f.name +
                         "' holds '" + c.text +
                         "', but the model reads it as numeric");
        dst = static_cast<float>(v);
        continue;
      }
      auto it = c.k == cell::kind::text ? codes_[j].find(c.text)
                                        : codes_[j].find(shortest(c.number));
      if (it != codes_[j].end())
        dst = it->second;
      else
        ++missed;
    }
  }
  if (unseen) *unseen += missed;
  return out;
}

caf::expected<std::vector<float>>
encode_rows(const preprocessor& prep, const std::vector<std::string>& columns,
            const std::vector<std::vector<cell>>& rows, size_t* unseen) {
  return row_encoder{prep}.encode(columns, rows, unseen);
}

caf::error check_no_nan(const preprocessor& prep, const float* x, size_t rows) {
  auto n = prep.features().size();
  for (size_t i = 0; i < rows * n; ++i)
    if (std::isnan(x[i]))
      return invalid("row " + std::to_string(i / n) + ": feature '" +
                     prep.features()[i % n].name +
                     "' is NaN, which this model does not allow");
  return caf::none;
}

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

// -- servable ----------------------------------------------------------------

servable::servable(model_format format, std::string source, preprocessor prep,
                   bool allow_nan)
    : format_(format), source_(std::move(source)), prep_(std::move(prep)),
      encoder_(prep_), allow_nan_(allow_nan) {}

servable::~servable() = default;

size_t servable::outputs() const {
  return task() == task_kind::multiclass ? classes().size() : 1;
}

caf::expected<std::vector<float>> servable::predict(const float* x,
                                                    size_t rows) const {
  if (rows == 0) return std::vector<float>{};
  if (x == nullptr)
    return invalid(source_ + ": no feature values for " + std::to_string(rows) +
                   " rows");
  if (!allow_nan_)
    if (auto err = check_no_nan(prep_, x, rows))
      return invalid(source_ + ": " + describe(err));
  return run(x, rows);
}

caf::expected<std::vector<float>>
servable::predict(const std::vector<std::string>& columns,
                  const std::vector<std::vector<cell>>& rows) const {
  auto x = encoder_.encode(columns, rows);
  if (!x) return x.error();
  return predict(x->data(), rows.size());
}

caf::expected<std::unique_ptr<servable>>
servable::load(model_format format, const std::string& artifact,
               const std::string& spec, const load_options& opts) {
  std::error_code ec;
  if (!fs::exists(artifact, ec))
    return make_error(troupe::errc::not_found, to_string(format) + " model '" +
                                                   artifact +
                                                   "' does not exist");
  switch (format) {
  case model_format::troupe: {
    // saved_model::load checks model.json against preprocessor.json and the
    // booster's rounds; the booster is then loaded again for in-place
    // prediction.
    auto m = saved_model::load(artifact);
    if (!m) return m.error();
    if (m->info().family != "xgboost")
      return bad_model("model directory '" + artifact + "': family '" +
                       m->info().family + "' cannot be served");
    auto file = (fs::path{artifact} / "model.ubj").string();
    return load_xgboost(format, "model directory '" + artifact + "'", file,
                        m->prep(), opts);
  }
  case model_format::xgboost: {
    if (fs::is_directory(artifact, ec))
      return invalid("xgboost model '" + artifact +
                     "' is a directory; give the model file (for a troupe "
                     "model directory, the format is troupe)");
    if (!xgb_extension(artifact))
      return invalid("xgboost model '" + artifact +
                     "': the file name must end in .json or .ubj (XGBoost "
                     "reads the format from it; the legacy binary format is "
                     "not accepted)");
    auto prep = load_spec(format, spec);
    if (!prep) return prep.error();
    return load_xgboost(format, "xgboost model '" + artifact + "'", artifact,
                        std::move(*prep), opts);
  }
  case model_format::torchscript: {
    if (fs::is_directory(artifact, ec))
      return invalid("TorchScript model '" + artifact +
                     "' is a directory; give the .pt file");
    auto prep = load_spec(format, spec);
    if (!prep) return prep.error();
    return load_torch(artifact, std::move(*prep), opts);
  }
  }
  return invalid("unknown model format");
}

caf::error write_torch_linear(const std::string& path,
                              const std::vector<float>& w, size_t outputs,
                              const std::vector<float>& b,
                              const std::string& activation, bool squeeze) {
  if (outputs == 0 || w.size() % outputs != 0 || b.size() != outputs)
    return invalid("linear model: " + std::to_string(w.size()) +
                   " weights and " + std::to_string(b.size()) +
                   " biases do not make " + std::to_string(outputs) +
                   " outputs");
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  if ((*api)->write_linear(path.c_str(), w.data(), outputs, w.size() / outputs,
                           b.data(), activation.c_str(), squeeze ? 1 : 0, err,
                           sizeof(err)) != 0)
    return invalid("cannot write TorchScript model '" + path +
                   "': " + plugin_message(err));
  return caf::none;
}

} // namespace troupe::models
