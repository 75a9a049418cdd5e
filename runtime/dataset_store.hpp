#pragma once

// A node's content-addressed store of dataset files (the disk half of the
// dataset cache, dataset_cache.hpp): each file is kept under the SHA-256 of
// its bytes, so a node that holds a hash never fetches it again. Files
// arrive whole (add_file, from a path on this node) or in chunks
// (dataset_download), each chunk checked against its checksum and the whole
// file against its hash before it is stored. Plain class, no actors.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/content_hash.hpp"
#include "runtime/envelope.hpp"
#include "schemas/datasets.capnp.h"

namespace troupe {

/// Bytes per chunk unless told otherwise.
inline constexpr uint32_t default_chunk_size = uint32_t{1} << 20;

/// A dataset by content (schema DatasetRef).
struct dataset_ref {
  std::string hash; ///< SHA-256, 64 lowercase hex digits
  uint64_t size = 0;
  std::string name; ///< where it came from, for messages
  uint32_t chunk_size = default_chunk_size;

  /// How many chunks the file is sent in (at least 1, for an empty file).
  uint32_t chunks() const;
};

/// The bytes of chunk `index` of `ref` (the last may be shorter);
/// invalid_argument naming the dataset for an index past its chunks.
caf::expected<size_t> chunk_length(const dataset_ref& ref, uint32_t index);

/// A DatasetRef envelope of `ref`.
envelope to_envelope(const dataset_ref& ref);

/// The dataset_ref of a DatasetRef envelope; invalid_argument when the hash
/// is no SHA-256 or the chunk size is outside 4 KiB .. 64 MiB.
caf::expected<dataset_ref> dataset_ref_of(const envelope& env);

/// Writes `ref` into a DatasetRef field of a larger message.
void write_ref(schema::DatasetRef::Builder b, const dataset_ref& ref);

/// A DatasetRef field read back (unchecked: see check_ref).
dataset_ref read_ref(schema::DatasetRef::Reader r);

/// Checks a dataset_ref's fields (as dataset_ref_of does).
caf::error check_ref(const dataset_ref& ref);

/// The SHA-256 and size of a file, as a dataset_ref named after the file.
caf::expected<dataset_ref>
describe_file(const std::filesystem::path& path,
              uint32_t chunk_size = default_chunk_size);

/// The checksum of a chunk's bytes (zlib's CRC-32: several GB/s, where a
/// byte-wise hash held a transfer to a fraction of the link).
uint64_t chunk_checksum(const void* data, size_t n);

class dataset_store {
public:
  /// Opens (creating) the store in `dir`; leftovers of downloads that never
  /// finished are removed.
  static caf::expected<dataset_store> open(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }

  /// The stored file of `hash`, if held.
  std::optional<std::filesystem::path> find(const std::string& hash) const;

  /// Copies the file at `path` into the store (nothing when its bytes are
  /// held already) and returns its ref. Errors name the file.
  caf::expected<dataset_ref> add_file(const std::filesystem::path& path,
                                      uint32_t chunk_size = default_chunk_size);

  /// Moves the file at `path` (on this node) into the store and returns its
  /// ref: `path` is gone afterwards (renamed, or copied and removed across
  /// file systems). Errors name the file.
  caf::expected<dataset_ref>
  adopt_file(const std::filesystem::path& path,
             uint32_t chunk_size = default_chunk_size);

  /// Removes a held dataset's file; false when it was not held.
  bool remove(const std::string& hash);

  /// Chunk `index` of a held dataset; not_found when the hash is not held,
  /// invalid_argument for an index past the end.
  caf::expected<std::vector<uint8_t>> read_chunk(const dataset_ref& ref,
                                                 uint32_t index) const;

  /// The held datasets' count and bytes.
  struct usage {
    uint32_t count = 0;
    uint64_t bytes = 0;
  };
  usage held() const;

  /// Where downloads are staged (inside dir()).
  std::filesystem::path staging() const { return dir_ / ".part"; }

private:
  explicit dataset_store(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

/// A dataset arriving in chunks, in any order, staged beside the store.
/// commit() checks the whole file's SHA-256 and moves it into the store.
class dataset_download {
public:
  /// Starts (or restarts) the download of `ref` into `store`.
  static caf::expected<dataset_download> begin(const dataset_store& store,
                                               dataset_ref ref);

  dataset_download(dataset_download&&) noexcept;
  dataset_download& operator=(dataset_download&&) = delete;
  ~dataset_download();

  const dataset_ref& ref() const { return ref_; }

  /// Writes chunk `index`. Refused, and nothing written, when the index is
  /// out of range, the length is not the chunk's, or `checksum` does not
  /// match the bytes: the error names the chunk and the dataset.
  caf::error write(uint32_t index, const uint8_t* bytes, size_t n,
                   uint64_t checksum);

  /// Chunks not written yet, in order.
  std::vector<uint32_t> missing() const;
  bool complete() const { return received_ == ref_.chunks(); }

  /// Checks the SHA-256 of the whole file and moves it into the store.
  /// A mismatch names the hash received; the download is over then (the
  /// staged file goes with it) and must begin again.
  caf::expected<std::filesystem::path> commit();

private:
  dataset_download() = default;
  dataset_ref ref_;
  std::filesystem::path store_dir_;
  std::filesystem::path part_;
  int fd_ = -1;
  std::vector<bool> have_;
  uint32_t received_ = 0;
  /// The SHA-256 of the chunks so far in order (0 .. hashed_ - 1), and
  /// copies of later chunks that came first; when they would pass
  /// most_pending bytes, commit() reads the file again instead.
  std::unique_ptr<sha256> running_;
  uint32_t hashed_ = 0;
  std::map<uint32_t, std::vector<uint8_t>> pending_;
  size_t pending_bytes_ = 0;
  bool streaming_ = true;
};

} // namespace troupe
