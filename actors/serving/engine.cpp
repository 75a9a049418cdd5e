#include "actors/serving/engine.hpp"

#include <algorithm>
#include <utility>

#include <caf/all.hpp>

#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace troupe::serving {

namespace {

template <class... Ts>
void tell(const caf::actor_addr& to, Ts&&... xs) {
  if (auto r = caf::actor_cast<caf::actor>(to))
    caf::anon_send(r, std::forward<Ts>(xs)...);
}

} // namespace

engine::engine(loader load, batcher_options opts, caf::actor_addr replica,
               clock_ptr time, std::shared_ptr<engine_executor> exec)
    : load_(std::move(load)), clock_(time ? std::move(time) : real_clock()),
      queue_(opts), replica_(std::move(replica)), exec_(std::move(exec)) {
  exec_->start(*this);
}

engine::~engine() {
  exec_->stop();
}

bool engine::load() {
  auto m = load_();
  caf::error err;
  if (m)
    model_ = std::move(*m);
  else
    err = std::move(m.error());
  tell(replica_, loaded_atom::value, std::move(err));
  return model_ != nullptr;
}

admission engine::submit(uint64_t id, size_t rows, std::vector<float> x) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock_->now();
    auto verdict = queue_.push(id, rows, now);
    if (verdict != admission::accepted) return verdict;
    inputs_.emplace(id, std::move(x));
    wake = mode_ == mode::idle || (mode_ == mode::timed && queue_.ready(now));
    if (wake) mode_ = mode::busy; // one wake-up is enough
  }
  if (wake) exec_->wake();
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
  j->requests.items.push_back({id, rows, clock_->now()});
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

bool engine::run_ready() {
  if (!model_) return false;
  std::unique_lock<std::mutex> lock{mtx_};
  auto now = clock_->now();
  auto b = queue_.pop_ready(now);
  if (!b) {
    mode_ = queue_.deadline() ? mode::timed : mode::idle;
    return false;
  }
  mode_ = mode::busy;
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
  }
  return true;
}

std::optional<troupe::clock::time_point> engine::deadline() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.deadline();
}

void engine::execute(job& j) {
  auto t0 = clock_->now();
  auto scores = model_->predict(j.x.data(), j.requests.rows);
  if (scores)
    j.scores = std::move(*scores);
  else
    j.error = describe(scores.error());
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now() - t0)
          .count() /
      static_cast<int64_t>(std::max<size_t>(j.requests.rows, 1));
  auto old = ns_per_row_.load(std::memory_order_relaxed);
  ns_per_row_.store(old == 0 ? std::max<int64_t>(ns, 1) : (3 * old + ns) / 4,
                    std::memory_order_relaxed);
}

} // namespace troupe::serving
