#pragma once

// A parameter server's weights for sparse models (Prophet's logistic
// regression over hashed features): a table of only the keys that were
// touched, so a key space of 2^32 or 2^64 costs memory in proportion to the
// keys a job sees, never to the space. Each key's optimizer state is updated
// by FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the
// Trenches", 2013) or AdaGrad; workers pull weights by key and push sparse
// gradients. A shard of the table holds a contiguous range of the key space
// (shard_of), so the map from a key to its shard is arithmetic. Plain C++,
// no actors, no clock.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::training {

/// How a table turns gradients into weights.
enum class sparse_optimizer { ftrl, adagrad };

/// "ftrl" or "adagrad".
std::string to_string(sparse_optimizer x);
/// Parses to_string's names; errors name the text.
caf::expected<sparse_optimizer> parse_sparse_optimizer(const std::string& x);

/// Hyper-parameters of the update rules.
struct sparse_params {
  sparse_optimizer optimizer = sparse_optimizer::ftrl;
  /// FTRL: per-coordinate learning rate alpha / (beta + sqrt(n)).
  /// AdaGrad: the step size.
  double alpha = 0.1;
  double beta = 1.0; ///< FTRL only
  double l1 = 0.0;   ///< FTRL only: drives weights to exactly zero
  double l2 = 0.0;
  /// Checks the values; errors name the parameter.
  caf::error check() const;
};

/// A key's bits mixed (a 64-bit finalizer), for open-addressing tables:
/// hashed keys are spread already, but buckets and small ids are not.
inline size_t mix_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}

/// The shard that holds `key` when the key space is cut into `shards`
/// contiguous ranges of equal width.
inline uint32_t shard_of(uint64_t key, uint32_t shards) {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(key) * shards) >>
                               64);
}

/// The first key of shard `s` of `shards` (shard s holds [first(s),
/// first(s+1)), the last up to 2^64 - 1).
uint64_t first_key_of(uint32_t s, uint32_t shards);

class sparse_table {
public:
  explicit sparse_table(sparse_params params = {}) : params_(params) {}

  /// The weight of each key (0 for keys never pushed), in order.
  std::vector<float> pull(const std::vector<uint64_t>& keys) const;
  float weight(uint64_t key) const;

  /// Applies one gradient per key (keys may repeat: each is applied in
  /// turn). Sizes must match.
  caf::error push(const std::vector<uint64_t>& keys,
                  const std::vector<float>& grads);

  /// Keys stored (touched by a push).
  size_t size() const { return size_; }
  /// Bytes the table holds, about: its entries and buckets.
  size_t bytes() const;
  const sparse_params& params() const { return params_; }

  /// Every stored key's state, for checkpoints: key, z (AdaGrad: the
  /// weight), n.
  struct entry {
    uint64_t key = 0;
    double z = 0;
    double n = 0;
  };
  std::vector<entry> entries() const;
  /// Every stored key and its weight (in the table's order), appended.
  void weights(std::vector<uint64_t>& keys, std::vector<float>& out) const;
  /// Restores entries (replacing those of the same keys).
  void restore(const std::vector<entry>& xs);

private:
  struct state {
    double z = 0; ///< FTRL: the z accumulator; AdaGrad: the weight
    double n = 0; ///< sum of squared gradients
  };
  /// One slot of the open-addressing table: a key and its state, or free
  /// (n < 0: a sum of squares never is).
  struct slot {
    uint64_t key = 0;
    state s{0, -1};
  };
  double weight_of(const state& s) const;
  /// The state of `key`, or null.
  const state* find(uint64_t key) const;
  /// The state of `key`, added (zero) when it is not stored.
  state& at(uint64_t key);
  void grow();

  sparse_params params_;
  /// Open addressing with linear probing over a power of two, at most half
  /// full: a lookup is a hash and a short scan of adjacent slots (a node
  /// per key, as std::unordered_map keeps, costs a cache miss each).
  std::vector<slot> slots_;
  size_t size_ = 0;
};

} // namespace troupe::training
