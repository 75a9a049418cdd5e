// The study actor: one per study, owns its study_core (see service.hpp).

#include "actors/automl/study_actor.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "actors/automl/refit.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/wire.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/log.hpp"
#include "runtime/time.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

int64_t wall_ms() {
  return now_micros() / 1000;
}

namespace {

constexpr auto tick_interval = std::chrono::milliseconds{100};

struct study_state {
  std::unique_ptr<study_core> core;
  std::shared_ptr<study_journal> journal;
  caf::actor service;
  std::string out_dir;
  double weight = 1;
  /// node -> its runner, from grants
  std::map<std::string, caf::actor> runners;
  /// (node, slot) -> the lease of the grant that gave it
  std::map<std::pair<std::string, uint32_t>, uint64_t> leases;
  /// Nodes whose runner cancelled a trial of a running study: it is
  /// stopping, and the service has not yet told us the node is lost. Their
  /// slots are given back instead of used (a trial placed there would be
  /// lost, and re-queued a second time).
  std::set<std::string> draining;
  bool wants_sent = false;
  /// running | stopping | refitting | finished | failed
  std::string phase = "running";
  std::string message;
  refit_result refit;
  int64_t finished_ms = 0;
  bool refit_started = false;
  std::shared_ptr<spdlog::logger> log = log::get("automl");
};

using study_actor_t = caf::stateful_actor<study_state>;

envelope assignment_envelope(const study_spec& s, const trial_assignment& a) {
  return make_envelope<schema::TrialAssignment>([&](auto b) {
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
    b.setTarget(s.target);
    b.setTask(s.task);
    b.setMetric(s.metric);
    b.setFolds(s.folds);
    b.setSeed(s.seed);
    b.setThreads(s.threads);
    b.setSlot(a.slot);
    b.setSleepMs(s.sleep_ms);
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
    if (st.phase == "running") {
      st.message = "journal: " + describe(r.error());
      (void)st.core->stop("the journal failed", wall_ms());
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
  auto now = wall_ms();
  if (st.core->phase() == study_phase::stopping && st.phase == "running")
    st.phase = "stopping";
  auto wants = st.core->wants_slots(now);
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
  st.phase = "refitting";
  auto& core = *st.core;
  auto best = core.best();
  auto spec = core.spec();
  auto out_dir = st.out_dir;
  st.log->info("study {} ended ({}): {} trials", spec.id, core.stop_reason(),
               core.trials().size());
  if (!best) {
    self->send(self, refit_atom::value, std::string{},
               std::string{"no trial produced a result"}, false, 0.0);
    return;
  }
  auto& t = core.trials()[*best];
  auto params = t.rec.params;
  auto rounds = core.best_step(*best);
  double cv = t.score();
  auto threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  auto id = *best;
  auto me = caf::actor_cast<caf::actor>(self);
  self->system().spawn<caf::detached>([=](caf::event_based_actor* worker) {
    auto r = refit_best(spec, params, rounds, cv, id, out_dir, threads);
    if (r)
      worker->send(me, refit_atom::value, r->model_dir, std::string{},
                   r->test_score.has_value(),
                   r->test_score ? *r->test_score : 0.0);
    else
      worker->send(me, refit_atom::value, std::string{},
                   "refit failed: " + describe(r.error()), false, 0.0);
    worker->quit();
  });
}

envelope status_envelope(const study_state& st, size_t board) {
  auto& core = *st.core;
  auto& s = core.spec();
  auto c = core.counts();
  auto now = st.finished_ms ? st.finished_ms : wall_ms();
  return make_envelope<schema::StudyStatus>([&](auto b) {
    b.setId(s.id);
    b.setState(st.phase);
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
    if (board == 0) return;
    auto ids = core.leaderboard();
    if (ids.size() > board) ids.resize(board);
    auto rows = b.initLeaderboard(static_cast<unsigned>(ids.size()));
    for (unsigned i = 0; i < ids.size(); ++i) {
      auto& t = core.trials()[ids[i]];
      rows[i].setId(ids[i]);
      rows[i].setState(to_string(t.rec.state));
      rows[i].setValue(t.score());
      rows[i].setSteps(t.steps);
      write_params(
          rows[i].initParams(static_cast<unsigned>(t.rec.params.size())),
          t.rec.params);
      rows[i].setNode(t.node);
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

caf::behavior study_behavior(study_actor_t* self,
                             std::shared_ptr<study_init> init) {
  auto& st = self->state;
  st.core = std::move(init->core);
  st.journal = std::move(init->journal);
  st.service = std::move(init->service);
  st.out_dir = std::move(init->out_dir);
  st.weight = init->weight;
  flush(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
  self->send(self, tick_atom::value);
  auto id = st.core->spec().id;
  return {
      [=](grant_atom, const std::string& node, uint32_t slot,
          const caf::actor& runner, uint64_t lease) {
        auto& st = self->state;
        if (runner) st.runners[node] = runner;
        auto a = runner && !st.draining.count(node)
                     ? st.core->place(node, slot, wall_ms())
                     : std::optional<trial_assignment>{};
        if (a) {
          st.leases[{node, slot}] = lease;
          self->send(runner, trial_atom::value,
                     assignment_envelope(st.core->spec(), *a));
        } else {
          st.wants_sent = false;
          self->send(st.service, release_atom::value, id, node, slot, lease,
                     false);
        }
        settle(self);
      },
      [=](report_atom, const envelope& env) -> caf::result<envelope> {
        auto& st = self->state;
        auto r = env.visit<schema::TrialReport>([&](auto x) {
          return st.core->on_report(x.getTrial(), x.getAttempt(), x.getStep(),
                                    x.getValue(), wall_ms());
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
      },
      [=](end_atom, const envelope& env) {
        auto& st = self->state;
        auto r = env.visit<schema::TrialEnd>([&](auto e) {
          auto o = outcome_of(e.getOutcome());
          if (!o) return false;
          auto cp = e.getCheckpoint();
          std::string node = e.getNode();
          if (*o == trial_outcome::cancelled &&
              st.core->phase() == study_phase::running)
            st.draining.insert(node);
          auto current = st.core->on_end(
              e.getTrial(), e.getAttempt(), *o, e.getSteps(), e.getValue(),
              std::vector<uint8_t>(cp.begin(), cp.end()), e.getMessage(),
              wall_ms());
          // A stale end (its trial was re-queued since) holds no lease.
          if (!current) return false;
          auto key = std::make_pair(node, e.getSlot());
          auto lease = st.leases.find(key);
          if (lease == st.leases.end()) return false;
          auto wants = st.core->wants_slots(wall_ms());
          self->send(st.service, release_atom::value, id, node, e.getSlot(),
                     lease->second, wants);
          st.leases.erase(lease);
          st.wants_sent = wants;
          return true;
        });
        if (!r)
          st.log->warn("study {}: bad TrialEnd: {}", id, describe(r.error()));
        settle(self);
      },
      [=](lost_atom, const std::string& node) {
        auto& st = self->state;
        st.runners.erase(node);
        st.draining.erase(node);
        for (auto i = st.leases.begin(); i != st.leases.end();)
          i = i->first.first == node ? st.leases.erase(i) : std::next(i);
        auto ids = st.core->node_lost(node, wall_ms());
        if (!ids.empty())
          st.log->warn("study {}: node {} lost, {} trial(s) re-queued", id,
                       node, ids.size());
        settle(self);
      },
      [=](stop_atom, const std::string& why) {
        auto& st = self->state;
        cancel_trials(self, st.core->stop(why, wall_ms()));
        settle(self);
      },
      [=](tick_atom) {
        auto& st = self->state;
        if (st.core->phase() == study_phase::running)
          cancel_trials(self, st.core->tick(wall_ms()));
        settle(self);
        if (st.phase != "finished" && st.phase != "failed")
          self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [=](refit_atom, const std::string& model_dir, const std::string& error,
          bool has_test, double test_score) {
        auto& st = self->state;
        st.refit.model_dir = model_dir;
        if (has_test) st.refit.test_score = test_score;
        st.finished_ms = wall_ms();
        auto summary = study_summary(
            *st.core, st.refit, st.finished_ms - st.core->started_ms(), error);
        auto path = st.out_dir + "/summary.json";
        if (auto err = write_json_file(path, summary)) {
          st.message = describe(err);
          st.phase = "failed";
        } else {
          auto why = st.core->stop_reason();
          st.message = error.empty() ? (why.empty() ? "" : why + "; ") +
                                           "summary in " + path
                                     : error;
          st.phase = error.empty() ? "finished" : "failed";
        }
        st.log->info("study {}: {}", id, st.message);
      },
      [=](status_atom, uint64_t board) -> envelope {
        return status_envelope(self->state, static_cast<size_t>(board));
      },
  };
}

} // namespace

caf::actor spawn_study(caf::actor_system& sys, study_init init) {
  return sys.spawn(study_behavior,
                   std::make_shared<study_init>(std::move(init)));
}

} // namespace troupe::automl
