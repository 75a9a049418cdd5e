#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace troupe::log {

/// Sets up logging for this process: every line carries `node_name`, lines go
/// to stderr and, if `file` is not empty, to that file too. `level` is one of
/// trace, debug, info, warn, error, critical, off.
void init(const std::string& node_name, const std::string& level,
          const std::string& file = {});

/// Returns the named logger of a component ("directory", "gateway", ...),
/// creating it with the process's sinks and level on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

/// True if `level` names a spdlog level.
bool valid_level(const std::string& level);

/// Names the calling thread as `top`, `perf` and /proc/PID/task/*/comm show
/// it (cut to 15 characters).
void name_thread(const std::string& name);

} // namespace troupe::log
