#include "actors/tabular/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "actors/tabular/pipeline_steps.hpp"
#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

const std::vector<std::string> impute_names = {"none", "mean", "median",
                                               "most_frequent"};
const std::vector<std::string> encoding_names = {"native", "ordinal", "onehot",
                                                 "target"};
const std::vector<std::string> scaling_names = {"none", "standard", "minmax",
                                                "quantile"};
const std::vector<std::string> transform_names = {"none", "log"};

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool one_of(const std::string& v, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

caf::error not_one_of(const std::string& key, const std::string& value,
                      const std::vector<std::string>& names) {
  return invalid(key + ": '" + value + "' is not one of " + joined(names));
}

/// Checks options however they were made.
caf::error check(const pipeline_options& o) {
  if (!one_of(o.impute, impute_names))
    return not_one_of("fe.impute", o.impute, impute_names);
  if (!one_of(o.encoding, encoding_names))
    return not_one_of("fe.encoding", o.encoding, encoding_names);
  if (!one_of(o.scaling, scaling_names))
    return not_one_of("fe.scaling", o.scaling, scaling_names);
  if (!one_of(o.transform, transform_names))
    return not_one_of("fe.transform", o.transform, transform_names);
  if (o.crosses > fe::max_crosses)
    return invalid("fe.crosses: " + std::to_string(o.crosses) +
                   " is not an integer in 0.." +
                   std::to_string(fe::max_crosses));
  if (!(o.select > 0 && o.select <= 1))
    return invalid("fe.select: " + to_string(param_value{o.select}) +
                   " is not a fraction in (0, 1]");
  if (o.target_folds < 2)
    return invalid("target_folds: " + std::to_string(o.target_folds) +
                   " folds; out-of-fold target encoding needs at least 2");
  return {};
}

/// Checks what fit_transform is given.
caf::error check_training(const matrix& train, const preprocessor& prep,
                          task_kind task, size_t classes) {
  if (train.cols != prep.features().size())
    return invalid("feature pipeline: the training matrix has " +
                   std::to_string(train.cols) +
                   " columns, but the preprocessor encodes " +
                   std::to_string(prep.features().size()));
  if (train.values.size() != train.rows * train.cols)
    return invalid("feature pipeline: the training matrix holds " +
                   std::to_string(train.values.size()) + " values for " +
                   std::to_string(train.rows) + " x " +
                   std::to_string(train.cols));
  if (train.rows == 0) return invalid("feature pipeline: no training rows");
  if (train.labels.size() != train.rows)
    return invalid("feature pipeline: " + std::to_string(train.labels.size()) +
                   " labels for " + std::to_string(train.rows) +
                   " training rows");
  if (task == task_kind::regression) {
    for (size_t r = 0; r < train.rows; ++r)
      if (!std::isfinite(train.labels[r]))
        return invalid("feature pipeline: label of row " + std::to_string(r) +
                       " is not a finite number");
    return {};
  }
  if (classes < 2 || (task == task_kind::binary && classes != 2))
    return invalid("feature pipeline: " + std::to_string(classes) +
                   " classes for a " + to_string(task) + " task");
  for (size_t r = 0; r < train.rows; ++r) {
    auto y = train.labels[r];
    if (!(y >= 0 && y < static_cast<float>(classes) && y == std::floor(y)))
      return invalid("feature pipeline: label of row " + std::to_string(r) +
                     " is not a class index 0.." + std::to_string(classes - 1));
  }
  return {};
}

} // namespace

// -- options -----------------------------------------------------------------

caf::expected<pipeline_options>
pipeline_options::from_config(const config& cfg) {
  pipeline_options o;
  auto text = [&](const char* key, std::string& out,
                  const std::vector<std::string>& names) -> caf::error {
    auto it = cfg.find(key);
    if (it == cfg.end()) return {};
    auto* s = std::get_if<std::string>(&it->second);
    if (s == nullptr || !one_of(*s, names))
      return not_one_of(key, to_string(it->second), names);
    out = *s;
    return {};
  };
  if (auto err = text("fe.impute", o.impute, impute_names)) return err;
  if (auto err = text("fe.encoding", o.encoding, encoding_names)) return err;
  if (auto err = text("fe.scaling", o.scaling, scaling_names)) return err;
  if (auto err = text("fe.transform", o.transform, transform_names)) return err;
  if (auto it = cfg.find("fe.crosses"); it != cfg.end()) {
    double v = -1;
    if (auto* i = std::get_if<int64_t>(&it->second))
      v = static_cast<double>(*i);
    else if (auto* d = std::get_if<double>(&it->second))
      v = *d;
    if (!(v >= 0 && v <= fe::max_crosses && v == std::floor(v)))
      return invalid("fe.crosses: '" + to_string(it->second) +
                     "' is not an integer in 0.." +
                     std::to_string(fe::max_crosses));
    o.crosses = static_cast<uint32_t>(v);
  }
  if (auto it = cfg.find("fe.select"); it != cfg.end()) {
    double v = -1;
    if (auto* i = std::get_if<int64_t>(&it->second))
      v = static_cast<double>(*i);
    else if (auto* d = std::get_if<double>(&it->second))
      v = *d;
    if (!(v > 0 && v <= 1))
      return invalid("fe.select: '" + to_string(it->second) +
                     "' is not a fraction in (0, 1]");
    o.select = v;
  }
  return o;
}

// -- fit and transform -------------------------------------------------------

feature_pipeline::feature_pipeline(std::shared_ptr<const fe::fitted> steps)
    : steps_(std::move(steps)) {
  identity_ = steps_->is_identity();
  types_ = steps_->types;
  names_ = steps_->names;
}

caf::expected<std::pair<feature_pipeline, matrix>>
feature_pipeline::fit_transform(const matrix& train, const preprocessor& prep,
                                task_kind task, size_t classes,
                                const pipeline_options& opts, uint64_t seed) {
  if (auto err = check(opts)) return err;
  if (task == task_kind::regression) classes = 0;
  if (auto err = check_training(train, prep, task, classes)) return err;
  std::vector<split_indices> folds;
  bool has_categorical = false;
  for (auto& feat : prep.features())
    has_categorical |= feat.kind == column_kind::categorical;
  if ((opts.encoding == "target" || opts.select < 1) && has_categorical) {
    if (train.rows < 2)
      return invalid("feature pipeline: target encoding out of fold needs at "
                     "least 2 training rows");
    auto k = std::min<size_t>(opts.target_folds, train.rows);
    auto made = k_fold(train.labels, task, k, seed);
    if (!made) return made.error();
    folds = std::move(*made);
  }
  auto f = std::make_shared<fe::fitted>(
      fe::fit_steps(train, prep, task, classes, opts));
  auto full = fe::training_columns(*f, train, folds);
  f->kept.resize(f->full_cols);
  std::iota(f->kept.begin(), f->kept.end(), size_t{0});
  if (opts.select < 1) f->kept = fe::select_columns(*f, train, full, folds);
  auto types = f->full_types();
  auto names = f->full_names(prep);
  for (auto c : f->kept) {
    f->names.push_back(names[c]);
    f->types.push_back(types[c]);
  }
  matrix out;
  out.rows = train.rows;
  out.cols = f->kept.size();
  out.labels = train.labels;
  out.feature_names = f->names;
  out.values.resize(out.rows * out.cols);
  for (size_t r = 0; r < train.rows; ++r)
    for (size_t i = 0; i < f->kept.size(); ++i)
      out.values[r * out.cols + i] = full[r * f->full_cols + f->kept[i]];
  return std::make_pair(feature_pipeline{std::move(f)}, std::move(out));
}

caf::error feature_pipeline::transform_into(const float* in, size_t rows,
                                            size_t cols, float* out) const {
  if (!steps_) {
    std::copy(in, in + rows * cols, out);
    return {};
  }
  auto& f = *steps_;
  if (cols != f.inputs.size())
    return invalid("feature pipeline: the matrix has " + std::to_string(cols) +
                   " columns, but the pipeline was fitted on " +
                   std::to_string(f.inputs.size()));
  std::vector<float> full(f.full_cols);
  std::vector<double> scratch(f.inputs.size());
  for (size_t r = 0; r < rows; ++r) {
    f.apply_row(in + r * cols, scratch.data(), full.data());
    float* dst = out + r * f.kept.size();
    for (size_t i = 0; i < f.kept.size(); ++i)
      dst[i] = full[f.kept[i]];
  }
  return {};
}

caf::expected<matrix> feature_pipeline::transform(const matrix& m) const {
  if (!steps_) return m;
  if (m.values.size() != m.rows * m.cols)
    return invalid("feature pipeline: the matrix holds " +
                   std::to_string(m.values.size()) + " values for " +
                   std::to_string(m.rows) + " x " + std::to_string(m.cols));
  matrix out;
  out.rows = m.rows;
  out.cols = steps_->kept.size();
  out.values.resize(out.rows * out.cols);
  if (auto err =
          transform_into(m.values.data(), m.rows, m.cols, out.values.data()))
    return err;
  out.labels = m.labels;
  out.feature_names = names_;
  return out;
}

} // namespace troupe::tabular
