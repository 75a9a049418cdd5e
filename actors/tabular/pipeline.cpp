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

/// Columns of a matrix as doubles.
std::vector<double> column(const matrix& m, size_t c) {
  std::vector<double> out(m.rows);
  for (size_t r = 0; r < m.rows; ++r)
    out[r] = m.values[r * m.cols + c];
  return out;
}

/// The slot of each row's cell in categorical column `c`.
std::vector<size_t> slots(const matrix& m, size_t c, size_t levels) {
  std::vector<size_t> out(m.rows);
  for (size_t r = 0; r < m.rows; ++r)
    out[r] = fe::slot_of(m.values[r * m.cols + c], levels);
  return out;
}

/// Indexes of the `k` highest scores, highest first; ties keep the lower
/// index first.
std::vector<size_t> top(const std::vector<double>& score, size_t k) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  idx.resize(std::min(k, idx.size()));
  return idx;
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

/// Fits the steps of numeric columns and returns their prepared training
/// values (after log and imputation), one vector per input column (empty
/// for categorical ones).
std::vector<std::vector<double>> fit_numeric(fe::fitted& f, const matrix& train,
                                             fe::scaling scaling) {
  auto& o = f.options;
  std::vector<std::vector<double>> prepared(f.inputs.size());
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (f.inputs[j].categorical) continue;
    fe::numeric_step s;
    s.column = j;
    auto raw = column(train, j);
    if (o.transform == "log") s.log = std::fabs(fe::skewness(raw)) > 1;
    auto& v = prepared[j];
    v.resize(train.rows);
    for (size_t r = 0; r < train.rows; ++r)
      v[r] = s.prepare(train.values[r * train.cols + j]);
    if (o.impute != "none") {
      s.fill = fe::fill_value(o.impute, v);
      for (size_t r = 0; r < train.rows; ++r)
        v[r] = s.prepare(train.values[r * train.cols + j]);
    }
    s.scale = fe::scaler::fit(scaling, v);
    f.numeric.push_back(std::move(s));
  }
  return prepared;
}

/// Chooses the crosses: the top `crosses` numeric columns by information,
/// each pair (a ranked above b) giving a * b and a / (|b| + eps).
void fit_crosses(fe::fitted& f, const matrix& train,
                 const std::vector<std::vector<double>>& prepared,
                 fe::scaling scaling) {
  std::vector<size_t> numeric_cols;
  std::vector<double> score;
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (f.inputs[j].categorical) continue;
    auto s = fe::information(prepared[j], train.labels, f.task, f.classes);
    if (s > 0) {
      numeric_cols.push_back(j);
      score.push_back(s);
    }
  }
  std::vector<size_t> chosen;
  for (auto i : top(score, f.options.crosses))
    chosen.push_back(numeric_cols[i]);
  if (chosen.size() < 2) return;
  for (size_t i = 0; i < chosen.size(); ++i)
    for (size_t k = i + 1; k < chosen.size(); ++k)
      for (bool ratio : {false, true}) {
        fe::cross_step c;
        c.a = chosen[i];
        c.b = chosen[k];
        c.ratio = ratio;
        if (ratio) {
          double sum = 0;
          size_t n = 0;
          for (auto v : prepared[c.b])
            if (std::isfinite(v)) {
              sum += std::fabs(v);
              ++n;
            }
          double eps = n > 0 ? 1e-6 * sum / static_cast<double>(n) : 0;
          c.eps = eps > 0 && std::isfinite(eps) ? eps : 1e-6;
        }
        std::vector<double> v(train.rows);
        for (size_t r = 0; r < train.rows; ++r)
          v[r] = c.apply(prepared[c.a][r], prepared[c.b][r]);
        c.scale = fe::scaler::fit(scaling, v);
        f.crosses.push_back(std::move(c));
      }
}

/// Fits each categorical column's encoding on the training rows.
void fit_categorical(fe::fitted& f, const matrix& train) {
  fe::encoding enc;
  fe::parse_encoding(f.options.encoding, enc);
  std::vector<size_t> all(train.rows);
  std::iota(all.begin(), all.end(), size_t{0});
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (!f.inputs[j].categorical) continue;
    fe::categorical_step s;
    s.column = j;
    s.levels = f.inputs[j].levels;
    s.enc = enc;
    auto sl = slots(train, j, s.levels);
    if (enc == fe::encoding::onehot) {
      std::vector<bool> seen(s.levels + 1, false);
      for (auto x : sl)
        if (x <= s.levels) seen[x] = true;
      for (size_t x = 0; x <= s.levels; ++x)
        if (seen[x]) s.onehot.push_back(x);
      if (s.onehot.size() > f.options.max_onehot_levels) {
        s.enc = fe::encoding::ordinal;
        s.onehot.clear();
      }
    } else if (enc == fe::encoding::target) {
      fe::fit_target(s, sl, train.labels, all, f.task, f.classes);
    }
    f.categorical.push_back(std::move(s));
  }
}

/// The out-of-fold target encoding of categorical column `step` on the
/// training rows: rows x width values, row-major.
std::vector<double> out_of_fold(const fe::fitted& f,
                                const fe::categorical_step& step,
                                const matrix& train,
                                const std::vector<split_indices>& folds) {
  auto sl = slots(train, step.column, step.levels);
  fe::categorical_step fold_step = step;
  fe::fit_target(fold_step, sl, train.labels, {}, f.task, f.classes);
  std::vector<double> out(train.rows * fold_step.width);
  for (auto& fold : folds) {
    fe::fit_target(fold_step, sl, train.labels, fold.train, f.task, f.classes);
    std::vector<float> cell(fold_step.width);
    for (auto r : fold.test) {
      fold_step.encode(train.values[r * train.cols + step.column], cell.data());
      for (size_t k = 0; k < fold_step.width; ++k)
        out[r * fold_step.width + k] = cell[k];
    }
  }
  return out;
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
}

caf::expected<std::pair<feature_pipeline, matrix>>
feature_pipeline::fit_transform(const matrix& train, const preprocessor& prep,
                                task_kind task, size_t classes,
                                const pipeline_options& opts, uint64_t seed) {
  if (auto err = check(opts)) return err;
  if (task == task_kind::regression) classes = 0;
  if (auto err = check_training(train, prep, task, classes)) return err;
  auto f = std::make_shared<fe::fitted>();
  f->task = task;
  f->classes = classes;
  f->options = opts;
  for (auto& feat : prep.features())
    f->inputs.push_back({feat.name, feat.kind == column_kind::categorical,
                         feat.categories.size()});
  fe::scaling scaling;
  fe::parse_scaling(opts.scaling, scaling);
  auto prepared = fit_numeric(*f, train, scaling);
  if (opts.crosses > 0) fit_crosses(*f, train, prepared, scaling);
  fit_categorical(*f, train);
  f->index();
  // Every column of the training rows, target encodings out of fold.
  std::vector<float> full(train.rows * f->full_cols);
  std::vector<double> scratch(f->inputs.size());
  for (size_t r = 0; r < train.rows; ++r)
    f->apply_row(train.row(r), scratch.data(), full.data() + r * f->full_cols);
  std::vector<split_indices> folds;
  bool need_folds = opts.encoding == "target" || opts.select < 1;
  if (need_folds && !f->categorical.empty()) {
    if (train.rows < 2)
      return invalid("feature pipeline: target encoding out of fold needs at "
                     "least 2 training rows");
    auto k = std::min<size_t>(opts.target_folds, train.rows);
    auto made = k_fold(train.labels, task, k, seed);
    if (!made) return made.error();
    folds = std::move(*made);
  }
  // Scores for selection: a native categorical column is scored by its
  // out-of-fold target encoding (its codes are no quantity).
  std::vector<double> score(f->full_cols, 0.0);
  size_t first = 0;
  for (size_t j = 0; j < f->inputs.size(); ++j) {
    if (!f->inputs[j].categorical) {
      ++first;
      continue;
    }
    auto& c = f->categorical[f->step_of[j]];
    if (c.enc == fe::encoding::target) {
      auto oof = out_of_fold(*f, c, train, folds);
      for (size_t r = 0; r < train.rows; ++r)
        for (size_t k = 0; k < c.width; ++k)
          full[r * f->full_cols + first + k] =
              static_cast<float>(oof[r * c.width + k]);
    } else if (c.enc == fe::encoding::native && opts.select < 1) {
      auto oof = out_of_fold(*f, c, train, folds);
      size_t width = oof.size() / train.rows;
      for (size_t k = 0; k < width; ++k) {
        std::vector<double> x(train.rows);
        for (size_t r = 0; r < train.rows; ++r)
          x[r] = oof[r * width + k];
        score[first] = std::max(
            score[first], fe::information(x, train.labels, task, classes));
      }
    }
    first += c.outputs();
  }
  // Selection.
  f->kept.resize(f->full_cols);
  std::iota(f->kept.begin(), f->kept.end(), size_t{0});
  auto types = f->full_types();
  auto names = f->full_names(prep);
  if (opts.select < 1) {
    for (size_t c = 0; c < f->full_cols; ++c) {
      if (types[c] == "c") continue; // scored above
      std::vector<double> x(train.rows);
      for (size_t r = 0; r < train.rows; ++r)
        x[r] = full[r * f->full_cols + c];
      score[c] = fe::information(x, train.labels, task, classes);
    }
    auto want = static_cast<size_t>(
        std::ceil(opts.select * static_cast<double>(f->full_cols) - 1e-9));
    f->kept = top(score, std::max<size_t>(want, 1));
    std::sort(f->kept.begin(), f->kept.end());
  }
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

caf::expected<matrix> feature_pipeline::transform(const matrix& m) const {
  if (!steps_) return m;
  auto& f = *steps_;
  if (m.cols != f.inputs.size())
    return invalid("feature pipeline: the matrix has " +
                   std::to_string(m.cols) +
                   " columns, but the pipeline was "
                   "fitted on " +
                   std::to_string(f.inputs.size()));
  if (m.values.size() != m.rows * m.cols)
    return invalid("feature pipeline: the matrix holds " +
                   std::to_string(m.values.size()) + " values for " +
                   std::to_string(m.rows) + " x " + std::to_string(m.cols));
  matrix out;
  out.rows = m.rows;
  out.cols = f.kept.size();
  out.labels = m.labels;
  out.feature_names = f.names;
  out.values.resize(out.rows * out.cols);
  std::vector<float> full(f.full_cols);
  std::vector<double> scratch(f.inputs.size());
  for (size_t r = 0; r < m.rows; ++r) {
    f.apply_row(m.row(r), scratch.data(), full.data());
    float* dst = out.values.data() + r * out.cols;
    for (size_t i = 0; i < f.kept.size(); ++i)
      dst[i] = full[f.kept[i]];
  }
  return out;
}

} // namespace troupe::tabular
