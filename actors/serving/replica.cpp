// serving.replica: one loaded model version, its batching queue and the
// thread that runs its batches (protocol in service.hpp).

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/serving/batcher.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/servable.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/log.hpp"
#include "runtime/worker.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

namespace fs = std::filesystem;

namespace {

using steady = std::chrono::steady_clock;

/// One batch on its way through the engine thread.
struct job {
  uint64_t id = 0;
  std::vector<float> x; ///< rows x features, row-major
  size_t rows = 0;
  std::vector<float> scores; ///< rows x outputs, filled by the engine
  std::string error;
};

/// The thread that runs batches, so that the actor never blocks: it takes
/// jobs in order and tells the replica (batch_atom, job id) when one is done.
class engine {
public:
  engine(std::shared_ptr<servable> model, caf::actor replica)
      : model_(std::move(model)), replica_(std::move(replica)) {
    thread_ = std::thread([this] { run(); });
  }

  ~engine() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void submit(std::shared_ptr<job> j) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      jobs_.push_back(std::move(j));
    }
    cv_.notify_one();
  }

private:
  void run() {
    for (;;) {
      std::shared_ptr<job> j;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        j = std::move(jobs_.front());
        jobs_.pop_front();
      }
      auto scores = model_->predict(j->x.data(), j->rows);
      if (scores)
        j->scores = std::move(*scores);
      else
        j->error = describe(scores.error());
      caf::anon_send(replica_, batch_atom::value, j->id);
    }
  }

  std::shared_ptr<servable> model_;
  caf::actor replica_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<job>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

/// A request waiting for its batch.
struct waiting {
  caf::typed_response_promise<envelope> rp;
  std::string request_id;
  std::vector<float> x;
  size_t rows = 0;
};

struct replica_state {
  std::shared_ptr<spdlog::logger> log = log::get("serving");
  std::string name;
  std::string data_dir;
  std::string model;
  uint32_t version = 0;
  std::shared_ptr<servable> loaded;
  /// After `loaded`: destroyed first, its thread joined before the model
  /// goes.
  std::unique_ptr<engine> runner;
  std::optional<batcher> queue;
  std::map<uint64_t, waiting> waiting_;
  uint64_t next_id = 1;
  /// The batches handed to the engine (their requests and their job), in
  /// the order it runs them.
  std::deque<std::pair<batch, std::shared_ptr<job>>> running;
  /// The time the armed timer fires, if one is armed.
  std::optional<steady::time_point> armed;
  std::vector<caf::typed_response_promise<bool>> drains;
};

using state_ptr = std::shared_ptr<replica_state>;

/// Checks the files of `mv` (with content) against their sizes and
/// checksums and writes them to `dir`, unless the copy there already matches
/// (a replica restarted, or another one of the version on this node). Each
/// file goes through a temporary file named after `replica`, so that
/// replicas starting together on one node never write the same one.
caf::error materialize(schema::ModelVersion::Reader mv, const fs::path& dir,
                       const std::string& replica) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("create", dir, ec.value());
  for (auto f : mv.getFiles()) {
    std::string name = f.getName();
    if (!valid_file_name(name))
      return make_error(errc::invalid_argument,
                        "model file name '" + name + "' is not a plain name");
    auto path = dir / name;
    auto content = f.getContent();
    if (content.size() != f.getSize())
      return make_error(errc::malformed_message,
                        "model file " + name + ": " +
                            std::to_string(content.size()) + " bytes, " +
                            std::to_string(f.getSize()) + " expected");
    if (checksum(content.begin(), content.size()) != f.getChecksum())
      return make_error(errc::malformed_message,
                        "model file " + name + " arrived corrupted");
    if (auto cached = read_file(path);
        cached && cached->size() == content.size() &&
        checksum(cached->data(), cached->size()) == f.getChecksum())
      continue;
    auto tmp = path;
    tmp += ".tmp-" + replica;
    if (auto err = write_synced(tmp, content.begin(), content.size()))
      return err;
    fs::rename(tmp, path, ec);
    if (ec)
      return io_error("rename '" + tmp.string() + "' to", path, ec.value());
  }
  return caf::none;
}

/// Batches the engine holds at once: one running and one ready behind it,
/// so that the engine never waits for the actor between two batches.
constexpr size_t engine_depth = 2;

/// Hands ready batches to the engine (up to engine_depth), or arms the
/// timer for when the oldest request becomes due.
void dispatch(caf::event_based_actor* self, const state_ptr& st) {
  if (!st->queue) return;
  while (st->running.size() < engine_depth) {
    auto now = steady::now();
    auto b = st->queue->pop_ready(now);
    if (!b) {
      auto due = st->queue->deadline();
      if (due && (!st->armed || *st->armed > *due)) {
        st->armed = *due;
        auto wait =
            std::chrono::duration_cast<std::chrono::microseconds>(*due - now);
        if (wait.count() < 0) wait = std::chrono::microseconds{0};
        self->delayed_send(self, wait, tick_atom::value);
      }
      return;
    }
    auto j = std::make_shared<job>();
    j->id = st->next_id++;
    j->rows = b->rows;
    j->x.reserve(b->rows * st->loaded->features());
    for (auto& item : b->items) {
      auto& w = st->waiting_.at(item.id);
      j->x.insert(j->x.end(), w.x.begin(), w.x.end());
    }
    st->running.emplace_back(std::move(*b), j);
    st->runner->submit(std::move(j));
  }
}

/// Answers the requests of the engine's oldest batch, which it finished.
void finish(caf::event_based_actor* self, const state_ptr& st) {
  auto [b, j] = std::move(st->running.front());
  st->running.pop_front();
  auto outputs = st->loaded->outputs();
  size_t row = 0;
  for (auto& item : b.items) {
    auto i = st->waiting_.find(item.id);
    if (i == st->waiting_.end()) continue;
    auto& w = i->second;
    if (!j->error.empty()) {
      w.rp.deliver(make_error(errc::io_failure,
                              "replica " + st->name + ": " + j->error));
    } else {
      w.rp.deliver(make_envelope<schema::PredictResponse>([&](auto r) {
        r.setRequestId(w.request_id);
        r.setModel(st->model);
        r.setVersion(st->version);
        r.setReplica(st->name);
        r.setBatchRows(static_cast<uint32_t>(b.rows));
        fill_predictions(*st->loaded, j->scores.data() + row * outputs, w.rows,
                         r);
      }));
    }
    row += w.rows;
    st->waiting_.erase(i);
  }
  dispatch(self, st);
  if (st->running.empty() && st->queue && st->queue->empty()) {
    for (auto& d : st->drains)
      d.deliver(true);
    st->drains.clear();
  }
}

caf::behavior replica_actor(worker* self, kind_args args) {
  auto st = std::make_shared<replica_state>();
  st->name = args.name;
  st->data_dir = args.data_dir;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [id, w] : st->waiting_)
      w.rp.deliver(
          make_error(errc::shutting_down, "replica " + st->name + " stopped"));
    st->waiting_.clear();
    st->runner.reset();
    self->quit(msg.reason);
  });
  return self->with_stats(
      args,
      {
          [=](load_atom, const envelope& version,
              const envelope& spec) -> caf::result<bool> {
            if (st->loaded)
              return make_error(errc::already_exists,
                                "replica " + st->name + " holds a model");
            batcher_options opts;
            size_t threads = 1;
            auto ok = spec.visit<schema::DeploymentSpec>([&](auto s) {
              threads = std::max<uint32_t>(1, s.getThreadsPerReplica());
              opts.max_batch_rows = std::max<uint32_t>(1, s.getMaxBatchRows());
              opts.max_queue_delay =
                  std::chrono::microseconds{s.getMaxQueueDelayUs()};
              opts.queue_bound =
                  std::max<size_t>(s.getQueueBoundRows(), opts.max_batch_rows);
            });
            if (!ok) return ok.error();
            if (auto err = validate(opts)) return err;
            auto dir = fs::path{st->data_dir.empty() ? "run" : st->data_dir} /
                       "serving" / "cache";
            auto loaded = version.visit<schema::ModelVersion>(
                [&](auto mv) -> caf::expected<std::shared_ptr<servable>> {
                  st->model = mv.getName();
                  st->version = mv.getVersion();
                  auto where =
                      dir / st->model / ("v" + std::to_string(st->version));
                  if (auto err = materialize(mv, where, st->name)) return err;
                  auto m = load_cached(mv, where.string(), threads);
                  if (!m) return m.error();
                  return std::shared_ptr<servable>{std::move(*m)};
                });
            if (!loaded) return loaded.error();
            if (!*loaded) return loaded->error();
            st->loaded = std::move(**loaded);
            st->queue.emplace(opts);
            st->runner = std::make_unique<engine>(
                st->loaded, caf::actor_cast<caf::actor>(self));
            st->log->info("replica {}: {} v{} loaded (batches of up to {} "
                          "rows, {} us delay)",
                          st->name, st->model, st->version, opts.max_batch_rows,
                          std::chrono::duration_cast<std::chrono::microseconds>(
                              opts.max_queue_delay)
                              .count());
            return true;
          },
          [=](predict_atom, const envelope& req) -> caf::result<envelope> {
            if (!st->loaded)
              return make_error(errc::not_found,
                                "replica " + st->name + " has no model yet");
            waiting w;
            caf::error bad_input;
            auto encoded = req.visit<schema::PredictRequest>([&](auto r) {
              w.request_id = r.getRequestId();
              auto x = encode_request(*st->loaded, r);
              if (!x) {
                bad_input = x.error();
                return;
              }
              w.rows = r.getRows().size();
              w.x = std::move(*x);
            });
            if (!encoded) return encoded.error();
            if (bad_input) return bad_input;
            auto id = st->next_id++;
            auto verdict = st->queue->push(id, w.rows, steady::now());
            if (verdict != admission::accepted)
              return make_error(
                  errc::no_capacity,
                  verdict == admission::overloaded
                      ? "overloaded: replica " + st->name + " has " +
                            std::to_string(st->queue->queued_rows()) +
                            " rows queued (bound " +
                            std::to_string(st->queue->options().queue_bound) +
                            "); retry later"
                      : "request " + w.request_id + " has " +
                            std::to_string(w.rows) +
                            " rows, more than a replica queues (" +
                            std::to_string(st->queue->options().queue_bound) +
                            ")");
            w.rp = self->make_response_promise<envelope>();
            auto rp = w.rp;
            st->waiting_.emplace(id, std::move(w));
            dispatch(self, st);
            return rp;
          },
          [=](batch_atom, uint64_t id) {
            if (st->running.empty() || id != st->running.front().second->id)
              return;
            finish(self, st);
          },
          [=](tick_atom) {
            st->armed.reset();
            dispatch(self, st);
          },
          [=](drain_atom) -> caf::result<bool> {
            if (st->running.empty() && (!st->queue || st->queue->empty()))
              return true;
            auto rp = self->make_response_promise<bool>();
            st->drains.push_back(rp);
            return rp;
          },
      });
}

} // namespace

void register_replica_kind(caf::actor_system_config& cfg) {
  cfg.add_actor_type(replica_kind, replica_actor);
}

} // namespace troupe::serving
