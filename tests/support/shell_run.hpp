#pragma once

// A shell on a connected cluster client, with its output captured: what the
// shell's integration tests drive.

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/client.hpp"
#include "runtime/shell.hpp"

namespace troupe::test {

/// A shell on `client` (which it takes) with captured output and the
/// commands of `extensions` (the families' under test).
struct shell_run {
  std::ostringstream out;
  std::ostringstream err;
  std::unique_ptr<shell_backend> backend;
  std::optional<shell> sh;

  explicit shell_run(std::unique_ptr<cluster_client> client,
                     const std::vector<shell_extension>& extensions = {})
      : backend(make_backend(std::move(client))) {
    shell_env env;
    env.out = &out;
    env.err = &err;
    std::vector<shell_command> extra;
    for (auto& extension : extensions)
      for (auto& cmd : extension(*backend))
        extra.push_back(std::move(cmd));
    sh.emplace(*backend, env, std::move(extra));
  }

  /// Runs one command; returns whether it succeeded, with fresh out/err.
  bool run(const std::string& command) {
    out.str({});
    err.str({});
    return sh->execute(command) == shell::outcome::ok;
  }
};

} // namespace troupe::test
