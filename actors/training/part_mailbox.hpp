#pragma once

// What a gang member's neighbours send its training thread (a pipeline
// stage's activations and gradients): the member's actor puts each
// message in; the thread takes the first one a predicate accepts, waiting
// a bounded time and giving up when the member is stopped. Plain C++ and
// CAF types, thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"

namespace troupe::training {

class part_mailbox {
public:
  void put(envelope e);

  /// The first message `accepts` takes, out of the box; those it does not
  /// take stay, in order. Errors: shutting_down once `cancel` is set,
  /// timeout (naming `what`) after `wait` without one.
  caf::expected<envelope>
  take(const std::function<bool(const envelope&)>& accepts,
       const std::atomic<bool>& cancel, std::chrono::milliseconds wait,
       const std::string& what);

  /// Drops every message `stale` names (an earlier placement's).
  void drop(const std::function<bool(const envelope&)>& stale);

  /// Wakes a thread waiting in take() to look at `cancel`.
  void wake();

  size_t size() const;

private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<envelope> items_;
};

} // namespace troupe::training
