#include "actors/training/step_clock.hpp"

#include <algorithm>

#include "runtime/errors.hpp"

namespace troupe::training {

caf::expected<std::optional<uint64_t>>
parse_consistency(const std::string& text) {
  if (text == "sync") return std::optional<uint64_t>{0};
  if (text == "async") return std::optional<uint64_t>{};
  if (text.rfind("ssp:", 0) == 0) {
    auto n = text.substr(4);
    if (!n.empty() && n.size() <= 9 &&
        std::all_of(n.begin(), n.end(),
                    [](char c) { return c >= '0' && c <= '9'; }))
      return std::optional<uint64_t>{std::stoull(n)};
  }
  return make_error(errc::invalid_argument,
                    "consistency '" + text +
                        "': expected sync, async or ssp:TAU (TAU steps of "
                        "staleness, e.g. ssp:4)");
}

void step_clock::add(const std::string& worker, uint64_t at) {
  clocks_[worker] = at;
  waiting_.erase(worker);
}

std::vector<std::string> step_clock::remove(const std::string& worker) {
  clocks_.erase(worker);
  waiting_.erase(worker);
  return released();
}

uint64_t step_clock::slowest() const {
  uint64_t low = std::numeric_limits<uint64_t>::max();
  for (auto& [w, c] : clocks_)
    low = std::min(low, c);
  return clocks_.empty() ? 0 : low;
}

uint64_t step_clock::fastest() const {
  uint64_t high = 0;
  for (auto& [w, c] : clocks_)
    high = std::max(high, c);
  return high;
}

uint64_t step_clock::clock(const std::string& worker) const {
  auto i = clocks_.find(worker);
  return i == clocks_.end() ? 0 : i->second;
}

bool step_clock::may_start(const std::string& worker) const {
  auto i = clocks_.find(worker);
  if (i == clocks_.end()) return false;
  if (!staleness_) return true;
  return i->second - slowest() <= *staleness_;
}

std::vector<std::string> step_clock::finish(const std::string& worker) {
  auto i = clocks_.find(worker);
  if (i == clocks_.end()) return {};
  ++i->second;
  waiting_.erase(worker);
  return released();
}

std::vector<std::string> step_clock::released() {
  std::vector<std::string> out;
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    if (may_start(i->first)) {
      out.push_back(i->first);
      i = waiting_.erase(i);
    } else {
      ++i;
    }
  }
  return out;
}

} // namespace troupe::training
