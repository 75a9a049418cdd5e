#include "actors/features/routing.hpp"

#include "runtime/hash.hpp"

namespace troupe::features {

uint64_t entity_hash(std::string_view entity) noexcept {
  auto h = fnv1a64(entity);
  // splitmix64's finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

uint32_t jump_hash(uint64_t key, uint32_t buckets) noexcept {
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ull + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(int64_t{1} << 31) /
                              static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

} // namespace troupe::features
