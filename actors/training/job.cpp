#include "actors/training/job.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>

#include <caf/all.hpp>

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
  std::shared_ptr<spdlog::logger> log = log::get("training");
};

using job_self = job_actor::stateful_pointer<job_state>;

bool ended(const job_state& st) {
  return st.phase == schema::JobState::FINISHED ||
         st.phase == schema::JobState::FAILED ||
         st.phase == schema::JobState::STOPPED;
}

void send_want(job_self self, bool wants, bool leave) {
  auto& st = self->state;
  if (!st.init.directory) return;
  auto env = make_envelope<schema::SlotWant>([&](auto w) {
    w.setConsumer(job_consumer(st.init.id));
    w.setWeight(1);
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

/// Stops the gang's actors and gives the slots back.
void clean_up(job_self self) {
  auto& st = self->state;
  for (auto* group : {&st.workers, &st.shards})
    for (auto& m : *group) {
      if (m.handle) self->demonitor(m.handle);
      stop_member(self, m.name);
    }
  if (st.gate) self->send_exit(st.gate, caf::exit_reason::user_shutdown);
  send_want(self, false, true);
}

void end(job_self self, schema::JobState phase, const std::string& message) {
  auto& st = self->state;
  if (ended(st)) return;
  st.phase = phase;
  st.message = message;
  if (phase == schema::JobState::FAILED)
    st.log->error("job {} failed: {}", st.init.id, message);
  else
    st.log->info("job {}: {}", st.init.id, message);
  clean_up(self);
}

void fail(job_self self, const caf::error& err) {
  self->state.bad_input =
      err.category() == caf::atom("troupe") &&
      err.code() == static_cast<uint8_t>(errc::invalid_argument) &&
      self->state.phase == schema::JobState::WAITING && !self->state.data;
  end(self, schema::JobState::FAILED, describe(err));
}

void on_prepared(job_self self) {
  auto& st = self->state;
  if (ended(st)) return;
  {
    std::lock_guard<std::mutex> guard{st.box->mtx};
    if (!st.box->data) {
      auto err = st.box->data.error();
      st.bad_input = err.code() == static_cast<uint8_t>(errc::invalid_argument);
      end(self, schema::JobState::FAILED, describe(err));
      return;
    }
    st.data = std::make_shared<sparse_data>(std::move(*st.box->data));
  }
  auto& cfg = st.init.cfg;
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    auto n = (st.data->train.size() + cfg.workers - 1 - w) / cfg.workers;
    st.steps_per_worker = std::max<uint64_t>(
        st.steps_per_worker, cfg.epochs * ((n + cfg.batch - 1) / cfg.batch));
  }
  st.log->info("job {}: {} training and {} validation rows; asking for {} "
               "slot(s)",
               st.init.id, st.data->train.size(), st.data->valid.size(),
               cfg.workers + cfg.shards);
  send_want(self, true, false);
}

void spawn_member(job_self self, member m, const std::string& kind,
                  const std::string& config, bool is_shard, size_t index) {
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
                      if (ended(st)) return stop_member(self, m.name);
                      self->monitor(handle);
                      auto& slot =
                          is_shard ? st.shards[index] : st.workers[index];
                      slot.handle = handle;
                      if (--st.to_place == 0)
                        self->send(self, job_placed_atom::value);
                    },
                    [=](caf::error& err) { fail(self, err); });
          },
          [=](caf::error& err) { fail(self, err); });
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
  if (ended(st) || st.lease != 0 ||
      lease->second.size() != cfg.workers + cfg.shards) {
    caf::unsafe_send_as(self, st.init.directory, slot_release_atom::value,
                        job_consumer(st.init.id), lease->first);
    return;
  }
  st.lease = lease->first;
  st.nodes = lease->second;
  send_want(self, false, false); // one gang is all it needs
  st.phase = schema::JobState::RUNNING;
  st.to_place = cfg.workers + cfg.shards;
  for (uint32_t s = 0; s < cfg.shards; ++s) {
    member m{st.init.id + ".shard-" + std::to_string(s), st.nodes[s], {}};
    st.shards.push_back(m);
    spawn_member(self, m, shard_kind,
                 ps_shard_config_json({s, cfg.shards, cfg.model}), true, s);
  }
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    member m{st.init.id + ".worker-" + std::to_string(w),
             st.nodes[cfg.shards + w],
             {}};
    st.workers.push_back(m);
    spawn_member(self, m, worker_kind, {}, false, w);
  }
}

void finish(job_self self) {
  auto& st = self->state;
  auto left = std::make_shared<size_t>(st.shards.size());
  for (auto& s : st.shards)
    self->request(caf::actor_cast<ps_shard_actor>(s.handle), request_timeout,
                  ps_dump_atom::value)
        .then(
            [=](const envelope& e) {
              auto& st = self->state;
              (void)e.visit<schema::SparseValues>([&](auto r) {
                for (unsigned i = 0; i < r.getKeys().size(); ++i) {
                  st.outcome.keys.push_back(r.getKeys()[i]);
                  st.outcome.weights.push_back(r.getValues()[i]);
                }
                return true;
              });
              if (--*left > 0 || ended(st)) return;
              auto elapsed =
                  std::chrono::duration<double>(steady::now() - st.started)
                      .count();
              auto summary = write_sparse_results(
                  st.init.cfg, st.init.out_dir, *st.data, st.outcome, elapsed);
              if (!summary) return fail(self, summary.error());
              st.summary = summary->dump(2);
              end(self, schema::JobState::FINISHED,
                  "finished; summary in " + st.init.out_dir + "/summary.json");
            },
            [=](caf::error& err) { fail(self, err); });
}

void on_placed(job_self self) {
  auto& st = self->state;
  if (ended(st)) return;
  auto& cfg = st.init.cfg;
  std::vector<std::string> names;
  for (auto& w : st.workers)
    names.push_back(w.name);
  st.gate = spawn_ps_gate(self->system(), names, cfg.staleness);
  std::vector<caf::actor> shards;
  for (auto& s : st.shards)
    shards.push_back(s.handle);
  st.training_since = steady::now();
  st.log->info("job {}: {} shard(s) and {} worker(s) placed, training",
               st.init.id, st.shards.size(), st.workers.size());
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    auto worker = caf::actor_cast<ps_worker_actor>(st.workers[w].handle);
    auto setup = worker_setup(st.workers[w].name, cfg.batch, cfg.epochs,
                              rows_of_worker(st.data->train, w, cfg.workers));
    self->request(worker, request_timeout, ps_setup_atom::value, setup, shards,
                  caf::actor_cast<caf::actor>(st.gate))
        .then(
            [=] {
              self->request(worker, caf::infinite, ps_train_atom::value)
                  .then(
                      [=](uint64_t rows, double loss) {
                        auto& st = self->state;
                        st.outcome.examples += rows;
                        st.outcome.loss += loss;
                        if (++st.workers_done < st.workers.size()) return;
                        st.outcome.train_seconds =
                            std::chrono::duration<double>(steady::now() -
                                                          st.training_since)
                                .count();
                        finish(self);
                      },
                      [=](caf::error& err) { fail(self, err); });
            },
            [=](caf::error& err) { fail(self, err); });
  }
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
    auto total_rows =
        st.data ? static_cast<uint64_t>(st.data->train.size()) * cfg.epochs : 0;
    auto examples =
        st.workers_done == st.workers.size() && st.data
            ? st.outcome.examples
            : std::min<uint64_t>(total_rows, steps_done * cfg.batch);
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
    auto nan = std::numeric_limits<double>::quiet_NaN();
    double logloss = nan, auc = nan, ks = nan;
    if (!st.summary.empty()) {
      auto j = nlohmann::json::parse(st.summary, nullptr, false);
      auto get = [&](const char* k) {
        auto& v = j["valid"][k];
        return v.is_number() ? v.get<double>() : nan;
      };
      logloss = get("logloss");
      auc = get("auc");
      ks = get("ks");
    }
    s.setValidLogloss(logloss);
    s.setValidAuc(auc);
    s.setValidKs(ks);
    auto placement = s.initPlacement(
        static_cast<unsigned>(st.shards.size() + st.workers.size()));
    unsigned i = 0;
    for (auto* group : {&st.shards, &st.workers})
      for (auto& m : *group)
        placement.set(i++, m.name + "@" + m.node);
    s.setSummary(st.summary);
    s.setBadInput(st.bad_input);
  });
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_init init) {
  return sys.spawn([init](job_self self) -> job_actor::behavior_type {
    auto& st = self->state;
    st.init = init;
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
            return end(self, schema::JobState::FAILED,
                       m.name + " on node " + m.node +
                           " stopped: " + to_string(dm.reason));
    });
    self->attach_functor([=] {
      // the service went: leave nothing behind
      if (!ended(self->state)) clean_up(self);
    });
    return {
        [=](status_atom) -> caf::result<envelope> {
          auto& st = self->state;
          if (!st.gate || ended(st)) {
            auto done = st.workers_done == st.workers.size() && st.data;
            return status_of(st, done ? st.steps_per_worker : 0, 0);
          }
          auto rp = self->make_response_promise<envelope>();
          self->request(st.gate, request_timeout, ps_clock_atom::value)
              .then(
                  [=](uint64_t slowest, uint64_t steps) mutable {
                    rp.deliver(status_of(self->state, slowest, steps));
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
    };
  });
}

} // namespace troupe::training
