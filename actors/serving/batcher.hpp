#pragma once

// Dynamic batching for one replica, with the semantics of Triton's dynamic
// batcher and Ray Serve's @serve.batch.
//
// Requests wait in a FIFO bounded in rows. The replica runs one batch at a
// time; whenever its engine thread is free, it asks pop_ready(), which hands
// out the batch at the front of the queue if it is ready:
//
// - full: the front batch cannot grow by waiting, because it holds
//   max_batch_rows rows or the next request in line does not fit beside it;
// - due: the oldest request has waited max_queue_delay. With a delay of 0
//   every request is due at once, so a free replica takes whatever is queued.
//
// Otherwise the engine sleeps until deadline() and asks again then (or when
// a push makes the front batch full). A free replica never takes a partial
// batch before the delay expires: the delay is the price of larger batches.
// While the replica is busy the queue only grows; a request waits longer than
// max_queue_delay only when the replica is still busy at its deadline.
//
// A batch takes requests from the front, in order, while their rows fit in
// max_batch_rows; requests are never split. A request larger than
// max_batch_rows (but within queue_bound) forms a batch alone.
//
// The batcher reads no clock: every call that needs the time takes it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

namespace troupe::serving {

/// Settings of a batcher.
struct batcher_options {
  /// Most rows in one batch; 1 turns batching off.
  size_t max_batch_rows = 1;
  /// How long the oldest request may wait for a fuller batch; 0 dispatches
  /// as soon as the replica is free.
  std::chrono::steady_clock::duration max_queue_delay =
      std::chrono::steady_clock::duration::zero();
  /// Most rows queued at once; beyond it push() answers overloaded.
  size_t queue_bound = 1024;
};

/// Checks batcher options: max_batch_rows >= 1, max_queue_delay >= 0 and
/// queue_bound >= max_batch_rows. The error names the bad setting.
caf::error validate(const batcher_options& opts);

/// One request waiting in (or handed out by) a batcher.
struct batch_item {
  /// The caller's request id; the batcher does not look at it.
  uint64_t id = 0;
  /// How many rows the request carries.
  size_t rows = 0;
  /// When the request was pushed.
  std::chrono::steady_clock::time_point enqueued;
};

/// Requests handed to a replica together, oldest first.
struct batch {
  std::vector<batch_item> items;
  /// The sum of the items' rows.
  size_t rows = 0;
};

/// What push() did with a request.
enum class admission {
  /// The request is queued.
  accepted,
  /// The queue is too full now; the caller answers "overloaded" (retry).
  overloaded,
  /// The request has more rows than queue_bound and can never be queued.
  too_large,
};

/// Renders an admission.
std::string to_string(admission x);

/// A bounded FIFO of requests and the rule that forms batches from it.
class batcher {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Requires valid options (see validate()).
  explicit batcher(batcher_options opts);

  /// Queues a request of `rows` rows pushed at `now`, unless the queue would
  /// then hold more than queue_bound rows; a refused request leaves the queue
  /// unchanged. The caller keeps ids unique and times non-decreasing.
  admission push(uint64_t id, size_t rows, time_point now);

  /// Hands out the front batch if it is full or its oldest request is due
  /// at `now` (see the file comment); call it when the replica is free.
  std::optional<batch> pop_ready(time_point now);

  /// Hands out the front batch whether or not it is ready, e.g. to serve
  /// what is left at shutdown; nothing if the queue is empty.
  std::optional<batch> pop_now();

  /// Whether pop_ready(now) would hand out a batch.
  bool ready(time_point now) const;

  /// When the oldest request becomes due (its push time plus the delay);
  /// nothing if the queue is empty. The engine sleeps until then.
  std::optional<time_point> deadline() const;

  /// Gives back every queued request, oldest first, and empties the queue.
  std::vector<batch_item> drain_all();

  /// Rows queued.
  size_t queued_rows() const { return rows_; }

  /// Requests queued.
  size_t queued_items() const { return queue_.size(); }

  /// Whether nothing is queued.
  bool empty() const { return queue_.empty(); }

  const batcher_options& options() const { return opts_; }

private:
  /// How many requests from the front form the next batch, and whether that
  /// batch is full.
  std::pair<size_t, bool> front_batch() const;

  batch take(size_t n);

  batcher_options opts_;
  std::deque<batch_item> queue_;
  size_t rows_ = 0;
};

} // namespace troupe::serving
