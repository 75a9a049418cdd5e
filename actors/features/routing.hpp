#pragma once

// Which shard holds an entity: a stable 64-bit hash of the key bytes, then
// Lamping and Veach's jump consistent hash. Growing the store from n to n + 1
// shards moves only the keys that now belong to the new shard (about 1/(n+1)
// of them); no key moves between old shards.

#include <cstdint>
#include <string_view>

namespace troupe::features {

/// A 64-bit hash of the key bytes that is the same on every platform and
/// every run (FNV-1a, then a finalizing mix so that nearby keys spread).
uint64_t entity_hash(std::string_view entity) noexcept;

/// The bucket in [0, buckets) of a 64-bit key; buckets must be > 0.
uint32_t jump_hash(uint64_t key, uint32_t buckets) noexcept;

/// The shard of `entity` among `shards` shards.
inline uint32_t shard_of(std::string_view entity, uint32_t shards) noexcept {
  return jump_hash(entity_hash(entity), shards);
}

} // namespace troupe::features
