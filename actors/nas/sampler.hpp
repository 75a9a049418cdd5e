#pragma once

// Sub-networks of a search space under parameter and FLOP limits: the
// feasibility check, uniform sampling with rejection, and the repair that
// shrinks a network until it fits. Plain C++.

#include <cstdint>
#include <random>

#include <caf/error.hpp>

#include "actors/nas/space.hpp"

namespace troupe::nas {

/// The most a sub-network may cost; 0 means no limit.
struct limits {
  int64_t max_params = 0;
  int64_t max_flops = 0;
};

/// Whether `a` is within `lim`.
bool within(const net_arch& a, const limits& lim);

/// An error (errc::impossible_limits) naming the limit when even the
/// space's smallest network exceeds it; none otherwise.
caf::error check_feasible(const search_space& s, const limits& lim);

/// Draws networks from a space under limits. Uniform over the space's genes,
/// rejecting networks over the limits; after `tries` rejections in a row it
/// repairs the last draw instead (see repair), so it always returns. The
/// space's smallest network must be within the limits (check_feasible).
class sampler {
public:
  sampler(search_space space, limits lim, uint64_t seed, int tries = 64);

  /// A network within the limits.
  genes sample();

  /// Lowers active decisions of `g`, one step at a time, the decision picked
  /// at random among those not at their first option, until the network is
  /// within the limits. Every decision lowered makes the network no larger,
  /// so this ends at the smallest network at worst.
  genes repair(genes g);

  const search_space& space() const { return space_; }
  const limits& bounds() const { return lim_; }
  std::mt19937_64& rng() { return rng_; }

  /// Draws rejected since construction (for reports and tests).
  int64_t rejected() const { return rejected_; }

private:
  search_space space_;
  limits lim_;
  std::mt19937_64 rng_;
  int tries_;
  int64_t rejected_ = 0;
};

} // namespace troupe::nas
