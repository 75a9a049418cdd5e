#pragma once

// Where a replica's engine does its work (engine.hpp): loading the model,
// then running the batches its batcher hands out. Production gives each
// engine a thread of its own (engine_thread); tests give it a
// manual_executor, which runs the work only when the test says, so that an
// engine is driven without threads, sleeps or polling.

#include <cstddef>
#include <memory>

namespace troupe::serving {

class engine;

/// Runs an engine's work. The engine calls start() once from its
/// constructor, wake() whenever new work arrived for an executor that may be
/// waiting (never with the engine's lock held), and stop() from its
/// destructor.
class engine_executor {
public:
  virtual ~engine_executor();

  /// Begins running `e`'s work: e.load(), then e.run_ready() as long as it
  /// runs batches, then again after each wake() and at each e.deadline().
  virtual void start(engine& e) = 0;

  /// New work: a push reached an idle engine or made a batch ready.
  virtual void wake() = 0;

  /// Stops: once it returns, the executor calls nothing of the engine.
  virtual void stop() = 0;
};

/// The production executor: a thread of its own ("troupe.engine") that loads
/// the model, runs ready batches, and sleeps until woken or until the oldest
/// queued request is due by the engine's clock.
std::unique_ptr<engine_executor> engine_thread();

/// The tests' executor: does nothing until told. load() loads the model (the
/// engine tells the replica), run() runs the batches that are ready by the
/// engine's clock, as a thread that woke up would.
class manual_executor final : public engine_executor {
public:
  void start(engine& e) override;
  void wake() override;
  void stop() override;

  /// Loads the engine's model; whether it loaded.
  bool load();

  /// Runs every batch that is ready now; how many ran.
  size_t run();

  /// How many times the engine woke the executor.
  size_t wakes() const { return wakes_; }

private:
  engine* engine_ = nullptr;
  size_t wakes_ = 0;
};

} // namespace troupe::serving
