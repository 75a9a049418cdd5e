#include "actors/models/servable.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "actors/models/errors.hpp"
#include "actors/models/forest.hpp"
#include "actors/models/servable_detail.hpp"
#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"

// The XGBoost servable: a booster, compiled into a forest when the forest
// predicts what XGBoost predicts.

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

namespace fs = std::filesystem;
using detail::bad_model;
using detail::check_finite;
using detail::invalid;
using detail::probe_rows;
using detail::shortest;
using detail::task_text;

namespace {

/// `err` (its code kept) with `where` before its message.
caf::error at(const std::string& where, const caf::error& err) {
  return caf::error{err.code(), err.category(),
                    caf::make_message(where + ": " + describe(err))};
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

} // namespace

namespace detail {

/// ".json" or ".ubj" (in any case): the formats XGBoost loads by extension.
bool xgb_extension(const std::string& path) {
  auto ext = fs::path{path}.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".json" || ext == ".ubj";
}

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

} // namespace detail

} // namespace troupe::models
