#include "actors/training/part_mailbox.hpp"

#include <algorithm>

#include "runtime/errors.hpp"

namespace troupe::training {

void part_mailbox::put(envelope e) {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    items_.push_back(std::move(e));
  }
  ready_.notify_all();
}

caf::expected<envelope>
part_mailbox::take(const std::function<bool(const envelope&)>& accepts,
                   const std::atomic<bool>& cancel,
                   std::chrono::milliseconds wait, const std::string& what) {
  auto until = std::chrono::steady_clock::now() + wait;
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    auto it = std::find_if(items_.begin(), items_.end(), accepts);
    if (it != items_.end()) {
      auto e = std::move(*it);
      items_.erase(it);
      return e;
    }
    if (cancel.load())
      return make_error(errc::shutting_down, what + ": the worker was stopped");
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return make_error(errc::timeout, what + " did not come in " +
                                           std::to_string(wait.count() / 1000) +
                                           " s");
    // cancel is set without the lock: look again now and then
    ready_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                              until - now, std::chrono::milliseconds{100}));
  }
}

void part_mailbox::drop(const std::function<bool(const envelope&)>& stale) {
  std::lock_guard<std::mutex> lock{mutex_};
  items_.erase(std::remove_if(items_.begin(), items_.end(), stale),
               items_.end());
}

void part_mailbox::wake() {
  ready_.notify_all();
}

size_t part_mailbox::size() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return items_.size();
}

} // namespace troupe::training
