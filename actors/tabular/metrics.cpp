#include "actors/tabular/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

caf::error size_error(const char* metric, size_t labels, size_t preds) {
  return make_error(errc::invalid_argument,
                    std::string{metric} + ": " + std::to_string(labels) +
                        " labels but " + std::to_string(preds) +
                        " predictions");
}

caf::error check_binary(const char* metric, const std::vector<float>& y,
                        const std::vector<float>& s) {
  if (y.size() != s.size()) return size_error(metric, y.size(), s.size());
  if (y.empty())
    return make_error(errc::invalid_argument,
                      std::string{metric} + ": no rows");
  size_t pos = 0;
  for (auto v : y) {
    if (v != 0.0f && v != 1.0f)
      return make_error(errc::invalid_argument,
                        std::string{metric} + ": label " + std::to_string(v) +
                            " is not 0 or 1");
    pos += v == 1.0f;
  }
  if (pos == 0 || pos == y.size())
    return make_error(errc::invalid_argument,
                      std::string{metric} + " needs both classes among the " +
                          std::to_string(y.size()) + " labels");
  return caf::none;
}

/// Row indices sorted by score, ascending.
std::vector<size_t> by_score(const std::vector<float>& s) {
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return s[a] < s[b]; });
  return idx;
}

} // namespace

caf::expected<double> auc(const std::vector<float>& y,
                          const std::vector<float>& score) {
  if (auto err = check_binary("auc", y, score)) return err;
  // Mann-Whitney U with average ranks for ties.
  auto idx = by_score(score);
  double rank_sum = 0;
  size_t pos = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && score[idx[j]] == score[idx[i]])
      ++j;
    double avg_rank =
        (static_cast<double>(i) + static_cast<double>(j - 1)) / 2.0 + 1.0;
    for (size_t k = i; k < j; ++k)
      if (y[idx[k]] == 1.0f) {
        rank_sum += avg_rank;
        ++pos;
      }
    i = j;
  }
  auto n_pos = static_cast<double>(pos);
  auto n_neg = static_cast<double>(y.size() - pos);
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

caf::expected<double> logloss(const std::vector<float>& y,
                              const std::vector<float>& p, size_t classes) {
  const double eps = 1e-15;
  if (classes <= 2) {
    if (y.size() != p.size()) return size_error("logloss", y.size(), p.size());
    if (y.empty())
      return make_error(errc::invalid_argument, "logloss: no rows");
    double sum = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      double q = std::clamp(static_cast<double>(p[i]), eps, 1 - eps);
      sum -= y[i] == 1.0f ? std::log(q) : std::log(1 - q);
    }
    return sum / static_cast<double>(y.size());
  }
  if (p.size() != y.size() * classes)
    return size_error("logloss", y.size() * classes, p.size());
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    auto k = static_cast<size_t>(y[i]);
    if (k >= classes)
      return make_error(errc::invalid_argument,
                        "logloss: label " + std::to_string(y[i]) +
                            " outside 0.." + std::to_string(classes - 1));
    sum -= std::log(
        std::clamp(static_cast<double>(p[i * classes + k]), eps, 1 - eps));
  }
  return sum / static_cast<double>(y.size());
}

caf::expected<double> accuracy(const std::vector<float>& y,
                               const std::vector<float>& p, size_t classes) {
  size_t width = classes <= 2 ? 1 : classes;
  if (p.size() != y.size() * width)
    return size_error("accuracy", y.size() * width, p.size());
  if (y.empty()) return make_error(errc::invalid_argument, "accuracy: no rows");
  size_t right = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    float predicted;
    if (width == 1) {
      predicted = p[i] >= 0.5f ? 1.0f : 0.0f;
    } else {
      auto row = p.begin() + static_cast<std::ptrdiff_t>(i * width);
      predicted = static_cast<float>(
          std::max_element(row, row + static_cast<std::ptrdiff_t>(width)) -
          row);
    }
    right += predicted == y[i];
  }
  return static_cast<double>(right) / static_cast<double>(y.size());
}

caf::expected<double> rmse(const std::vector<float>& y,
                           const std::vector<float>& pred) {
  if (y.size() != pred.size()) return size_error("rmse", y.size(), pred.size());
  if (y.empty()) return make_error(errc::invalid_argument, "rmse: no rows");
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    double d = static_cast<double>(pred[i]) - y[i];
    sum += d * d;
  }
  return std::sqrt(sum / static_cast<double>(y.size()));
}

caf::expected<double> mae(const std::vector<float>& y,
                          const std::vector<float>& pred) {
  if (y.size() != pred.size()) return size_error("mae", y.size(), pred.size());
  if (y.empty()) return make_error(errc::invalid_argument, "mae: no rows");
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i)
    sum += std::fabs(static_cast<double>(pred[i]) - y[i]);
  return sum / static_cast<double>(y.size());
}

caf::expected<double> ks(const std::vector<float>& y,
                         const std::vector<float>& score) {
  if (auto err = check_binary("ks", y, score)) return err;
  auto idx = by_score(score);
  double n_pos = 0;
  for (auto v : y)
    n_pos += v;
  double n_neg = static_cast<double>(y.size()) - n_pos;
  double cdf_pos = 0;
  double cdf_neg = 0;
  double best = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    // Step over tied scores together: the CDFs move at once.
    while (j < idx.size() && score[idx[j]] == score[idx[i]]) {
      if (y[idx[j]] == 1.0f)
        cdf_pos += 1 / n_pos;
      else
        cdf_neg += 1 / n_neg;
      ++j;
    }
    best = std::max(best, std::fabs(cdf_pos - cdf_neg));
    i = j;
  }
  return best;
}

caf::expected<metric_info> find_metric(const std::string& name) {
  static const std::vector<metric_info> known{
      {"auc", direction::maximize, true},
      {"logloss", direction::minimize, true},
      {"accuracy", direction::maximize, true},
      {"rmse", direction::minimize, false},
      {"mae", direction::minimize, false},
      {"ks", direction::maximize, true},
  };
  for (auto& m : known)
    if (m.name == name) return m;
  return make_error(errc::invalid_argument,
                    "unknown metric '" + name +
                        "': use auc, logloss, accuracy, rmse, mae or ks");
}

caf::error check_metric(const std::string& name, size_t classes) {
  auto info = find_metric(name);
  if (!info) return info.error();
  if (info->needs_classes && classes == 0)
    return make_error(errc::invalid_argument,
                      "metric '" + name + "' needs a classification task");
  if (!info->needs_classes && classes > 0)
    return make_error(errc::invalid_argument,
                      "metric '" + name + "' is for regression, not " +
                          std::to_string(classes) + " classes");
  if ((name == "auc" || name == "ks") && classes > 2)
    return make_error(errc::invalid_argument,
                      "metric '" + name + "' is for binary tasks, not " +
                          std::to_string(classes) + " classes");
  return caf::none;
}

caf::expected<double> evaluate(const std::string& name,
                               const std::vector<float>& y,
                               const std::vector<float>& pred, size_t classes) {
  if (auto err = check_metric(name, classes)) return err;
  if (name == "auc") return auc(y, pred);
  if (name == "logloss") return logloss(y, pred, classes);
  if (name == "accuracy") return accuracy(y, pred, classes);
  if (name == "rmse") return rmse(y, pred);
  if (name == "mae") return mae(y, pred);
  return ks(y, pred);
}

} // namespace troupe::tabular
