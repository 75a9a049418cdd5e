// The `rf` estimator family: random forests grown by XGBoost. Each step is
// one booster of `trees_per_step` trees grown in a single round
// (num_parallel_tree, eta 1), each tree on a subsample of the rows and a
// subsample of the columns at every split, with a seed of its own; the
// estimator's scores are the boosters' averaged. The trees of binary and
// regression forests fit the label by squared error starting from its mean
// (with lambda 0 a leaf holds the mean label of its rows: for binary, the
// share of class 1, as a classic random forest's leaf does); multiclass
// forests take one Newton step of the softmax loss from uniform
// probabilities (a leaf's margin for a class rises with the class's share
// of its rows). A binary probability is smoothed a little toward 1/2, so
// that no row gets probability 0 or 1. Missing values and categorical columns
// (ctx.feature_types "c") are split natively.
//
// Each step's booster is saved to bytes and read back at once: the trained
// booster would hold a prediction cache of every training row for as long
// as it lives, and the read-back one predicts exactly as a loaded estimator
// will.

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/estimator_support.hpp"
#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

namespace {

using tabular::task_kind;

constexpr const char* family_name = "rf";
constexpr uint32_t format_version = 1;
constexpr const char* saved_what = "saved rf estimator";
/// Binary: added to both classes' shares before renormalising, so that no
/// row gets probability 0 or 1 (a pure leaf's share is).
constexpr double smoothing = 1e-3;

struct rf_params {
  uint32_t max_depth = 0;
  double min_child_weight = 1;
  double subsample = 0.8;
  double colsample_bynode = 0.8;
  double lambda = 0;
  uint32_t trees_per_step = 16;
};

caf::expected<rf_params> read_params(const tabular::config& cfg) {
  detail::param_reader r{cfg, family_name};
  rf_params p;
  auto depth = r.integer("max_depth", p.max_depth, 0, 64);
  if (!depth) return depth.error();
  auto mcw = r.real("min_child_weight", p.min_child_weight, 0, 1e6);
  if (!mcw) return mcw.error();
  auto sub = r.real("subsample", p.subsample, 1e-3, 1);
  if (!sub) return sub.error();
  auto col = r.real("colsample_bynode", p.colsample_bynode, 1e-3, 1);
  if (!col) return col.error();
  auto lambda = r.real("lambda", p.lambda, 0, 1e6);
  if (!lambda) return lambda.error();
  auto trees = r.integer("trees_per_step", p.trees_per_step, 1, 1024);
  if (!trees) return trees.error();
  if (auto err = r.unknown()) return err;
  p.max_depth = static_cast<uint32_t>(*depth);
  p.min_child_weight = *mcw;
  p.subsample = *sub;
  p.colsample_bynode = *col;
  p.lambda = *lambda;
  p.trees_per_step = static_cast<uint32_t>(*trees);
  return p;
}

std::string text(double x) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

/// A well-mixed 64-bit value of `x` (splitmix64's finalizer).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// One step's forest: the booster read back from its bytes.
struct forest_step {
  std::vector<uint8_t> bytes;
  std::unique_ptr<xgb::booster> model;
};

class rf_estimator final : public estimator {
public:
  rf_estimator(rf_params params, estimator_context ctx)
      : params_(params), ctx_(std::move(ctx)), seed_(ctx_.seed),
        feature_types_(ctx_.feature_types) {}

  caf::error fit_step(const tabular::matrix& train) override {
    // the first step of this object (fresh or loaded) checks the matrix and
    // builds its DMatrix; later steps get the same matrix
    if (!train_) {
      if (auto err = detail::check_train(train, ctx_, family_name)) return err;
      if (cols_ == 0) {
        if (!feature_types_.empty() && feature_types_.size() != train.cols)
          return make_error(troupe::errc::invalid_argument,
                            std::string{family_name} + ": " +
                                std::to_string(feature_types_.size()) +
                                " feature types for " +
                                std::to_string(train.cols) + " columns");
        cols_ = train.cols;
        if (ctx_.task != task_kind::multiclass) {
          double sum = 0;
          for (auto y : train.labels)
            sum += y;
          base_score_ = sum / static_cast<double>(train.rows);
        }
      }
      if (auto err = detail::check_columns(train, cols_, family_name))
        return err;
      auto d = matrix_of(train, true);
      if (!d) return d.error();
      train_ = std::make_unique<xgb::dmatrix>(std::move(*d));
    } else if (train.cols != cols_ || train.rows != train_->rows()) {
      return make_error(troupe::errc::invalid_argument,
                        std::string{family_name} +
                            ": a later step's matrix differs from the first's");
    }
    auto b = xgb::booster::create(train_.get());
    if (!b) return b.error();
    for (auto& [k, v] : training_params())
      if (auto r = b->set_param(k, v); !r) return r.error();
    if (auto r = b->update(*train_); !r) return r.error();
    auto bytes = b->save_bytes("ubj");
    if (!bytes) return bytes.error();
    auto step = reload(std::move(*bytes));
    if (!step) return step.error();
    steps_.push_back(std::move(*step));
    return caf::none;
  }

  uint64_t steps() const override { return steps_.size(); }

  caf::expected<std::vector<float>>
  predict(const tabular::matrix& m) const override {
    if (steps_.empty())
      return make_error(troupe::errc::invalid_argument,
                        std::string{family_name} +
                            ": predict before the first training step");
    if (auto err = detail::check_columns(m, cols_, family_name)) return err;
    auto width = score_width(ctx_);
    if (m.rows == 0) return std::vector<float>{};
    auto d = matrix_of(m, false);
    if (!d) return d.error();
    std::vector<double> sum(m.rows * width, 0.0);
    for (auto& s : steps_) {
      auto p = s.model->predict(*d);
      if (!p) return p.error();
      if (p->size() != sum.size())
        return make_error(troupe::errc::invalid_argument,
                          std::string{family_name} + ": a forest gave " +
                              std::to_string(p->size()) + " scores for " +
                              std::to_string(m.rows) + " rows");
      for (size_t i = 0; i < sum.size(); ++i)
        sum[i] += (*p)[i];
    }
    std::vector<float> out(sum.size());
    auto n = static_cast<double>(steps_.size());
    for (size_t i = 0; i < sum.size(); ++i) {
      auto x = sum[i] / n;
      if (ctx_.task == task_kind::binary)
        x = (std::clamp(x, 0.0, 1.0) + smoothing) / (1.0 + 2.0 * smoothing);
      out[i] = static_cast<float>(x);
    }
    return out;
  }

  caf::expected<std::vector<uint8_t>> save() const override {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::ForestEstimator>();
    root.setVersion(format_version);
    root.setTask(detail::to_schema(ctx_.task));
    root.setClasses(static_cast<uint32_t>(
        tabular::is_classification(ctx_.task) ? ctx_.classes : 0));
    root.setFeatures(static_cast<uint32_t>(cols_));
    root.setSteps(steps_.size());
    root.setSeed(seed_);
    root.setMaxDepth(params_.max_depth);
    root.setMinChildWeight(params_.min_child_weight);
    root.setSubsample(params_.subsample);
    root.setColsampleBynode(params_.colsample_bynode);
    root.setLambda(params_.lambda);
    root.setTreesPerStep(params_.trees_per_step);
    root.setBaseScore(base_score_);
    auto types =
        root.initFeatureTypes(static_cast<unsigned>(feature_types_.size()));
    for (unsigned i = 0; i < feature_types_.size(); ++i)
      types.set(i, feature_types_[i]);
    auto boosters = root.initBoosters(static_cast<unsigned>(steps_.size()));
    for (unsigned i = 0; i < steps_.size(); ++i)
      boosters.set(
          i, kj::arrayPtr(steps_[i].bytes.data(), steps_[i].bytes.size()));
    return checkpoint_bytes(message);
  }

  /// Reads save()'s forests into this estimator (made with the saved
  /// parameters).
  caf::error restore(schema::ForestEstimator::Reader in) {
    seed_ = in.getSeed();
    cols_ = in.getFeatures();
    base_score_ = in.getBaseScore();
    feature_types_.clear();
    for (auto t : in.getFeatureTypes()) {
      std::string s = t;
      if (s != "q" && s != "c")
        return make_error(models::errc::bad_model, std::string{saved_what} +
                                                       ": feature type '" + s +
                                                       "' (not q or c)");
      feature_types_.push_back(std::move(s));
    }
    if (!feature_types_.empty() && feature_types_.size() != cols_)
      return make_error(models::errc::bad_model,
                        std::string{saved_what} + ": " +
                            std::to_string(feature_types_.size()) +
                            " feature types for " + std::to_string(cols_) +
                            " features");
    if (!ctx_.feature_types.empty() && ctx_.feature_types != feature_types_)
      return make_error(models::errc::bad_model,
                        std::string{saved_what} +
                            ": its feature types differ from the context's");
    if (in.getBoosters().size() != in.getSteps())
      return make_error(models::errc::bad_model,
                        std::string{saved_what} + ": " +
                            std::to_string(in.getBoosters().size()) +
                            " forests for " + std::to_string(in.getSteps()) +
                            " steps");
    if (in.getSteps() > 0 && cols_ == 0)
      return make_error(models::errc::bad_model,
                        std::string{saved_what} + ": no features");
    for (auto b : in.getBoosters()) {
      auto step = reload(std::vector<uint8_t>(b.begin(), b.end()));
      if (!step) return step.error();
      auto f = step->model->num_features();
      if (!f) return f.error();
      if (*f != cols_)
        return make_error(models::errc::bad_model,
                          std::string{saved_what} + ": a forest takes " +
                              std::to_string(*f) + " features, not " +
                              std::to_string(cols_));
      steps_.push_back(std::move(*step));
    }
    return caf::none;
  }

private:
  /// The booster of `bytes`, set to predict with the context's threads.
  caf::expected<forest_step> reload(std::vector<uint8_t> bytes) const {
    auto b = xgb::booster::from_bytes(bytes);
    if (!b) return b.error();
    auto threads = std::to_string(std::max<size_t>(1, ctx_.threads));
    if (auto r = b->set_param("nthread", threads); !r) return r.error();
    forest_step s;
    s.bytes = std::move(bytes);
    s.model = std::make_unique<xgb::booster>(std::move(*b));
    return s;
  }

  caf::expected<xgb::dmatrix> matrix_of(const tabular::matrix& m,
                                        bool labels) const {
    auto d = xgb::dmatrix::dense(m.values.data(), m.rows, m.cols,
                                 labels ? m.labels : std::vector<float>{});
    if (!d) return d.error();
    if (!feature_types_.empty())
      if (auto r = d->set_feature_types(feature_types_); !r) return r.error();
    return d;
  }

  /// The parameters of the next step's booster.
  std::vector<std::pair<std::string, std::string>> training_params() const {
    std::vector<std::pair<std::string, std::string>> out;
    if (ctx_.task == task_kind::multiclass) {
      out.emplace_back("objective", "multi:softprob");
      out.emplace_back("num_class", std::to_string(ctx_.classes));
    } else {
      out.emplace_back("objective", "reg:squarederror");
      out.emplace_back("base_score", text(base_score_));
    }
    out.emplace_back("tree_method", "hist");
    out.emplace_back("eta", "1");
    out.emplace_back("num_parallel_tree",
                     std::to_string(params_.trees_per_step));
    if (params_.max_depth == 0) {
      out.emplace_back("grow_policy", "lossguide");
      out.emplace_back("max_leaves", "0");
      out.emplace_back("max_depth", "0");
    } else {
      out.emplace_back("max_depth", std::to_string(params_.max_depth));
    }
    out.emplace_back("min_child_weight", text(params_.min_child_weight));
    out.emplace_back("subsample", text(params_.subsample));
    out.emplace_back("colsample_bynode", text(params_.colsample_bynode));
    out.emplace_back("lambda", text(params_.lambda));
    out.emplace_back("nthread",
                     std::to_string(std::max<size_t>(1, ctx_.threads)));
    out.emplace_back("seed",
                     std::to_string(mix(seed_ + steps_.size()) % 2147483647));
    out.emplace_back("verbosity", "0");
    return out;
  }

  rf_params params_;
  estimator_context ctx_;
  uint64_t seed_ = 0;
  std::vector<std::string> feature_types_;
  size_t cols_ = 0;
  double base_score_ = 0.5;
  std::vector<forest_step> steps_;
  /// The training rows as XGBoost takes them (not saved: rebuilt at the
  /// first step after loading).
  std::unique_ptr<xgb::dmatrix> train_;
};

caf::expected<std::unique_ptr<estimator>>
make_rf(const tabular::config& cfg, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  for (auto& t : ctx.feature_types)
    if (t != "q" && t != "c")
      return make_error(troupe::errc::invalid_argument,
                        std::string{family_name} + ": feature type '" + t +
                            "' (not q or c)");
  auto p = read_params(cfg);
  if (!p) return p.error();
  return std::unique_ptr<estimator>{new rf_estimator(*p, ctx)};
}

caf::expected<std::unique_ptr<estimator>>
load_rf(const std::vector<uint8_t>& bytes, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  return read_checkpoint<schema::ForestEstimator>(
      bytes, saved_what,
      [&](schema::ForestEstimator::Reader in)
          -> caf::expected<std::unique_ptr<estimator>> {
        auto bad = [](const std::string& why) {
          return detail::bad_saved(saved_what, why);
        };
        if (auto err = detail::check_saved(in, format_version, ctx, saved_what))
          return err;
        rf_params p;
        p.max_depth = in.getMaxDepth();
        p.min_child_weight = in.getMinChildWeight();
        p.subsample = in.getSubsample();
        p.colsample_bynode = in.getColsampleBynode();
        p.lambda = in.getLambda();
        p.trees_per_step = in.getTreesPerStep();
        if (p.max_depth > 64 || !(p.min_child_weight >= 0) ||
            !(p.subsample > 0 && p.subsample <= 1) ||
            !(p.colsample_bynode > 0 && p.colsample_bynode <= 1) ||
            !(p.lambda >= 0) || p.trees_per_step == 0)
          return bad("invalid parameters");
        auto est = std::make_unique<rf_estimator>(p, ctx);
        if (auto err = est->restore(in)) return err;
        return std::unique_ptr<estimator>{std::move(est)};
      });
}

} // namespace

estimator_family rf_family() {
  estimator_family f;
  f.name = family_name;
  f.max_steps = 32;
  f.takes_nan = true;
  f.native_categorical = true;
  f.make = make_rf;
  f.load = load_rf;
  return f;
}

} // namespace troupe::models
