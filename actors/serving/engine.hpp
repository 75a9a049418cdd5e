#pragma once

// A replica's engine: the thread that forms and runs its batches (see
// replica.cpp for the actor around it). Plain C++ but for the two messages
// it sends the replica: (loaded_atom, error) once the model is loaded, and
// batch_atom when finished batches wait to be collected.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include "actors/models/servable.hpp"
#include "actors/serving/batcher.hpp"

namespace troupe::serving {

using models::servable;

/// From a replica's engine thread to the replica: the model is loaded (no
/// error) or could not be.
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;

/// One batch on its way through the engine.
struct job {
  batch requests;
  std::vector<float> x;      ///< rows x features, row-major
  std::vector<float> scores; ///< rows x outputs, filled by the engine
  std::string error;
};

/// The thread that forms and runs the replica's batches, so that the actor
/// never blocks and no timer message is needed. Requests wait in its
/// batcher; whenever the thread is free it takes the ready batch (full, or
/// its oldest request due) or sleeps until the oldest request becomes due,
/// and a push wakes it only when it is idle or the push makes a batch ready.
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

  /// Starts the thread, which first runs `load` (writing and loading model
  /// files takes the time of the model's size: off the actor scheduler, so
  /// that a replica starting never stalls the routers and replicas already
  /// serving) and tells `replica` (loaded_atom, error), then runs batches.
  engine(loader load, batcher_options opts, caf::actor_addr replica);

  /// Stops and joins the thread; queued requests are dropped.
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

  /// The model, once the replica got (loaded_atom, no error).
  std::shared_ptr<servable> model() const { return model_; }

private:
  /// What the thread does: runs a batch, waits for any push, or waits for
  /// the oldest request's deadline.
  enum class mode { busy, idle, timed };

  void run();

  /// Runs the model on the batch `j`, and keeps its time per row (a moving
  /// average) for run_inline.
  void execute(job& j);

  /// Set by the thread before it tells the replica, read after.
  std::shared_ptr<servable> model_;
  /// The model's time per row, averaged over recent batches; 0 until the
  /// first batch ran.
  std::atomic<int64_t> ns_per_row_{0};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  batcher queue_;
  /// The encoded rows of the queued requests, by id.
  std::unordered_map<uint64_t, std::vector<float>> inputs_;
  std::vector<std::shared_ptr<job>> done_;
  /// Whether a batch_atom is on its way that take_done() has not answered.
  bool signaled_ = false;
  mode mode_ = mode::busy;
  bool stop_ = false;
  caf::actor_addr replica_;
  std::thread thread_;
};

} // namespace troupe::serving
