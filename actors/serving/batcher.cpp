#include "actors/serving/batcher.hpp"

#include <utility>

#include "runtime/errors.hpp"

namespace troupe::serving {

caf::error validate(const batcher_options& opts) {
  auto bad = [](const std::string& what) {
    return make_error(errc::invalid_argument, "batcher: " + what);
  };
  if (opts.max_batch_rows < 1)
    return bad("max_batch_rows must be at least 1, got 0");
  if (opts.max_queue_delay < std::chrono::steady_clock::duration::zero())
    return bad(
        "max_queue_delay must not be negative, got " +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                           opts.max_queue_delay)
                           .count()) +
        " us");
  if (opts.queue_bound < opts.max_batch_rows)
    return bad("queue_bound (" + std::to_string(opts.queue_bound) +
               " rows) must be at least max_batch_rows (" +
               std::to_string(opts.max_batch_rows) + ")");
  return {};
}

std::string to_string(admission x) {
  switch (x) {
  case admission::accepted:
    return "accepted";
  case admission::overloaded:
    return "overloaded";
  case admission::too_large:
    return "too_large";
  }
  return "admission(" + std::to_string(static_cast<int>(x)) + ")";
}

batcher::batcher(batcher_options opts) : opts_(opts) {
  // Invalid options are the caller's bug; keep the batcher usable anyway.
  if (opts_.max_batch_rows < 1) opts_.max_batch_rows = 1;
  if (opts_.max_queue_delay < std::chrono::steady_clock::duration::zero())
    opts_.max_queue_delay = std::chrono::steady_clock::duration::zero();
}

admission batcher::push(uint64_t id, size_t rows, time_point now) {
  if (rows > opts_.queue_bound) return admission::too_large;
  if (rows > opts_.queue_bound - rows_) return admission::overloaded;
  queue_.push_back(batch_item{id, rows, now});
  rows_ += rows;
  return admission::accepted;
}

std::pair<size_t, bool> batcher::front_batch() const {
  size_t n = 0;
  size_t rows = 0;
  for (auto& item : queue_) {
    // The first item always goes, even when it alone exceeds the limit.
    if (n > 0 && item.rows > opts_.max_batch_rows - rows) return {n, true};
    ++n;
    rows += item.rows;
    if (rows >= opts_.max_batch_rows) return {n, true};
  }
  return {n, false};
}

bool batcher::ready(time_point now) const {
  if (queue_.empty()) return false;
  if (now - queue_.front().enqueued >= opts_.max_queue_delay) return true;
  return front_batch().second;
}

std::optional<batch> batcher::pop_ready(time_point now) {
  if (queue_.empty()) return std::nullopt;
  auto [n, full] = front_batch();
  if (!full && now - queue_.front().enqueued < opts_.max_queue_delay)
    return std::nullopt;
  return take(n);
}

std::optional<batch> batcher::pop_now() {
  if (queue_.empty()) return std::nullopt;
  return take(front_batch().first);
}

std::optional<batcher::time_point> batcher::deadline() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front().enqueued + opts_.max_queue_delay;
}

std::vector<batch_item> batcher::drain_all() {
  std::vector<batch_item> out(std::make_move_iterator(queue_.begin()),
                              std::make_move_iterator(queue_.end()));
  queue_.clear();
  rows_ = 0;
  return out;
}

batch batcher::take(size_t n) {
  batch out;
  out.items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.rows += queue_.front().rows;
    out.items.push_back(queue_.front());
    queue_.pop_front();
  }
  rows_ -= out.rows;
  return out;
}

} // namespace troupe::serving
