#include "actors/tabular/noise.hpp"

#include <cmath>

namespace troupe::tabular {

double normal_quantile(double p) {
  // Bisection on the normal CDF: 0.5 erfc(-z / sqrt 2); 100 halvings of
  // [-40, 40] are far below double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 100; ++i) {
    auto mid = (lo + hi) / 2;
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return (lo + hi) / 2;
}

double chi2_quantile(double dof, double p) {
  if (dof <= 0) return 0;
  auto z = normal_quantile(p);
  auto a = 2.0 / (9.0 * dof);
  auto t = 1 - a + z * std::sqrt(a);
  return t <= 0 ? 0.0 : dof * t * t * t;
}

uint64_t chance_beyond_extremes(uint64_t n, uint64_t m, double alpha) {
  if (n == 0 || m == 0 || alpha <= 0) return 0;
  auto q = double(m) / double(n + m);
  // least k with 2 q^k <= alpha
  auto k = std::ceil(std::log(alpha / 2) / std::log(q));
  if (!(k >= 1)) k = 1;
  return uint64_t(k) - 1;
}

double ks_critical(double n, double m, double alpha) {
  if (n <= 0 || m <= 0 || alpha <= 0) return 0;
  return std::sqrt(-std::log(alpha / 2) / 2) * std::sqrt((n + m) / (n * m));
}

double psi_critical(size_t bins, double n, double m, double alpha) {
  if (n <= 0 || m <= 0 || alpha <= 0 || bins < 2) return 0;
  return chi2_quantile(double(bins - 1), 1 - alpha) * (1 / n + 1 / m);
}

double linf_critical(double n, double m, double alpha) {
  if (n <= 0 || m <= 0 || alpha <= 0) return 0;
  return normal_quantile(1 - alpha / 2) * 0.5 * std::sqrt(1 / n + 1 / m);
}

} // namespace troupe::tabular
