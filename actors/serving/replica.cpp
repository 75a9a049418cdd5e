// serving.replica: one loaded model version, its batching queue and the
// engine that runs its batches (engine.hpp; protocol in replica.hpp).

#include <filesystem>
#include <map>
#include <utility>

#include <caf/all.hpp>

#include "actors/models/servable.hpp"
#include "actors/serving/batcher.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/engine.hpp"
#include "actors/serving/errors.hpp"
#include "actors/serving/replica.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/log.hpp"
#include "runtime/worker.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

using models::servable;

namespace fs = std::filesystem;

namespace {

/// A request waiting for its batch.
struct waiting {
  caf::typed_response_promise<envelope> rp;
  std::string request_id;
  size_t rows = 0;
};

struct replica_state {
  std::shared_ptr<spdlog::logger> log = log::get("serving");
  /// What the engine's batching deadlines and cost measurements read.
  clock_ptr clock;
  std::string name;
  std::string data_dir;
  std::string model;
  uint32_t version = 0;
  std::shared_ptr<servable> loaded;
  /// After `loaded`: destroyed first, its thread joined before the model
  /// goes. Set from the load request on; `loaded` once the engine loaded
  /// the model.
  std::unique_ptr<engine> runner;
  /// The answer to the load request, while the engine loads.
  caf::typed_response_promise<bool> loading;
  /// The requests accepted and not answered yet, queued or running.
  std::map<uint64_t, waiting> waiting_;
  uint64_t next_id = 1;
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
      return make_error(troupe::errc::invalid_argument,
                        "model file name '" + name + "' is not a plain name");
    auto path = dir / name;
    auto content = f.getContent();
    if (content.size() != f.getSize())
      return make_error(troupe::errc::malformed_message,
                        "model file " + name + ": " +
                            std::to_string(content.size()) + " bytes, " +
                            std::to_string(f.getSize()) + " expected");
    if (checksum(content.begin(), content.size()) != f.getChecksum())
      return make_error(troupe::errc::malformed_message,
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

/// Answers the requests of a batch the engine finished.
void finish(const state_ptr& st, job& j) {
  auto outputs = st->loaded->outputs();
  size_t row = 0;
  for (auto& item : j.requests.items) {
    auto i = st->waiting_.find(item.id);
    if (i == st->waiting_.end()) {
      row += item.rows;
      continue;
    }
    auto& w = i->second;
    if (!j.error.empty()) {
      w.rp.deliver(make_error(troupe::errc::io_failure,
                              "replica " + st->name + ": " + j.error));
    } else {
      w.rp.deliver(make_envelope<schema::PredictResponse>([&](auto r) {
        r.setRequestId(w.request_id);
        r.setModel(st->model);
        r.setVersion(st->version);
        r.setReplica(st->name);
        r.setBatchRows(static_cast<uint32_t>(j.requests.rows));
        fill_predictions(*st->loaded, j.scores.data() + row * outputs, w.rows,
                         r);
      }));
    }
    row += w.rows;
    st->waiting_.erase(i);
  }
}

// The handlers of the replica's messages (replica.hpp).

caf::result<bool> on_load(replica_self* self, const state_ptr& st,
                          const envelope& version, const envelope& spec) {
  if (st->runner)
    return make_error(troupe::errc::already_exists,
                      "replica " + st->name + " holds a model");
  batcher_options opts;
  size_t threads = 1;
  auto ok = spec.visit<schema::DeploymentSpec>([&](auto s) {
    threads = std::max<uint32_t>(1, s.getThreadsPerReplica());
    opts.max_batch_rows = std::max<uint32_t>(1, s.getMaxBatchRows());
    opts.max_queue_delay = std::chrono::microseconds{s.getMaxQueueDelayUs()};
    opts.queue_bound =
        std::max<size_t>(s.getQueueBoundRows(), opts.max_batch_rows);
  });
  if (!ok) return ok.error();
  if (auto err = validate(opts)) return err;
  auto named = version.visit<schema::ModelVersion>([&](auto mv) {
    st->model = mv.getName();
    st->version = mv.getVersion();
  });
  if (!named) return named.error();
  auto where = fs::path{st->data_dir.empty() ? "run" : st->data_dir} /
               "serving" / "cache" / st->model /
               ("v" + std::to_string(st->version));
  auto load = [version, where, threads,
               name = st->name]() -> caf::expected<std::shared_ptr<servable>> {
    caf::expected<std::shared_ptr<servable>> out{nullptr};
    auto ok = version.visit<schema::ModelVersion>([&](auto mv) {
      if (auto err = materialize(mv, where, name)) {
        out = std::move(err);
        return;
      }
      auto m = load_cached(mv, where.string(), threads);
      if (!m)
        out = std::move(m.error());
      else
        out = std::shared_ptr<servable>{std::move(*m)};
    });
    if (!ok) return ok.error();
    return out;
  };
  st->loading = self->make_response_promise<bool>();
  st->runner = std::make_unique<engine>(std::move(load), opts, self->address(),
                                        st->clock, engine_thread());
  return st->loading;
}

void on_loaded(replica_self* self, const state_ptr& st, const caf::error& err) {
  if (!st->runner || st->loaded) return;
  if (err) {
    st->runner.reset();
    st->loading.deliver(err);
    return;
  }
  st->loaded = st->runner->model();
  if (!st->loaded) return; // not from the engine
  st->log->info("replica {}: {} v{} loaded, predicting with {} "
                "(batches of up to {} rows, {} us delay)",
                st->name, st->model, st->version, st->loaded->predictor(),
                st->runner->options().max_batch_rows,
                std::chrono::duration_cast<std::chrono::microseconds>(
                    st->runner->options().max_queue_delay)
                    .count());
  st->loading.deliver(true);
}

caf::result<envelope> on_predict(replica_self* self, const state_ptr& st,
                                 const envelope& req) {
  if (!st->loaded)
    return make_error(errc::not_loaded,
                      "replica " + st->name + " has no model yet");
  waiting w;
  caf::error bad_input;
  std::vector<float> x;
  auto encoded = req.visit<schema::PredictRequest>([&](auto r) {
    w.request_id = r.getRequestId();
    auto rows = encode_request(*st->loaded, r);
    if (!rows) {
      bad_input = rows.error();
      return;
    }
    w.rows = r.getRows().size();
    x = std::move(*rows);
  });
  if (!encoded) return encoded.error();
  if (bad_input) return bad_input;
  auto id = st->next_id++;
  if (auto j = st->runner->run_inline(id, w.rows, x)) {
    w.rp = self->make_response_promise<envelope>();
    auto rp = w.rp;
    st->waiting_.emplace(id, std::move(w));
    finish(st, *j);
    return rp;
  }
  auto verdict = st->runner->submit(id, w.rows, std::move(x));
  if (verdict != admission::accepted) {
    auto bound = st->runner->options().queue_bound;
    return make_error(
        verdict == admission::overloaded ? errc::overloaded : errc::too_large,
        verdict == admission::overloaded
            ? "overloaded: replica " + st->name + " has " +
                  std::to_string(st->runner->queued_rows()) +
                  " rows queued (bound " + std::to_string(bound) +
                  "); retry later"
            : "request " + w.request_id + " has " + std::to_string(w.rows) +
                  " rows, more than a replica queues (" +
                  std::to_string(bound) + ")");
  }
  w.rp = self->make_response_promise<envelope>();
  auto rp = w.rp;
  st->waiting_.emplace(id, std::move(w));
  return rp;
}

void on_batch(replica_self* self, const state_ptr& st) {
  if (!st->runner) return;
  for (auto& j : st->runner->take_done())
    finish(st, *j);
  if (st->waiting_.empty()) {
    for (auto& d : st->drains)
      d.deliver(true);
    st->drains.clear();
  }
}

caf::result<bool> on_drain(replica_self* self, const state_ptr& st) {
  if (st->waiting_.empty()) return true;
  auto rp = self->make_response_promise<bool>();
  st->drains.push_back(rp);
  return rp;
}

replica_actor::behavior_type replica_behavior(replica_self* self,
                                              kind_args args, clock_ptr time) {
  auto st = std::make_shared<replica_state>();
  st->clock = std::move(time);
  st->name = args.name;
  st->data_dir = args.data_dir;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [id, w] : st->waiting_)
      w.rp.deliver(make_error(troupe::errc::shutting_down,
                              "replica " + st->name + " stopped"));
    st->waiting_.clear();
    for (auto& d : st->drains)
      d.deliver(make_error(troupe::errc::shutting_down,
                           "replica " + st->name + " stopped"));
    st->drains.clear();
    if (st->loading.pending())
      st->loading.deliver(make_error(troupe::errc::shutting_down,
                                     "replica " + st->name + " stopped"));
    st->runner.reset();
    self->quit(msg.reason);
  });
  self->identify(args);
  return {
      [=](load_atom, const envelope& version, const envelope& spec) {
        return on_load(self, st, version, spec);
      },
      [=](loaded_atom, const caf::error& err) {
        return on_loaded(self, st, err);
      },
      [=](predict_atom, const envelope& req) {
        return on_predict(self, st, req);
      },
      [=](batch_atom) { return on_batch(self, st); },
      [=](drain_atom) { return on_drain(self, st); },
      self->stats_handler(),
  };
}

/// The replica as the directory spawns it: on the real clock.
replica_actor::behavior_type replica_kind_actor(replica_self* self,
                                                kind_args args) {
  return replica_behavior(self, std::move(args), real_clock());
}

} // namespace

void register_replica_kind(caf::actor_system_config& cfg) {
  cfg.add_actor_type(replica_kind, replica_kind_actor);
}

} // namespace troupe::serving
