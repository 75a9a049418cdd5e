#include "actors/serving/engine.hpp"

#include <algorithm>
#include <utility>

#include <caf/all.hpp>

#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace troupe::serving {

namespace {

using steady = std::chrono::steady_clock;

template <class... Ts>
void tell(const caf::actor_addr& to, Ts&&... xs) {
  if (auto r = caf::actor_cast<caf::actor>(to))
    caf::anon_send(r, std::forward<Ts>(xs)...);
}

} // namespace

engine::engine(loader load, batcher_options opts, caf::actor_addr replica)
    : queue_(opts), replica_(std::move(replica)) {
  thread_ = std::thread([this, load = std::move(load)] {
    log::name_thread("troupe.engine");
    auto m = load();
    caf::error err;
    if (m)
      model_ = std::move(*m);
    else
      err = std::move(m.error());
    tell(replica_, loaded_atom::value, std::move(err));
    if (model_) run();
  });
}

engine::~engine() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

admission engine::submit(uint64_t id, size_t rows, std::vector<float> x) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = steady::now();
    auto verdict = queue_.push(id, rows, now);
    if (verdict != admission::accepted) return verdict;
    inputs_.emplace(id, std::move(x));
    wake = mode_ == mode::idle || (mode_ == mode::timed && queue_.ready(now));
    if (wake) mode_ = mode::busy; // one wake-up is enough
  }
  if (wake) cv_.notify_one();
  return admission::accepted;
}

std::shared_ptr<job> engine::run_inline(uint64_t id, size_t rows,
                                        std::vector<float>& x) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& o = queue_.options();
    if (mode_ != mode::idle || !queue_.empty() || !done_.empty() ||
        rows < o.max_batch_rows || rows > o.queue_bound)
      return nullptr;
    auto per_row = ns_per_row_.load(std::memory_order_relaxed);
    if (per_row == 0 ||
        per_row * static_cast<int64_t>(rows) > inline_budget.count())
      return nullptr;
  }
  // The engine thread stays asleep: only submit() wakes it, and its caller
  // is busy here.
  auto j = std::make_shared<job>();
  j->requests.items.push_back({id, rows, steady::now()});
  j->requests.rows = rows;
  j->x = std::move(x);
  execute(*j);
  return j;
}

std::vector<std::shared_ptr<job>> engine::take_done() {
  std::lock_guard<std::mutex> guard{mtx_};
  signaled_ = false;
  return std::exchange(done_, {});
}

size_t engine::queued_rows() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.queued_rows();
}

void engine::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stop_) {
    auto b = queue_.pop_ready(steady::now());
    if (!b) {
      if (auto due = queue_.deadline()) {
        mode_ = mode::timed;
        cv_.wait_until(lock, *due);
      } else {
        mode_ = mode::idle;
        cv_.wait(lock);
      }
      mode_ = mode::busy;
      continue;
    }
    auto j = std::make_shared<job>();
    j->x.reserve(b->rows * model_->features());
    for (auto& item : b->items) {
      auto in = inputs_.find(item.id);
      j->x.insert(j->x.end(), in->second.begin(), in->second.end());
      inputs_.erase(in);
    }
    j->requests = std::move(*b);
    lock.unlock();
    execute(*j);
    lock.lock();
    done_.push_back(std::move(j));
    if (!signaled_) {
      signaled_ = true;
      lock.unlock();
      tell(replica_, batch_atom::value);
      lock.lock();
    }
  }
}

void engine::execute(job& j) {
  auto t0 = steady::now();
  auto scores = model_->predict(j.x.data(), j.requests.rows);
  if (scores)
    j.scores = std::move(*scores);
  else
    j.error = describe(scores.error());
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0)
          .count() /
      static_cast<int64_t>(std::max<size_t>(j.requests.rows, 1));
  auto old = ns_per_row_.load(std::memory_order_relaxed);
  ns_per_row_.store(old == 0 ? std::max<int64_t>(ns, 1) : (3 * old + ns) / 4,
                    std::memory_order_relaxed);
}

} // namespace troupe::serving
