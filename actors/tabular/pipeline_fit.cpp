// Fitting the feature pipeline's steps on training rows (see
// pipeline_steps.hpp): statistics per column, the crosses, the encodings,
// the training rows' columns with target encodings out of fold, and the
// selection of columns.

#include "actors/tabular/pipeline_steps.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace troupe::tabular::fe {

namespace {

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
    out[r] = slot_of(m.values[r * m.cols + c], levels);
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

/// Fits the steps of numeric columns and returns their prepared training
/// values (after log and imputation), one vector per input column (empty
/// for categorical ones).
std::vector<std::vector<double>> fit_numeric(fitted& f, const matrix& train,
                                             scaling scaling) {
  auto& o = f.options;
  std::vector<std::vector<double>> prepared(f.inputs.size());
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (f.inputs[j].categorical) continue;
    numeric_step s;
    s.column = j;
    auto raw = column(train, j);
    if (o.transform == "log") s.log = std::fabs(skewness(raw)) > 1;
    auto& v = prepared[j];
    v.resize(train.rows);
    for (size_t r = 0; r < train.rows; ++r)
      v[r] = s.prepare(train.values[r * train.cols + j]);
    if (o.impute != "none") {
      s.fill = fill_value(o.impute, v);
      for (size_t r = 0; r < train.rows; ++r)
        v[r] = s.prepare(train.values[r * train.cols + j]);
    }
    s.scale = scaler::fit(scaling, v);
    f.numeric.push_back(std::move(s));
  }
  return prepared;
}

/// Chooses the crosses: the top `crosses` numeric columns by information,
/// each pair (a ranked above b) giving a * b and a / (|b| + eps).
void fit_crosses(fitted& f, const matrix& train,
                 const std::vector<std::vector<double>>& prepared,
                 scaling scaling) {
  std::vector<size_t> numeric_cols;
  std::vector<double> score;
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (f.inputs[j].categorical) continue;
    auto s = information(prepared[j], train.labels, f.task, f.classes);
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
        cross_step c;
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
        c.scale = scaler::fit(scaling, v);
        f.crosses.push_back(std::move(c));
      }
}

/// Fits each categorical column's encoding on the training rows.
void fit_categorical(fitted& f, const matrix& train) {
  encoding enc;
  parse_encoding(f.options.encoding, enc);
  std::vector<size_t> all(train.rows);
  std::iota(all.begin(), all.end(), size_t{0});
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (!f.inputs[j].categorical) continue;
    categorical_step s;
    s.column = j;
    s.levels = f.inputs[j].levels;
    s.enc = enc;
    auto sl = slots(train, j, s.levels);
    if (enc == encoding::onehot) {
      std::vector<bool> seen(s.levels + 1, false);
      for (auto x : sl)
        if (x <= s.levels) seen[x] = true;
      for (size_t x = 0; x <= s.levels; ++x)
        if (seen[x]) s.onehot.push_back(x);
      if (s.onehot.size() > f.options.max_onehot_levels) {
        s.enc = encoding::ordinal;
        s.onehot.clear();
      }
    } else if (enc == encoding::target) {
      fit_target(s, sl, train.labels, all, f.task, f.classes);
    }
    f.categorical.push_back(std::move(s));
  }
}

/// The out-of-fold target encoding of categorical column `step` on the
/// training rows: rows x width values, row-major.
std::vector<double> out_of_fold(const fitted& f, const categorical_step& step,
                                const matrix& train,
                                const std::vector<split_indices>& folds) {
  auto sl = slots(train, step.column, step.levels);
  // Every fold smooths toward the prior of all training rows: one constant
  // for all rows, where a fold's own prior would vary against the labels
  // of the rows it encodes (a fold with more positives would get a lower
  // prior from the others).
  std::vector<size_t> all(train.rows);
  std::iota(all.begin(), all.end(), size_t{0});
  categorical_step fold_step = step;
  fit_target(fold_step, sl, train.labels, all, f.task, f.classes);
  auto prior = fold_step.prior;
  std::vector<double> out(train.rows * fold_step.width);
  for (auto& fold : folds) {
    fit_target(fold_step, sl, train.labels, fold.train, f.task, f.classes,
               &prior);
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

fitted fit_steps(const matrix& train, const preprocessor& prep, task_kind task,
                 size_t classes, const pipeline_options& opts) {
  fitted f;
  f.task = task;
  f.classes = classes;
  f.options = opts;
  for (auto& feat : prep.features())
    f.inputs.push_back({feat.name, feat.kind == column_kind::categorical,
                        feat.categories.size()});
  scaling how = scaling::none;
  parse_scaling(opts.scaling, how);
  auto prepared = fit_numeric(f, train, how);
  if (opts.crosses > 0) fit_crosses(f, train, prepared, how);
  fit_categorical(f, train);
  f.index();
  return f;
}

std::vector<float> training_columns(const fitted& f, const matrix& train,
                                    const std::vector<split_indices>& folds) {
  std::vector<float> full(train.rows * f.full_cols);
  std::vector<double> scratch(f.inputs.size());
  for (size_t r = 0; r < train.rows; ++r)
    f.apply_row(train.row(r), scratch.data(), full.data() + r * f.full_cols);
  size_t first = 0; // the step's first output column
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (!f.inputs[j].categorical) {
      ++first;
      continue;
    }
    auto& c = f.categorical[f.step_of[j]];
    if (c.enc == encoding::target) {
      auto oof = out_of_fold(f, c, train, folds);
      for (size_t r = 0; r < train.rows; ++r)
        for (size_t k = 0; k < c.width; ++k)
          full[r * f.full_cols + first + k] =
              static_cast<float>(oof[r * c.width + k]);
    }
    first += c.outputs();
  }
  return full;
}

std::vector<size_t> select_columns(const fitted& f, const matrix& train,
                                   const std::vector<float>& full,
                                   const std::vector<split_indices>& folds) {
  std::vector<double> score(f.full_cols, 0.0);
  std::vector<double> x(train.rows);
  // Outputs are numbers, except a native categorical column's codes: that
  // one is scored by its out-of-fold target encoding (the best of its
  // columns for multiclass).
  size_t first = 0;
  for (size_t j = 0; j < f.inputs.size(); ++j) {
    if (!f.inputs[j].categorical) {
      ++first;
      continue;
    }
    auto& c = f.categorical[f.step_of[j]];
    if (c.enc == encoding::native) {
      auto oof = out_of_fold(f, c, train, folds);
      size_t width = oof.size() / train.rows;
      for (size_t k = 0; k < width; ++k) {
        for (size_t r = 0; r < train.rows; ++r)
          x[r] = oof[r * width + k];
        score[first] = std::max(
            score[first], information(x, train.labels, f.task, f.classes));
      }
    }
    first += c.outputs();
  }
  auto types = f.full_types();
  for (size_t c = 0; c < f.full_cols; ++c) {
    if (types[c] == "c") continue; // scored above
    for (size_t r = 0; r < train.rows; ++r)
      x[r] = full[r * f.full_cols + c];
    score[c] = information(x, train.labels, f.task, f.classes);
  }
  // ceil(select * cols), forgiving the rounding of a product like 0.3 * 10.
  auto want = static_cast<size_t>(
      std::ceil(f.options.select * static_cast<double>(f.full_cols) - 1e-9));
  auto kept = top(score, std::max<size_t>(want, 1));
  std::sort(kept.begin(), kept.end());
  return kept;
}

} // namespace troupe::tabular::fe
