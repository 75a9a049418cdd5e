#pragma once

// FNV-1a, 64 bits: the one byte-string hash of the project (shard
// routing, file checksums, input hashes).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace troupe {

/// FNV-1a's 64-bit offset basis: the hash of no bytes.
inline constexpr uint64_t fnv1a64_basis = 0xcbf29ce484222325ull;

/// FNV-1a of `n` bytes at `data`, continuing from `h` (so a stream can be
/// hashed piece by piece).
inline uint64_t fnv1a64(const void* data, size_t n,
                        uint64_t h = fnv1a64_basis) noexcept {
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

inline uint64_t fnv1a64(std::string_view bytes,
                        uint64_t h = fnv1a64_basis) noexcept {
  return fnv1a64(bytes.data(), bytes.size(), h);
}

} // namespace troupe
