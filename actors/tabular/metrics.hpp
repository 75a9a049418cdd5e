#pragma once

// Validation metrics: AUC, logloss, accuracy, RMSE, MAE and KS. Plain
// functions over labels and predictions; every one says which way is better.

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::tabular {

/// Whether smaller or larger objective values are better.
enum class direction { minimize, maximize };

/// Area under the ROC curve of binary labels (0/1) and scores; ties get half
/// credit. Needs both classes.
caf::expected<double> auc(const std::vector<float>& y,
                          const std::vector<float>& score);

/// Mean negative log-likelihood. Binary: `p` holds P(y=1) per row.
/// Multiclass: `p` holds rows x classes probabilities, row-major.
caf::expected<double> logloss(const std::vector<float>& y,
                              const std::vector<float>& p, size_t classes);

/// Share of rows whose predicted class (p >= 0.5, or argmax) is the label.
caf::expected<double> accuracy(const std::vector<float>& y,
                               const std::vector<float>& p, size_t classes);

/// Root mean squared error.
caf::expected<double> rmse(const std::vector<float>& y,
                           const std::vector<float>& pred);

/// Mean absolute error.
caf::expected<double> mae(const std::vector<float>& y,
                          const std::vector<float>& pred);

/// Kolmogorov-Smirnov statistic: the largest gap between the score CDFs of
/// positives and negatives (binary).
caf::expected<double> ks(const std::vector<float>& y,
                         const std::vector<float>& score);

/// A metric by name: "auc", "logloss", "accuracy", "rmse", "mae", "ks".
struct metric_info {
  std::string name;
  direction better;
  bool needs_classes; ///< classification only
};

/// Looks a metric up; the error lists the known names.
caf::expected<metric_info> find_metric(const std::string& name);

/// Checks that metric `name` fits a task with `classes` classes (0 for
/// regression, 2 for binary): classification metrics need classes,
/// regression metrics refuse them, AUC and KS are binary only.
caf::error check_metric(const std::string& name, size_t classes);

/// Computes metric `name`; `classes` is 0 for regression, 2 for binary.
caf::expected<double> evaluate(const std::string& name,
                               const std::vector<float>& y,
                               const std::vector<float>& pred, size_t classes);

} // namespace troupe::tabular
