#include "actors/models/member.hpp"

#include "actors/models/model_choice.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/xgb_data.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using tabular::feature_pipeline;
using tabular::pipeline_options;
using tabular::task_kind;

tabular::pipeline_options pipeline_for(const estimator_family& family,
                                       pipeline_options opts) {
  if (!family.takes_nan && opts.impute == "none") opts.impute = "median";
  if (!family.native_categorical && opts.encoding == "native")
    opts.encoding = "onehot";
  return opts;
}

estimator_context estimator_context_of(const tabular::preprocessor& prep,
                                       const feature_pipeline& pipe,
                                       size_t threads, uint64_t seed) {
  estimator_context ctx;
  ctx.task = prep.task();
  ctx.classes = tabular::is_classification(prep.task()) ? prep.classes().size()
                                                        : size_t{0};
  ctx.threads = std::max<size_t>(1, threads);
  ctx.seed = seed;
  ctx.feature_types =
      pipe.identity() ? xgboost_feature_types(prep) : pipe.feature_types();
  return ctx;
}

estimator_context estimator_context_of(const tabular::dataset& data,
                                       const feature_pipeline& pipe,
                                       size_t threads, uint64_t seed) {
  return estimator_context_of(data.prep, pipe, threads, seed);
}

fitted_member fitted_member::of_booster(xgb::booster b) {
  fitted_member m;
  m.booster_ = std::make_shared<xgb::booster>(std::move(b));
  return m;
}

fitted_member fitted_member::of_estimator(std::string family,
                                          feature_pipeline pipeline,
                                          std::unique_ptr<estimator> model) {
  fitted_member m;
  m.family_ = std::move(family);
  m.pipeline_ = std::move(pipeline);
  m.model_ = std::move(model);
  return m;
}

caf::expected<fitted_member>
fitted_member::from_bytes(const std::string& family,
                          const nlohmann::json& pipeline,
                          const std::vector<uint8_t>& bytes,
                          const tabular::preprocessor& prep, size_t threads) {
  fitted_member m;
  m.family_ = family;
  if (!pipeline.is_null()) {
    auto p = feature_pipeline::from_json(pipeline);
    if (!p) return p.error();
    m.pipeline_ = std::move(*p);
  }
  if (family == "xgboost") {
    auto b = xgb::booster::from_bytes(bytes);
    if (!b) return b.error();
    m.booster_ = std::make_shared<xgb::booster>(std::move(*b));
    return m;
  }
  auto fam = find_estimator_family(family);
  if (!fam) return fam.error();
  // the seed only matters for further training
  auto e =
      (*fam)->load(bytes, estimator_context_of(prep, m.pipeline_, threads, 0));
  if (!e) return e.error();
  m.model_ = std::move(*e);
  return m;
}

uint64_t fitted_member::steps() const {
  if (booster_) {
    auto r = booster_->rounds();
    return r ? static_cast<uint64_t>(*r) : 0;
  }
  return model_ ? model_->steps() : 0;
}

caf::expected<std::vector<float>>
fitted_member::scores(const tabular::matrix& m,
                      const tabular::preprocessor& prep, size_t) const {
  const tabular::matrix* x = &m;
  tabular::matrix transformed;
  if (!pipeline_.identity()) {
    auto t = pipeline_.transform(m);
    if (!t) return t.error();
    transformed = std::move(*t);
    x = &transformed;
  }
  if (booster_) {
    auto d = pipeline_.identity()
                 ? xgboost_matrix(*x, prep)
                 : xgboost_matrix(*x, pipeline_.feature_types());
    if (!d) return d.error();
    return booster_->predict(*d);
  }
  if (!model_)
    return make_error(errc::invalid_argument, "an empty model member");
  return model_->predict(*x);
}

caf::expected<std::vector<uint8_t>> fitted_member::bytes() const {
  if (booster_) return booster_->save_bytes("ubj");
  if (!model_)
    return make_error(errc::invalid_argument, "an empty model member");
  return model_->save();
}

std::string fitted_member::extension() const {
  return booster_ ? ".ubj" : ".bin";
}

caf::expected<fitted_member> refit_member(const tabular::dataset& data,
                                          const std::string& family,
                                          const tabular::config& cfg,
                                          uint64_t steps, uint64_t max_resource,
                                          size_t threads, uint64_t seed) {
  auto choice = split_choice(cfg, family);
  if (!choice) return choice.error();
  if (choice->family == "xgboost") {
    if (!choice->fe.empty())
      return make_error(errc::invalid_argument,
                        "the xgboost family takes no feature pipeline "
                        "parameters (fe.*)");
    auto b = refit_xgboost(data, choice->params, steps, threads, seed);
    if (!b) return b.error();
    auto m = fitted_member::of_booster(std::move(*b));
    return m;
  }
  if (steps == 0) return make_error(errc::invalid_argument, "refit: 0 steps");
  auto& X = data.X;
  if (X.rows == 0 || X.labels.size() != X.rows)
    return make_error(errc::invalid_argument,
                      "refit: " + std::to_string(X.rows) + " rows and " +
                          std::to_string(X.labels.size()) +
                          " labels; need labeled rows");
  auto fam = find_estimator_family(choice->family);
  if (!fam) return fam.error();
  auto opts = pipeline_options::from_config(choice->fe);
  if (!opts) return opts.error();
  auto classes =
      tabular::is_classification(data.task) ? data.classes.size() : size_t{0};
  auto fitted = feature_pipeline::fit_transform(
      X, data.prep, data.task, classes, pipeline_for(**fam, *opts), seed);
  if (!fitted) return fitted.error();
  auto ctx = estimator_context_of(data, fitted->first, threads, seed);
  auto e = (*fam)->make(choice->params, ctx);
  if (!e) return e.error();
  auto target = max_resource == 0 ? std::min<uint64_t>(steps, (*fam)->max_steps)
                                  : family_steps(**fam, steps, max_resource);
  for (uint64_t i = 0; i < target; ++i)
    if (auto err = (*e)->fit_step(fitted->second)) return err;
  return fitted_member::of_estimator(choice->family, std::move(fitted->first),
                                     std::move(*e));
}

} // namespace troupe::models
