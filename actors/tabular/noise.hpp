#pragma once

// How much two samples of the same distribution differ by chance: the
// floors under which an out-of-range count or a drift measure is noise.
// Used at a significance level alpha (0.001 by default): a difference
// counts only when the same distribution would show it less often than that.
// Every floor is 0 for alpha = 0.

#include <cstddef>
#include <cstdint>

namespace troupe::tabular {

/// The standard normal quantile: z with P(Z <= z) = p, for 0 < p < 1.
double normal_quantile(double p);

/// The chi-square quantile with `dof` degrees of freedom at p
/// (Wilson-Hilferty; within 1 % for dof >= 3 in the upper tail).
double chi2_quantile(double dof, double p);

/// The largest count of values in a batch of `m` that may lie beyond the
/// extremes of `n` earlier values of the same distribution by chance: with
/// all n + m values exchangeable, the k largest all fall in the batch with
/// probability C(m,k) / C(n+m,k) <= (m / (n+m))^k, and the same below, so
/// this is the least k with 2 (m / (n+m))^k <= alpha, less one. 0 when n,
/// m or alpha is 0 (no floor).
uint64_t chance_beyond_extremes(uint64_t n, uint64_t m, double alpha);

/// The KS statistic that samples of sizes n and m exceed with probability
/// alpha when drawn from one distribution: sqrt(-ln(alpha/2) / 2) *
/// sqrt((n+m) / (n m)) (the asymptotic Kolmogorov bound).
double ks_critical(double n, double m, double alpha);

/// The PSI that shares of samples of sizes n and m over `bins` bins exceed
/// with probability alpha by chance: PSI is a symmetric chi-square
/// divergence, so PSI / (1/n + 1/m) is about chi-square with bins - 1
/// degrees of freedom.
double psi_critical(size_t bins, double n, double m, double alpha);

/// The difference of one category's shares in samples of sizes n and m
/// that chance exceeds with probability alpha, at the worst share 1/2:
/// z(1 - alpha/2) * 0.5 * sqrt(1/n + 1/m).
double linf_critical(double n, double m, double alpha);

} // namespace troupe::tabular
