// The study core: a study's search state (see study.hpp).

#include "actors/automl/study.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "actors/automl/errors.hpp"
#include "actors/automl/family_gate.hpp"
#include "actors/automl/pareto.hpp"
#include "actors/automl/random_sampler.hpp"
#include "actors/automl/tpe.hpp"
#include "actors/models/model_choice.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

namespace {

/// The family a CASH configuration chose ("" for other studies).
std::string family_name(const config& c) {
  auto i = c.find(models::family_key);
  if (i == c.end()) return {};
  auto* s = std::get_if<std::string>(&i->second);
  return s ? *s : std::string{};
}

} // namespace

std::string to_string(study_phase x) {
  switch (x) {
  case study_phase::running:
    return "running";
  case study_phase::stopping:
    return "stopping";
  case study_phase::finished:
    return "finished";
  }
  return "?";
}

std::string to_string(trial_state x) {
  switch (x) {
  case trial_state::pending:
    return "pending";
  case trial_state::running:
    return "running";
  case trial_state::paused:
    return "paused";
  case trial_state::complete:
    return "complete";
  case trial_state::pruned:
    return "pruned";
  case trial_state::failed:
    return "failed";
  }
  return "?";
}

caf::expected<std::unique_ptr<study_core>>
study_core::make(const study_spec& spec, const replayed_study* replay,
                 int64_t now_ms) {
  if (auto err = validate(spec)) return err;
  std::unique_ptr<study_core> st{new study_core};
  st->spec_ = spec;
  st->dir_ = spec.maximize ? direction::maximize : direction::minimize;
  st->started_ms_ = now_ms;
  st->rng_.seed(spec.seed);
  // a trial run as a job reads its data through the job's own
  // preprocessing: no feature pipeline to search
  auto space = trial_job_family(spec).empty()
                   ? load_space(spec.family)
                   : space_registry::global().get(spec.family);
  if (!space) return space.error();
  if (!spec.space.empty()) {
    space = apply_space_text(*space, spec.space, spec.space_format,
                             "the study's space");
    if (!space) return space.error();
  }
  st->space_ = std::move(*space);
  st->gate_ = std::make_unique<family_gate>(
      models::is_cash(spec.family) ? models::family_list(spec.family)
                                   : std::vector<std::string>{},
      st->dir_);
  if (spec.sampler == "tpe")
    st->sampler_ = std::make_unique<tpe_sampler>();
  else
    st->sampler_ = std::make_unique<random_sampler>();
  budget_options opts;
  opts.dir = st->dir_;
  opts.min_resource = spec.min_resource;
  opts.max_resource = spec.max_resource;
  opts.eta = spec.eta;
  config_sources sources;
  auto* raw = st.get();
  st->bohb_model_ = std::make_unique<tpe_sampler>();
  sources.random = [raw] {
    if (!raw->seeds_.empty()) { // a warm start's configurations first
      auto c = std::move(raw->seeds_.front());
      raw->seeds_.pop_front();
      return c;
    }
    random_sampler r;
    return raw->gate_->choose(
        [&] { return r.suggest(raw->space_, {}, raw->dir_, raw->rng_); },
        raw->history_, raw->space_, raw->rng_);
  };
  // PBT's explore: a child continues its parent's checkpoint, whose model
  // a categorical choice shapes (the family in a CASH space, XGBoost's
  // booster, the fitted feature pipeline's encodings): those stay the
  // parent's, so that the child's configuration is the model it trains.
  sources.perturb = [raw](const config& c, std::mt19937_64& rng) {
    return raw->space_.perturb(c, rng, true);
  };
  sources.model = [raw](uint64_t, const std::vector<trial_record>& obs) {
    return raw->gate_->choose(
        [&] {
          return raw->bohb_model_->suggest(raw->space_, obs, raw->dir_,
                                           raw->rng_);
        },
        raw->history_, raw->space_, raw->rng_);
  };
  auto sched = make_scheduler(spec.scheduler, opts, sources, spec.seed);
  if (!sched) return sched.error();
  st->sched_ = std::move(*sched);
  if (replay) {
    bool feed = spec.scheduler == "asha" || spec.scheduler == "median" ||
                spec.scheduler == "none";
    for (auto& [id, rec] : replay->trials) {
      if (id != st->trials_.size())
        return make_error(errc::journal_corrupt,
                          "study " + spec.id + ": journal skips trial " +
                              std::to_string(st->trials_.size()));
      trial_info t;
      t.rec = rec;
      for (auto& [step, v] : rec.intermediate) {
        t.steps = std::max(t.steps, step);
        t.last = v;
      }
      if (!rec.secondary.empty())
        t.last_secondary = rec.secondary.rbegin()->second;
      st->trials_.push_back(std::move(t));
      st->history_.push_back(rec);
    }
    for (auto& t : st->trials_) {
      auto id = t.rec.id;
      if (st->terminal(t)) {
        if (!feed) continue;
        st->sched_->on_trial_add(id, t.rec.params, -1);
        for (auto& [step, v] : t.rec.intermediate) {
          if (step >= spec.max_resource) continue;
          auto sec = t.rec.secondary.find(step);
          if (st->multi() && sec != t.rec.secondary.end())
            (void)st->sched_->on_result_objectives(
                id, step, st->objective_values(v, sec->second));
          else
            (void)st->sched_->on_result(id, step, v);
        }
        if (t.rec.state == trial_state::complete && t.rec.value) {
          if (st->multi() && !t.rec.secondary_value.empty())
            st->sched_->on_complete_objectives(
                id, st->objective_values(*t.rec.value, t.rec.secondary_value));
          else
            st->sched_->on_complete(id, *t.rec.value);
        } else
          st->sched_->on_error(id);
        continue;
      }
      // Running, paused or pending when the process died: again, once,
      // from scratch, in place of a new trial (the new scheduler never saw
      // it).
      t.rec.intermediate.clear();
      t.rec.secondary.clear();
      t.last_secondary.clear();
      t.steps = 0;
      t.last = std::numeric_limits<double>::quiet_NaN();
      st->history_[id] = t.rec;
      st->mark_requeued(t, "", "the study was resumed", now_ms);
      st->requeued_.push_back(id);
    }
  }
  return st;
}

void study_core::emit(trial_event ev) {
  events_.push_back(std::move(ev));
}

std::vector<trial_event> study_core::take_events() {
  std::vector<trial_event> out;
  out.swap(events_);
  return out;
}

bool study_core::terminal(const trial_info& t) const {
  auto s = t.rec.state;
  return s == trial_state::complete || s == trial_state::pruned ||
         s == trial_state::failed;
}

bool study_core::can_start_new() const {
  return !requeued_.empty() || spec_.max_trials == 0 ||
         trials_.size() < spec_.max_trials;
}

trial_id study_core::add_trial(config params, int64_t now_ms) {
  trial_info t;
  t.rec.id = trials_.size();
  t.rec.params = std::move(params);
  t.rec.state = trial_state::pending;
  trial_event ev;
  ev.trial = t.rec.id;
  ev.kind = event_kind::created;
  ev.params = t.rec.params;
  ev.at_ms = now_ms;
  emit(std::move(ev));
  history_.push_back(t.rec);
  trials_.push_back(std::move(t));
  return trials_.back().rec.id;
}

trial_assignment study_core::assign(trial_info& t, uint64_t budget,
                                    std::vector<uint8_t> from,
                                    const std::string& node, uint32_t slot,
                                    int64_t now_ms) {
  t.rec.state = trial_state::running;
  history_[t.rec.id].state = trial_state::running;
  t.node = node;
  t.slot = slot;
  t.budget = std::min(std::max<uint64_t>(budget, 1), spec_.max_resource);
  t.attempt++;
  t.start_checkpoint = from;
  trial_event ev;
  ev.trial = t.rec.id;
  ev.kind = event_kind::started;
  ev.node = node;
  ev.step = t.budget;
  ev.at_ms = now_ms;
  emit(std::move(ev));
  trial_assignment a;
  a.id = t.rec.id;
  a.attempt = t.attempt;
  a.params = t.rec.params;
  a.budget = t.budget;
  a.checkpoint = std::move(from);
  a.node = node;
  a.slot = slot;
  return a;
}

void study_core::end_trial(trial_info& t, trial_state st,
                           const std::string& message, int64_t now_ms) {
  t.rec.state = st;
  t.message = message;
  t.checkpoint.clear();
  t.checkpoint.shrink_to_fit();
  t.start_checkpoint.clear();
  t.start_checkpoint.shrink_to_fit();
  t.resume_to.reset();
  trial_event ev;
  ev.trial = t.rec.id;
  ev.at_ms = now_ms;
  ev.message = message;
  switch (st) {
  case trial_state::complete:
    ev.kind = event_kind::completed;
    ev.value = t.score();
    ev.objectives = t.rec.secondary_value;
    break;
  case trial_state::failed:
    ev.kind = event_kind::failed;
    break;
  default:
    ev.kind = event_kind::pruned;
    break;
  }
  emit(std::move(ev));
  history_[t.rec.id] = t.rec;
}

void study_core::drop_pruned(int64_t now_ms) {
  for (auto id : sched_->take_pruned()) {
    if (id >= trials_.size()) continue;
    auto& t = trials_[id];
    if (t.rec.state == trial_state::paused)
      end_trial(t, trial_state::pruned,
                "stopped by " + std::string{sched_->name()}, now_ms);
  }
}

size_t study_core::add_seeds(const std::vector<config>& configs) {
  size_t taken = 0;
  for (auto& c : configs)
    if (!space_.check(c)) {
      seeds_.push_back(c);
      ++taken;
    }
  return taken;
}

bool study_core::wants_slots(int64_t now_ms) const {
  if (held_) return false;
  if (phase_ != study_phase::running || sched_done_ || idle_) return false;
  if (budget_spent(now_ms)) return false; // tick() ends the study
  if (!ready_.empty() || can_start_new()) return true;
  return std::any_of(trials_.begin(), trials_.end(), [](const trial_info& t) {
    return t.rec.state == trial_state::paused;
  });
}

std::optional<trial_assignment>
study_core::place(const std::string& node, uint32_t slot, int64_t now_ms) {
  if (held_) return std::nullopt;
  auto a = place_work(node, slot, now_ms);
  idle_ = !a;
  return a;
}

std::optional<trial_assignment>
study_core::place_work(const std::string& node, uint32_t slot, int64_t now_ms) {
  // Past the time budget nothing starts; the actor's tick() stops the study
  // and cancels what runs.
  if (phase_ != study_phase::running || budget_spent(now_ms))
    return std::nullopt;
  drop_pruned(now_ms);
  while (!ready_.empty()) {
    auto id = ready_.front();
    ready_.pop_front();
    auto& t = trials_[id];
    if (terminal(t)) continue;
    if (t.resume_to) {
      auto budget = *t.resume_to;
      t.resume_to.reset();
      return assign(t, budget, std::move(t.checkpoint), node, slot, now_ms);
    }
    return assign(t, t.budget, t.start_checkpoint, node, slot, now_ms);
  }
  if (sched_done_) return std::nullopt;
  for (int guard = 0; guard < 64; ++guard) {
    if (!can_start_new() &&
        std::none_of(trials_.begin(), trials_.end(), [](const trial_info& t) {
          return t.rec.state == trial_state::paused;
        }))
      return std::nullopt;
    auto w = sched_->next();
    drop_pruned(now_ms);
    switch (w.what) {
    case work::kind::wait:
      return std::nullopt;
    case work::kind::done:
      sched_done_ = true;
      maybe_finish(now_ms);
      return std::nullopt;
    case work::kind::resume: {
      if (w.id >= trials_.size()) continue;
      auto& t = trials_[w.id];
      if (t.rec.state == trial_state::paused) {
        // PBT keeps the last checkpoint for the children that exploit it
        auto cp = sched_->keeps_checkpoints() ? t.checkpoint
                                              : std::move(t.checkpoint);
        return assign(t, w.budget, std::move(cp), node, slot, now_ms);
      }
      if (t.rec.state == trial_state::running) t.resume_to = w.budget;
      continue; // its checkpoint is on the way; ready_ takes it then
    }
    case work::kind::start: {
      if (!can_start_new()) return std::nullopt;
      trial_id id;
      bool fresh = requeued_.empty();
      if (!fresh) {
        id = requeued_.front();
        requeued_.pop_front();
      } else {
        config params;
        if (w.params) {
          params = std::move(*w.params);
        } else if (!seeds_.empty()) {
          params = std::move(seeds_.front());
          seeds_.pop_front();
        } else {
          params = gate_->choose(
              [&] { return sampler_->suggest(space_, history_, dir_, rng_); },
              history_, space_, rng_);
        }
        id = add_trial(std::move(params), now_ms);
      }
      auto& t = trials_[id];
      sched_->on_trial_add(id, t.rec.params, w.bracket);
      // PBT's exploit: a copy of the parent's checkpoint, and its steps
      std::vector<uint8_t> from;
      if (fresh && w.from && *w.from < trials_.size()) {
        auto& parent = trials_[*w.from];
        from = parent.checkpoint;
        if (!from.empty()) t.steps = parent.steps;
      }
      return assign(t, w.budget, std::move(from), node, slot, now_ms);
    }
    }
  }
  return std::nullopt;
}

std::vector<double>
study_core::objective_values(double value,
                             const std::vector<double>& secondary) const {
  std::vector<double> out{value};
  out.insert(out.end(), secondary.begin(), secondary.end());
  return out;
}

std::string study_core::check_secondary(const std::vector<double>& secondary,
                                        uint64_t step) const {
  auto& names = spec_.objectives;
  if (secondary.size() != names.size())
    return "the trial measured " + std::to_string(secondary.size()) + " of " +
           std::to_string(names.size()) + " secondary objectives at step " +
           std::to_string(step);
  for (size_t k = 0; k < names.size(); ++k)
    if (!std::isfinite(secondary[k]))
      return "objective '" + names[k] + "' is not finite at step " +
             std::to_string(step);
  return {};
}

study_core::answer study_core::on_report(trial_id id, uint32_t attempt,
                                         uint64_t step, double value,
                                         int64_t now_ms,
                                         const std::vector<double>& secondary) {
  answer stop{answer::stop, 0};
  idle_ = false;
  if (id >= trials_.size()) return stop;
  auto& t = trials_[id];
  if (t.attempt != attempt || t.rec.state != trial_state::running) return stop;
  t.steps = step;
  t.last = value;
  t.rec.intermediate[step] = value;
  history_[id].intermediate[step] = value;
  auto bad_secondary = multi() ? check_secondary(secondary, step) : "";
  trial_event ev;
  ev.trial = id;
  ev.kind = event_kind::reported;
  ev.step = step;
  ev.value = value;
  ev.at_ms = now_ms;
  if (multi() && bad_secondary.empty()) {
    t.last_secondary = secondary;
    t.rec.secondary[step] = secondary;
    history_[id].secondary[step] = secondary;
    ev.objectives = secondary;
  }
  emit(std::move(ev));
  if (phase_ != study_phase::running) return stop;
  if (!std::isfinite(value) || !bad_secondary.empty()) {
    sched_->on_error(id);
    end_trial(t, trial_state::failed,
              bad_secondary.empty()
                  ? "the metric is not finite at step " + std::to_string(step)
                  : bad_secondary,
              now_ms);
    return stop;
  }
  if (step >= spec_.max_resource) {
    t.rec.value = value;
    history_[id].value = value;
    if (multi()) {
      t.rec.secondary_value = secondary;
      history_[id].secondary_value = secondary;
      sched_->on_complete_objectives(id, objective_values(value, secondary));
    } else {
      sched_->on_complete(id, value);
    }
    end_trial(t, trial_state::complete, "", now_ms);
    return {answer::complete, 0};
  }
  auto d = multi() ? sched_->on_result_objectives(
                         id, step, objective_values(value, secondary))
                   : sched_->on_result(id, step, value);
  switch (d.what) {
  case action::proceed: {
    auto budget = std::min(std::max(d.budget, step + 1), spec_.max_resource);
    t.budget = budget;
    return {answer::proceed, budget};
  }
  case action::pause:
    return {answer::pause, 0};
  case action::stop:
    end_trial(t, trial_state::pruned,
              "stopped by " + std::string{sched_->name()} + " at step " +
                  std::to_string(step),
              now_ms);
    return stop;
  }
  return stop;
}

bool study_core::on_end(trial_id id, uint32_t attempt, trial_outcome outcome,
                        uint64_t steps, double value,
                        std::vector<uint8_t> checkpoint,
                        const std::string& message, int64_t now_ms,
                        const std::vector<double>& secondary) {
  if (id >= trials_.size()) return false;
  auto& t = trials_[id];
  if (t.attempt != attempt) return false;
  idle_ = false;
  t.steps = std::max(t.steps, steps);
  if (t.rec.state == trial_state::running) {
    switch (outcome) {
    case trial_outcome::finished:
      if (phase_ != study_phase::running) {
        end_trial(t, trial_state::pruned, stop_reason_, now_ms);
      } else if (std::isfinite(value)) {
        // It ended on its own before max_resource (e.g. no more rounds).
        t.rec.value = value;
        history_[id].value = value;
        if (multi()) {
          // the objectives of the model it ends with (its best step), else
          // those of its last report
          auto& sec =
              secondary.empty() || !check_secondary(secondary, steps).empty()
                  ? t.last_secondary
                  : secondary;
          t.rec.secondary_value = sec;
          history_[id].secondary_value = sec;
          if (sec.empty())
            sched_->on_complete(id, value);
          else
            sched_->on_complete_objectives(id, objective_values(value, sec));
        } else {
          sched_->on_complete(id, value);
        }
        end_trial(t, trial_state::complete, "", now_ms);
      } else {
        sched_->on_error(id);
        end_trial(t, trial_state::failed, "ended without a result", now_ms);
      }
      break;
    case trial_outcome::paused:
      if (phase_ != study_phase::running) {
        end_trial(t, trial_state::pruned, stop_reason_, now_ms);
        break;
      }
      t.rec.state = trial_state::paused;
      history_[id].state = trial_state::paused;
      t.checkpoint = std::move(checkpoint);
      {
        trial_event ev;
        ev.trial = id;
        ev.kind = event_kind::paused;
        ev.step = steps;
        ev.at_ms = now_ms;
        emit(std::move(ev));
      }
      if (t.resume_to) ready_.push_back(id);
      break;
    case trial_outcome::failed:
      sched_->on_error(id);
      end_trial(t, trial_state::failed, message, now_ms);
      break;
    case trial_outcome::cancelled:
      if (phase_ == study_phase::running) {
        // The study cancels only when it stops: this one's runner stopped
        // (its node is shutting down). It runs again elsewhere.
        requeue(t, t.node, "its runner on " + t.node + " stopped", now_ms);
        break;
      }
      sched_->on_error(id);
      end_trial(t, trial_state::pruned, stop_reason_, now_ms);
      break;
    }
  }
  drop_pruned(now_ms);
  maybe_finish(now_ms);
  return true;
}

void study_core::mark_requeued(trial_info& t, const std::string& node,
                               const std::string& why, int64_t now_ms) {
  t.attempt++; // whatever the lost attempt still sends is now stale
  t.requeues++;
  t.rec.state = trial_state::pending;
  history_[t.rec.id].state = trial_state::pending;
  trial_event ev;
  ev.trial = t.rec.id;
  ev.kind = event_kind::requeued;
  ev.node = node;
  ev.at_ms = now_ms;
  ev.message = why;
  emit(std::move(ev));
}

void study_core::requeue(trial_info& t, const std::string& node,
                         const std::string& why, int64_t now_ms) {
  mark_requeued(t, node, why, now_ms);
  if (phase_ == study_phase::running)
    ready_.push_back(t.rec.id);
  else
    end_trial(t, trial_state::pruned, stop_reason_, now_ms);
}

std::vector<trial_id> study_core::slot_lost(const std::string& node,
                                            uint32_t slot,
                                            const std::string& why,
                                            int64_t now_ms) {
  std::vector<trial_id> out;
  idle_ = false;
  for (auto& t : trials_) {
    if (t.rec.state != trial_state::running || t.node != node || t.slot != slot)
      continue;
    requeue(t, node, why, now_ms);
    out.push_back(t.rec.id);
  }
  maybe_finish(now_ms);
  return out;
}

std::vector<trial_id> study_core::node_lost(const std::string& node,
                                            int64_t now_ms) {
  std::vector<trial_id> out;
  idle_ = false;
  for (auto& t : trials_) {
    if (t.rec.state != trial_state::running || t.node != node) continue;
    requeue(t, node, "node " + node + " was lost", now_ms);
    out.push_back(t.rec.id);
  }
  maybe_finish(now_ms);
  return out;
}

std::vector<trial_id> study_core::stop(const std::string& why, int64_t now_ms) {
  std::vector<trial_id> running;
  if (phase_ != study_phase::running) return running;
  phase_ = study_phase::stopping;
  stop_reason_ = why;
  for (auto& t : trials_) {
    if (t.rec.state == trial_state::running)
      running.push_back(t.rec.id);
    else if (t.rec.state == trial_state::paused ||
             t.rec.state == trial_state::pending)
      end_trial(t, trial_state::pruned, why, now_ms);
  }
  ready_.clear();
  requeued_.clear();
  maybe_finish(now_ms);
  return running;
}

bool study_core::budget_spent(int64_t now_ms) const {
  return spec_.budget_ms > 0 &&
         now_ms - started_ms_ >= static_cast<int64_t>(spec_.budget_ms);
}

std::vector<trial_id> study_core::tick(int64_t now_ms) {
  if (phase_ == study_phase::running && budget_spent(now_ms))
    return stop("time budget spent", now_ms);
  return {};
}

void study_core::maybe_finish(int64_t now_ms) {
  bool any_running =
      std::any_of(trials_.begin(), trials_.end(), [](const trial_info& t) {
        return t.rec.state == trial_state::running;
      });
  if (any_running) return;
  if (phase_ == study_phase::stopping) {
    phase_ = study_phase::finished;
    return;
  }
  if (phase_ != study_phase::running || !ready_.empty()) return;
  if (!sched_done_ && can_start_new()) return;
  // No new trials may start: only promotions of paused trials remain.
  if (!sched_done_) {
    for (int guard = 0; guard < 64; ++guard) {
      auto w = sched_->next();
      if (w.what != work::kind::resume || w.id >= trials_.size()) break;
      auto& t = trials_[w.id];
      if (t.rec.state != trial_state::paused) continue;
      t.resume_to = w.budget;
      ready_.push_back(w.id);
    }
    if (!ready_.empty()) return;
  }
  stop_reason_ =
      sched_done_ ? "the scheduler has no more work" : "trial budget reached";
  for (auto& t : trials_)
    if (t.rec.state == trial_state::paused ||
        t.rec.state == trial_state::pending)
      end_trial(t, trial_state::pruned, "the study ended", now_ms);
  phase_ = study_phase::finished;
}

study_counts study_core::counts() const {
  study_counts c;
  c.total = trials_.size();
  for (auto& t : trials_) {
    c.requeued += t.requeues;
    switch (t.rec.state) {
    case trial_state::pending:
      ++c.pending;
      break;
    case trial_state::running:
      ++c.running;
      break;
    case trial_state::paused:
      ++c.paused;
      break;
    case trial_state::complete:
      ++c.complete;
      break;
    case trial_state::pruned:
      ++c.pruned;
      break;
    case trial_state::failed:
      ++c.failed;
      break;
    }
  }
  return c;
}

std::tuple<int, double, trial_id>
study_core::rank_key(const trial_info& t) const {
  bool complete = t.rec.state == trial_state::complete && t.rec.value;
  return {complete ? 0 : 1, to_loss(dir_, t.score()), t.rec.id};
}

std::vector<trial_id> study_core::leaderboard() const {
  std::vector<trial_id> ids;
  for (auto& t : trials_)
    if (std::isfinite(t.score())) ids.push_back(t.rec.id);
  std::sort(ids.begin(), ids.end(), [&](trial_id a, trial_id b) {
    return rank_key(trials_[a]) < rank_key(trials_[b]);
  });
  return ids;
}

std::vector<trial_id> study_core::pareto_front() const {
  std::vector<trial_id> ids;
  if (!multi()) return ids;
  std::vector<objective_vector> points;
  for (auto& t : trials_) {
    if (t.rec.state != trial_state::complete || !t.rec.value ||
        !std::isfinite(*t.rec.value) ||
        !check_secondary(t.rec.secondary_value, 0).empty())
      continue;
    ids.push_back(t.rec.id);
    points.push_back(
        to_losses(dir_, objective_values(*t.rec.value, t.rec.secondary_value)));
  }
  std::vector<trial_id> front;
  for (auto i : automl::pareto_front(points))
    front.push_back(ids[i]);
  std::sort(front.begin(), front.end(), [&](trial_id a, trial_id b) {
    return rank_key(trials_[a]) < rank_key(trials_[b]);
  });
  return front;
}

std::optional<trial_id> study_core::chosen() const {
  if (multi()) {
    auto front = pareto_front();
    if (!front.empty()) return front.front();
  }
  return best();
}

std::vector<trial_id>
study_core::ensemble_pool(size_t n, const std::function<bool(trial_id)>& has,
                          size_t per_family) const {
  std::vector<trial_id> out;
  std::set<trial_id> taken;
  auto board = leaderboard();
  for (auto id : board) {
    if (out.size() >= n) break;
    if (!has(id)) continue;
    out.push_back(id);
    taken.insert(id);
  }
  if (!models::is_cash(spec_.family)) return out;
  // a CASH study's best trials may all be one family's near-copies: each
  // family's best join the pool, so that selection can mix families
  std::map<std::string, size_t> per;
  for (auto id : out)
    ++per[family_name(trials_[id].rec.params)];
  for (auto id : board) {
    if (taken.count(id) || !has(id)) continue;
    auto& k = per[family_name(trials_[id].rec.params)];
    if (k >= per_family) continue;
    ++k;
    out.push_back(id);
    taken.insert(id);
  }
  return out;
}

std::optional<trial_id> study_core::best() const {
  // The leaderboard's first, without sorting it (status asks often).
  const trial_info* top = nullptr;
  for (auto& t : trials_)
    if (std::isfinite(t.score()) && (!top || rank_key(t) < rank_key(*top)))
      top = &t;
  if (!top) return std::nullopt;
  return top->rec.id;
}

uint64_t study_core::best_step(trial_id id) const {
  auto& t = trials_.at(id);
  uint64_t step = t.steps;
  double best = std::numeric_limits<double>::infinity();
  for (auto& [s, v] : t.rec.intermediate) {
    auto loss = to_loss(dir_, v);
    if (loss < best) {
      best = loss;
      step = s;
    }
  }
  return std::max<uint64_t>(step, 1);
}

} // namespace troupe::automl
