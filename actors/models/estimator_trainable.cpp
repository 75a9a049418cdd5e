#include <algorithm>
#include <chrono>
#include <cmath>

#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/estimator.hpp"
#include "actors/models/member.hpp"
#include "actors/models/trainable.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "schemas/models.capnp.h"

// The trainable of an estimator family: per fold, the feature pipeline
// fitted on the fold's training rows (target encodings out of fold) and an
// estimator trained on them step by step; the study's budget in its own
// units mapped to the family's steps; out-of-fold predictions kept at the
// best and the latest evaluation.

namespace troupe::models {

using tabular::feature_pipeline;
using tabular::is_classification;
using tabular::pipeline_options;
using tabular::split_indices;
using tabular::take_rows;

namespace {

struct est_fold {
  tabular::matrix train;
  tabular::matrix valid;
  std::vector<size_t> valid_rows; ///< the data's rows, in valid's order
  std::unique_ptr<estimator> model;
};

class estimator_trainable final : public trainable {
public:
  estimator_trainable(train_context ctx, const estimator_family& family,
                      tabular::config params, pipeline_options fe,
                      bool maximize)
      : ctx_(std::move(ctx)), family_(family), params_(std::move(params)),
        fe_(std::move(fe)), maximize_(maximize) {}

  caf::error init() {
    auto& X = ctx_.data->X;
    auto found = validation_splits(*ctx_.data, ctx_.valid);
    if (!found) return found.error();
    auto& splits = *found;
    auto classes = ctx_.data->classes.size();
    for (size_t i = 0; i < splits.size(); ++i) {
      auto& sp = splits[i];
      est_fold f;
      auto tr = take_rows(X, sp.train);
      auto fitted =
          feature_pipeline::fit_transform(tr, ctx_.data->prep, ctx_.data->task,
                                          classes, fe_, ctx_.valid.seed + i);
      if (!fitted) return fitted.error();
      auto va = fitted->first.transform(take_rows(X, sp.test));
      if (!va) return va.error();
      f.train = std::move(fitted->second);
      f.valid = std::move(*va);
      f.valid_rows = sp.test;
      auto ectx = estimator_context_of(*ctx_.data, fitted->first, ctx_.threads,
                                       ctx_.valid.seed + i);
      auto m = family_.make(params_, ectx);
      if (!m) return m.error();
      f.model = std::move(*m);
      ectxs_.push_back(std::move(ectx));
      folds_.push_back(std::move(f));
    }
    return caf::none;
  }

  caf::expected<double> train_to(uint64_t budget, uint64_t every,
                                 const report_fn& report) override {
    every = std::max<uint64_t>(1, every);
    double last = std::nan("");
    while (steps_ < budget) {
      if (cancelled()) break;
      auto next = std::min(budget, (steps_ / every + 1) * every);
      auto target = family_target(next);
      while (family_steps_ < target) {
        if (cancelled()) return last_value();
        for (auto& f : folds_)
          if (auto err = f.model->fit_step(f.train)) return err;
        ++family_steps_;
      }
      steps_ = next;
      auto v = evaluate();
      if (!v) return v.error();
      last = *v;
      if (report && !report(steps_, last)) break;
    }
    if (std::isnan(last)) return last_value();
    return last;
  }

  uint64_t steps() const override { return steps_; }

  caf::expected<std::vector<float>> out_of_fold(uint64_t step) const override {
    if (step == best_step_ && !best_oof_.empty()) return best_oof_;
    if (step == evaluated_step_ && !last_oof_.empty()) return last_oof_;
    return make_error(
        troupe::errc::invalid_argument,
        "out-of-fold predictions at step " + std::to_string(step) +
            ": kept only at the best step (" + std::to_string(best_step_) +
            ") and the last (" + std::to_string(evaluated_step_) + ")");
  }

  /// Estimators keep only their latest state: the objectives are those of
  /// the model as it is now (`step` is the current or the best reported
  /// step, which early stopping keeps close to it).
  caf::expected<double> objective(const std::string& name,
                                  uint64_t step) const override {
    if (name != "latency" && name != "model-size")
      return trainable::objective(name, step);
    if (folds_.empty() || family_steps_ == 0)
      return make_error(troupe::errc::invalid_argument,
                        "objective '" + name + "' of an untrained " +
                            family_.name + " model");
    if (name == "model-size") {
      double sum = 0;
      for (auto& f : folds_) {
        auto b = f.model->save();
        if (!b) return b.error();
        sum += static_cast<double>(b->size());
      }
      return sum / static_cast<double>(folds_.size());
    }
    // microseconds per row to predict the validation rows: the median of a
    // few timings (a measurement, not a timed decision: it reads the
    // steady clock itself)
    size_t rows = 0;
    for (auto& f : folds_)
      rows += f.valid.rows;
    if (rows == 0)
      return make_error(troupe::errc::invalid_argument,
                        "objective 'latency': no validation rows");
    std::vector<double> per_row;
    for (int i = 0; i < 5; ++i) {
      std::chrono::duration<double, std::micro> took{0};
      for (auto& f : folds_) {
        auto start = std::chrono::steady_clock::now();
        if (auto p = f.model->predict(f.valid); !p) return p.error();
        took += std::chrono::steady_clock::now() - start;
      }
      per_row.push_back(took.count() / static_cast<double>(rows));
    }
    std::sort(per_row.begin(), per_row.end());
    return per_row[per_row.size() / 2];
  }

  caf::expected<std::vector<uint8_t>> checkpoint() const override {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::EstimatorCheckpoint>();
    root.setSteps(steps_);
    root.setFamilySteps(family_steps_);
    root.setFamily(family_.name);
    auto folds = root.initFolds(static_cast<unsigned>(folds_.size()));
    for (unsigned i = 0; i < folds_.size(); ++i) {
      auto b = folds_[i].model->save();
      if (!b) return b.error();
      folds.set(i, kj::arrayPtr(b->data(), b->size()));
    }
    return checkpoint_bytes(message);
  }

  caf::expected<void> restore(const std::vector<uint8_t>& bytes) override {
    auto what = family_.name + " checkpoint";
    return read_checkpoint<schema::EstimatorCheckpoint>(
        bytes, what,
        [&](schema::EstimatorCheckpoint::Reader in) -> caf::expected<void> {
          if (in.getFamily() != family_.name)
            return make_error(troupe::errc::malformed_message,
                              what + ": holds a model of family '" +
                                  std::string{in.getFamily().cStr()} + "'");
          auto folds = in.getFolds();
          if (folds.size() != folds_.size())
            return make_error(troupe::errc::malformed_message,
                              what + ": holds " + std::to_string(folds.size()) +
                                  " folds, expected " +
                                  std::to_string(folds_.size()));
          std::vector<std::unique_ptr<estimator>> models;
          for (unsigned i = 0; i < folds.size(); ++i) {
            auto data = folds[i];
            std::vector<uint8_t> b(data.begin(), data.end());
            auto m = family_.load(b, ectxs_[i]);
            if (!m) return m.error();
            models.push_back(std::move(*m));
          }
          for (size_t i = 0; i < folds_.size(); ++i)
            folds_[i].model = std::move(models[i]);
          steps_ = in.getSteps();
          family_steps_ = in.getFamilySteps();
          return {};
        });
  }

private:
  bool cancelled() const {
    return ctx_.cancel && ctx_.cancel->load(std::memory_order_relaxed);
  }

  uint64_t family_target(uint64_t budget) const {
    if (ctx_.max_resource == 0)
      return std::min<uint64_t>(budget,
                                std::max<uint64_t>(1, family_.max_steps));
    return family_steps(family_, budget, ctx_.max_resource);
  }

  caf::expected<double> last_value() {
    if (!std::isnan(last_value_)) return last_value_;
    return evaluate();
  }

  caf::expected<double> evaluate() {
    if (evaluated_family_steps_ == family_steps_ && !std::isnan(last_value_)) {
      // nothing trained since (a family with fewer steps than the budget)
      note(steps_, last_value_);
      return last_value_;
    }
    auto groups = ctx_.data->task == task_kind::multiclass
                      ? ctx_.data->classes.size()
                      : size_t{1};
    auto classes = is_classification(ctx_.data->task)
                       ? ctx_.data->classes.size()
                       : size_t{0};
    std::vector<float> oof(ctx_.data->X.rows * groups, NAN);
    double sum = 0;
    for (auto& f : folds_) {
      auto p = f.model->predict(f.valid);
      if (!p) return p.error();
      if (p->size() != f.valid.rows * groups)
        return make_error(troupe::errc::invalid_argument,
                          family_.name + " predicted " +
                              std::to_string(p->size()) + " values for " +
                              std::to_string(f.valid.rows) + " rows");
      auto v = tabular::evaluate(ctx_.metric, f.valid.labels, *p, classes);
      if (!v) return v.error();
      sum += *v;
      for (size_t i = 0; i < f.valid_rows.size(); ++i)
        for (size_t g = 0; g < groups; ++g)
          oof[f.valid_rows[i] * groups + g] = (*p)[i * groups + g];
    }
    last_value_ = sum / static_cast<double>(folds_.size());
    evaluated_family_steps_ = family_steps_;
    last_oof_ = std::move(oof);
    note(steps_, last_value_);
    return last_value_;
  }

  /// Keeps the out-of-fold predictions of the best evaluation so far.
  void note(uint64_t step, double value) {
    evaluated_step_ = step;
    if (std::isnan(value)) return;
    bool better = best_oof_.empty() ||
                  (maximize_ ? value > best_value_ : value < best_value_);
    if (!better) return;
    best_value_ = value;
    best_step_ = step;
    best_oof_ = last_oof_;
  }

  train_context ctx_;
  const estimator_family& family_;
  tabular::config params_;
  pipeline_options fe_;
  bool maximize_;
  std::vector<est_fold> folds_;
  std::vector<estimator_context> ectxs_;
  uint64_t steps_ = 0;
  uint64_t family_steps_ = 0;
  uint64_t evaluated_family_steps_ = UINT64_MAX;
  uint64_t evaluated_step_ = 0;
  double last_value_ = std::nan("");
  std::vector<float> last_oof_;
  double best_value_ = 0;
  uint64_t best_step_ = 0;
  std::vector<float> best_oof_;
};

} // namespace

caf::expected<std::unique_ptr<trainable>> make_estimator_trainable(
    const train_context& ctx, const estimator_family& family,
    const tabular::config& params, const tabular::pipeline_options& fe) {
  if (!ctx.data)
    return make_error(troupe::errc::invalid_argument,
                      family.name + " trainable: no data");
  auto metric = tabular::find_metric(ctx.metric);
  if (!metric) return metric.error();
  auto t = std::make_unique<estimator_trainable>(
      ctx, family, params, pipeline_for(family, fe),
      metric->better == tabular::direction::maximize);
  if (auto err = t->init()) return err;
  return std::unique_ptr<trainable>{std::move(t)};
}

} // namespace troupe::models
