#pragma once

// The tracker of XGBoost's collective (rabit, XGBoost 1.7), spoken by troupe
// itself so that no Python runs: a data-parallel XGBoost job's coordinator
// starts one, and its workers join it (xgb::collective) to learn their rank
// and whom to connect to. The tracker hands out ranks in the order of the
// workers' task ids once all have arrived, links them as a binary tree and
// a ring (the shapes rabit reduces over), and ends when every worker has
// said "shutdown" or when it is destroyed.
//
// Wire protocol (rabit's, native-endian 32-bit ints, strings as an int
// length and bytes): the worker sends magic 0xff99, the tracker echoes it;
// the worker sends its rank (-1: unknown), the world size, its task id and
// a command: "start" or "recover" (then the tracker sends rank, parent,
// world, the tree neighbours, ring prev and next, and brokers which links
// the worker connects and which it accepts, until the worker reports no
// error and its listening port), "shutdown", or "print" (a message).
//
// Plain C++ on one thread of its own; a peer that stalls more than
// `io_timeout` is dropped and the tracker fails (failure() says why).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::training {

/// The tree and ring rabit reduces over, for `n` workers: each rank's tree
/// neighbours, its parent (-1 for the root) and its ring neighbours. The
/// tree is a binary heap; the ring follows the tree depth first and ranks
/// are renumbered in ring order, so that ring neighbours are rank +- 1.
struct rabit_links {
  std::vector<std::vector<int>> tree;
  std::vector<int> parent;
  std::vector<std::pair<int, int>> ring; ///< (prev, next)
};
rabit_links rabit_link_map(int n);

class rabit_tracker {
public:
  /// Listens on `host` (an address every worker reaches), port chosen by
  /// the system, for `workers` workers. Errors: the address cannot be
  /// bound.
  static caf::expected<std::unique_ptr<rabit_tracker>>
  start(const std::string& host, int workers,
        std::chrono::milliseconds io_timeout = std::chrono::seconds{60});

  rabit_tracker(const rabit_tracker&) = delete;
  rabit_tracker& operator=(const rabit_tracker&) = delete;
  /// Stops listening and joins its thread.
  ~rabit_tracker();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  int workers() const { return workers_; }
  /// Every worker said "shutdown".
  bool done() const { return done_; }
  /// Why the tracker stopped serving, empty while it serves or once done.
  std::string failure() const;
  /// The messages workers sent with "print".
  std::vector<std::string> printed() const;

private:
  rabit_tracker(std::string host, int port, int fd, int workers,
                std::chrono::milliseconds io_timeout);
  void serve();

  std::string host_;
  int port_ = 0;
  int fd_ = -1;
  int workers_ = 0;
  std::chrono::milliseconds io_timeout_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  mutable std::mutex mtx_;
  std::string failure_;
  std::vector<std::string> printed_;
  std::thread thread_;
};

} // namespace troupe::training
