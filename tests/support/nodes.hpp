#pragma once

// A head `troupe node` and its workers as real processes on loopback,
// sharing a secret, with their data and logs in one directory.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace troupe::test {

class node_set {
public:
  /// Starts the head in `dir` (data in dir/head, log dir/head.log) on free
  /// ports, with a 200 ms heartbeat, a 2 s node timeout and `head_args`.
  explicit node_set(std::string dir, std::vector<std::string> head_args = {});

  uint16_t port() const { return port_; }
  uint16_t gateway_port() const { return gateway_port_; }
  const std::string& secret_file() const { return secret_file_; }
  std::string head_addr() const;
  std::string gateway_addr() const;
  process& head() { return *head_; }

  /// The argv of a worker named `name` joining the head (10 s to connect),
  /// with `args`; with the shared secret unless `with_secret` is false.
  std::vector<std::string> worker_argv(const std::string& name,
                                       std::vector<std::string> args = {},
                                       bool with_secret = true) const;

  /// Starts a worker (log dir/NAME.log).
  std::unique_ptr<process> worker(const std::string& name,
                                  std::vector<std::string> args = {}) const;

  /// Waits up to `timeout` until `nodes` nodes have joined and the head's
  /// features service runs; false if they did not.
  bool wait_for_features(size_t nodes, std::chrono::milliseconds timeout) const;

private:
  std::string dir_;
  uint16_t port_;
  uint16_t gateway_port_;
  std::string secret_file_;
  std::unique_ptr<process> head_;
};

} // namespace troupe::test
