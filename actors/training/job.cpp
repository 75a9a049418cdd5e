#include "actors/training/job.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>

#include <caf/all.hpp>

#include "actors/training/job_journal.hpp"
#include "actors/training/ps_shard.hpp"
#include "actors/training/ps_worker.hpp"
#include "actors/training/sparse_job.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

using steady = std::chrono::steady_clock;
constexpr auto request_timeout = std::chrono::seconds{30};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The data, filled by the job's helper thread.
struct prepared {
  std::mutex mtx;
  caf::expected<sparse_data> data = caf::error{};
};

/// One actor of the gang.
struct member {
  std::string name;
  std::string node;
  caf::actor handle;
};

struct job_state {
  static inline const char* name = "troupe.training_job";
  job_init init;
  schema::JobState phase = schema::JobState::WAITING;
  std::string message;
  bool bad_input = false;
  std::shared_ptr<prepared> box = std::make_shared<prepared>();
  std::shared_ptr<sparse_data> data;
  uint64_t lease = 0;
  std::vector<std::string> nodes; ///< of the gang's slots, in order
  std::vector<member> shards, workers;
  size_t to_place = 0;
  ps_gate_actor gate;
  steady::time_point started = steady::now();
  steady::time_point training_since;
  size_t workers_done = 0;
  sparse_outcome outcome;
  uint64_t steps_per_worker = 0;
  std::string summary;
  /// Validation logloss, AUC and KS once finished (NaN before).
  std::array<double, 3> valid{std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::quiet_NaN()};
  /// The last checkpoint (a JobCheckpoint) and its step.
  envelope ckpt;
  uint64_t ckpt_step = 0;
  /// The step the current placement started at.
  uint64_t start_step = 0;
  uint32_t attempt = 0;
  bool checkpointing = false;
  /// "actor@node" of the last placed gang (kept after it is disbanded).
  std::vector<std::string> placement;
  std::shared_ptr<spdlog::logger> log = log::get("training");
};

using job_self = job_actor::stateful_pointer<job_state>;

bool ended(const job_state& st) {
  return st.phase == schema::JobState::FINISHED ||
         st.phase == schema::JobState::FAILED ||
         st.phase == schema::JobState::STOPPED;
}

void record(job_self self, schema::JobEvent::Kind kind, uint64_t step,
            const std::string& message) {
  auto& st = self->state;
  if (!st.init.journal) return;
  auto ev = make_envelope<schema::JobEvent>([&](auto e) {
    e.setKind(kind);
    e.setStep(step);
    e.setAttempt(st.attempt);
    e.setAtMs(wall_ms());
    e.setMessage(message);
  });
  if (auto err = st.init.journal->add_event(st.init.id, ev))
    st.log->warn("job {}: cannot record an event: {}", st.init.id,
                 describe(err));
}

void send_want(job_self self, bool wants, bool leave) {
  auto& st = self->state;
  if (!st.init.directory) return;
  auto env = make_envelope<schema::SlotWant>([&](auto w) {
    w.setConsumer(job_consumer(st.init.id));
    w.setWeight(1);
    w.setPriority(st.init.cfg.priority);
    w.setSize(st.init.cfg.workers + st.init.cfg.shards);
    w.setPlacement(schema::SlotWant::Placement::ANY);
    w.setWants(wants);
    w.setLeave(leave);
  });
  auto log = st.log;
  auto id = st.init.id;
  self->request(st.init.directory, request_timeout, slot_want_atom::value, env)
      .then([] {},
            [log, id](caf::error& err) {
              log->warn("job {}: the directory refused its slot want: {}", id,
                        describe(err));
            });
}

/// Asks the directory to stop a gang member (gone already: nothing to do).
void stop_member(job_self self, const std::string& name) {
  auto& dir = self->state.init.directory;
  if (!dir) return;
  // a request, not a send: the directory's answer (an error when the actor
  // went with its node) must not reach the job as an unexpected error
  self->request(dir, request_timeout, stop_atom::value, name)
      .then([] {}, [](caf::error&) {});
}

/// Stops the gang's actors and gives their slots back.
void disband(job_self self) {
  auto& st = self->state;
  for (auto* group : {&st.workers, &st.shards})
    for (auto& m : *group) {
      if (m.handle) self->demonitor(m.handle);
      stop_member(self, m.name);
    }
  st.workers.clear();
  st.shards.clear();
  if (st.gate) self->send_exit(st.gate, caf::exit_reason::user_shutdown);
  st.gate = nullptr;
  if (st.lease != 0 && st.init.directory)
    caf::unsafe_send_as(self, st.init.directory, slot_release_atom::value,
                        job_consumer(st.init.id), st.lease);
  st.lease = 0;
  st.workers_done = 0;
  st.checkpointing = false;
}

void end(job_self self, schema::JobState phase, const std::string& message) {
  auto& st = self->state;
  if (ended(st)) return;
  st.phase = phase;
  st.message = message;
  using kind = schema::JobEvent::Kind;
  record(self,
         phase == schema::JobState::FINISHED  ? kind::FINISHED
         : phase == schema::JobState::STOPPED ? kind::STOPPED
                                              : kind::FAILED,
         st.ckpt_step, message);
  if (phase == schema::JobState::FAILED)
    st.log->error("job {} failed: {}", st.init.id, message);
  else
    st.log->info("job {}: {}", st.init.id, message);
  disband(self);
  send_want(self, false, true);
}

/// A gang member went: the job regroups from its last checkpoint, or fails
/// after max_attempts placements.
void regroup(job_self self, const std::string& why) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING) return;
  record(self, schema::JobEvent::Kind::LOST, st.ckpt_step, why);
  if (st.attempt >= st.init.cfg.max_attempts)
    return end(self, schema::JobState::FAILED,
               why + " (after " + std::to_string(st.attempt) +
                   " placement(s); max_attempts " +
                   std::to_string(st.init.cfg.max_attempts) + ")");
  st.log->warn("job {}: {}; regrouping from step {}", st.init.id, why,
               st.ckpt_step);
  disband(self);
  st.phase = schema::JobState::WAITING;
  st.message =
      "regrouping from step " + std::to_string(st.ckpt_step) + " after: " + why;
  st.start_step = st.ckpt_step;
  send_want(self, true, false);
}

void fail(job_self self, const caf::error& err) {
  end(self, schema::JobState::FAILED, describe(err));
}

/// A request of the running gang failed: a member that went (its node)
/// regroups the job, anything else fails it.
void gang_error(job_self self, const caf::error& err) {
  if (err.category() == caf::atom("system") &&
      (err.code() == static_cast<uint8_t>(caf::sec::request_receiver_down) ||
       err.code() == static_cast<uint8_t>(caf::sec::request_timeout)))
    return regroup(self, "a gang member did not answer: " + describe(err));
  fail(self, err);
}

void on_prepared(job_self self) {
  auto& st = self->state;
  if (ended(st)) return;
  {
    std::lock_guard<std::mutex> guard{st.box->mtx};
    if (!st.box->data) {
      auto err = st.box->data.error();
      st.bad_input = err.category() == caf::atom("troupe") &&
                     err.code() == static_cast<uint8_t>(errc::invalid_argument);
      end(self, schema::JobState::FAILED, describe(err));
      return;
    }
    st.data = std::make_shared<sparse_data>(std::move(*st.box->data));
  }
  auto& cfg = st.init.cfg;
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    auto n = rows_dealt(st.data->train.size(), w, cfg.workers);
    st.steps_per_worker = std::max<uint64_t>(
        st.steps_per_worker, steps_of(n, cfg.batch, cfg.epochs));
  }
  st.log->info("job {}: {} training and {} validation rows; asking for {} "
               "slot(s)",
               st.init.id, st.data->train.size(), st.data->valid.size(),
               cfg.workers + cfg.shards);
  send_want(self, true, false);
}

void spawn_member(job_self self, member m, const std::string& kind,
                  const std::string& config, bool is_shard, size_t index,
                  uint32_t attempt) {
  auto& st = self->state;
  auto dir = st.init.directory;
  self->request(dir, request_timeout, caf::spawn_atom::value, kind, m.node,
                config, m.name)
      .then(
          [=](const envelope&) {
            self->request(dir, request_timeout, lookup_atom::value, m.name)
                .then(
                    [=](const caf::actor& handle) {
                      auto& st = self->state;
                      if (ended(st) || st.attempt != attempt)
                        return stop_member(self, m.name);
                      self->monitor(handle);
                      auto& slot =
                          is_shard ? st.shards[index] : st.workers[index];
                      slot.handle = handle;
                      if (--st.to_place == 0)
                        self->send(self, job_placed_atom::value);
                    },
                    [=](caf::error& err) {
                      if (self->state.attempt == attempt)
                        regroup(self,
                                "cannot find " + m.name + ": " + describe(err));
                    });
          },
          [=](caf::error& err) {
            if (self->state.attempt == attempt)
              regroup(self, "cannot spawn " + m.name + " on " + m.node + ": " +
                                describe(err));
          });
}

void on_grant(job_self self, const envelope& env) {
  auto& st = self->state;
  auto lease = env.visit<schema::SlotLease>([&](auto l) {
    std::vector<std::string> nodes;
    for (auto s : l.getSlots())
      nodes.emplace_back(s.getNode().cStr());
    return std::make_pair(l.getId(), nodes);
  });
  if (!lease) return;
  auto& cfg = st.init.cfg;
  if (ended(st) || st.phase != schema::JobState::WAITING || !st.data ||
      lease->second.size() != cfg.workers + cfg.shards) {
    caf::unsafe_send_as(self, st.init.directory, slot_release_atom::value,
                        job_consumer(st.init.id), lease->first);
    return;
  }
  st.lease = lease->first;
  st.nodes = lease->second;
  send_want(self, false, false); // one gang is all it needs
  st.phase = schema::JobState::RUNNING;
  ++st.attempt;
  st.to_place = cfg.workers + cfg.shards;
  // names carry the attempt: a regrouped gang's actors are new actors
  auto prefix =
      st.init.id + (st.attempt > 1 ? ".a" + std::to_string(st.attempt) + "."
                                   : std::string{"."});
  for (uint32_t s = 0; s < cfg.shards; ++s)
    st.shards.push_back(
        {prefix + "shard-" + std::to_string(s), st.nodes[s], {}});
  for (uint32_t w = 0; w < cfg.workers; ++w)
    st.workers.push_back(
        {prefix + "worker-" + std::to_string(w), st.nodes[cfg.shards + w], {}});
  for (uint32_t s = 0; s < cfg.shards; ++s)
    spawn_member(self, st.shards[s], shard_kind,
                 ps_shard_config_json({s, cfg.shards, cfg.model}), true, s,
                 st.attempt);
  for (uint32_t w = 0; w < cfg.workers; ++w)
    spawn_member(self, st.workers[w], worker_kind, {}, false, w, st.attempt);
}

void finish(job_self self) {
  auto& st = self->state;
  auto left = std::make_shared<size_t>(st.shards.size());
  auto attempt = st.attempt;
  st.outcome.keys.clear();
  st.outcome.weights.clear();
  for (auto& s : st.shards)
    self->request(caf::actor_cast<ps_shard_actor>(s.handle), request_timeout,
                  ps_dump_atom::value)
        .then(
            [=](const envelope& e) {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st)) return;
              (void)e.visit<schema::SparseValues>([&](auto r) {
                for (unsigned i = 0; i < r.getKeys().size(); ++i) {
                  st.outcome.keys.push_back(r.getKeys()[i]);
                  st.outcome.weights.push_back(r.getValues()[i]);
                }
                return true;
              });
              if (--*left > 0) return;
              auto& cfg = st.init.cfg;
              // the rows the checkpoint it started from had trained
              for (uint32_t w = 0; w < cfg.workers; ++w) {
                auto n = rows_dealt(st.data->train.size(), w, cfg.workers);
                st.outcome.examples_before +=
                    rows_after(n, cfg.batch, st.start_step);
              }
              st.outcome.examples += st.outcome.examples_before;
              st.outcome.start_step = st.start_step;
              st.outcome.attempts = st.attempt;
              auto elapsed =
                  std::chrono::duration<double>(steady::now() - st.started)
                      .count();
              auto summary = write_sparse_results(
                  st.init.cfg, st.init.out_dir, *st.data, st.outcome, elapsed);
              if (!summary) return fail(self, summary.error());
              st.summary = summary->dump(2);
              auto metric = [&](const char* k) {
                auto& v = (*summary)["valid"][k];
                return v.is_number() ? v.get<double>()
                                     : std::numeric_limits<double>::quiet_NaN();
              };
              st.valid = {metric("logloss"), metric("auc"), metric("ks")};
              end(self, schema::JobState::FINISHED,
                  "finished; summary in " + st.init.out_dir + "/summary.json");
            },
            [=](caf::error& err) {
              if (self->state.attempt == attempt) gang_error(self, err);
            });
}

void start_workers(job_self self) {
  auto& st = self->state;
  auto& cfg = st.init.cfg;
  auto attempt = st.attempt;
  std::vector<std::string> names;
  for (auto& w : st.workers)
    names.push_back(w.name);
  st.gate = spawn_ps_gate(self->system(), names, cfg.staleness, st.start_step);
  std::vector<caf::actor> shards;
  for (auto& s : st.shards)
    shards.push_back(s.handle);
  st.training_since = steady::now();
  st.outcome = sparse_outcome{};
  st.placement.clear();
  for (auto* group : {&st.shards, &st.workers})
    for (auto& m : *group)
      st.placement.push_back(m.name + "@" + m.node);
  record(self, schema::JobEvent::Kind::STARTED, st.start_step,
         std::to_string(st.shards.size()) + " shard(s), " +
             std::to_string(st.workers.size()) + " worker(s)");
  st.log->info("job {}: attempt {}: {} shard(s) and {} worker(s) placed, "
               "training from step {}",
               st.init.id, st.attempt, st.shards.size(), st.workers.size(),
               st.start_step);
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    auto worker = caf::actor_cast<ps_worker_actor>(st.workers[w].handle);
    auto setup = worker_setup(st.workers[w].name, cfg.batch, cfg.epochs,
                              rows_of_worker(st.data->train, w, cfg.workers),
                              st.start_step);
    self->request(worker, request_timeout, ps_setup_atom::value, setup, shards,
                  caf::actor_cast<caf::actor>(st.gate))
        .then(
            [=] {
              self->request(worker, caf::infinite, ps_train_atom::value)
                  .then(
                      [=](uint64_t rows, double loss) {
                        auto& st = self->state;
                        if (st.attempt != attempt || ended(st)) return;
                        st.outcome.examples += rows;
                        st.outcome.loss += loss;
                        if (++st.workers_done < st.workers.size()) return;
                        st.outcome.train_seconds =
                            std::chrono::duration<double>(steady::now() -
                                                          st.training_since)
                                .count();
                        finish(self);
                      },
                      [=](caf::error& err) {
                        if (self->state.attempt == attempt)
                          gang_error(self, err);
                      });
            },
            [=](caf::error& err) {
              if (self->state.attempt == attempt) gang_error(self, err);
            });
  }
  if (cfg.checkpoint_seconds > 0)
    self->delayed_send(self,
                       std::chrono::milliseconds{
                           static_cast<int64_t>(cfg.checkpoint_seconds * 1000)},
                       job_checkpoint_atom::value);
}

void on_placed(job_self self) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING) return;
  if (st.ckpt.empty()) return start_workers(self);
  // restore every shard from the checkpoint, then train from its step
  auto attempt = st.attempt;
  auto left = std::make_shared<size_t>(st.shards.size());
  auto states = st.ckpt.visit<schema::JobCheckpoint>([&](auto c) {
    std::vector<envelope> out(st.shards.size());
    for (auto s : c.getShards())
      if (s.getIndex() < out.size())
        out[s.getIndex()] = make_envelope<schema::ShardState>([&](auto b) {
          b.setIndex(s.getIndex());
          b.setKeys(s.getKeys());
          b.setZ(s.getZ());
          b.setN(s.getN());
        });
    return out;
  });
  if (!states) return fail(self, states.error());
  for (size_t i = 0; i < st.shards.size(); ++i) {
    auto state = (*states)[i];
    if (state.empty())
      state = make_envelope<schema::ShardState>(
          [&](auto b) { b.setIndex(static_cast<uint32_t>(i)); });
    self->request(caf::actor_cast<ps_shard_actor>(st.shards[i].handle),
                  request_timeout, ps_restore_atom::value, state)
        .then(
            [=] {
              if (self->state.attempt != attempt) return;
              if (--*left == 0) start_workers(self);
            },
            [=](caf::error& err) {
              if (self->state.attempt == attempt) gang_error(self, err);
            });
  }
}

/// Holds the workers at one step, snapshots the shards into the journal,
/// and lets the workers go on.
void on_checkpoint_timer(job_self self) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING || !st.gate ||
      st.checkpointing)
    return;
  st.checkpointing = true;
  auto attempt = st.attempt;
  auto again = [=] {
    auto& st = self->state;
    st.checkpointing = false;
    if (st.gate) self->send(st.gate, ps_go_atom::value);
    if (!ended(st) && st.attempt == attempt)
      self->delayed_send(self,
                         std::chrono::milliseconds{static_cast<int64_t>(
                             st.init.cfg.checkpoint_seconds * 1000)},
                         job_checkpoint_atom::value);
  };
  self->request(st.gate, caf::infinite, ps_hold_atom::value)
      .then(
          [=](uint64_t step) {
            auto& st = self->state;
            if (st.attempt != attempt || ended(st)) return;
            auto shards =
                std::make_shared<std::vector<envelope>>(st.shards.size());
            auto left = std::make_shared<size_t>(st.shards.size());
            for (size_t i = 0; i < st.shards.size(); ++i)
              self->request(
                      caf::actor_cast<ps_shard_actor>(st.shards[i].handle),
                      request_timeout, ps_snapshot_atom::value)
                  .then(
                      [=](const envelope& e) {
                        auto& st = self->state;
                        if (st.attempt != attempt || ended(st)) return;
                        (*shards)[i] = e;
                        if (--*left > 0) return;
                        auto at = wall_ms();
                        auto ckpt =
                            make_envelope<schema::JobCheckpoint>([&](auto c) {
                              c.setStep(step);
                              c.setAttempt(st.attempt);
                              c.setAtMs(at);
                              auto list = c.initShards(
                                  static_cast<unsigned>(shards->size()));
                              for (unsigned k = 0; k < shards->size(); ++k)
                                (void)(*shards)[k].visit<schema::ShardState>(
                                    [&](auto r) {
                                      list.setWithCaveats(k, r);
                                      return true;
                                    });
                            });
                        if (st.init.journal) {
                          if (auto err = st.init.journal->put_checkpoint(
                                  st.init.id, ckpt, step, st.attempt, at)) {
                            st.log->error("job {}: checkpoint at step {} "
                                          "not stored: {}",
                                          st.init.id, step, describe(err));
                            return again();
                          }
                        }
                        st.ckpt = ckpt;
                        st.ckpt_step = step;
                        again();
                      },
                      [=](caf::error& err) {
                        again();
                        if (self->state.attempt == attempt)
                          gang_error(self, err);
                      });
            if (st.shards.empty()) again();
          },
          [=](caf::error& err) {
            auto& st = self->state;
            st.checkpointing = false;
            st.log->warn("job {}: no checkpoint: {}", st.init.id,
                         describe(err));
          });
}

envelope status_of(const job_state& st, uint64_t step, uint64_t steps_done) {
  auto& cfg = st.init.cfg;
  return make_envelope<schema::JobStatus>([&](auto s) {
    s.setId(st.init.id);
    s.setFamily(cfg.family);
    s.setState(st.phase);
    s.setMessage(st.message);
    s.setWorkers(cfg.workers);
    s.setShards(cfg.shards);
    s.setConsistency(cfg.consistency);
    s.setEpochs(cfg.epochs);
    s.setStep(step);
    s.setSteps(st.steps_per_worker);
    s.setCheckpointStep(st.ckpt_step);
    s.setAttempt(st.attempt);
    uint64_t examples = 0;
    if (!st.summary.empty()) {
      examples = st.outcome.examples;
    } else if (st.data) {
      auto total = static_cast<uint64_t>(st.data->train.size()) * cfg.epochs;
      examples = std::min<uint64_t>(total, steps_done * cfg.batch);
    }
    s.setExamples(examples);
    auto elapsed = steady::now() - st.started;
    s.setElapsedMs(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
            .count()));
    double training =
        st.training_since == steady::time_point{}
            ? 0
            : std::chrono::duration<double>(steady::now() - st.training_since)
                  .count();
    if (st.outcome.train_seconds > 0) training = st.outcome.train_seconds;
    s.setExamplesPerSecond(training > 0 ? examples / training : 0);
    s.setValidLogloss(st.valid[0]);
    s.setValidAuc(st.valid[1]);
    s.setValidKs(st.valid[2]);
    auto placement =
        s.initPlacement(static_cast<unsigned>(st.placement.size()));
    for (unsigned i = 0; i < st.placement.size(); ++i)
      placement.set(i, st.placement[i]);
    s.setSummary(st.summary);
    s.setBadInput(st.bad_input);
  });
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_init init) {
  // detached: checkpoints are fsynced LMDB writes
  return sys.spawn<caf::detached>(
      [init](job_self self) -> job_actor::behavior_type {
        auto& st = self->state;
        st.init = init;
        st.attempt = init.attempts;
        if (!init.resume.empty()) {
          st.ckpt = init.resume;
          auto step = init.resume.visit<schema::JobCheckpoint>(
              [](auto c) { return c.getStep(); });
          st.ckpt_step = step ? *step : 0;
          st.start_step = st.ckpt_step;
          st.message = "resuming from step " + std::to_string(st.ckpt_step);
        }
        // reading and hashing block: a thread of its own does it
        auto box = st.box;
        auto cfg = init.cfg;
        auto me = caf::actor_cast<job_actor>(self);
        self->system().spawn<caf::detached>([box, cfg, me] {
          auto data = prepare_sparse_data(cfg);
          {
            std::lock_guard<std::mutex> guard{box->mtx};
            box->data = std::move(data);
          }
          caf::anon_send(me, job_prepared_atom::value);
        });
        self->set_down_handler([=](const caf::down_msg& dm) {
          auto& st = self->state;
          for (auto* group : {&st.shards, &st.workers})
            for (auto& m : *group)
              if (m.handle && m.handle.address() == dm.source)
                return regroup(self, m.name + " on node " + m.node +
                                         " stopped: " + to_string(dm.reason));
        });
        self->attach_functor([=] {
          // the service went: leave nothing behind
          if (!ended(self->state)) {
            disband(self);
            send_want(self, false, true);
          }
        });
        return {
            [=](status_atom) -> caf::result<envelope> {
              auto& st = self->state;
              if (!st.gate || ended(st)) {
                auto step =
                    !st.summary.empty() ? st.steps_per_worker : st.ckpt_step;
                return status_of(st, step, 0);
              }
              auto rp = self->make_response_promise<envelope>();
              self->request(st.gate, request_timeout, ps_clock_atom::value)
                  .then(
                      [=](uint64_t slowest, uint64_t steps) mutable {
                        auto& st = self->state;
                        // steps counts this placement's; add the checkpoint's
                        auto before = st.start_step * st.workers.size();
                        rp.deliver(status_of(st, slowest, steps + before));
                      },
                      [=](caf::error&) mutable {
                        rp.deliver(status_of(self->state, 0, 0));
                      });
              return rp;
            },
            [=](stop_atom) {
              end(self, schema::JobState::STOPPED, "stopped by request");
            },
            [=](slot_grant_atom, const envelope& env) { on_grant(self, env); },
            [=](job_prepared_atom) { on_prepared(self); },
            [=](job_placed_atom) { on_placed(self); },
            [=](job_checkpoint_atom) { on_checkpoint_timer(self); },
        };
      });
}

} // namespace troupe::training
