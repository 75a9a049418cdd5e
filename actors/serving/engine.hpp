#pragma once

// A replica's engine: forms and runs its batches on an executor of its own
// (executor.hpp: a thread in production, a manual one in tests; see
// replica.cpp for the actor around it). Plain C++ but for the two messages
// it sends the replica: (loaded_atom, error) once the model is loaded, and
// batch_atom when finished batches wait to be collected.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>

#include "actors/models/servable.hpp"
#include "actors/serving/atoms.hpp"
#include "actors/serving/batcher.hpp"
#include "actors/serving/executor.hpp"
#include "runtime/clock.hpp"

namespace troupe::serving {

using models::servable;

/// One batch on its way through the engine.
struct job {
  batch requests;
  std::vector<float> x;      ///< rows x features, row-major
  std::vector<float> scores; ///< rows x outputs, filled by the engine
  std::string error;
};

/// Forms and runs the replica's batches on its executor (a thread of its
/// own in production), so that the actor never blocks and no timer message
/// is needed. Requests wait in its batcher; whenever the executor is free
/// it takes the ready batch (full, or its oldest request due by the
/// engine's clock) or waits until the oldest request becomes due, and a
/// push wakes it only when it is idle or the push makes a batch ready.
/// Finished batches wait for the actor, which one (batch_atom) message wakes
/// for all the batches that finished before it collects them.
///
/// Thread hops per batch: one to the engine when it was idle, one back to
/// the actor. An actor-side timer instead would add the clock thread's two
/// and a message per batch (measured with tests/bench/bench_serving). A
/// request that is a full batch alone, reaching an idle engine, skips both
/// hops when the model is cheap: the actor runs it (run_inline).
///
/// submit() and run_inline() are called from one thread (the replica's).
class engine {
public:
  using loader = std::function<caf::expected<std::shared_ptr<servable>>()>;

  /// Most a batch run on the caller's thread may cost by the model's
  /// measured time per row: the replica's actor scheduler thread also
  /// routes every other request.
  static constexpr std::chrono::nanoseconds inline_budget{50000};

  /// Starts `exec` on this engine, which first runs `load` (writing and
  /// loading model files takes the time of the model's size: off the actor
  /// scheduler, so that a replica starting never stalls the routers and
  /// replicas already serving) and tells `replica` (loaded_atom, error),
  /// then runs batches. `time` dates requests, decides when a batch is due
  /// and measures the model's time per row.
  engine(loader load, batcher_options opts, caf::actor_addr replica,
         clock_ptr time, std::shared_ptr<engine_executor> exec);

  /// Stops the executor (joins the thread); queued requests are dropped.
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Queues the encoded rows `x` of request `id` (`rows` rows), as
  /// batcher::push admits them; a refused request is not queued.
  admission submit(uint64_t id, size_t rows, std::vector<float> x);

  /// Runs request `id` (its `rows` encoded rows in `x`) at once on the
  /// calling thread when that is what the engine would do next, and cheap:
  /// the engine is idle with nothing queued or finished but not collected,
  /// the request fills a batch alone (rows >= max_batch_rows, within the
  /// queue bound), and the model's measured time for `rows` rows is within
  /// inline_budget (so never before a first batch ran on the thread).
  /// Returns the finished batch; null when it does not apply (`x`
  /// untouched: submit it). Saves the two thread wake-ups to the engine and
  /// back.
  std::shared_ptr<job> run_inline(uint64_t id, size_t rows,
                                  std::vector<float>& x);

  /// The batches finished since the last call, in the order they ran.
  std::vector<std::shared_ptr<job>> take_done();

  size_t queued_rows() const;

  const batcher_options& options() const { return queue_.options(); }

  /// The clock the engine reads.
  const clock_ptr& clock() const { return clock_; }

  // What the executor calls, on its one thread.

  /// Runs the loader (once) and tells the replica (loaded_atom, error);
  /// whether the model loaded.
  bool load();

  /// Runs the batch that is ready now, if any, and tells the replica when
  /// finished batches start waiting; whether one ran. Having found none,
  /// the engine counts as idle (or waiting for deadline()) until a push.
  bool run_ready();

  /// When the oldest queued request becomes due (none queued: nullopt).
  std::optional<troupe::clock::time_point> deadline() const;

  /// The model, once the replica got (loaded_atom, no error).
  std::shared_ptr<servable> model() const { return model_; }

private:
  /// What the executor does: runs a batch, waits for any push, or waits for
  /// the oldest request's deadline.
  enum class mode { busy, idle, timed };

  /// Runs the model on the batch `j`, and keeps its time per row (a moving
  /// average) for run_inline.
  void execute(job& j);

  loader load_;
  clock_ptr clock_;
  /// Set by the executor before it tells the replica, read after.
  std::shared_ptr<servable> model_;
  /// The model's time per row, averaged over recent batches; 0 until the
  /// first batch ran.
  std::atomic<int64_t> ns_per_row_{0};
  mutable std::mutex mtx_;
  batcher queue_;
  /// The encoded rows of the queued requests, by id.
  std::unordered_map<uint64_t, std::vector<float>> inputs_;
  std::vector<std::shared_ptr<job>> done_;
  /// Whether a batch_atom is on its way that take_done() has not answered.
  bool signaled_ = false;
  mode mode_ = mode::busy;
  caf::actor_addr replica_;
  /// Last: started once the engine is complete, stopped first.
  std::shared_ptr<engine_executor> exec_;
};

} // namespace troupe::serving
