#pragma once

// SHA-256, the name of content (the dataset cache's keys): a streaming
// hasher over OpenSSL's digest, and the hash of a whole file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace troupe {

/// SHA-256 of a byte stream fed piece by piece.
class sha256 {
public:
  sha256();
  ~sha256();
  sha256(sha256&&) noexcept;
  sha256& operator=(sha256&&) noexcept;

  void update(const void* data, size_t n);

  /// The digest as 64 lowercase hex digits; the hasher starts over.
  std::string hex();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Whether `text` looks like a SHA-256 digest (64 lowercase hex digits).
bool is_sha256_hex(const std::string& text);

/// The SHA-256 of a file's bytes and its size; errors name the file.
struct file_digest {
  std::string hash;
  uint64_t size = 0;
};
caf::expected<file_digest> sha256_file(const std::filesystem::path& path);

} // namespace troupe
