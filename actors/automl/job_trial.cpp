// A trial run as a training job (job_trial.hpp).

#include "actors/automl/job_trial.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/automl/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/training.capnp.h"

namespace troupe::automl {

namespace {

/// The training service's stop op (the runtime's stop atom is the same
/// text: the gateway's `send training stop`).
using job_stop_atom = caf::atom_constant<caf::atom("stop")>;

constexpr auto ask_timeout = std::chrono::seconds{30};
constexpr auto poll_interval = std::chrono::milliseconds{200};
/// Status calls the job may miss in a row before the trial fails.
constexpr int missed_limit = 10;
/// Ids tried when one is taken (a study resumed after its process died).
constexpr int id_tries = 8;

/// A TOML basic string: JSON's escapes are TOML's.
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

/// A TOML value of a parameter: integers as integers, reals with a point.
std::string toml_value(const param_value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    auto s = fmt::format("{}", *d);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
  }
  return quoted(std::get<std::string>(v));
}

/// A job config's sections and their keys, in order.
using sections = std::map<std::string, std::vector<std::string>>;

/// Where each parameter of `family` goes: section and key.
const std::map<std::string, std::pair<std::string, std::string>>&
keys_of(const std::string& family) {
  static const std::map<std::string, std::pair<std::string, std::string>>
      sparse{{"optimizer", {"model", "optimizer"}},
             {"alpha", {"model", "alpha"}},
             {"beta", {"model", "beta"}},
             {"l1", {"model", "l1"}},
             {"l2", {"model", "l2"}},
             {"batch", {"run", "batch"}},
             {"epochs", {"run", "epochs"}},
             {"bits", {"features", "bits"}},
             {"buckets", {"features", "buckets"}}};
  static const std::map<std::string, std::pair<std::string, std::string>> mlp{
      {"layers", {"model", "layers"}},
      {"width", {"model", "width"}},
      {"activation", {"model", "activation"}},
      {"dropout", {"model", "dropout"}},
      {"lr", {"model", "lr"}},
      {"weight_decay", {"model", "weight_decay"}},
      {"batch_size", {"run", "batch"}},
      {"batch", {"run", "batch"}}};
  return family == "mlp" ? mlp : sparse;
}

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

/// `metric` of a JSON object, NaN where it has none.
double metric_of(const nlohmann::json& v, const std::string& metric) {
  return v.is_object() && v.contains(metric) && v[metric].is_number()
             ? v[metric].get<double>()
             : std::nan("");
}

/// The final validation's metric in a finished job's summary.
double final_metric(const std::string& metric, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() && j.contains("valid") ? metric_of(j["valid"], metric)
                                              : std::nan("");
}

struct job_view {
  schema::JobState state = schema::JobState::UNKNOWN;
  std::string message;
  uint64_t steps = 0; ///< steps per worker in the whole job
  std::string summary;
  bool gang_lost = false;
  /// The validations before the end: (job step, metric).
  std::vector<std::pair<uint64_t, double>> history;
};

caf::expected<job_view> view_of(const envelope& env,
                                const std::string& metric) {
  return env.visit<schema::JobStatus>([&](auto s) {
    job_view v;
    v.state = s.getState();
    v.message = s.getMessage();
    v.steps = s.getSteps();
    v.summary = s.getSummary();
    v.gang_lost = s.getGangLost();
    auto log =
        nlohmann::json::parse(std::string{s.getValidHistory()}, nullptr, false);
    if (log.is_array())
      for (auto& h : log)
        if (h.is_object() && h.contains("step") &&
            h["step"].is_number_unsigned() && h.contains("metrics"))
          v.history.emplace_back(h["step"].get<uint64_t>(),
                                 metric_of(h["metrics"], metric));
    return v;
  });
}

envelope job_ref(const std::string& id) {
  return make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
}

/// One call to the training service; its JobStatus answer.
template <class Atom>
caf::expected<envelope> ask(caf::blocking_actor* self, const caf::actor& jobs,
                            Atom op, const envelope& payload) {
  caf::expected<envelope> out = caf::error{};
  self->request(jobs, ask_timeout, op, payload)
      .receive([&](envelope& e) { out = std::move(e); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

envelope submit_envelope(const job_trial_input& in, const std::string& id,
                         const std::string& config) {
  return make_envelope<schema::JobSubmit>([&](auto b) {
    b.setId(id);
    b.setConfig(config);
    b.setOrigin(in.job_dir + "/job.toml");
    b.setOutDir(in.job_dir);
    std::vector<std::pair<std::string, dataset_ref>> data = in.files;
    if (in.images.empty() && !in.data.hash.empty())
      data.emplace_back(in.data_path, in.data);
    auto list = b.initDatasets(static_cast<unsigned>(data.size()));
    for (unsigned i = 0; i < data.size(); ++i) {
      list[i].setPath(data[i].first);
      write_ref(list[i].initData(), data[i].second);
    }
    auto gang = b.initGang(static_cast<unsigned>(in.gang.size()));
    for (unsigned i = 0; i < in.gang.size(); ++i)
      gang.set(i, in.gang[i]);
  });
}

/// The job's id: the study's (cut to fit), the trial and the attempt.
std::string job_id(const job_trial_input& in, int try_no) {
  auto id = in.study.substr(0, 40) + ".t" + std::to_string(in.trial) + ".a" +
            std::to_string(in.attempt);
  if (try_no > 0) id += ".r" + std::to_string(try_no + 1);
  return id;
}

bool already_exists(const caf::error& err) {
  return err.category() == caf::atom("troupe") &&
         err.code() == static_cast<uint8_t>(errc::already_exists);
}

} // namespace

caf::expected<std::string> job_config_text(const job_trial_input& in) {
  if (in.family != "sparse-lr" && in.family != "mlp")
    return invalid("family '" + in.family + "' has no training job");
  auto& keys = keys_of(in.family);
  sections out;
  std::set<std::string> given;
  for (auto& [name, value] : in.params) {
    auto key = name;
    auto prefix = in.family + ".";
    if (key.compare(0, prefix.size(), prefix) == 0)
      key = key.substr(prefix.size());
    auto k = keys.find(key);
    if (k == keys.end()) {
      std::string known;
      for (auto& [n, _] : keys)
        known += (known.empty() ? "" : ", ") + n;
      return invalid("parameter '" + name + "' is not a setting of a " +
                     in.family + " job (" + known + ")");
    }
    auto v = value;
    // a categorical choice of numbers ("128") is a number to the job; only
    // the optimizer and the activation are words
    auto& key_name = k->second.second;
    if (auto* s = std::get_if<std::string>(&v);
        s && key_name != "optimizer" && key_name != "activation") {
      char* end = nullptr;
      errno = 0;
      auto n = std::strtoll(s->c_str(), &end, 10);
      if (!s->empty() && *end == '\0' && errno == 0) {
        v = static_cast<int64_t>(n);
      } else {
        auto d = std::strtod(s->c_str(), &end);
        if (s->empty() || *end != '\0' || !std::isfinite(d))
          return invalid("parameter '" + name + "' = '" + *s +
                         "' is not a number, which " + k->second.first + "." +
                         key_name + " takes");
        v = d;
      }
    }
    if (!given.insert(k->second.first + "." + k->second.second).second)
      return invalid("parameter '" + name + "' sets " + k->second.first + "." +
                     k->second.second + " a second time");
    out[k->second.first].push_back(k->second.second + " = " + toml_value(v));
  }
  auto workers = static_cast<uint64_t>(in.gang.size());
  if (in.family == "sparse-lr") {
    if (workers < 2)
      return invalid("a sparse-lr trial needs a gang of at least 2 slots "
                     "(a shard and a worker), not " +
                     std::to_string(workers));
    workers -= 1;
    out["run"].push_back("shards = 1");
    out["run"].push_back("validations = " + std::to_string(in.max_resource));
  } else {
    if (!given.count("run.epochs"))
      out["run"].push_back("epochs = " + std::to_string(in.max_resource));
    // each epoch validated and reported, so ASHA can prune the job
    out["run"].push_back("valid_every = 1");
    out["run"].push_back("threads = " + std::to_string(in.threads));
  }
  out["run"].push_back("workers = " + std::to_string(workers));
  out["run"].push_back("seed = " + std::to_string(in.seed));
  // the study places a trial again itself: the job neither checkpoints
  // nor regroups
  out["run"].push_back("checkpoint_seconds = 0");
  out["run"].push_back("max_attempts = 1");
  if (!in.images.empty())
    out["data"].insert(out["data"].begin(), "images = " + quoted(in.images));
  else
    out["data"].insert(out["data"].begin(), {"train = " + quoted(in.data_path),
                                             "target = " + quoted(in.target)});
  std::string text = "family = " + quoted(in.family) + "\n";
  for (auto* name : {"data", "features", "model", "run"}) {
    auto s = out.find(name);
    if (s == out.end()) continue;
    text += std::string{"\n["} + name + "]\n";
    for (auto& line : s->second)
      text += line + "\n";
  }
  return text;
}

job_trial_result run_job_trial(caf::blocking_actor* self,
                               const caf::actor& jobs,
                               const job_trial_input& in,
                               const job_trial_hooks& hooks) {
  job_trial_result r;
  r.value = std::nan("");
  auto fail = [&](std::string msg) {
    r.how = job_trial_result::failed;
    r.message = std::move(msg);
    return r;
  };
  if (!jobs) return fail("no training service to run the trial's job");
  auto config = job_config_text(in);
  if (!config) return fail(describe(config.error()));
  // submit, under a new id if a resumed study's attempt took this one
  caf::error refused;
  for (int i = 0; i < id_tries && r.job.empty(); ++i) {
    auto id = job_id(in, i);
    auto got =
        ask(self, jobs, submit_atom::value, submit_envelope(in, id, *config));
    if (got) {
      r.job = id;
    } else if (!already_exists(got.error())) {
      return fail("the training service refused the trial's job: " +
                  describe(got.error()));
    } else {
      refused = got.error();
    }
  }
  if (r.job.empty())
    return fail("the training service refused the trial's job: " +
                describe(refused));
  auto stop_job = [&] {
    (void)ask(self, jobs, job_stop_atom::value, job_ref(r.job));
  };
  uint64_t reported = 0;   // the resource of the last report
  uint64_t valid_seen = 0; // the job step of the last validation reported
  // a validation `at` the job's `step` of `steps`: its share of the
  // trial's resource; the last (max_resource) is the end's
  auto resource_of = [&](uint64_t step, uint64_t steps) -> uint64_t {
    if (steps == 0) return 0;
    return std::min<uint64_t>(
        in.max_resource - 1,
        static_cast<uint64_t>(std::llround(
            static_cast<double>(step) * static_cast<double>(in.max_resource) /
            static_cast<double>(steps))));
  };
  // reports one validation; true when the trial ends here (r is set)
  auto report = [&](uint64_t at, double value, bool done) {
    reported = at;
    r.steps = at;
    r.value = value;
    auto answer = hooks.report(at, value);
    if (!answer) {
      stop_job();
      r = fail("the study did not answer a report: " +
               describe(answer.error()));
      return true;
    }
    if (*answer == job_trial_answer::go_on) return false;
    // pruned, or complete before the job's end as the study says
    if (!done) stop_job();
    r.how = job_trial_result::finished;
    return true;
  };
  int missed = 0;
  for (;;) {
    if (hooks.cancelled()) {
      stop_job();
      r.how = job_trial_result::cancelled;
      r.message = "cancelled";
      return r;
    }
    auto got = ask(self, jobs, status_atom::value, job_ref(r.job));
    auto v =
        got ? view_of(*got, in.metric) : caf::expected<job_view>{got.error()};
    if (!v) {
      if (++missed >= missed_limit) {
        stop_job();
        return fail("job " + r.job + " did not answer: " + describe(v.error()));
      }
      std::this_thread::sleep_for(poll_interval);
      continue;
    }
    missed = 0;
    using st = schema::JobState;
    if (v->state == st::FAILED || v->state == st::STOPPED ||
        v->state == st::UNKNOWN) {
      fail("job " + r.job + ": " + v->message);
      if (v->gang_lost) r.how = job_trial_result::lost;
      return r;
    }
    if (v->state == st::FINISHED) {
      // the validations the polls missed, in order, then the final one
      auto final_value = final_metric(in.metric, v->summary);
      for (auto& [step, value] : v->history) {
        if (step <= valid_seen || std::isnan(value)) continue;
        valid_seen = step;
        auto at = resource_of(step, v->steps);
        if (at > reported && report(at, value, true)) return r;
      }
      // the final validation is the summary's (a NaN fails the trial)
      if (!report(in.max_resource, final_value, true))
        r.how = job_trial_result::finished;
      return r;
    }
    // each validation since the last poll, in order
    for (auto& [step, value] : v->history) {
      if (step <= valid_seen || std::isnan(value)) continue;
      valid_seen = step;
      auto at = resource_of(step, v->steps);
      if (at > reported && report(at, value, false)) return r;
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

} // namespace troupe::automl
