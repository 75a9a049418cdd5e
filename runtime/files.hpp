#pragma once

// Reading and writing whole files. write_synced and sync_dir reach the disk
// before they return (fsync); atomic_file replaces its target whole or not at
// all (a rename), without syncing. Errors name the operation and the path.

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

namespace troupe {

/// "cannot WHAT 'PATH': strerror(err)" as an io_failure.
caf::error io_error(const std::string& what, const std::filesystem::path& path,
                    int err = errno);

/// The whole content of `path`.
caf::expected<std::string> read_file(const std::filesystem::path& path);

/// Writes `n` bytes to `path` (created or truncated) and syncs it to disk.
caf::error write_synced(const std::filesystem::path& path, const void* data,
                        size_t n);

/// Writes `text` to `path` and syncs it to disk.
caf::error write_synced(const std::filesystem::path& path,
                        const std::string& text);

/// Syncs a directory's entries (e.g. a rename into it) to disk; an empty
/// path is the current directory.
caf::error sync_dir(const std::filesystem::path& dir);

/// An output file written whole or not at all: the content goes to a
/// temporary file beside `target` that commit() renames over it, so readers
/// never see half of it and a failure leaves the old file. When `target`
/// exists and is not a regular file (/dev/null, a FIFO, a terminal) it is
/// written in place: renaming over a device would replace the device.
class atomic_file {
public:
  explicit atomic_file(std::filesystem::path target);
  ~atomic_file();

  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  /// Where to write; check it (or commit's result) for failures.
  std::ofstream& stream() { return out_; }

  /// Closes the stream and puts the content in place; an error names the
  /// target. Without a commit the temporary file is removed.
  caf::error commit();

private:
  std::filesystem::path target_;
  std::filesystem::path temp_; ///< empty when writing in place
  std::ofstream out_;
  bool done_ = false;
};

/// Writes `j` (indented by 2, newline-terminated) to `path` as an
/// atomic_file, creating its parent directories.
caf::error write_json_file(const std::string& path, const nlohmann::json& j);

} // namespace troupe
