#include "actors/nas/strategy.hpp"

#include "runtime/errors.hpp"

namespace troupe::nas {

std::string to_string(strategy_kind x) {
  return x == strategy_kind::rl ? "rl" : "evolution";
}

caf::expected<strategy_kind> parse_strategy_kind(const std::string& text) {
  if (text == "evolution") return strategy_kind::evolution;
  if (text == "rl") return strategy_kind::rl;
  return make_error(troupe::errc::invalid_argument,
                    "unknown search strategy '" + text +
                        "' (known: evolution, rl)");
}

} // namespace troupe::nas
