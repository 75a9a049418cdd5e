// automl.runner: runs trials on detached threads (protocol in runner.hpp).

#include "actors/automl/runner.hpp"

#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include <caf/all.hpp>

#include "actors/automl/early_stop.hpp"
#include "actors/automl/job_trial.hpp"
#include "actors/automl/wire.hpp"
#include "actors/models/families.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

using tabular::dataset;

using models::make_trainable;
using models::shared_dataset;
using models::train_context;

namespace {

/// How long a trial waits for its study's answer to a report.
constexpr auto report_timeout = std::chrono::seconds{60};

struct trial_job {
  std::string study;
  trial_id trial = 0;
  uint32_t attempt = 0;
  uint32_t slot = 0;
  config params;
  uint64_t budget = 0;
  uint64_t every = 1;
  std::vector<uint8_t> checkpoint;
  std::string family;
  std::string data_path;
  dataset_ref data; ///< by content when its hash is set
  std::string target;
  std::string task;
  std::string metric;
  uint32_t folds = 0;
  uint64_t seed = 0;
  uint32_t threads = 1;
  double sleep_ms = 0;
  uint64_t patience = 0;
  uint32_t ensemble = 0;
  uint64_t max_resource = 0;
  /// Secondary objectives to measure with each report and at the end.
  std::vector<std::string> objectives;
  /// A trial run as a training job (job_trial.hpp): its gang's nodes, the
  /// job's directory, and a Fashion-MNIST directory and its files.
  std::vector<std::string> gang;
  std::string job_dir;
  std::string images;
  std::vector<std::pair<std::string, dataset_ref>> files;
};

caf::expected<trial_job> parse_job(const envelope& env) {
  return env.visit<schema::TrialAssignment>([](auto a) {
    trial_job j;
    j.study = a.getStudy();
    j.trial = a.getTrial();
    j.attempt = a.getAttempt();
    j.slot = a.getSlot();
    j.params = read_params(a.getParams());
    j.budget = a.getBudget();
    j.every = std::max<uint64_t>(1, a.getEvery());
    auto cp = a.getCheckpoint();
    j.checkpoint.assign(cp.begin(), cp.end());
    j.family = a.getFamily();
    j.data_path = a.getDataPath();
    if (a.hasData()) j.data = read_ref(a.getData());
    j.target = a.getTarget();
    j.task = a.getTask();
    j.metric = a.getMetric();
    j.folds = a.getFolds();
    j.seed = a.getSeed();
    j.threads = std::max<uint32_t>(1, a.getThreads());
    j.sleep_ms = a.getSleepMs();
    j.patience = a.getPatience();
    j.ensemble = a.getEnsemble();
    j.max_resource = a.getMaxResource();
    for (auto name : a.getObjectives())
      j.objectives.emplace_back(name.cStr());
    for (auto node : a.getGang())
      j.gang.emplace_back(node.cStr());
    j.job_dir = a.getJobDir();
    j.images = a.getImages();
    for (auto f : a.getFiles())
      j.files.emplace_back(f.getPath(), read_ref(f.getData()));
    return j;
  });
}

/// The end of a trial, sent to its study.
envelope trial_end(const trial_job& j, schema::TrialEnd::Outcome outcome,
                   uint64_t steps, double value,
                   const std::vector<uint8_t>& checkpoint,
                   const std::string& message, const std::string& node,
                   const std::vector<float>& oof, uint64_t oof_step,
                   const std::vector<double>& objectives,
                   const std::string& job = {}, bool lost = false) {
  return make_envelope<schema::TrialEnd>([&](auto e) {
    e.setJob(job);
    e.setLost(lost);
    e.setStudy(j.study);
    e.setTrial(j.trial);
    e.setAttempt(j.attempt);
    e.setOutcome(outcome);
    e.setSteps(steps);
    e.setValue(value);
    e.setCheckpoint(kj::arrayPtr(checkpoint.data(), checkpoint.size()));
    e.setMessage(message);
    e.setNode(node);
    e.setSlot(j.slot);
    if (!oof.empty()) {
      auto list = e.initOof(static_cast<unsigned>(oof.size()));
      for (unsigned i = 0; i < oof.size(); ++i)
        list.set(i, oof[i]);
      e.setOofStep(oof_step);
    }
    if (!objectives.empty()) {
      auto list = e.initObjectives(static_cast<unsigned>(objectives.size()));
      for (unsigned i = 0; i < objectives.size(); ++i)
        list.set(i, objectives[i]);
    }
  });
}

/// How long a trial waits for its data to reach its node.
constexpr auto fetch_timeout = std::chrono::minutes{30};

/// The local path of `ref`, which this node's dataset cache fetches from
/// `source` unless it holds it.
caf::expected<std::string> fetch_dataset(caf::blocking_actor* self,
                                         const dataset_ref& ref,
                                         const caf::actor& source) {
  auto cache = local_dataset_cache(self->system());
  if (!cache)
    return make_error(errc::not_found, "this node runs no dataset cache");
  caf::expected<std::string> out = caf::error{};
  self->request(cache, fetch_timeout, dataset_fetch_atom::value,
                to_envelope(ref), source)
      .receive([&](std::string& path) { out = std::move(path); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

/// The most out-of-fold values a TrialEnd carries (16 MB): past it, the
/// trial is no ensemble candidate.
constexpr size_t max_oof_values = size_t{1} << 22;

/// A trial's report of its metric (and secondary objectives) at `step`.
envelope report_of(const trial_job& j, uint64_t step, double value,
                   const std::vector<double>& objectives = {}) {
  return make_envelope<schema::TrialReport>([&](auto r) {
    r.setStudy(j.study);
    r.setTrial(j.trial);
    r.setAttempt(j.attempt);
    r.setStep(step);
    r.setValue(value);
    if (!objectives.empty()) {
      auto list = r.initObjectives(static_cast<unsigned>(objectives.size()));
      for (unsigned i = 0; i < objectives.size(); ++i)
        list.set(i, objectives[i]);
    }
  });
}

/// The study's answer to a report: its action and budget, or why none came.
caf::expected<std::pair<schema::TrialDecision::Action, uint64_t>>
ask_study(caf::blocking_actor* self, const caf::actor& study,
          const envelope& report) {
  caf::expected<std::pair<schema::TrialDecision::Action, uint64_t>> out =
      caf::error{};
  self->request(study, report_timeout, report_atom::value, report)
      .receive(
          [&](const envelope& d) {
            out = d.visit<schema::TrialDecision>([](auto r) {
              return std::make_pair(r.getAction(), r.getBudget());
            });
          },
          [&](caf::error& err) { out = std::move(err); });
  return out;
}

/// A trial run as a training job (job_trial.hpp), to its end.
void run_as_job(caf::blocking_actor* self, const trial_job& job,
                const caf::actor& study, const caf::actor& runner,
                const std::atomic<bool>& cancel, const std::string& node,
                const caf::actor& jobs) {
  job_trial_input in;
  in.study = job.study;
  in.trial = job.trial;
  in.attempt = job.attempt;
  in.family = job.family;
  in.params = job.params;
  in.data_path = job.data_path;
  in.data = job.data;
  in.target = job.target;
  in.metric = job.metric;
  in.seed = job.seed;
  in.threads = job.threads;
  in.max_resource = std::max<uint64_t>(1, job.max_resource);
  in.gang = job.gang;
  in.job_dir = job.job_dir;
  in.images = job.images;
  in.files = job.files;
  job_trial_hooks hooks;
  hooks.cancelled = [&] { return cancel.load(); };
  hooks.report = [&](uint64_t step,
                     double value) -> caf::expected<job_trial_answer> {
    auto d = ask_study(self, study, report_of(job, step, value));
    if (!d) return d.error();
    using action = schema::TrialDecision::Action;
    switch (d->first) {
    case action::PROCEED:
      return job_trial_answer::go_on;
    case action::COMPLETE:
      return job_trial_answer::complete;
    case action::PAUSE: // a study of job trials does not pause (validate)
    case action::STOP:
      break;
    }
    return job_trial_answer::stop;
  };
  auto r = run_job_trial(self, jobs, in, hooks);
  using outcome = schema::TrialEnd::Outcome;
  auto o = r.how == job_trial_result::finished    ? outcome::FINISHED
           : r.how == job_trial_result::cancelled ? outcome::CANCELLED
                                                  : outcome::FAILED;
  self->send(study, end_atom::value,
             trial_end(job, o, r.steps, r.value, {}, r.message, node, {}, 0, {},
                       r.job, r.how == job_trial_result::lost));
  self->send(runner, ended_atom::value, job.study, job.trial, job.attempt);
}

/// The body of one trial, on its own detached thread.
void run_trial(caf::blocking_actor* self, trial_job job, caf::actor study,
               caf::actor runner, std::shared_ptr<std::atomic<bool>> cancel,
               std::string node, caf::actor data_source, caf::actor jobs) {
  using outcome = schema::TrialEnd::Outcome;
  uint64_t steps = 0;
  double last = std::nan("");
  auto finish = [&](outcome o, const std::vector<uint8_t>& cp,
                    const std::string& msg,
                    const std::vector<float>& oof = std::vector<float>{},
                    uint64_t oof_step = 0,
                    const std::vector<double>& objectives = {}) {
    self->send(study, end_atom::value,
               trial_end(job, o, steps, last, cp, msg, node, oof, oof_step,
                         objectives));
    self->send(runner, ended_atom::value, job.study, job.trial, job.attempt);
  };
  auto fail = [&](const caf::error& err) {
    finish(outcome::FAILED, {}, describe(err));
  };
  if (!job.gang.empty())
    return run_as_job(self, job, study, runner, *cancel, node, jobs);
  std::shared_ptr<const dataset> data;
  if (models::family_needs_data(job.family)) {
    if (!job.data.hash.empty()) {
      auto path = fetch_dataset(self, job.data, data_source);
      if (!path) return fail(path.error());
      job.data_path = *path;
    }
    auto d = shared_dataset(job.data_path, job.target, job.task);
    if (!d) return fail(d.error());
    data = *d;
  }
  train_context ctx;
  ctx.data = data.get();
  ctx.metric = job.metric;
  ctx.valid.folds = job.folds;
  ctx.valid.seed = job.seed;
  ctx.threads = job.threads;
  ctx.max_resource = job.max_resource;
  ctx.cancel = cancel.get();
  auto tr = make_trainable(job.family, ctx, job.params, job.sleep_ms);
  if (!tr) return fail(tr.error());
  auto& model = **tr;
  if (!job.checkpoint.empty())
    if (auto r = model.restore(job.checkpoint); !r) return fail(r.error());
  steps = model.steps();
  uint64_t target = job.budget;
  auto metric = tabular::find_metric(job.metric);
  early_stop stopper{job.patience,
                     metric && metric->better == tabular::direction::maximize};
  // A multi-objective study's secondary objectives of the model at `step`.
  auto measure = [&](uint64_t step) -> caf::expected<std::vector<double>> {
    std::vector<double> out;
    for (auto& name : job.objectives) {
      auto v = model.objective(name, step);
      if (!v) return v.error();
      out.push_back(*v);
    }
    return out;
  };
  // A finished trial of a study that builds an ensemble sends its
  // out-of-fold predictions at its best step; one of a multi-objective
  // study, its objectives there.
  auto finished = [&] {
    std::vector<float> oof;
    uint64_t at = stopper.seen() ? stopper.best_step() : steps;
    if (job.ensemble > 0 && at > 0) {
      if (auto p = model.out_of_fold(at); p && p->size() <= max_oof_values)
        oof = std::move(*p);
    }
    std::vector<double> objectives;
    if (!job.objectives.empty() && at > 0) {
      auto m = measure(at);
      if (!m) return fail(m.error());
      objectives = std::move(*m);
    }
    return finish(outcome::FINISHED, {}, "", oof, at, objectives);
  };
  for (;;) {
    if (cancel->load()) return finish(outcome::CANCELLED, {}, "cancelled");
    auto next = std::min(target, (model.steps() / job.every + 1) * job.every);
    auto v = model.train_to(next, UINT64_MAX, nullptr);
    if (!v) return fail(v.error());
    steps = model.steps();
    last = *v;
    if (cancel->load()) return finish(outcome::CANCELLED, {}, "cancelled");
    auto objectives = measure(steps);
    if (!objectives) return fail(objectives.error());
    using action = schema::TrialDecision::Action;
    auto decision =
        ask_study(self, study, report_of(job, steps, last, *objectives));
    if (!decision)
      return finish(outcome::FAILED, {},
                    "the study did not answer a report: " +
                        describe(decision.error()));
    auto stop_now = stopper.observe(steps, last);
    switch (decision->first) {
    case action::PROCEED:
      if (stop_now) {
        // no better for `patience` steps: end with the best
        last = stopper.best();
        return finished();
      }
      target = std::max(decision->second, steps + 1);
      continue;
    case action::PAUSE: {
      auto cp = model.checkpoint();
      if (!cp) return fail(cp.error());
      return finish(outcome::PAUSED, *cp, "");
    }
    case action::STOP:
      return finish(outcome::FINISHED, {}, "");
    case action::COMPLETE:
      return finished();
    }
  }
}

struct runner_state {
  /// (study, trial, attempt) -> its cancel flag
  std::map<std::tuple<std::string, trial_id, uint32_t>,
           std::shared_ptr<std::atomic<bool>>>
      running;
  std::shared_ptr<spdlog::logger> log = log::get("automl");
};

/// Starts a trial on its own thread.
caf::result<void> start_trial(trial_runner_self* self, const kind_args& args,
                              runner_state& st, const envelope& env,
                              const caf::actor& data_source,
                              const caf::actor& jobs) {
  auto job = parse_job(env);
  if (!job) return job.error();
  if (!job->data.hash.empty())
    if (auto err = check_ref(job->data)) return err;
  auto study = caf::actor_cast<caf::actor>(self->current_sender());
  if (!study)
    return make_error(errc::invalid_argument,
                      "a trial assignment needs a sender");
  auto flag = std::make_shared<std::atomic<bool>>(false);
  st.running[{job->study, job->trial, job->attempt}] = flag;
  self->system().spawn<caf::detached>(run_trial, std::move(*job), study,
                                      caf::actor_cast<caf::actor>(self), flag,
                                      args.node, data_source, jobs);
  return caf::unit;
}

} // namespace

trial_runner_actor::behavior_type trial_runner(trial_runner_self* self,
                                               kind_args args) {
  auto st = std::make_shared<runner_state>();
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    for (auto& [key, flag] : st->running)
      flag->store(true);
    self->quit(msg.reason);
  });
  self->identify(args);
  return {
      [=](trial_atom, const envelope& env, const caf::actor& data_source,
          const caf::actor& jobs) -> caf::result<void> {
        return start_trial(self, args, *st, env, data_source, jobs);
      },
      [=](cancel_atom, const std::string& study, uint64_t trial) {
        for (auto& [key, flag] : st->running)
          if (std::get<0>(key) == study && std::get<1>(key) == trial)
            flag->store(true);
      },
      [=](ended_atom, const std::string& study, uint64_t trial,
          uint32_t attempt) {
        st->running.erase({study, trial, attempt});
      },
      self->stats_handler(),
  };
}

trial_runner_actor spawn_trial_runner(caf::actor_system& sys, kind_args args) {
  return sys.spawn(trial_runner, std::move(args));
}

} // namespace troupe::automl
