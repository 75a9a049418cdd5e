#pragma once

// Consistency between parameter-server workers: each worker's clock counts
// the steps whose gradients it has pushed, and a worker may start its next
// step only while it is at most `staleness` steps ahead of the slowest
// worker. Synchronous training is staleness 0 (every worker's step s is
// pushed before any worker pulls for step s + 1), asynchronous is no bound,
// bounded staleness (SSP) anything between. A plain class: the job's
// coordinator holds it and answers workers' requests to go on.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::training {

/// "sync", "async" or "ssp:TAU" as a bound (async: none).
caf::expected<std::optional<uint64_t>>
parse_consistency(const std::string& text);

class step_clock {
public:
  /// `staleness`: how many steps a worker may run ahead of the slowest;
  /// nullopt for no bound.
  explicit step_clock(std::optional<uint64_t> staleness = 0)
      : staleness_(staleness) {}

  /// A worker joins at step `at` (a regrouped gang starts all of its
  /// workers at the checkpoint's step).
  void add(const std::string& worker, uint64_t at = 0);
  /// A worker leaves (the gang changed); returns the workers it was
  /// holding back, now free to go on.
  std::vector<std::string> remove(const std::string& worker);

  /// Whether `worker` may start its next step now.
  bool may_start(const std::string& worker) const;
  /// `worker` pushed its step; returns the workers (other than it) that
  /// were waiting and may start now.
  std::vector<std::string> finish(const std::string& worker);
  /// A waiting worker is told when finish() or remove() frees it.
  void wait(const std::string& worker) { waiting_[worker] = true; }

  uint64_t clock(const std::string& worker) const;
  /// The slowest worker's clock (0 with no workers).
  uint64_t slowest() const;
  /// The fastest worker's clock (0 with no workers).
  uint64_t fastest() const;
  /// Workers in the clock.
  size_t size() const { return clocks_.size(); }

private:
  std::vector<std::string> released();

  std::optional<uint64_t> staleness_;
  std::map<std::string, uint64_t> clocks_;
  std::map<std::string, bool> waiting_;
};

} // namespace troupe::training
