#include "actors/nas/sampler.hpp"

#include "actors/nas/errors.hpp"

namespace troupe::nas {

bool within(const net_arch& a, const limits& lim) {
  if (lim.max_params > 0 && count_params(a) > lim.max_params) return false;
  if (lim.max_flops > 0 && count_flops(a) > lim.max_flops) return false;
  return true;
}

caf::error check_feasible(const search_space& s, const limits& lim) {
  auto small = s.resolve(s.smallest());
  auto p = count_params(small);
  auto f = count_flops(small);
  if (lim.max_params > 0 && p > lim.max_params)
    return make_error(errc::impossible_limits,
                      "no network of the " + to_string(s.kind()) +
                          " space fits in " + std::to_string(lim.max_params) +
                          " parameters: its smallest has " + std::to_string(p));
  if (lim.max_flops > 0 && f > lim.max_flops)
    return make_error(errc::impossible_limits,
                      "no network of the " + to_string(s.kind()) +
                          " space fits in " + std::to_string(lim.max_flops) +
                          " FLOPs: its smallest needs " + std::to_string(f));
  return caf::none;
}

sampler::sampler(search_space space, limits lim, uint64_t seed, int tries)
    : space_(std::move(space)), lim_(lim), rng_(seed), tries_(tries) {}

genes sampler::sample() {
  auto& opts = space_.decisions();
  genes g(opts.size());
  for (int t = 0; t < tries_; ++t) {
    for (size_t i = 0; i < opts.size(); ++i)
      g[i] = static_cast<int>(rng_() % opts[i]);
    if (within(space_.resolve(g), lim_)) return g;
    ++rejected_;
  }
  return repair(std::move(g));
}

genes sampler::repair(genes g) {
  std::vector<size_t> lowerable;
  while (!within(space_.resolve(g), lim_)) {
    lowerable.clear();
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] > 0 && space_.active(g, i)) lowerable.push_back(i);
    if (lowerable.empty()) break; // the smallest network: check_feasible
    g[lowerable[rng_() % lowerable.size()]] -= 1;
  }
  // Inactive slots never count; keep them in range but leave them be.
  return g;
}

} // namespace troupe::nas
