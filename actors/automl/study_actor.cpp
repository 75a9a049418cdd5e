// The study actor: one per study, owns its study_core (protocol in
// study_actor.hpp).

#include "actors/automl/study_actor.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "actors/automl/refit.hpp"
#include "actors/automl/runner.hpp"
#include "actors/automl/warm_start.hpp"
#include "actors/automl/wire.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/directory.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds{100};

struct study_state {
  std::unique_ptr<study_core> core;
  std::shared_ptr<study_journal> journal;
  service_actor service;
  std::string out_dir;
  double weight = 1;
  clock_ptr clock;
  refit_launcher refit_with;
  /// What the warm start seeded, for the summary (null: no warm start).
  nlohmann::json warm_start;
  /// node -> its runner, from grants
  std::map<std::string, trial_runner_actor> runners;
  /// (node, slot) -> the lease of the grant that gave it
  std::map<std::pair<std::string, uint32_t>, uint64_t> leases;
  /// (node, slot) -> the nodes of its gang (trials run as jobs: the
  /// lease's every slot, this one first)
  std::map<std::pair<std::string, uint32_t>, std::vector<std::string>> gangs;
  /// The head's training service, which runs trials as jobs (looked up
  /// when the study's trials are jobs; the study wants no slot before).
  caf::actor jobs;
  /// Nodes whose runner cancelled a trial of a running study: it is
  /// stopping, and the service has not yet told us the node is lost. Their
  /// slots are given back instead of used (a trial placed there would be
  /// lost, and re-queued a second time).
  std::set<std::string> draining;
  bool wants_sent = false;
  /// running | stopping | refitting | finished | failed
  schema::StudyState phase = schema::StudyState::RUNNING;
  std::string message;
  refit_result refit;
  int64_t finished_ms = 0;
  bool refit_started = false;
  /// Completed trials' out-of-fold predictions (step, values), for
  /// ensemble selection: at most 2 x spec.ensemble, the best kept.
  std::map<trial_id, std::pair<uint64_t, std::vector<float>>> oof;
  std::shared_ptr<spdlog::logger> log = log::get("automl");

  int64_t wall_ms() const { return clock->wall_ms(); }
};

using study_actor_t = study_actor::stateful_base<study_state>;

envelope assignment_envelope(const study_spec& s, const trial_assignment& a,
                             const std::vector<std::string>& gang,
                             const std::string& job_dir) {
  return make_envelope<schema::TrialAssignment>([&](auto b) {
    if (!trial_job_family(s).empty()) {
      auto list = b.initGang(static_cast<unsigned>(gang.size()));
      for (unsigned i = 0; i < gang.size(); ++i)
        list.set(i, gang[i]);
      b.setJobDir(job_dir);
      b.setImages(s.images);
      auto files = b.initFiles(static_cast<unsigned>(s.files.size()));
      for (unsigned i = 0; i < s.files.size(); ++i) {
        files[i].setPath(s.files[i].first);
        write_ref(files[i].initData(), s.files[i].second);
      }
    }
    b.setStudy(s.id);
    b.setTrial(a.id);
    b.setAttempt(a.attempt);
    write_params(b.initParams(static_cast<unsigned>(a.params.size())),
                 a.params);
    b.setBudget(a.budget);
    b.setEvery(s.every);
    b.setCheckpoint(kj::arrayPtr(a.checkpoint.data(), a.checkpoint.size()));
    b.setFamily(s.family);
    b.setDataPath(s.data_path);
    if (!s.data.hash.empty()) write_ref(b.initData(), s.data);
    b.setTarget(s.target);
    b.setTask(s.task);
    b.setMetric(s.metric);
    b.setFolds(s.folds);
    b.setSeed(s.seed);
    b.setThreads(s.threads);
    b.setSlot(a.slot);
    b.setSleepMs(s.sleep_ms);
    b.setPatience(s.patience);
    // a multi-objective study saves one trial of its front: no ensemble
    b.setEnsemble(multi_objective(s) ? 0 : s.ensemble);
    b.setMaxResource(s.max_resource);
    if (multi_objective(s)) {
      auto names = b.initObjectives(static_cast<unsigned>(s.objectives.size()));
      for (unsigned i = 0; i < s.objectives.size(); ++i)
        names.set(i, s.objectives[i]);
    }
  });
}

/// Appends the core's new events to the journal; a failure stops the study.
void flush(study_actor_t* self) {
  auto& st = self->state;
  auto events = st.core->take_events();
  if (events.empty() || !st.journal) return;
  if (auto r = st.journal->append(st.core->spec().id, events); !r) {
    st.log->error("study {}: journal append failed: {}", st.core->spec().id,
                  describe(r.error()));
    if (st.phase == schema::StudyState::RUNNING) {
      st.message = "journal: " + describe(r.error());
      (void)st.core->stop("the journal failed", st.wall_ms());
    }
  }
}

void cancel_trials(study_actor_t* self, const std::vector<trial_id>& ids) {
  auto& st = self->state;
  for (auto id : ids) {
    auto& t = st.core->trials()[id];
    if (auto i = st.runners.find(t.node); i != st.runners.end())
      self->send(i->second, cancel_atom::value, st.core->spec().id,
                 uint64_t{id});
  }
}

void start_refit(study_actor_t* self);

/// After every message: journal, slot wishes, the end of the study.
void settle(study_actor_t* self) {
  auto& st = self->state;
  flush(self);
  auto now = st.wall_ms();
  if (st.core->phase() == study_phase::stopping &&
      st.phase == schema::StudyState::RUNNING)
    st.phase = schema::StudyState::STOPPING;
  // a study of job trials waits for the training service
  auto wants = st.core->wants_slots(now) &&
               (st.jobs || trial_job_family(st.core->spec()).empty());
  if (wants != st.wants_sent) {
    st.wants_sent = wants;
    self->send(st.service, wants_atom::value, st.core->spec().id, wants);
  }
  if (st.core->phase() == study_phase::finished && !st.refit_started)
    start_refit(self);
}

void start_refit(study_actor_t* self) {
  auto& st = self->state;
  st.refit_started = true;
  st.phase = schema::StudyState::REFITTING;
  auto& core = *st.core;
  auto best = core.chosen();
  auto spec = core.spec();
  auto out_dir = st.out_dir;
  st.log->info("study {} ended ({}): {} trials", spec.id, core.stop_reason(),
               core.trials().size());
  if (!best) {
    self->send(self, refit_atom::value, std::string{},
               std::string{"no trial produced a result"}, false, 0.0,
               std::string{});
    return;
  }
  auto& t = core.trials()[*best];
  refit_job job;
  job.spec = spec;
  job.params = t.rec.params;
  job.rounds = core.best_step(*best);
  job.cv_score = t.score();
  job.trial = *best;
  job.out_dir = out_dir;
  job.threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  // a weighted ensemble would change the latency and size the front holds
  auto pool = core.multi()
                  ? std::vector<trial_id>{}
                  : core.ensemble_pool(spec.ensemble, [&](trial_id id) {
                      return st.oof.count(id) > 0;
                    });
  for (auto id : pool) {
    auto i = st.oof.find(id);
    auto& c = core.trials()[id];
    job.candidates.push_back({id, c.rec.params, i->second.first, c.score(),
                              std::move(i->second.second)});
  }
  st.oof.clear();
  // recorded for later warm starts by its data's meta-features (a table:
  // not Fashion-MNIST's images)
  if (st.journal && spec.images.empty()) {
    job.journal = st.journal;
    // its best distinct configurations, for later studies' warm starts
    std::set<std::string> seen;
    for (auto id : core.leaderboard()) {
      auto& c = core.trials()[id];
      if (job.best.size() == recorded_best ||
          c.rec.state != trial_state::complete)
        break;
      if (seen.insert(tabular::to_json(c.rec.params).dump()).second)
        job.best.emplace_back(c.rec.params, c.score());
    }
  }
  st.refit_with(self->system(), caf::actor_cast<study_actor>(self),
                std::move(job));
}

envelope status_envelope(const study_state& st, size_t board) {
  auto& core = *st.core;
  auto& s = core.spec();
  auto c = core.counts();
  auto now = st.finished_ms ? st.finished_ms : st.wall_ms();
  return make_envelope<schema::StudyStatus>([&](auto b) {
    b.setId(s.id);
    b.setStudyState(st.phase);
    b.setState(to_text(st.phase));
    b.setMetric(s.metric);
    b.setMaximize(s.maximize);
    b.setElapsedMs(
        static_cast<uint64_t>(std::max<int64_t>(0, now - core.started_ms())));
    b.setBudgetMs(s.budget_ms);
    b.setMaxTrials(s.max_trials);
    b.setDone(c.complete);
    b.setRunning(c.running);
    b.setPruned(c.pruned);
    b.setFailed(c.failed);
    b.setPaused(c.paused);
    b.setRequeued(c.requeued);
    b.setTotalTrials(c.total);
    b.setWeight(st.weight);
    b.setMessage(st.message);
    b.setModelDir(st.refit.model_dir);
    if (auto best = core.best()) {
      auto& t = core.trials()[*best];
      b.setHasBest(true);
      b.setBestTrial(*best);
      b.setBestValue(t.score());
    }
    if (core.multi()) {
      auto names = b.initObjectives(static_cast<unsigned>(s.objectives.size()));
      for (unsigned i = 0; i < s.objectives.size(); ++i)
        names.set(i, s.objectives[i]);
    }
    if (board == 0) return;
    auto ids = core.leaderboard();
    if (ids.size() > board) ids.resize(board);
    auto fill = [&](auto rows, const std::vector<trial_id>& which) {
      for (unsigned i = 0; i < which.size(); ++i) {
        auto& t = core.trials()[which[i]];
        rows[i].setId(which[i]);
        rows[i].setTrialState(to_schema(t.rec.state));
        rows[i].setState(to_string(t.rec.state));
        rows[i].setValue(t.score());
        rows[i].setSteps(t.steps);
        write_params(
            rows[i].initParams(static_cast<unsigned>(t.rec.params.size())),
            t.rec.params);
        rows[i].setNode(t.node);
        auto& sec = t.secondary();
        if (!sec.empty()) {
          auto list = rows[i].initObjectives(static_cast<unsigned>(sec.size()));
          for (unsigned k = 0; k < sec.size(); ++k)
            list.set(k, sec[k]);
        }
      }
    };
    fill(b.initLeaderboard(static_cast<unsigned>(ids.size())), ids);
    if (core.multi()) {
      auto front = core.pareto_front();
      fill(b.initParetoFront(static_cast<unsigned>(front.size())), front);
    }
  });
}

caf::expected<trial_outcome> outcome_of(schema::TrialEnd::Outcome o) {
  switch (o) {
  case schema::TrialEnd::Outcome::FINISHED:
    return trial_outcome::finished;
  case schema::TrialEnd::Outcome::PAUSED:
    return trial_outcome::paused;
  case schema::TrialEnd::Outcome::FAILED:
    return trial_outcome::failed;
  case schema::TrialEnd::Outcome::CANCELLED:
    return trial_outcome::cancelled;
  }
  return make_error(errc::malformed_message, "unknown trial outcome");
}

void on_grant(study_actor_t* self, const std::string& node, uint32_t slot,
              const caf::actor& runner, uint64_t lease,
              const std::string& gang_text) {
  auto& st = self->state;
  auto typed = caf::actor_cast<trial_runner_actor>(runner);
  if (typed) st.runners[node] = typed;
  auto& spec = st.core->spec();
  auto gang = gang_nodes(node, gang_text);
  bool job = !trial_job_family(spec).empty();
  bool usable = typed && !st.draining.count(node) &&
                (!job || (st.jobs && gang.size() == trial_gang_size(spec)));
  for (auto& n : gang)
    if (st.draining.count(n)) usable = false;
  auto a = usable ? st.core->place(node, slot, st.wall_ms())
                  : std::optional<trial_assignment>{};
  if (a) {
    st.leases[{node, slot}] = lease;
    if (job) st.gangs[{node, slot}] = gang;
    auto job_dir = st.out_dir + "/trials/" + std::to_string(a->id);
    // the runner fetches the data from this node's (the head's) cache
    self->send(typed, trial_atom::value,
               assignment_envelope(spec, *a, gang, job_dir),
               caf::actor_cast<caf::actor>(local_dataset_cache(self->system())),
               job ? st.jobs : caf::actor{});
  } else {
    st.wants_sent = false;
    self->send(st.service, release_atom::value, st.core->spec().id, node, slot,
               lease, false);
  }
  settle(self);
}

caf::result<envelope> on_report(study_actor_t* self, const envelope& env) {
  auto& st = self->state;
  auto r = env.visit<schema::TrialReport>([&](auto x) {
    std::vector<double> secondary;
    for (auto v : x.getObjectives())
      secondary.push_back(v);
    return st.core->on_report(x.getTrial(), x.getAttempt(), x.getStep(),
                              x.getValue(), st.wall_ms(), secondary);
  });
  if (!r) return r.error();
  settle(self);
  using A = schema::TrialDecision::Action;
  A what = A::STOP;
  switch (r->what) {
  case study_core::answer::proceed:
    what = A::PROCEED;
    break;
  case study_core::answer::pause:
    what = A::PAUSE;
    break;
  case study_core::answer::stop:
    what = A::STOP;
    break;
  case study_core::answer::complete:
    what = A::COMPLETE;
    break;
  }
  return make_envelope<schema::TrialDecision>([&](auto d) {
    d.setAction(what);
    d.setBudget(r->budget);
  });
}

/// Keeps a completed trial's out-of-fold predictions while it is among the
/// spec.ensemble best of those kept.
template <class List>
void keep_oof(study_state& st, trial_id id, uint64_t step, List values) {
  auto n = st.core->spec().ensemble;
  if (n < 2 || id >= st.core->trials().size()) return;
  if (st.core->trials()[id].rec.state != trial_state::complete) return;
  auto& slot = st.oof[id];
  slot.first = step;
  slot.second.clear();
  slot.second.reserve(values.size());
  for (auto v : values)
    slot.second.push_back(v);
  if (st.oof.size() <= 2 * static_cast<size_t>(n) + 32) return;
  // keep the ensemble's pool: the n best by the leaderboard's order (and in
  // CASH each family's best)
  auto pool = st.core->ensemble_pool(
      n, [&](trial_id t) { return st.oof.count(t) > 0; });
  std::set<trial_id> keep(pool.begin(), pool.end());
  for (auto i = st.oof.begin(); i != st.oof.end();)
    i = keep.count(i->first) ? std::next(i) : st.oof.erase(i);
}

void on_end(study_actor_t* self, const envelope& env) {
  auto& st = self->state;
  auto& id = st.core->spec().id;
  auto r = env.visit<schema::TrialEnd>([&](auto e) {
    auto o = outcome_of(e.getOutcome());
    if (!o) return false;
    auto cp = e.getCheckpoint();
    std::string node = e.getNode();
    std::vector<double> secondary;
    for (auto v : e.getObjectives())
      secondary.push_back(v);
    bool current = false;
    if (e.getLost()) {
      // its job lost a node of the gang: placed again, as a lost node's
      // trials are (unless the study heard of the loss first: stale)
      auto t = e.getTrial();
      auto& trials = st.core->trials();
      current = t < trials.size() && trials[t].attempt == e.getAttempt() &&
                trials[t].rec.state == trial_state::running;
      if (current)
        (void)st.core->slot_lost(node, e.getSlot(), e.getMessage(),
                                 st.wall_ms());
    } else {
      current = st.core->on_end(e.getTrial(), e.getAttempt(), *o, e.getSteps(),
                                e.getValue(),
                                std::vector<uint8_t>(cp.begin(), cp.end()),
                                e.getMessage(), st.wall_ms(), secondary);
    }
    // A stale end (its trial was re-queued since: its node was lost, or the
    // study gave its slot back) holds no lease.
    if (!current) return false;
    if (*o == trial_outcome::cancelled &&
        st.core->phase() == study_phase::running)
      st.draining.insert(node);
    if (e.hasOof() && e.getOof().size() > 0)
      keep_oof(st, e.getTrial(), e.getOofStep(), e.getOof());
    auto key = std::make_pair(node, e.getSlot());
    st.gangs.erase(key);
    auto lease = st.leases.find(key);
    if (lease == st.leases.end()) return false;
    auto wants = st.core->wants_slots(st.wall_ms());
    self->send(st.service, release_atom::value, id, node, e.getSlot(),
               lease->second, wants);
    st.leases.erase(lease);
    st.wants_sent = wants;
    return true;
  });
  if (!r) st.log->warn("study {}: bad TrialEnd: {}", id, describe(r.error()));
  settle(self);
}

void on_lost(study_actor_t* self, const std::string& node) {
  auto& st = self->state;
  st.runners.erase(node);
  st.draining.erase(node);
  for (auto i = st.leases.begin(); i != st.leases.end();)
    i = i->first.first == node ? st.leases.erase(i) : std::next(i);
  // a trial run as a job on a gang that held a slot of the node: the
  // scheduler dropped the whole gang's lease, and the job fails
  std::vector<trial_id> ids;
  for (auto g = st.gangs.begin(); g != st.gangs.end();) {
    auto& nodes = g->second;
    if (g->first.first == node ||
        std::find(nodes.begin(), nodes.end(), node) == nodes.end()) {
      g = g->first.first == node ? st.gangs.erase(g) : std::next(g);
      continue;
    }
    auto lost = st.core->slot_lost(g->first.first, g->first.second,
                                   "node " + node + " of its gang was lost",
                                   st.wall_ms());
    ids.insert(ids.end(), lost.begin(), lost.end());
    st.leases.erase(g->first);
    g = st.gangs.erase(g);
  }
  auto on_node = st.core->node_lost(node, st.wall_ms());
  ids.insert(ids.end(), on_node.begin(), on_node.end());
  if (!ids.empty())
    st.log->warn("study {}: node {} lost, {} trial(s) re-queued",
                 st.core->spec().id, node, ids.size());
  settle(self);
}

void on_yield(study_actor_t* self, const std::string& node, uint32_t slot,
              uint64_t lease) {
  auto& st = self->state;
  auto key = std::make_pair(node, slot);
  auto held = st.leases.find(key);
  if (held == st.leases.end() || held->second != lease) return;
  auto ids = st.core->slot_lost(node, slot,
                                "slot " + node + "/" + std::to_string(slot) +
                                    " preempted for higher-priority work",
                                st.wall_ms());
  cancel_trials(self, ids);
  st.leases.erase(held);
  auto wants = st.core->wants_slots(st.wall_ms());
  self->send(st.service, release_atom::value, st.core->spec().id, node, slot,
             lease, wants);
  st.wants_sent = wants;
  if (!ids.empty())
    st.log->info("study {}: gave slot {}/{} back for higher-priority work, "
                 "trial {} re-queued",
                 st.core->spec().id, node, slot, ids.front());
  settle(self);
}

void on_seeds(study_actor_t* self, const std::string& text) {
  auto& st = self->state;
  auto& spec = st.core->spec();
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<config> configs;
  nlohmann::json from = nlohmann::json::array();
  if (!j.is_discarded() && j.contains("seeds"))
    for (auto& s : j["seeds"]) {
      auto c = tabular::config_from_json(s["config"]);
      if (!c) continue;
      configs.push_back(std::move(*c));
      from.push_back({{"from", s["from"]}, {"distance", s["distance"]}});
    }
  auto taken = st.core->add_seeds(configs);
  st.core->hold(false);
  auto error = j.is_discarded() ? std::string{"bad lookup reply"}
                                : j.value("error", std::string{});
  if (!error.empty())
    st.log->warn("study {}: no warm start: {}", spec.id, error);
  else if (taken > 0)
    st.log->info("study {}: warm start with {} configuration(s)", spec.id,
                 taken);
  st.warm_start = {
      {"seeds", std::move(from)},
      {"taken", taken},
      {"error", error.empty() ? nlohmann::json() : nlohmann::json(error)}};
  settle(self);
}

void on_refit(study_actor_t* self, const std::string& model_dir,
              const std::string& error, bool has_test, double test_score,
              const std::string& ensemble) {
  auto& st = self->state;
  st.refit.model_dir = model_dir;
  if (!ensemble.empty())
    st.refit.ensemble = nlohmann::json::parse(ensemble, nullptr, false);
  st.refit.warm_start = st.warm_start;
  if (has_test) st.refit.test_score = test_score;
  st.finished_ms = st.wall_ms();
  auto summary = study_summary(*st.core, st.refit,
                               st.finished_ms - st.core->started_ms(), error);
  auto path = st.out_dir + "/summary.json";
  if (auto err = write_json_file(path, summary)) {
    st.message = describe(err);
    st.phase = schema::StudyState::FAILED;
  } else {
    auto why = st.core->stop_reason();
    st.message = error.empty()
                     ? (why.empty() ? "" : why + "; ") + "summary in " + path
                     : error;
    st.phase = error.empty() ? schema::StudyState::FINISHED
                             : schema::StudyState::FAILED;
  }
  st.log->info("study {}: {}", st.core->spec().id, st.message);
}

study_actor::behavior_type study_behavior(study_actor_t* self,
                                          std::shared_ptr<study_init> init) {
  auto& st = self->state;
  st.core = std::move(init->core);
  st.journal = std::move(init->journal);
  st.service = std::move(init->service);
  st.out_dir = std::move(init->out_dir);
  st.weight = init->weight;
  st.clock = init->clock ? std::move(init->clock) : real_clock();
  st.refit_with = init->refit ? std::move(init->refit) : detached_refit();
  auto seeds_with = init->seeds ? std::move(init->seeds) : detached_seeds();
  {
    auto& spec = st.core->spec();
    if (spec.warm_start && spec.family != "quadratic" && spec.images.empty() &&
        st.journal && st.core->trials().empty()) {
      st.core->hold(true);
      seeds_with(self->system(), caf::actor_cast<study_actor>(self), st.journal,
                 spec);
    }
  }
  if (auto job = trial_job_family(st.core->spec()); !job.empty()) {
    // its trials run as jobs of the head's training service
    auto dir = self->system().registry().get(directory_registry_key);
    auto fail = [=](const std::string& why) {
      auto& st = self->state;
      st.message =
          "a study of " + job + " trials runs them as training jobs: " + why;
      (void)st.core->stop(st.message, st.wall_ms());
      settle(self);
    };
    if (!dir) {
      fail("no directory in this process");
    } else {
      self->request(caf::actor_cast<caf::actor>(dir), std::chrono::seconds{30},
                    lookup_atom::value, std::string{"training"})
          .then(
              [=](const caf::actor& jobs) {
                self->state.jobs = jobs;
                settle(self);
              },
              [=](caf::error& err) {
                fail("no training service (" + describe(err) + ")");
              });
    }
  }
  flush(self);
  // The first tick now; each tick sets the next until the study has ended.
  self->send(self, tick_atom::value);
  return {
      [=](grant_atom, const std::string& node, uint32_t slot,
          const caf::actor& runner, uint64_t lease, const std::string& gang) {
        on_grant(self, node, slot, runner, lease, gang);
      },
      [=](report_atom, const envelope& env) -> caf::result<envelope> {
        return on_report(self, env);
      },
      [=](end_atom, const envelope& env) { on_end(self, env); },
      [=](lost_atom, const std::string& node) { on_lost(self, node); },
      [=](yield_atom, const std::string& node, uint32_t slot, uint64_t lease) {
        on_yield(self, node, slot, lease);
      },
      [=](halt_atom, const std::string& why) {
        auto& st = self->state;
        cancel_trials(self, st.core->stop(why, st.wall_ms()));
        settle(self);
      },
      [=](tick_atom) {
        auto& st = self->state;
        if (st.core->phase() == study_phase::running)
          cancel_trials(self, st.core->tick(st.wall_ms()));
        settle(self);
        if (st.phase != schema::StudyState::FINISHED &&
            st.phase != schema::StudyState::FAILED)
          self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [=](refit_atom, const std::string& model_dir, const std::string& error,
          bool has_test, double test_score, const std::string& ensemble) {
        on_refit(self, model_dir, error, has_test, test_score, ensemble);
      },
      [=](seeds_atom, const std::string& text) { on_seeds(self, text); },
      [=](progress_atom, uint64_t board) -> envelope {
        return status_envelope(self->state, static_cast<size_t>(board));
      },
  };
}

} // namespace

seed_launcher detached_seeds() {
  return [](caf::actor_system& sys, const study_actor& study,
            std::shared_ptr<study_journal> journal, study_spec spec) {
    sys.spawn<caf::detached>([=](caf::event_based_actor* worker) {
      nlohmann::json reply{{"seeds", nlohmann::json::array()}};
      auto seeds = find_seeds(*journal, spec);
      if (!seeds) {
        reply["error"] = describe(seeds.error());
      } else {
        for (auto& s : *seeds)
          reply["seeds"].push_back({{"config", tabular::to_json(s.params)},
                                    {"from", s.from},
                                    {"distance", s.distance}});
      }
      worker->send(study, seeds_atom::value, reply.dump());
      worker->quit();
    });
  };
}

refit_launcher detached_refit() {
  return [](caf::actor_system& sys, const study_actor& study, refit_job job) {
    sys.spawn<caf::detached>([study, job](caf::event_based_actor* worker) {
      auto r = refit_best(job.spec, job.params, job.rounds, job.cv_score,
                          job.trial, job.out_dir, job.threads, job.candidates);
      // what later studies warm-start from
      if (r && job.journal && !job.best.empty())
        if (auto err = record_study(*job.journal, job.spec, job.best))
          log::get("automl")->warn("study {}: not recorded for warm starts: {}",
                                   job.spec.id, describe(err));
      if (r)
        worker->send(
            study, refit_atom::value, r->model_dir, std::string{},
            r->test_score.has_value(), r->test_score ? *r->test_score : 0.0,
            r->ensemble.is_null() ? std::string{} : r->ensemble.dump());
      else
        worker->send(study, refit_atom::value, std::string{},
                     "refit failed: " + describe(r.error()), false, 0.0,
                     std::string{});
      worker->quit();
    });
  };
}

study_actor spawn_study(caf::actor_system& sys, study_init init) {
  return sys.spawn(study_behavior,
                   std::make_shared<study_init>(std::move(init)));
}

} // namespace troupe::automl
