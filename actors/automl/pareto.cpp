// Non-dominated sorting and crowding distance (see pareto.hpp).

#include "actors/automl/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace troupe::automl {

bool dominates(const objective_vector& a, const objective_vector& b) {
  bool better = false;
  auto n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

std::vector<size_t> nds_ranks(const std::vector<objective_vector>& points) {
  // Deb's fast non-dominated sort: O(M n^2).
  auto n = points.size();
  std::vector<size_t> rank(n, 0);
  std::vector<size_t> dominated_by(n, 0);
  std::vector<std::vector<size_t>> dominates_list(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      if (dominates(points[i], points[j])) {
        dominates_list[i].push_back(j);
        ++dominated_by[j];
      } else if (dominates(points[j], points[i])) {
        dominates_list[j].push_back(i);
        ++dominated_by[i];
      }
    }
  std::vector<size_t> current;
  for (size_t i = 0; i < n; ++i)
    if (dominated_by[i] == 0) current.push_back(i);
  size_t r = 0;
  while (!current.empty()) {
    std::vector<size_t> next;
    for (auto i : current) {
      rank[i] = r;
      for (auto j : dominates_list[i])
        if (--dominated_by[j] == 0) next.push_back(j);
    }
    current = std::move(next);
    ++r;
  }
  return rank;
}

std::vector<double>
crowding_distances(const std::vector<objective_vector>& points,
                   const std::vector<size_t>& ranks) {
  constexpr auto inf = std::numeric_limits<double>::infinity();
  auto n = points.size();
  std::vector<double> dist(n, 0.0);
  if (n == 0) return dist;
  auto max_rank = *std::max_element(ranks.begin(), ranks.end());
  for (size_t r = 0; r <= max_rank; ++r) {
    std::vector<size_t> members;
    for (size_t i = 0; i < n; ++i)
      if (ranks[i] == r) members.push_back(i);
    if (members.size() <= 2) {
      for (auto i : members)
        dist[i] = inf;
      continue;
    }
    auto m = points[members.front()].size();
    for (size_t k = 0; k < m; ++k) {
      std::stable_sort(members.begin(), members.end(), [&](size_t a, size_t b) {
        return points[a][k] < points[b][k];
      });
      auto lo = points[members.front()][k];
      auto hi = points[members.back()][k];
      dist[members.front()] = inf;
      dist[members.back()] = inf;
      auto span = hi - lo;
      if (!(span > 0) || !std::isfinite(span)) continue;
      for (size_t p = 1; p + 1 < members.size(); ++p) {
        auto gap = points[members[p + 1]][k] - points[members[p - 1]][k];
        dist[members[p]] += gap / span;
      }
    }
  }
  return dist;
}

std::vector<size_t> nds_order(const std::vector<objective_vector>& points,
                              const std::vector<uint64_t>& ids) {
  auto ranks = nds_ranks(points);
  auto dist = crowding_distances(points, ranks);
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto id_of = [&](size_t i) {
    return ids.empty() ? static_cast<uint64_t>(i) : ids[i];
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ranks[a] != ranks[b]) return ranks[a] < ranks[b];
    if (dist[a] != dist[b]) return dist[a] > dist[b];
    return id_of(a) < id_of(b);
  });
  return order;
}

std::vector<size_t> pareto_front(const std::vector<objective_vector>& points) {
  std::vector<size_t> out;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j)
      dominated = j != i && dominates(points[j], points[i]);
    if (!dominated) out.push_back(i);
  }
  return out;
}

} // namespace troupe::automl
