#pragma once

// Where a node of a partitioned graph lives, in O(P) memory. Once a graph's
// node IDs are renumbered so that partition p owns the contiguous range
// [start(p), start(p + 1)) (partition.hpp's renumber), the map from a global ID
// to its partition and local ID, and back, is the P + 1 boundaries: no per-node
// table, whatever the node count (the per-node map of a billion-node graph
// takes 160 GB). Plain C++, no CAF actors.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::graph {

class partition_map {
public:
  /// A node's place: its partition and its ID within it.
  struct place {
    uint32_t partition = 0;
    uint64_t local = 0;
    bool operator==(const place& o) const {
      return partition == o.partition && local == o.local;
    }
  };

  partition_map() = default;

  /// From each partition's node count, in partition order. Errors: no
  /// partition, more than 2^32 - 2 of them, counts summing past 2^63.
  static caf::expected<partition_map>
  from_counts(const std::vector<uint64_t>& counts);

  uint32_t partitions() const {
    return static_cast<uint32_t>(starts_.size() - 1);
  }
  uint64_t nodes() const { return starts_.back(); }
  uint64_t start(uint32_t p) const { return starts_[p]; }
  uint64_t count(uint32_t p) const { return starts_[p + 1] - starts_[p]; }

  /// The place of global ID `id` (< nodes()): a branch-free search of the
  /// boundaries.
  place locate(uint64_t id) const {
    const uint64_t* s = starts_.data();
    size_t lo = 0, n = starts_.size() - 1;
    while (n > 1) {
      size_t half = n / 2;
      lo = s[lo + half] <= id ? lo + half : lo;
      n -= half;
    }
    return {static_cast<uint32_t>(lo), id - s[lo]};
  }

  /// The places of n IDs: the batch loop a shard's lookups run.
  void locate(const uint64_t* ids, size_t n, uint32_t* partitions,
              uint64_t* locals) const;

  /// The global ID of `local` in partition `p` (the inverse of locate).
  uint64_t global(uint32_t p, uint64_t local) const {
    return starts_[p] + local;
  }

  /// The memory the map holds.
  size_t bytes() const {
    return sizeof(*this) + starts_.capacity() * sizeof(uint64_t);
  }

private:
  /// P + 1 ascending boundaries: partition p owns [starts_[p],
  /// starts_[p + 1]).
  std::vector<uint64_t> starts_{0};
};

} // namespace troupe::graph
