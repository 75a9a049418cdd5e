#pragma once

// Where a request goes: which version of a model (the canary split) and then
// which replica of that version (the least loaded).
//
// traffic_split runs nginx's smooth weighted round-robin: each pick adds
// every version's weight to its running score, picks the highest score (the
// first by name on a tie) and takes the total weight off the winner. It is
// deterministic and interleaves the versions evenly: after n picks since the
// weights were set, each version has been picked within less than one pick
// of n·weight/total (so over any window of picks, within less than two; the
// full cycle of `total` picks hits the split exactly). A version of weight 0
// is never picked.
//
// Canary, promote and rollback are all a change of weights. The split
// remembers the stable version: the one that last held all the weight
// (given alone a positive weight, or promoted) and that the weights still
// name. rollback() moves all the weight back to it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace troupe::serving {

/// Weights of a model's versions, by version name.
using version_weights = std::map<std::string, int64_t>;

/// The largest weight a version may have.
constexpr int64_t max_version_weight = 1'000'000'000;

/// Checks weights: at least one version, names not empty, every weight in
/// [0, max_version_weight] and at least one positive. The error names the
/// bad version and weight.
caf::error validate(const version_weights& weights);

/// Splits requests between a model's versions by weight.
class traffic_split {
public:
  /// A split with no versions; pick() answers nothing until set_weights().
  traffic_split() = default;

  /// Sets the weights (see validate()) and starts a fresh round-robin; on
  /// error nothing changes. A version given alone a positive weight becomes
  /// the stable version; weights that do not name the stable version forget
  /// it.
  caf::error set_weights(const version_weights& weights);

  /// The version for the next request; nothing when no weights are set.
  std::optional<std::string> pick();

  /// Moves all the weight to a known version (every other keeps weight 0)
  /// and makes it the stable version; not_found for an unknown version.
  caf::error promote(const std::string& version);

  /// Moves all the weight back to the stable version; not_found when there
  /// is none (no version ever held all the weight).
  caf::error rollback();

  /// The weights in force.
  const version_weights& weights() const { return weights_; }

  /// The version that last held all the weight, if any.
  const std::optional<std::string>& stable() const { return stable_; }

private:
  struct entry {
    std::string version;
    int64_t weight;
    int64_t score;
  };

  version_weights weights_;
  std::vector<entry> entries_;
  int64_t total_ = 0;
  std::optional<std::string> stable_;
};

/// One replica's load as the router sees it.
struct replica_load {
  uint64_t id = 0;
  /// Rows the replica is running.
  size_t in_flight = 0;
  /// Rows waiting in the replica's batcher.
  size_t queued = 0;
  /// Whether the replica passes its health checks.
  bool healthy = true;
};

/// Chooses the healthy replica with the fewest outstanding rows (in flight
/// plus queued). Ties go round-robin by id: to the first tied replica whose
/// id follows the last pick's, wrapping around, so equal replicas take turns
/// whatever order they are listed in. Deterministic; no random choices.
class least_loaded {
public:
  /// The replica for the next request; nothing when none is healthy.
  std::optional<uint64_t> pick(const std::vector<replica_load>& replicas);

private:
  std::optional<uint64_t> last_;
};

} // namespace troupe::serving
