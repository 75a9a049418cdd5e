// A study's spec: its Cap'n Proto form (schema::StudySpec) and its checks
// (see study_spec.hpp).

#include "actors/automl/study_spec.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "actors/automl/cash_space.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

using tabular::find_metric;

namespace {

std::string fmt_double(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

bool is_id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
         c == '.';
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    auto item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

} // namespace

const std::vector<std::string>& secondary_objectives() {
  static const std::vector<std::string> names{"latency", "model-size"};
  return names;
}

std::vector<std::string> objective_names(const study_spec& s) {
  std::vector<std::string> out{s.metric};
  out.insert(out.end(), s.objectives.begin(), s.objectives.end());
  return out;
}

caf::error set_objectives(study_spec& s, const std::string& list) {
  auto names = split_list(list);
  auto fail = [&](const std::string& what) {
    return make_error(errc::invalid_argument,
                      "--objectives '" + list + "': " + what);
  };
  auto& known = secondary_objectives();
  auto known_text = [&] {
    std::string out;
    for (auto& k : known)
      out += (out.empty() ? "" : " or ") + k;
    return out;
  };
  for (size_t i = 0; i < names.size(); ++i) {
    auto& n = names[i];
    if (n.empty())
      return fail("objective " + std::to_string(i + 1) + " is empty");
    for (size_t j = 0; j < i; ++j)
      if (names[j] == n) return fail("objective '" + n + "' is named twice");
    bool secondary = std::find(known.begin(), known.end(), n) != known.end();
    if (i == 0) {
      if (secondary)
        return fail("the first objective is the study's metric (auc, "
                    "logloss, accuracy, rmse, mae or ks), not '" +
                    n + "'");
      if (auto m = find_metric(n); !m)
        return fail("unknown objective '" + n +
                    "': the first is a metric (auc, logloss, accuracy, rmse, "
                    "mae or ks)");
    } else if (!secondary) {
      return fail("unknown objective '" + n + "': after the metric, use " +
                  known_text());
    }
  }
  s.metric = names[0];
  s.objectives.assign(names.begin() + 1, names.end());
  return caf::none;
}

envelope to_envelope(const study_spec& s) {
  return make_envelope<schema::StudySpec>([&](auto b) {
    b.setId(s.id);
    b.setDataPath(s.data_path);
    b.setTarget(s.target);
    b.setTestPath(s.test_path);
    b.setMetric(s.metric);
    b.setMaximize(s.maximize);
    b.setSampler(s.sampler);
    b.setScheduler(s.scheduler);
    b.setBudgetMs(s.budget_ms);
    b.setMaxTrials(s.max_trials);
    b.setSeed(s.seed);
    b.setSpace(s.space);
    b.setTask(s.task);
    b.setCreatedMs(s.created_ms);
    if (!s.data.hash.empty()) write_ref(b.initData(), s.data);
    if (!s.test.hash.empty()) write_ref(b.initTest(), s.test);
    auto files = b.initFiles(static_cast<unsigned>(s.files.size()));
    for (unsigned i = 0; i < s.files.size(); ++i) {
      files[i].setPath(s.files[i].first);
      write_ref(files[i].initData(), s.files[i].second);
    }
    std::vector<std::pair<std::string, std::string>> opts{
        {"family", s.family},
        {"folds", std::to_string(s.folds)},
        {"max_resource", std::to_string(s.max_resource)},
        {"min_resource", std::to_string(s.min_resource)},
        {"eta", std::to_string(s.eta)},
        {"every", std::to_string(s.every)},
        {"patience", std::to_string(s.patience)},
        {"ensemble", std::to_string(s.ensemble)},
        {"ensemble_method", s.ensemble_method},
        {"warm_start", s.warm_start ? "1" : "0"},
        {"derived_from", s.derived_from},
        {"threads", std::to_string(s.threads)},
        {"out_dir", s.out_dir},
        {"space_format", s.space_format},
        {"sleep_ms", fmt_double(s.sleep_ms)},
        {"weight", fmt_double(s.weight)},
        {"priority", std::to_string(s.priority)},
        {"preemptible", s.preemptible ? "1" : "0"},
        {"workers_per_trial", std::to_string(s.workers_per_trial)},
        {"images", s.images},
    };
    if (!s.objectives.empty())
      opts.emplace_back("objectives", join(s.objectives));
    auto list = b.initOptions(static_cast<unsigned>(opts.size()));
    for (unsigned i = 0; i < opts.size(); ++i) {
      list[i].setKey(opts[i].first);
      list[i].setValue(opts[i].second);
    }
  });
}

caf::expected<study_spec> spec_from(const envelope& env) {
  caf::error bad;
  auto r = env.visit<schema::StudySpec>([&](auto b) {
    study_spec s;
    s.id = b.getId();
    s.data_path = b.getDataPath();
    s.target = b.getTarget();
    s.test_path = b.getTestPath();
    s.metric = b.getMetric();
    s.maximize = b.getMaximize();
    s.sampler = b.getSampler();
    s.scheduler = b.getScheduler();
    s.budget_ms = b.getBudgetMs();
    s.max_trials = b.getMaxTrials();
    s.seed = b.getSeed();
    s.space = b.getSpace();
    s.task = b.getTask();
    s.created_ms = b.getCreatedMs();
    if (b.hasData()) s.data = read_ref(b.getData());
    if (b.hasTest()) s.test = read_ref(b.getTest());
    for (auto f : b.getFiles())
      s.files.emplace_back(f.getPath(), read_ref(f.getData()));
    for (auto kv : b.getOptions()) {
      std::string k = kv.getKey();
      std::string v = kv.getValue();
      auto number = [&](auto& out) {
        using T = std::decay_t<decltype(out)>;
        auto bad_number = [&] {
          bad = make_error(errc::invalid_argument,
                           "study spec option '" + k + "' = '" + v +
                               "' is not an integer in [0, " +
                               std::to_string(std::numeric_limits<T>::max()) +
                               "]");
        };
        if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) {
              return c >= '0' && c <= '9';
            }))
          return bad_number();
        errno = 0;
        auto x = std::strtoull(v.c_str(), nullptr, 10);
        if (errno == ERANGE || x > std::numeric_limits<T>::max())
          return bad_number();
        out = static_cast<T>(x);
      };
      auto real = [&](double& out) {
        char* end = nullptr;
        errno = 0;
        auto x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
          bad = make_error(errc::invalid_argument,
                           "study spec option '" + k + "' = '" + v +
                               "' is not a finite number");
        else
          out = x;
      };
      if (k == "family")
        s.family = v;
      else if (k == "folds")
        number(s.folds);
      else if (k == "max_resource")
        number(s.max_resource);
      else if (k == "min_resource")
        number(s.min_resource);
      else if (k == "eta")
        number(s.eta);
      else if (k == "every")
        number(s.every);
      else if (k == "patience")
        number(s.patience);
      else if (k == "ensemble")
        number(s.ensemble);
      else if (k == "ensemble_method")
        s.ensemble_method = v;
      else if (k == "warm_start") {
        if (v != "0" && v != "1")
          bad = make_error(errc::invalid_argument,
                           "study spec option 'warm_start' = '" + v +
                               "' is not 0 or 1");
        s.warm_start = v == "1";
      } else if (k == "derived_from")
        s.derived_from = v;
      else if (k == "threads")
        number(s.threads);
      else if (k == "workers_per_trial")
        number(s.workers_per_trial);
      else if (k == "images")
        s.images = v;
      else if (k == "out_dir")
        s.out_dir = v;
      else if (k == "space_format")
        s.space_format = v;
      else if (k == "sleep_ms")
        real(s.sleep_ms);
      else if (k == "weight")
        real(s.weight);
      else if (k == "priority") {
        double p = 0;
        real(p);
        if (p != std::floor(p) || std::abs(p) > 1e6)
          bad = make_error(errc::invalid_argument,
                           "study spec option 'priority' = '" + v +
                               "' is not an integer");
        s.priority = static_cast<int>(p);
      } else if (k == "preemptible") {
        if (v != "0" && v != "1")
          bad = make_error(errc::invalid_argument,
                           "study spec option 'preemptible' = '" + v +
                               "' is not 0 or 1");
        s.preemptible = v == "1";
      } else if (k == "objectives")
        s.objectives = v.empty() ? std::vector<std::string>{} : split_list(v);
      else
        bad = make_error(errc::invalid_argument,
                         "study spec has an unknown option '" + k + "'");
    }
    return s;
  });
  if (!r) return r.error();
  if (bad) return bad;
  return std::move(*r);
}

caf::error validate(const study_spec& s) {
  auto fail = [](const std::string& what) {
    return make_error(errc::invalid_argument, "study: " + what);
  };
  if (s.id.empty() || s.id.size() > 64 ||
      !std::all_of(s.id.begin(), s.id.end(), is_id_char) || s.id[0] == '.')
    return fail("id '" + s.id +
                "' is invalid: use 1-64 characters from [A-Za-z0-9._-]");
  for (auto* ref : {&s.data, &s.test})
    if (!ref->hash.empty())
      if (auto err = check_ref(*ref)) return fail(describe(err));
  auto job = trial_job_family(s);
  if (s.workers_per_trial > 64)
    return fail("workers_per_trial " + std::to_string(s.workers_per_trial) +
                " is more than 64");
  if (s.workers_per_trial > 1 && job.empty())
    return fail("workers_per_trial " + std::to_string(s.workers_per_trial) +
                ": family '" + s.family +
                "' trains each trial on one slot (multi-worker trials: "
                "sparse-lr or mlp)");
  if (!job.empty()) {
    if (s.scheduler != "asha" && s.scheduler != "median" &&
        s.scheduler != "none")
      return fail("scheduler '" + s.scheduler + "' pauses trials, which a " +
                  job +
                  " trial run as a training job cannot: use asha, median or "
                  "none");
    if (!s.test_path.empty())
      return fail("a study of " + job +
                  " trials run as training jobs keeps its best trial's model, "
                  "validated on the job's holdout; it scores no test file "
                  "(drop --test)");
    if (!s.objectives.empty())
      return fail("a " + job +
                  " trial run as a training job measures the metric only, "
                  "not " +
                  join(s.objectives));
  }
  for (auto& [path, ref] : s.files)
    if (auto err = check_ref(ref)) return fail(path + ": " + describe(err));
  if (!s.images.empty()) {
    if (job != "mlp")
      return fail("images '" + s.images +
                  "': Fashion-MNIST trains mlp trials run as jobs (--family "
                  "mlp --workers-per-trial N, N >= 2)");
    if (s.metric != "accuracy" && s.metric != "logloss")
      return fail("metric '" + s.metric +
                  "': a study on Fashion-MNIST measures accuracy or logloss");
  } else if (s.family == "sparse-lr") {
    if (s.data_path.empty()) return fail("no training data (--data)");
    if (s.target.empty()) return fail("no target column (--target)");
    if (s.metric != "auc" && s.metric != "logloss" && s.metric != "ks")
      return fail("metric '" + s.metric +
                  "': a sparse-lr study measures auc, logloss or ks");
  } else if (s.family != "quadratic") {
    auto families = resolve_families(s.family);
    if (!families) return fail(describe(families.error()));
    if (*families != s.family)
      return fail("family '" + s.family + "' is not in its resolved form '" +
                  *families + "'");
    if (s.data_path.empty()) return fail("no training data (--data)");
    if (s.target.empty()) return fail("no target column (--target)");
    if (auto m = find_metric(s.metric); !m) return fail(describe(m.error()));
  }
  if (s.sampler != "tpe" && s.sampler != "random")
    return fail("sampler '" + s.sampler + "' is not tpe or random");
  if (s.scheduler != "asha" && s.scheduler != "hyperband" &&
      s.scheduler != "bohb" && s.scheduler != "pbt" &&
      s.scheduler != "median" && s.scheduler != "none")
    return fail("scheduler '" + s.scheduler +
                "' is not asha, hyperband, bohb, pbt, median or none");
  if (s.ensemble_method != "caruana" && s.ensemble_method != "stacking")
    return fail("ensemble method '" + s.ensemble_method +
                "' is not caruana or stacking");
  if (s.max_resource == 0) return fail("max_resource must be >= 1");
  if (s.min_resource == 0 || s.min_resource > s.max_resource)
    return fail("min_resource must be in [1, max_resource]");
  if (s.eta < 2) return fail("eta must be >= 2");
  if (s.every == 0) return fail("every must be >= 1");
  if (s.folds == 1 || s.folds > 20) return fail("folds must be 0 or 2..20");
  if (s.space_format != "json" && s.space_format != "toml")
    return fail("space format '" + s.space_format + "' is not json or toml");
  if (!(s.sleep_ms >= 0)) return fail("sleep_ms must be >= 0");
  if (!(s.weight > 0)) return fail("weight must be > 0");
  auto& known = secondary_objectives();
  for (size_t i = 0; i < s.objectives.size(); ++i) {
    auto& o = s.objectives[i];
    if (std::find(known.begin(), known.end(), o) == known.end())
      return fail("unknown objective '" + o +
                  "' (after the metric: latency "
                  "or model-size)");
    if (std::find(s.objectives.begin(), s.objectives.begin() + i, o) !=
        s.objectives.begin() + i)
      return fail("objective '" + o + "' is named twice");
  }
  if (!s.objectives.empty() && s.scheduler != "asha" && s.scheduler != "none")
    return fail("scheduler '" + s.scheduler +
                "' judges one objective: a multi-objective study (objectives " +
                join(objective_names(s)) + ") needs asha or none");
  return caf::none;
}

std::string trial_job_family(const study_spec& s) {
  if (s.family == "sparse-lr") return s.family;
  if (s.family == "mlp" && s.workers_per_trial >= 2) return s.family;
  return {};
}

uint32_t trial_gang_size(const study_spec& s) {
  auto workers = std::max<uint32_t>(1, s.workers_per_trial);
  if (s.family == "sparse-lr") return workers + 1; // and one shard
  return trial_job_family(s).empty() ? 1 : workers;
}

} // namespace troupe::automl
