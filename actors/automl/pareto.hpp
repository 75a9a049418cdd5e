#pragma once

// Pareto dominance for multi-objective studies: non-dominated sorting
// (Deb et al., NSGA-II, 2002) and crowding distance. Plain C++, no CAF.
//
// Points are vectors of losses of the same length: every objective is
// minimized (to_loss() maps a maximized metric and NaN first). A point
// dominates another when it is no worse in every objective and better in
// at least one.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::automl {

/// Losses of one point, one per objective (smaller is better).
using objective_vector = std::vector<double>;

/// Whether `a` dominates `b`: no worse in every objective, better in one.
bool dominates(const objective_vector& a, const objective_vector& b);

/// Non-dominated rank of each point: 0 for the points no other dominates
/// (the front), 1 for those only rank-0 points dominate, and so on.
std::vector<size_t> nds_ranks(const std::vector<objective_vector>& points);

/// Crowding distance of each point within its own rank: infinite at the
/// ends of each objective's range, else the sum over objectives of the gap
/// between its neighbours, normalized by the rank's range. Larger means
/// more isolated (kept first on ties of rank).
std::vector<double>
crowding_distances(const std::vector<objective_vector>& points,
                   const std::vector<size_t>& ranks);

/// Indices of `points` ordered best first: by rank, then crowding distance
/// (larger first), then `ids[i]` (smaller first; the index when `ids` is
/// empty).
std::vector<size_t> nds_order(const std::vector<objective_vector>& points,
                              const std::vector<uint64_t>& ids = {});

/// Indices of the non-dominated points (rank 0), in input order.
std::vector<size_t> pareto_front(const std::vector<objective_vector>& points);

} // namespace troupe::automl
