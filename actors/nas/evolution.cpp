#include "actors/nas/evolution.hpp"

#include <algorithm>
#include <map>

namespace troupe::nas {

namespace {

/// Scores candidates, each distinct network once, within a budget.
class scorer {
public:
  scorer(const search_space& space, const evaluator& eval, size_t budget,
         search_result& out)
      : space_(space), eval_(eval), budget_(budget), out_(out) {}

  bool exhausted() const { return out_.history.size() >= budget_; }

  /// The score of `g`, evaluating it when it is new.
  double score(const genes& g) {
    auto key = canonical(g);
    if (auto i = seen_.find(key); i != seen_.end()) return i->second;
    auto s = eval_(g);
    seen_.emplace(std::move(key), s);
    out_.history.push_back({g, s});
    if (out_.history.size() == 1 || s > out_.best.score) out_.best = {g, s};
    return s;
  }

private:
  /// `g` with inactive decisions zeroed: two genes that make the same
  /// network share a key.
  genes canonical(genes g) const {
    for (size_t i = 0; i < g.size(); ++i)
      if (!space_.active(g, i)) g[i] = 0;
    return g;
  }

  const search_space& space_;
  const evaluator& eval_;
  size_t budget_;
  search_result& out_;
  std::map<genes, double> seen_;
};

genes mutate(sampler& s, const genes& parent, double prob) {
  auto& opts = s.space().decisions();
  auto& rng = s.rng();
  std::uniform_real_distribution<double> coin(0, 1);
  genes child = parent;
  bool changed = false;
  for (size_t i = 0; i < child.size(); ++i)
    if (opts[i] > 1 && coin(rng) < prob) {
      child[i] = static_cast<int>(rng() % opts[i]);
      changed = true;
    }
  if (!changed) { // always change something
    auto i = static_cast<size_t>(rng() % child.size());
    child[i] = static_cast<int>(rng() % opts[i]);
  }
  return s.repair(std::move(child));
}

genes crossover(sampler& s, const genes& a, const genes& b) {
  auto& rng = s.rng();
  genes child = a;
  for (size_t i = 0; i < child.size(); ++i)
    if (rng() & 1) child[i] = b[i];
  return s.repair(std::move(child));
}

} // namespace

search_result evolve(sampler& s, const evaluator& eval,
                     const evolution_options& opts) {
  search_result out;
  scorer sc{s.space(), eval, std::max<size_t>(opts.budget, 1), out};
  auto pop_size = std::max<size_t>(opts.population, 2);
  auto n_parents = std::clamp<size_t>(opts.parents, 1, pop_size);
  std::vector<candidate> pop;
  // The guard bounds the draws when the space holds fewer distinct networks
  // than the budget (already seen ones do not count).
  size_t guard = 0, max_draws = 50 * opts.budget + 100;
  while (pop.size() < pop_size && !sc.exhausted() && guard++ < max_draws) {
    auto g = s.sample();
    pop.push_back({g, sc.score(g)});
  }
  std::uniform_real_distribution<double> coin(0, 1);
  while (!sc.exhausted() && guard < max_draws) {
    std::sort(pop.begin(), pop.end(),
              [](auto& x, auto& y) { return x.score > y.score; });
    pop.resize(std::min(pop.size(), n_parents));
    std::vector<candidate> next = pop; // elitism: the parents survive
    auto& rng = s.rng();
    while (next.size() < pop_size && !sc.exhausted() && guard++ < max_draws) {
      auto& p1 = pop[rng() % pop.size()].g;
      genes child;
      if (pop.size() > 1 && coin(rng) < opts.crossover_share) {
        auto& p2 = pop[rng() % pop.size()].g;
        child = crossover(s, p1, p2);
      } else {
        child = mutate(s, p1, opts.mutate_prob);
      }
      next.push_back({child, sc.score(child)});
    }
    pop = std::move(next);
  }
  return out;
}

} // namespace troupe::nas
