#pragma once

// The fitted steps of a feature pipeline (pipeline.hpp) and the statistics
// that fit them. Every function that maps a cell is applied the same way
// when fitting and when transforming, one row at a time, so a row's output
// does not depend on the rows beside it. Internal to actors/tabular.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "actors/tabular/dataset.hpp"
#include "actors/tabular/pipeline.hpp"

namespace troupe::tabular::fe {

constexpr double nan_d = std::numeric_limits<double>::quiet_NaN();

/// Weight of the global mean in a smoothed target encoding (m-estimate):
/// (sum + w * prior) / (count + w).
constexpr double target_smoothing = 10;

/// Knots of a quantile scaler (fewer when training has fewer values).
constexpr size_t quantile_knots = 100;

/// Most crossed columns (fe.crosses).
constexpr uint32_t max_crosses = 8;

/// How numeric values are scaled.
enum class scaling { none, standard, minmax, quantile };

/// One numeric column's scaler, fitted on its training values.
struct scaler {
  scaling kind = scaling::none;
  /// standard: the mean; minmax: the minimum.
  double shift = 0;
  /// standard: the standard deviation; minmax: max - min (1 when 0).
  double scale = 1;
  /// quantile: the training values at quantiles i / (knots - 1), ascending.
  std::vector<double> knots;

  /// Fits on `values` (non-finite ones are ignored). A column without
  /// finite values gets the identity.
  static scaler fit(scaling kind, const std::vector<double>& values);
  double apply(double v) const;
};

/// A numeric input column: log transform, imputation, scaling.
struct numeric_step {
  size_t column = 0;
  /// sign(x) * log1p(|x|), chosen at fit when |skewness| > 1.
  bool log = false;
  /// What a missing cell becomes; NaN leaves it missing.
  double fill = nan_d;
  scaler scale;

  /// The cell after log and imputation (before scaling).
  double prepare(float x) const;
};

/// A generated column: a product or a ratio of two prepared numeric inputs.
struct cross_step {
  size_t a = 0;
  size_t b = 0;
  bool ratio = false;
  /// ratio: a / (|b| + eps).
  double eps = 1;
  scaler scale;

  /// The unscaled value from prepared values of a and b.
  double apply(double va, double vb) const;
};

/// How a categorical column becomes features.
enum class encoding { native, ordinal, onehot, target };

/// A categorical input column's encoding. A cell's slot is its code
/// 0..levels-1, `levels` for a missing cell, and levels + 1 for anything
/// else (a code that is not one of the column's).
struct categorical_step {
  size_t column = 0;
  encoding enc = encoding::native;
  /// The preprocessor's categories of the column.
  size_t levels = 0;
  /// onehot: the slots that have a column, ascending (`levels` = missing).
  std::vector<size_t> onehot;
  /// target: values per slot (1, or the classes for multiclass).
  size_t width = 1;
  /// target: (levels + 1) x width values, slot-major (slot `levels` =
  /// missing); slots unseen in training hold the prior.
  std::vector<double> table;
  /// target: the values of a slot that is no level of the column.
  std::vector<double> prior;

  /// Output columns.
  size_t outputs() const;
  /// Writes outputs() values.
  void encode(float code, float* out) const;
};

/// The slot of a categorical cell (see categorical_step).
size_t slot_of(float code, size_t levels);

/// An input column as the preprocessor encoded it.
struct input_column {
  std::string name;
  bool categorical = false;
  size_t levels = 0;
};

/// A fitted pipeline.
struct fitted {
  task_kind task = task_kind::regression;
  size_t classes = 0;
  pipeline_options options;
  std::vector<input_column> inputs;
  /// Per input column, the index of its step in numeric or categorical.
  std::vector<size_t> step_of;
  std::vector<numeric_step> numeric;
  std::vector<categorical_step> categorical;
  std::vector<cross_step> crosses;
  /// Columns before selection, and the kept ones among them (ascending).
  size_t full_cols = 0;
  std::vector<size_t> kept;
  /// The kept columns' names and XGBoost types.
  std::vector<std::string> names;
  std::vector<std::string> types;

  /// Sets step_of and full_cols from the steps.
  void index();
  /// Every column of one row before selection. `scratch` holds one value
  /// per input column.
  void apply_row(const float* in, double* scratch, float* full) const;
  /// Whether the pipeline changes nothing.
  bool is_identity() const;
  /// XGBoost types of the columns before selection.
  std::vector<std::string> full_types() const;
  /// Names of the columns before selection: an input's name, "name=category"
  /// for one-hot ("name=<missing>" for missing cells), "name[class]" for a
  /// multiclass target encoding, "a*b" and "a/b" for crosses.
  std::vector<std::string> full_names(const preprocessor& prep) const;
};

/// How much a column tells about the label, in [0, 1]; rows where the
/// column is not finite are ignored. Regression: squared Pearson
/// correlation; classification: the correlation ratio eta^2 (the share of
/// the column's variance between the classes; r^2 for binary).
double information(const std::vector<double>& x, const std::vector<float>& y,
                   task_kind task, size_t classes);

/// Population skewness of the finite values (0 with fewer than 3 or none
/// spread).
double skewness(const std::vector<double>& x);

/// The fill of an imputation ("mean", "median", "most_frequent") from the
/// finite values; 0 when there are none.
double fill_value(const std::string& how, const std::vector<double>& x);

/// A target encoding fitted on the rows `rows` of `slots` and `labels`:
/// sets `step`'s width, table and prior. The prior (what levels are
/// smoothed toward, and what an unseen level gets) is the rows' mean label,
/// or `prior` (width values) when given.
void fit_target(categorical_step& step, const std::vector<size_t>& slots,
                const std::vector<float>& labels,
                const std::vector<size_t>& rows, task_kind task, size_t classes,
                const std::vector<double>* prior = nullptr);

/// Fits every step on `train` (checked by fit_transform) but the
/// selection: `kept` is left empty, `names` and `types` too.
fitted fit_steps(const matrix& train, const preprocessor& prep, task_kind task,
                 size_t classes, const pipeline_options& opts);

/// Every column of the training rows before selection (rows x full_cols),
/// target encodings out of fold: row r's from the rows outside the fold
/// that holds r.
std::vector<float> training_columns(const fitted& f, const matrix& train,
                                    const std::vector<split_indices>& folds);

/// The columns that selection keeps (ascending): the ceil(select * cols)
/// (at least 1) most informative about the label, ties to the first.
std::vector<size_t> select_columns(const fitted& f, const matrix& train,
                                   const std::vector<float>& full,
                                   const std::vector<split_indices>& folds);

/// Parses names of the choices.
bool parse_scaling(const std::string& name, scaling& out);
bool parse_encoding(const std::string& name, encoding& out);
std::string to_string(scaling x);
std::string to_string(encoding x);

} // namespace troupe::tabular::fe
