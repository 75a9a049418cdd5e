#pragma once

// What the search strategies share: the score of a candidate (validation
// accuracy with the supernet's weights, in the real search), the record of a
// search, and the names of the strategies. Plain C++.

#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/nas/space.hpp"

namespace troupe::nas {

/// The two search strategies.
enum class strategy_kind {
  evolution, ///< regularized-by-elitism evolution: mutation and crossover
  rl,        ///< a REINFORCE controller over the decisions
};

/// "evolution" or "rl".
std::string to_string(strategy_kind x);

/// Parses "evolution" or "rl"; the error names the text and lists them.
caf::expected<strategy_kind> parse_strategy_kind(const std::string& text);

/// Scores a candidate; higher is better.
using evaluator = std::function<double(const genes&)>;

/// One evaluated candidate.
struct candidate {
  genes g;
  double score = 0;
};

/// What a search found.
struct search_result {
  candidate best;
  /// Every candidate evaluated, in order (each distinct network once).
  std::vector<candidate> history;
};

} // namespace troupe::nas
