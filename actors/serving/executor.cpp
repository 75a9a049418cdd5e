#include "actors/serving/executor.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/serving/engine.hpp"
#include "runtime/log.hpp"

namespace troupe::serving {

engine_executor::~engine_executor() = default;

namespace {

/// One thread per engine. A wake() that comes while the thread is between
/// finding no ready batch and going to sleep is kept in `woken_`, so that
/// no push is ever missed.
class thread_executor final : public engine_executor {
public:
  ~thread_executor() override { stop(); }

  void start(engine& e) override {
    thread_ = std::thread([this, &e] {
      log::name_thread("troupe.engine");
      if (e.load()) loop(e);
    });
  }

  void wake() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      woken_ = true;
    }
    cv_.notify_one();
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

private:
  void loop(engine& e) {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!stop_) {
      lock.unlock();
      bool ran = e.run_ready();
      lock.lock();
      if (ran || stop_) continue;
      if (std::exchange(woken_, false)) continue;
      // The engine's lock is taken under ours; wake() is never called with
      // the engine's lock held, so the two never wait for each other.
      if (auto due = e.deadline())
        cv_.wait_for(lock, *due - e.clock()->now(),
                     [this] { return stop_ || woken_; });
      else
        cv_.wait(lock, [this] { return stop_ || woken_; });
      woken_ = false;
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace

std::unique_ptr<engine_executor> engine_thread() {
  return std::make_unique<thread_executor>();
}

void manual_executor::start(engine& e) {
  engine_ = &e;
}

void manual_executor::wake() {
  ++wakes_;
}

void manual_executor::stop() {
  engine_ = nullptr;
}

bool manual_executor::load() {
  return engine_ && engine_->load();
}

size_t manual_executor::run() {
  size_t n = 0;
  while (engine_ && engine_->run_ready())
    ++n;
  return n;
}

} // namespace troupe::serving
