#pragma once

// Files written so that a crash leaves either the old content or the new:
// written and fsynced, directory entries synced after a rename. Errors name
// the operation and the path.

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>

#include <caf/error.hpp>

namespace troupe {

/// "cannot WHAT 'PATH': strerror(err)" as an io_failure.
caf::error io_error(const std::string& what, const std::filesystem::path& path,
                    int err = errno);

/// Writes `n` bytes to `path` (created or truncated) and syncs it to disk.
caf::error write_synced(const std::filesystem::path& path, const void* data,
                        size_t n);

/// Writes `text` to `path` and syncs it to disk.
caf::error write_synced(const std::filesystem::path& path,
                        const std::string& text);

/// Syncs a directory's entries (e.g. a rename into it) to disk; an empty
/// path is the current directory.
caf::error sync_dir(const std::filesystem::path& dir);

} // namespace troupe
