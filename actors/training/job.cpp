#include "actors/training/job.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/training/job_journal.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/log.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/training.capnp.h"

namespace troupe::training {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<member> workers_of(const std::vector<std::string>& nodes,
                               const std::string& prefix,
                               const std::string& kind) {
  std::vector<member> out;
  for (size_t w = 0; w < nodes.size(); ++w)
    out.push_back(
        {prefix + "worker-" + std::to_string(w), nodes[w], kind, {}, {}});
  return out;
}

void parallel_status(const job_state& st, schema::JobStatus::Builder s,
                     uint64_t total, uint64_t done, uint64_t per_step,
                     double train_seconds) {
  auto step = !st.summary.empty()                     ? total
              : st.phase == schema::JobState::RUNNING ? done
                                                      : st.ckpt_step;
  s.setShards(0);
  s.setConsistency("allreduce");
  s.setStep(step);
  s.setSteps(total);
  s.setExamples(step * per_step);
  auto secs =
      train_seconds > 0 ? train_seconds
      : st.training_since == steady::time_point{}
          ? 0.0
          : std::chrono::duration<double>(steady::now() - st.training_since)
                .count();
  auto trained = step > st.start_step ? step - st.start_step : 0;
  s.setExamplesPerSecond(secs > 0 ? trained * per_step / secs : 0);
}

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

namespace {

/// Tells the directory what the job wants: its gang, or (`one`) a single
/// slot for a replacement.
void send_want(job_self self, bool wants, bool leave, bool one = false) {
  auto& st = self->state;
  // a gang leased by its submitter: the job holds no want of its own
  if (!st.init.directory || !st.plan || !st.init.gang.empty()) return;
  auto size = st.prepared && !one ? st.plan->gang_size() : 1;
  auto least = st.prepared && !one ? st.plan->least_gang_size() : 1;
  auto env = make_envelope<schema::SlotWant>([&](auto w) {
    w.setConsumer(job_consumer(st.init.id));
    w.setWeight(1);
    w.setPriority(st.init.cfg.priority);
    w.setSize(size);
    w.setMinSize(least);
    w.setPlacement(schema::SlotWant::Placement::ANY);
    w.setWants(wants);
    w.setLeave(leave);
    // a lost node takes its own slots only: the gang's others stay leased
    // while a member is placed again, or until the job disbands
    w.setKeepsSurvivors(true);
  });
  auto log = st.log;
  auto id = st.init.id;
  self->request(st.init.directory, job_request_timeout, slot_want_atom::value,
                env)
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
  self->request(dir, job_request_timeout, stop_atom::value, name)
      .then([] {}, [](caf::error&) {});
}

/// Stops the gang's actors and gives their slots back.
void disband(job_self self) {
  auto& st = self->state;
  if (st.plan && st.prepared) st.plan->disband(self);
  for (auto& m : st.gang) {
    if (m.handle) self->demonitor(m.handle);
    stop_member(self, m.name);
  }
  st.gang.clear();
  // the gang's shards were for it alone
  if (auto cache = local_dataset_cache(self->system()))
    for (auto& hash : st.shards)
      self->send(cache, dataset_drop_atom::value, hash);
  st.shards.clear();
  if (st.init.directory) {
    if (st.lease != 0) st.extra_leases.push_back(st.lease);
    for (auto lease : st.extra_leases)
      caf::unsafe_send_as(self, st.init.directory, slot_release_atom::value,
                          job_consumer(st.init.id), lease);
  }
  st.lease = 0;
  st.extra_leases.clear();
  st.replacing.reset();
}

} // namespace

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
  if (st.plan) st.plan->release();
  send_want(self, false, true);
}

void fail(job_self self, const caf::error& err) {
  end(self, schema::JobState::FAILED, describe(err));
}

void regroup(job_self self, const std::string& why) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING) return;
  record(self, schema::JobEvent::Kind::LOST, st.ckpt_step, why);
  if (!st.init.gang.empty()) {
    st.gang_lost = true;
    return end(self, schema::JobState::FAILED,
               why + " (its gang was leased by its submitter, which places "
                     "it again)");
  }
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

void member_lost(job_self self, size_t index, const std::string& why) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING ||
      index >= st.gang.size())
    return;
  if (st.replacing || !st.init.gang.empty() ||
      !st.plan->replaceable(self, index))
    return regroup(self, why);
  st.replacing = index;
  st.replacement_granted = false;
  st.gang[index].handle = nullptr;
  record(self, schema::JobEvent::Kind::LOST, st.ckpt_step,
         why + "; placing it again alone, from step " +
             std::to_string(st.ckpt_step));
  st.log->warn("job {}: {}; placing it again alone from step {}", st.init.id,
               why, st.ckpt_step);
  send_want(self, true, false, true);
}

void gang_error(job_self self, const caf::error& err) {
  if (went_away(err))
    return regroup(self, "a gang member did not answer: " + describe(err));
  fail(self, err);
}

caf::error keep_checkpoint(job_self self, const envelope& ckpt, uint64_t step) {
  auto& st = self->state;
  if (st.init.journal)
    if (auto err = st.init.journal->put_checkpoint(st.init.id, ckpt, step,
                                                   st.attempt, wall_ms()))
      return err;
  st.ckpt = ckpt;
  st.ckpt_step = step;
  record_usage(self);
  return caf::none;
}

void arm_checkpoint_timer(job_self self) {
  auto secs = self->state.init.cfg.checkpoint_seconds;
  if (secs > 0)
    self->delayed_send(
        self, std::chrono::milliseconds{static_cast<int64_t>(secs * 1000)},
        job_checkpoint_atom::value);
}

namespace {

/// How long the head's cache may take to take in the shards.
constexpr auto adopt_timeout = std::chrono::minutes{10};

/// Sends each member its part (and its shard's ref, when there are shards)
/// and collects the model.
void send_parts(job_self self, const std::vector<envelope>& parts,
                const std::vector<envelope>& shards,
                std::function<void(const std::vector<envelope>&)> done) {
  auto& st = self->state;
  auto attempt = st.attempt;
  auto left = std::make_shared<size_t>(parts.size());
  auto answers = std::make_shared<std::vector<envelope>>(parts.size());
  auto me = caf::actor_cast<caf::actor>(self);
  for (size_t i = 0; i < parts.size() && i < st.gang.size(); ++i) {
    auto worker = caf::actor_cast<part_worker_actor>(st.gang[i].handle);
    auto asked =
        shards.empty()
            ? self->request(worker, caf::infinite, part_train_atom::value,
                            parts[i], me)
            : self->request(worker, caf::infinite, part_train_atom::value,
                            parts[i], me, shards[i],
                            caf::actor_cast<caf::actor>(
                                local_dataset_cache(self->system())));
    std::move(asked).then(
        [=](const envelope& model) {
          auto& st = self->state;
          if (st.attempt != attempt || ended(st)) return;
          (*answers)[i] = model;
          if (--*left == 0) done(*answers);
        },
        [=](caf::error& err) {
          auto& st = self->state;
          if (st.attempt != attempt || ended(st)) return;
          if (err.category() == caf::atom("troupe") &&
              err.code() == static_cast<uint8_t>(errc::io_failure)) {
            // a peer went: its down message names it, if one comes
            self->delayed_send(self, std::chrono::seconds{1},
                               job_regroup_atom::value, attempt, describe(err));
            return;
          }
          gang_error(self, err);
        });
  }
}

} // namespace

void train_parts(job_self self, const std::vector<envelope>& parts,
                 std::function<void(const envelope&)> done,
                 const std::vector<std::string>& shards) {
  train_parts_all(
      self, parts,
      [done](const std::vector<envelope>& answers) { done(answers.front()); },
      shards);
}

void train_parts_all(job_self self, const std::vector<envelope>& parts,
                     std::function<void(const std::vector<envelope>&)> done,
                     const std::vector<std::string>& shards) {
  if (shards.empty()) return send_parts(self, parts, {}, done);
  auto cache = local_dataset_cache(self->system());
  if (!cache)
    return fail(self,
                make_error(errc::not_found, "the head runs no dataset cache"));
  auto attempt = self->state.attempt;
  auto refs = std::make_shared<std::vector<envelope>>(shards.size());
  auto left = std::make_shared<size_t>(shards.size());
  for (size_t i = 0; i < shards.size(); ++i)
    self->request(cache, adopt_timeout, dataset_adopt_atom::value, shards[i])
        .then(
            [=](const envelope& ref) {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st)) return;
              (*refs)[i] = ref;
              if (auto r = dataset_ref_of(ref)) st.shards.push_back(r->hash);
              if (--*left == 0) send_parts(self, parts, *refs, done);
            },
            [=](caf::error& err) {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st)) return;
              fail(self, err);
            });
}

caf::expected<std::vector<std::string>>
write_shards(job_self self, const tabular::matrix& rows, uint32_t workers) {
  auto& st = self->state;
  std::error_code ec;
  std::filesystem::create_directories(st.init.out_dir, ec);
  if (ec) return io_error("create", st.init.out_dir, ec.value());
  std::vector<std::string> out;
  for (uint32_t w = 0; w < workers; ++w) {
    auto path = st.init.out_dir + "/.shard-" + std::to_string(st.attempt) +
                "-" + std::to_string(w);
    auto [begin, end] = block_of(rows.rows, w, workers);
    if (auto err = write_row_shard(path, static_cast<uint32_t>(rows.cols),
                                   rows.values.data() + begin * rows.cols,
                                   rows.labels.data() + begin, end - begin))
      return err;
    out.push_back(std::move(path));
  }
  return out;
}

nlohmann::json record_validation(job_state& st, uint64_t step,
                                 const std::string& json) {
  auto m = nlohmann::json::parse(json, nullptr, false);
  if (!m.is_object() || (!st.valid_log.empty() && step <= st.valid_step))
    return nlohmann::json(nlohmann::json::value_t::discarded);
  auto num = [&](const char* k) {
    return m.contains(k) && m[k].is_number() ? m[k].get<double>()
                                             : std::nan("");
  };
  st.valid = {num("logloss"), num("auc"), num("ks")};
  st.valid_step = step;
  st.valid_json = json;
  st.valid_log.emplace_back(step, json);
  return m;
}

void finish_job(job_self self, const nlohmann::json& summary) {
  auto& st = self->state;
  st.summary = summary.dump(2);
  auto metric = [&](const char* k) {
    if (!summary.contains("valid")) return std::nan("");
    auto& v = summary["valid"];
    return v.contains(k) && v[k].is_number() ? v[k].get<double>()
                                             : std::nan("");
  };
  st.valid = {metric("logloss"), metric("auc"), metric("ks")};
  st.valid_step = std::max(st.valid_step, st.ckpt_step);
  if (summary.contains("valid")) st.valid_json = summary["valid"].dump();
  record_usage(self);
  end(self, schema::JobState::FINISHED,
      "finished; summary in " + st.init.out_dir + "/summary.json");
}

namespace {

/// Places the gang on `nodes` (one member each) under `lease` (0: leased by
/// the job's submitter).
void place_gang(job_self self, uint64_t lease,
                const std::vector<std::string>& nodes);

void on_prepared(job_self self) {
  auto& st = self->state;
  if (ended(st)) return;
  if (auto err = st.plan->prepare_error) {
    st.bad_input = err.category() == caf::atom("troupe") &&
                   err.code() == static_cast<uint8_t>(errc::invalid_argument);
    return end(self, schema::JobState::FAILED, describe(err));
  }
  st.prepared = true;
  if (!st.init.gang.empty()) {
    auto n = st.init.gang.size();
    if (n > st.plan->gang_size() || n < st.plan->least_gang_size())
      return end(self, schema::JobState::FAILED,
                 "its submitter leased " + std::to_string(n) +
                     " slot(s); the job takes " +
                     std::to_string(st.plan->gang_size()) +
                     (st.plan->least_gang_size() < st.plan->gang_size()
                          ? " (at least " +
                                std::to_string(st.plan->least_gang_size()) + ")"
                          : std::string{}));
    st.log->info("job {}: {}; placed on the {} slot(s) its submitter leased",
                 st.init.id, st.plan->data_line(), n);
    return place_gang(self, 0, st.init.gang);
  }
  st.log->info("job {}: {}; asking for {} slot(s)", st.init.id,
               st.plan->data_line(), st.plan->gang_size());
  send_want(self, true, false);
}

void on_replacement(job_self self, size_t index);

void spawn_member(job_self self, size_t index, uint32_t attempt) {
  auto& st = self->state;
  auto dir = st.init.directory;
  auto m = st.gang[index];
  self->request(dir, job_request_timeout, caf::spawn_atom::value, m.kind,
                m.node, m.config, m.name)
      .then(
          [=](const envelope&) {
            self->request(dir, job_request_timeout, lookup_atom::value, m.name)
                .then(
                    [=](const caf::actor& handle) {
                      auto& st = self->state;
                      if (ended(st) || st.attempt != attempt)
                        return stop_member(self, m.name);
                      self->monitor(handle);
                      st.gang[index].handle = handle;
                      if (st.replacing == index)
                        return on_replacement(self, index);
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

/// The slot for member `index`'s replacement: it is spawned there.
void place_replacement(job_self self, size_t index, uint64_t lease,
                       const std::string& node) {
  auto& st = self->state;
  st.replacement_granted = true;
  st.extra_leases.push_back(lease);
  send_want(self, false, false);
  auto& old = st.gang[index];
  // NAME.rK: the member's name without an earlier replacement's suffix
  auto name = old.name;
  auto dot = name.rfind(".r");
  if (dot != std::string::npos && dot + 2 < name.size() &&
      name.find_first_not_of("0123456789", dot + 2) == std::string::npos)
    name.resize(dot);
  name += ".r" + std::to_string(++st.replacements);
  old = st.plan->replacement(index, node, name);
  spawn_member(self, index, st.attempt);
}

void on_replacement(job_self self, size_t index) {
  auto& st = self->state;
  auto& m = st.gang[index];
  if (index < st.placement.size()) st.placement[index] = m.name + "@" + m.node;
  record(self, schema::JobEvent::Kind::RESTORED, st.ckpt_step,
         m.name + " on node " + m.node + " from step " +
             std::to_string(st.ckpt_step));
  st.log->info("job {}: {} placed on node {}, restoring it from step {}",
               st.init.id, m.name, m.node, st.ckpt_step);
  st.replacing.reset();
  st.plan->on_replaced(self, index);
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
  if (!ended(st) && st.phase == schema::JobState::RUNNING && st.replacing &&
      !st.replacement_granted && lease->second.size() == 1)
    return place_replacement(self, *st.replacing, lease->first,
                             lease->second.front());
  if (ended(st) || st.phase != schema::JobState::WAITING || !st.prepared ||
      lease->second.size() > st.plan->gang_size() ||
      lease->second.size() < st.plan->least_gang_size()) {
    caf::unsafe_send_as(self, st.init.directory, slot_release_atom::value,
                        job_consumer(st.init.id), lease->first);
    return;
  }
  send_want(self, false, false); // one gang is all it needs
  place_gang(self, lease->first, lease->second);
}

void place_gang(job_self self, uint64_t lease,
                const std::vector<std::string>& nodes) {
  auto& st = self->state;
  st.lease = lease;
  st.phase = schema::JobState::RUNNING;
  ++st.attempt;
  // names carry the attempt: a regrouped gang's actors are new actors
  auto prefix =
      st.init.id + (st.attempt > 1 ? ".a" + std::to_string(st.attempt) + "."
                                   : std::string{"."});
  st.gang = st.plan->members(nodes, prefix);
  st.to_place = st.gang.size();
  for (size_t i = 0; i < st.gang.size(); ++i)
    spawn_member(self, i, st.attempt);
}

void on_placed(job_self self) {
  auto& st = self->state;
  if (ended(st) || st.phase != schema::JobState::RUNNING) return;
  st.training_since = steady::now();
  st.placement.clear();
  for (auto& m : st.gang)
    st.placement.push_back(m.name + "@" + m.node);
  record(self, schema::JobEvent::Kind::STARTED, st.start_step,
         std::to_string(st.gang.size()) + " actor(s)");
  st.log->info("job {}: attempt {}: {} actor(s) placed, training from step {}",
               st.init.id, st.attempt, st.gang.size(), st.start_step);
  st.plan->start(self);
}

envelope status_of(const job_state& st,
                   const std::function<void(schema::JobStatus::Builder)>& fam) {
  auto& cfg = st.init.cfg;
  return make_envelope<schema::JobStatus>([&](auto s) {
    s.setId(st.init.id);
    s.setFamily(cfg.family);
    s.setState(st.phase);
    s.setMessage(st.message);
    // an elastic gang's size: its last placement's (shards have none)
    s.setWorkers(cfg.shards == 0 && !st.placement.empty()
                     ? static_cast<uint32_t>(st.placement.size())
                     : cfg.workers);
    s.setCheckpointStep(st.ckpt_step);
    s.setStep(st.ckpt_step);
    s.setAttempt(st.attempt);
    s.setElapsedMs(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                              st.started)
            .count()));
    s.setValidLogloss(st.valid[0]);
    s.setValidAuc(st.valid[1]);
    s.setValidKs(st.valid[2]);
    s.setValidStep(st.valid_step);
    s.setValidMetrics(st.valid_json);
    std::string log = "[";
    for (auto& [step, json] : st.valid_log)
      log += (log.size() > 1 ? "," : "") + std::string{"{\"step\":"} +
             std::to_string(step) + ",\"metrics\":" + json + "}";
    s.setValidHistory(log + "]");
    s.setGangLost(st.gang_lost);
    auto placement =
        s.initPlacement(static_cast<unsigned>(st.placement.size()));
    for (unsigned i = 0; i < st.placement.size(); ++i)
      placement.set(i, st.placement[i]);
    s.setSummary(st.summary);
    s.setBadInput(st.bad_input);
    usage_status(st, s);
    if (fam) fam(s);
  });
}

std::shared_ptr<job_plan> make_plan(const job_config& cfg) {
  if (cfg.family == "xgboost") return make_xgb_plan(cfg);
  if (cfg.family == "mlp" || cfg.family == "torchscript")
    return make_mlp_plan(cfg);
  if (cfg.family == "pipeline") return make_pipeline_plan(cfg);
  if (cfg.family == "tensor") return make_tensor_plan(cfg);
  if (cfg.family == "graphsage") return make_graph_plan(cfg);
  return make_sparse_plan(cfg);
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_init init) {
  // detached: checkpoints are fsynced LMDB writes
  return sys.spawn<caf::detached>([init](job_self self)
                                      -> job_actor::behavior_type {
    auto& st = self->state;
    st.init = init;
    st.attempt = init.attempts;
    st.plan = make_plan(init.cfg);
    if (!init.resume.empty()) {
      st.ckpt = init.resume;
      auto step = init.resume.visit<schema::JobCheckpoint>(
          [](auto c) { return c.getStep(); });
      st.ckpt_step = step ? *step : 0;
      st.start_step = st.ckpt_step;
      st.message = "resuming from step " + std::to_string(st.ckpt_step);
    }
    // reading the data blocks: a thread of its own does it
    auto plan = st.plan;
    auto me = caf::actor_cast<job_actor>(self);
    self->system().spawn<caf::detached>([plan, me] {
      plan->prepare_error = plan->prepare();
      caf::anon_send(me, job_prepared_atom::value);
    });
    self->set_down_handler([=](const caf::down_msg& dm) {
      auto& st = self->state;
      for (size_t i = 0; i < st.gang.size(); ++i)
        if (auto& m = st.gang[i]; m.handle && m.handle.address() == dm.source)
          return member_lost(self, i,
                             m.name + " on node " + m.node +
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
          if (!st.prepared) return status_of(st, {});
          auto rp = self->make_response_promise<envelope>();
          st.plan->status(self, [=](auto fam) mutable {
            rp.deliver(status_of(self->state, fam));
          });
          return rp;
        },
        [=](stop_atom) {
          end(self, schema::JobState::STOPPED, "stopped by request");
        },
        [=](slot_grant_atom, const envelope& env) { on_grant(self, env); },
        [=](job_prepared_atom) { on_prepared(self); },
        [=](job_placed_atom) { on_placed(self); },
        [=](job_checkpoint_atom) {
          auto& st = self->state;
          if (!ended(st) && st.phase == schema::JobState::RUNNING)
            st.plan->on_checkpoint_timer(self);
        },
        [=](job_checkpoint_atom, const envelope& ckpt) {
          auto& st = self->state;
          auto at = ckpt.visit<schema::JobCheckpoint>([](auto c) {
            return std::make_pair(c.getAttempt(), c.getStep());
          });
          if (!at || ended(st) || st.phase != schema::JobState::RUNNING ||
              at->first != st.attempt || at->second <= st.ckpt_step)
            return;
          // a member's part of the model waits for the others'
          auto whole = st.plan->whole_checkpoint(self, ckpt, at->second);
          if (!whole) return;
          if (auto err = keep_checkpoint(self, *whole, at->second))
            st.log->error("job {}: checkpoint at step {} not stored: {}",
                          st.init.id, at->second, describe(err));
          st.plan->on_model(self, *whole, at->second);
        },
        [=](job_progress_atom, uint32_t attempt, uint64_t step, double loss) {
          auto& st = self->state;
          if (!ended(st) && attempt == st.attempt && st.prepared)
            st.plan->on_progress(self, step, loss);
        },
        [=](job_regroup_atom, uint32_t attempt, const std::string& why) {
          if (self->state.attempt == attempt) regroup(self, why);
        },
        [=](job_valid_atom) {
          auto& st = self->state;
          if (!ended(st) && st.phase == schema::JobState::RUNNING)
            st.plan->on_valid_timer(self);
        },
        [=](job_valid_atom, uint32_t attempt, uint64_t step, double seconds,
            const std::string& json) {
          auto& st = self->state;
          if (!ended(st) && attempt == st.attempt)
            st.plan->on_validated(self, attempt, step, seconds, json);
        },
        [=](job_usage_atom, const envelope& report) { on_usage(self, report); },
    };
  });
}

} // namespace troupe::training
