#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>

#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/trainable.hpp"
#include "actors/models/xgb.hpp"
#include "actors/models/xgb_data.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "schemas/models.capnp.h"

namespace troupe::models {

using tabular::evaluate;
using tabular::find_metric;
using tabular::is_classification;
using tabular::k_fold;
using tabular::split_indices;
using tabular::take_rows;
using tabular::train_test_split;

trainable::~trainable() = default;

caf::expected<std::vector<float>> trainable::out_of_fold(uint64_t) const {
  return make_error(models::errc::unsupported,
                    "this model family gives no out-of-fold predictions");
}

caf::expected<std::vector<split_indices>>
validation_splits(const dataset& data, const validation& valid) {
  auto& X = data.X;
  if (valid.folds >= 2)
    return k_fold(X.labels, data.task, valid.folds, valid.seed);
  auto s =
      train_test_split(X.labels, data.task, valid.seed, valid.holdout_fraction);
  if (!s) return s.error();
  return std::vector<split_indices>{std::move(*s)};
}

caf::expected<double> trainable::objective(const std::string& name,
                                           uint64_t) const {
  return make_error(models::errc::unsupported,
                    "this model family cannot measure the objective '" + name +
                        "'");
}

namespace {

std::string text_of(const param_value& v) {
  if (auto* d = std::get_if<double>(&v)) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.17g", *d);
    return buf;
  }
  return to_string(v);
}

/// One fold: its booster and validation rows.
struct fold {
  std::unique_ptr<xgb::dmatrix> train;
  std::unique_ptr<xgb::dmatrix> valid;
  std::vector<float> valid_labels;
  std::vector<size_t> valid_rows; ///< the data's rows, in valid's order
  std::unique_ptr<xgb::booster> model;
};

class xgboost_trainable final : public trainable {
public:
  xgboost_trainable(train_context ctx,
                    std::vector<std::pair<std::string, std::string>> params)
      : ctx_(std::move(ctx)), params_(std::move(params)) {}

  caf::error init() {
    auto& X = ctx_.data->X;
    auto splits = validation_splits(*ctx_.data, ctx_.valid);
    if (!splits) return splits.error();
    for (auto& sp : *splits) {
      fold f;
      auto tr = take_rows(X, sp.train);
      auto va = take_rows(X, sp.test);
      auto dtr = xgboost_matrix(tr, ctx_.data->prep);
      if (!dtr) return dtr.error();
      auto dva = xgboost_matrix(va, ctx_.data->prep);
      if (!dva) return dva.error();
      f.train = std::make_unique<xgb::dmatrix>(std::move(*dtr));
      f.valid = std::make_unique<xgb::dmatrix>(std::move(*dva));
      f.valid_labels = std::move(va.labels);
      f.valid_rows = sp.test;
      if (auto err = fresh_model(f)) return err;
      folds_.push_back(std::move(f));
    }
    return caf::none;
  }

  caf::expected<double> train_to(uint64_t budget, uint64_t every,
                                 const report_fn& report) override {
    every = std::max<uint64_t>(1, every);
    double last = std::nan("");
    while (steps_ < budget) {
      if (ctx_.cancel && ctx_.cancel->load(std::memory_order_relaxed)) break;
      for (auto& f : folds_)
        if (auto r = f.model->update(*f.train); !r) return r.error();
      ++steps_;
      if (steps_ % every != 0 && steps_ != budget) continue;
      auto v = evaluate();
      if (!v) return v.error();
      last = *v;
      if (report && !report(steps_, last)) break;
    }
    if (std::isnan(last)) {
      auto v = evaluate();
      if (!v) return v.error();
      last = *v;
    }
    return last;
  }

  uint64_t steps() const override { return steps_; }

  caf::expected<std::vector<float>> out_of_fold(uint64_t step) const override {
    if (step == 0 || step > steps_)
      return make_error(troupe::errc::invalid_argument,
                        "out-of-fold predictions at step " +
                            std::to_string(step) + " of a model trained " +
                            std::to_string(steps_) + " steps");
    auto groups = ctx_.data->task == task_kind::multiclass
                      ? ctx_.data->classes.size()
                      : size_t{1};
    std::vector<float> out(ctx_.data->X.rows * groups, NAN);
    for (auto& f : folds_) {
      // a dart booster predicts with every tree; gbtree's rounds are its
      // trees' groups
      auto p = f.model->predict(*f.valid, static_cast<int>(step));
      if (!p) return p.error();
      if (p->size() != f.valid_rows.size() * groups)
        return make_error(
            troupe::errc::invalid_argument,
            "out-of-fold predictions: " + std::to_string(p->size()) +
                " values for " + std::to_string(f.valid_rows.size()) + " rows");
      for (size_t i = 0; i < f.valid_rows.size(); ++i)
        for (size_t g = 0; g < groups; ++g)
          out[f.valid_rows[i] * groups + g] = (*p)[i * groups + g];
    }
    return out;
  }

  caf::expected<double> objective(const std::string& name,
                                  uint64_t step) const override {
    if (name != "latency" && name != "model-size")
      return trainable::objective(name, step);
    if (step == 0 || step > steps_)
      return make_error(troupe::errc::invalid_argument,
                        "objective '" + name + "' at step " +
                            std::to_string(step) + " of a model trained " +
                            std::to_string(steps_) + " steps");
    return name == "latency" ? latency_us(step) : model_bytes(step);
  }

  /// A schema::XgbCheckpoint message: the rounds done and each fold's
  /// booster. The little-endian layout of older versions is not read:
  /// restoring one is an error.
  caf::expected<std::vector<uint8_t>> checkpoint() const override {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::XgbCheckpoint>();
    root.setSteps(steps_);
    auto folds = root.initFolds(static_cast<unsigned>(folds_.size()));
    for (unsigned i = 0; i < folds_.size(); ++i) {
      auto cp = folds_[i].model->save_checkpoint();
      if (!cp) return cp.error();
      folds[i].setModel(kj::arrayPtr(cp->model.data(), cp->model.size()));
      folds[i].setConfig(cp->config);
    }
    return checkpoint_bytes(message);
  }

  caf::expected<void> restore(const std::vector<uint8_t>& bytes) override {
    return read_checkpoint<schema::XgbCheckpoint>(
        bytes, "XGBoost checkpoint",
        [&](schema::XgbCheckpoint::Reader in) -> caf::expected<void> {
          auto folds = in.getFolds();
          if (folds.size() != folds_.size())
            return make_error(
                troupe::errc::malformed_message,
                "XGBoost checkpoint of " + std::to_string(bytes.size()) +
                    " bytes: holds " + std::to_string(folds.size()) +
                    " folds, expected " + std::to_string(folds_.size()));
          std::vector<std::unique_ptr<xgb::booster>> models;
          for (auto f : folds) {
            xgb::checkpoint cp;
            auto model = f.getModel();
            cp.model.assign(model.begin(), model.end());
            cp.config = f.getConfig();
            auto b = xgb::booster::restore(cp);
            if (!b) return b.error();
            // this trial's parameters, not the checkpoint's: PBT continues
            // another configuration's model with perturbed ones. The booster
            // kind is the model's own: a dart model told it is gbtree (or
            // the reverse) predicts from freed trees, so it is kept.
            for (auto& [k, v] : params_)
              if (k != "booster")
                if (auto r = b->set_param(k, v); !r) return r.error();
            models.push_back(std::make_unique<xgb::booster>(std::move(*b)));
          }
          for (size_t i = 0; i < folds_.size(); ++i)
            folds_[i].model = std::move(models[i]);
          steps_ = in.getSteps();
          return {};
        });
  }

private:
  caf::error fresh_model(fold& f) {
    auto b = xgb::booster::create(f.train.get());
    if (!b) return b.error();
    for (auto& [k, v] : params_)
      if (auto r = b->set_param(k, v); !r) return r.error();
    f.model = std::make_unique<xgb::booster>(std::move(*b));
    return caf::none;
  }

  /// Microseconds per row to predict every fold's validation rows with its
  /// first `step` rounds: the median of a few timings. (A measurement, not a
  /// timed decision: it reads the steady clock itself.)
  caf::expected<double> latency_us(uint64_t step) const {
    constexpr int timings = 5;
    size_t rows = 0;
    for (auto& f : folds_)
      rows += f.valid_rows.size();
    if (rows == 0)
      return make_error(troupe::errc::invalid_argument,
                        "objective 'latency': no validation rows");
    std::vector<double> per_row;
    for (int i = 0; i < timings; ++i) {
      std::chrono::duration<double, std::micro> took{0};
      for (auto& f : folds_) {
        // a DMatrix XGBoost has not seen (it caches the predictions of one
        // it has), built outside the timing
        auto fresh = xgboost_matrix(take_rows(ctx_.data->X, f.valid_rows),
                                    ctx_.data->prep);
        if (!fresh) return fresh.error();
        auto start = std::chrono::steady_clock::now();
        if (auto p = f.model->predict(*fresh, static_cast<int>(step)); !p)
          return p.error();
        took += std::chrono::steady_clock::now() - start;
      }
      per_row.push_back(took.count() / static_cast<double>(rows));
    }
    std::sort(per_row.begin(), per_row.end());
    return per_row[per_row.size() / 2];
  }

  /// Bytes of the folds' models (UBJSON) with their first `step` rounds,
  /// averaged over the folds.
  caf::expected<double> model_bytes(uint64_t step) const {
    double sum = 0;
    for (auto& f : folds_) {
      auto rounds = f.model->rounds();
      if (!rounds) return rounds.error();
      caf::expected<std::vector<uint8_t>> bytes = std::vector<uint8_t>{};
      if (static_cast<uint64_t>(*rounds) <= step) {
        bytes = f.model->save_bytes("ubj");
      } else {
        auto part = f.model->slice(static_cast<int>(step));
        if (!part) return part.error();
        bytes = part->save_bytes("ubj");
      }
      if (!bytes) return bytes.error();
      sum += static_cast<double>(bytes->size());
    }
    return sum / static_cast<double>(folds_.size());
  }

  caf::expected<double> evaluate() {
    double sum = 0;
    auto classes = is_classification(ctx_.data->task)
                       ? ctx_.data->classes.size()
                       : size_t{0};
    for (auto& f : folds_) {
      auto p = f.model->predict(*f.valid);
      if (!p) return p.error();
      auto v = tabular::evaluate(ctx_.metric, f.valid_labels, *p, classes);
      if (!v) return v.error();
      sum += *v;
    }
    return sum / static_cast<double>(folds_.size());
  }

  train_context ctx_;
  std::vector<std::pair<std::string, std::string>> params_;
  std::vector<fold> folds_;
  uint64_t steps_ = 0;
};

} // namespace

caf::expected<std::vector<std::pair<std::string, std::string>>>
xgboost_params(const config& cfg, task_kind task, size_t classes,
               size_t threads, uint64_t seed) {
  static const std::set<std::string> known{"eta",
                                           "max_depth",
                                           "min_child_weight",
                                           "subsample",
                                           "colsample_bytree",
                                           "lambda",
                                           "alpha",
                                           "booster",
                                           "rate_drop",
                                           "skip_drop",
                                           "gamma",
                                           "max_bin",
                                           "colsample_bylevel"};
  std::vector<std::pair<std::string, std::string>> out;
  switch (task) {
  case task_kind::binary:
    out.emplace_back("objective", "binary:logistic");
    break;
  case task_kind::multiclass:
    out.emplace_back("objective", "multi:softprob");
    out.emplace_back("num_class", std::to_string(classes));
    break;
  case task_kind::regression:
    out.emplace_back("objective", "reg:squarederror");
    break;
  }
  out.emplace_back("tree_method", "hist");
  out.emplace_back("nthread", std::to_string(std::max<size_t>(1, threads)));
  out.emplace_back("seed", std::to_string(seed % 2147483647));
  out.emplace_back("verbosity", "0");
  for (auto& [name, v] : cfg) {
    if (!known.count(name))
      return make_error(troupe::errc::invalid_argument,
                        "XGBoost has no tuned parameter '" + name + "'");
    if (auto* d = std::get_if<double>(&v); d && !std::isfinite(*d))
      return make_error(troupe::errc::invalid_argument,
                        "XGBoost parameter '" + name + "' is not finite");
    out.emplace_back(name, text_of(v));
  }
  return out;
}

caf::expected<std::unique_ptr<trainable>>
make_xgboost_trainable(const train_context& ctx, const config& cfg) {
  if (!ctx.data)
    return make_error(troupe::errc::invalid_argument,
                      "XGBoost trainable: no data");
  auto metric = find_metric(ctx.metric);
  if (!metric) return metric.error();
  auto params = xgboost_params(cfg, ctx.data->task, ctx.data->classes.size(),
                               ctx.threads, ctx.valid.seed);
  if (!params) return params.error();
  auto t = std::make_unique<xgboost_trainable>(ctx, std::move(*params));
  if (auto err = t->init()) return err;
  return std::unique_ptr<trainable>{std::move(t)};
}

} // namespace troupe::models
