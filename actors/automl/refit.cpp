#include "actors/automl/refit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "actors/models/ensemble.hpp"
#include "actors/models/families.hpp"
#include "actors/models/model_choice.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/stacking.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::automl {

using models::family_list;
using models::save_model;
using models::shared_dataset;
using tabular::evaluate;
using tabular::is_classification;
using tabular::model_info;
using tabular::read_csv;

namespace {

nlohmann::json number_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

/// A trial's objectives by name ({"auc": 0.83, "model-size": 5120}).
nlohmann::json objectives_json(const study_spec& s, const trial_info& t) {
  nlohmann::json o = nlohmann::json::object();
  o[s.metric] = number_or_null(t.score());
  auto& sec = t.secondary();
  for (size_t k = 0; k < s.objectives.size(); ++k)
    o[s.objectives[k]] =
        k < sec.size() ? number_or_null(sec[k]) : nlohmann::json(nullptr);
  return o;
}

} // namespace

namespace {

/// The most candidates a stacker combines: the best ones, by CV score. A
/// stacker weights every member it is given, and each is refit on all the
/// data, so more would cost refits for what a ridge penalty shrinks away.
constexpr size_t max_stacked = 8;

/// What the refit saves: members (candidate index, weight) and, for a
/// stacked ensemble, its stacker over them in their order; no members: the
/// best trial alone.
struct ensemble_plan {
  std::vector<std::pair<size_t, double>> members;
  std::optional<models::stacking_choice> stack;
};

/// Selects the ensemble of `candidates` on the training labels (and, with
/// the stacking method, a stacker over the best of them); the refit's
/// summary of it goes to `out.ensemble`.
caf::expected<ensemble_plan>
choose_ensemble(const study_spec& spec, const models::dataset& data,
                const std::vector<refit_candidate>& candidates,
                refit_result& out) {
  std::vector<models::ensemble_candidate> oof;
  for (auto& c : candidates)
    oof.push_back({c.oof});
  auto classes = is_classification(data.task) ? data.classes.size() : 0;
  auto choice =
      models::select_ensemble(oof, data.X.labels, spec.metric, classes);
  if (!choice) return choice.error();
  auto better = [&](double a, double b) {
    return spec.maximize ? a > b : a < b;
  };
  // a member as the summary lists it
  auto member_json = [&](const refit_candidate& c, double weight) {
    auto f = c.params.find(models::family_key);
    return nlohmann::json{{"trial", c.trial},
                          {"family", f != c.params.end()
                                         ? tabular::to_string(f->second)
                                         : family_list(spec.family).front()},
                          {"weight", weight},
                          {"rounds", c.rounds},
                          {"cv_score", number_or_null(c.cv_score)}};
  };
  ensemble_plan plan;
  auto list = nlohmann::json::array();
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (choice->weights[i] <= 0) continue;
    plan.members.emplace_back(i, choice->weights[i]);
    list.push_back(member_json(candidates[i], choice->weights[i]));
  }
  bool used =
      plan.members.size() >= 2 && better(choice->score, choice->best_single);
  out.ensemble = {
      {"method", "caruana"},
      {"candidates", candidates.size()},
      {"members", std::move(list)},
      {"oof_score", number_or_null(choice->score)},
      {"best_single_oof_score", number_or_null(choice->best_single)},
      {"best_single_trial", candidates[choice->best_index].trial},
      {"rows", choice->rows},
      {"rounds", choice->rounds},
      {"kept_round", choice->kept_round},
      {"used", used}};
  if (!used) plan.members.clear();
  if (spec.ensemble_method != "stacking") return plan;

  // Stacking: a stacker over the best distinct candidates (a configuration
  // drawn twice gives the same predictions, a column the stacker cannot
  // use and a refit for nothing), kept when its cross-fitted score beats
  // what Caruana's selection keeps.
  std::vector<size_t> picked;
  std::vector<models::ensemble_candidate> best;
  for (size_t i = 0; i < candidates.size() && picked.size() < max_stacked;
       ++i) {
    bool same = false;
    for (auto j : picked)
      same = same || candidates[j].oof == candidates[i].oof;
    if (same) continue;
    picked.push_back(i);
    best.push_back(oof[i]);
  }
  if (picked.size() < 2) return plan;
  auto stack = models::select_stacker(best, data.X.labels, spec.metric,
                                      data.task, classes, spec.seed);
  if (!stack) { // too few rows to cross-fit, say: Caruana's choice stands
    out.ensemble["stacking"] = {{"error", describe(stack.error())},
                                {"used", false}};
    return plan;
  }
  auto kept = used ? choice->score : choice->best_single;
  bool stacked = better(stack->score, kept);
  auto members = nlohmann::json::array();
  for (auto i : picked)
    members.push_back(
        member_json(candidates[i], 1.0 / static_cast<double>(picked.size())));
  out.ensemble["stacking"] = {{"oof_score", number_or_null(stack->score)},
                              {"alpha", stack->alpha},
                              {"rows", stack->rows},
                              {"members", std::move(members)},
                              {"used", stacked}};
  if (!stacked) return plan;
  out.ensemble["method"] = "stacking";
  out.ensemble["caruana_oof_score"] = out.ensemble["oof_score"];
  out.ensemble["used"] = true;
  out.ensemble["oof_score"] = number_or_null(stack->score);
  out.ensemble["members"] = out.ensemble["stacking"]["members"];
  plan.members.clear();
  for (auto i : picked)
    plan.members.emplace_back(i, 1.0 / static_cast<double>(picked.size()));
  plan.stack = std::move(*stack);
  return plan;
}

/// A study of trials run as jobs: its best trial's job already trained the
/// model on the training split: its files (OUT/STUDY/trials/ID) are copied
/// to OUT/STUDY/best.
caf::expected<refit_result> keep_job_model(const std::string& out_dir,
                                           trial_id trial) {
  namespace fs = std::filesystem;
  refit_result out;
  fs::path from = out_dir + "/trials/" + std::to_string(trial);
  fs::path to = out_dir + "/best";
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  if (ec) return io_error("create the directory", to, ec.value());
  bool any = false;
  for (auto it = fs::directory_iterator(from, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file()) continue;
    fs::copy_file(it->path(), to / name, fs::copy_options::overwrite_existing,
                  ec);
    if (ec) return io_error("copy", it->path(), ec.value());
    any = true;
  }
  if (ec) return io_error("read", from, ec.value());
  if (!any)
    return make_error(errc::not_found, "trial " + std::to_string(trial) +
                                           "'s job left no model in " +
                                           from.string());
  out.model_dir = to.string();
  return out;
}

} // namespace

caf::expected<refit_result>
refit_best(const study_spec& spec, const config& params, uint64_t rounds,
           double cv_score, trial_id trial, const std::string& out_dir,
           size_t threads, const std::vector<refit_candidate>& candidates) {
  refit_result out;
  if (!models::family_needs_data(spec.family)) return out;
  if (!trial_job_family(spec).empty()) return keep_job_model(out_dir, trial);
  auto data = shared_dataset(spec.data_path, spec.target, spec.task);
  if (!data) return data.error();
  ensemble_plan plan;
  if (spec.ensemble > 1 && candidates.size() >= 2) {
    auto chosen = choose_ensemble(spec, **data, candidates, out);
    if (!chosen) return chosen.error();
    plan = std::move(*chosen);
  }
  auto& members = plan.members;
  model_info info;
  info.task = (*data)->task;
  info.target = spec.target;
  info.metric = spec.metric;
  info.cv_score = cv_score;
  info.params = params;
  info.rounds = rounds;
  info.study = spec.id;
  info.trial = trial;
  auto dir = out_dir + "/best";
  // (configuration, study steps, cv score, trial, weight) of each member
  struct chosen {
    const config* params;
    uint64_t rounds;
    double cv_score;
    trial_id trial;
    double weight;
  };
  std::vector<chosen> picks;
  if (members.empty()) {
    picks.push_back({&params, rounds, cv_score, trial, 1.0});
  } else {
    for (auto& [index, weight] : members) {
      auto& c = candidates[index];
      picks.push_back({&c.params, c.rounds, c.cv_score, c.trial, weight});
    }
    info.cv_score =
        out.ensemble["oof_score"].is_number()
            ? std::optional<double>{out.ensemble["oof_score"].get<double>()}
            : std::nullopt;
  }
  std::vector<models::fitted_member> fitted;
  fitted.reserve(picks.size());
  bool plain_xgboost = true;
  for (auto& p : picks) {
    auto m = models::refit_member(**data, spec.family, *p.params, p.rounds,
                                  spec.max_resource, threads, spec.seed);
    if (!m) return m.error();
    plain_xgboost = plain_xgboost && m->booster() && m->pipeline().identity();
    fitted.push_back(std::move(*m));
  }
  auto member_info = [&](size_t i) {
    tabular::ensemble_member m;
    m.weight = picks[i].weight;
    m.params = *picks[i].params;
    m.cv_score = picks[i].cv_score;
    m.trial = picks[i].trial;
    return m;
  };
  if (plain_xgboost && members.empty() && !plan.stack) {
    if (auto err = save_model(dir, *fitted[0].booster(), (*data)->prep, info))
      return err;
  } else if (plain_xgboost && !plan.stack) {
    std::vector<models::saved_member> saved;
    for (size_t i = 0; i < fitted.size(); ++i)
      saved.push_back({fitted[i].booster(), member_info(i)});
    if (auto err = models::save_ensemble(dir, saved, (*data)->prep, info))
      return err;
  } else {
    std::vector<models::member_to_save> saved;
    for (size_t i = 0; i < fitted.size(); ++i)
      saved.push_back({&fitted[i], member_info(i)});
    if (auto err = models::save_members(dir, saved, (*data)->prep, info,
                                        plan.stack ? &*plan.stack : nullptr))
      return err;
  }
  out.model_dir = std::filesystem::absolute(dir).lexically_normal().string();
  if (spec.test_path.empty()) return out;
  // Scored as `troupe predict` scores: the saved model, read back.
  auto saved = models::saved_model::load(out.model_dir);
  if (!saved) return saved.error();
  auto t = read_csv(spec.test_path);
  if (!t) return t.error();
  std::vector<std::string> warnings;
  auto m = (*data)->prep.transform_labeled(*t, warnings);
  if (!m) return m.error();
  auto pred = saved->scores(*m);
  if (!pred) return pred.error();
  auto classes = is_classification((*data)->task) ? (*data)->classes.size() : 0;
  auto score = evaluate(spec.metric, m->labels, *pred, classes);
  if (!score) return score.error();
  out.test_score = *score;
  return out;
}

nlohmann::json study_summary(const study_core& core, const refit_result& r,
                             int64_t elapsed_ms, const std::string& error) {
  auto& s = core.spec();
  auto c = core.counts();
  nlohmann::json j;
  j["format"] = "troupe.study-summary";
  j["version"] = 1;
  j["study"] = s.id;
  j["family"] = s.family;
  j["data"] = s.data_path;
  j["target"] = s.target;
  j["task"] = s.task;
  j["test"] = s.test_path.empty() ? nlohmann::json(nullptr)
                                  : nlohmann::json(s.test_path);
  j["metric"] = s.metric;
  j["direction"] = s.maximize ? "maximize" : "minimize";
  j["objectives"] = objective_names(s);
  j["sampler"] = s.sampler;
  j["scheduler"] = s.scheduler;
  j["validation"] = s.folds >= 2 ? std::to_string(s.folds) + "-fold"
                                 : std::string{"holdout 25%"};
  j["seed"] = s.seed;
  j["budget_ms"] = s.budget_ms;
  j["max_trials"] = s.max_trials;
  j["elapsed_ms"] = elapsed_ms;
  j["stopped_because"] = core.stop_reason();
  j["trials"] = {{"total", c.total},       {"complete", c.complete},
                 {"pruned", c.pruned},     {"failed", c.failed},
                 {"requeued", c.requeued}, {"paused", c.paused}};
  auto best = core.chosen();
  if (best) {
    auto& t = core.trials()[*best];
    double cv = t.score();
    j["best"] = {{"trial", *best},
                 {"state", to_string(t.rec.state)},
                 {"config", to_json(t.rec.params)},
                 {"rounds", core.best_step(*best)},
                 {"cv_score", number_or_null(cv)}};
    if (core.multi()) {
      j["best"]["objectives"] = objectives_json(s, t);
      j["best"]["chosen_by"] =
          "the Pareto front's best " + s.metric +
          " (a multi-objective study saves one trial of its front; no "
          "ensemble)";
    }
  } else {
    j["best"] = nullptr;
  }
  j["test_score"] =
      r.test_score ? nlohmann::json(*r.test_score) : nlohmann::json(nullptr);
  j["model_dir"] = r.model_dir.empty() ? nlohmann::json(nullptr)
                                       : nlohmann::json(r.model_dir);
  j["error"] = error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error);
  auto board = nlohmann::json::array();
  auto ids = core.leaderboard();
  for (size_t i = 0; i < ids.size() && i < 20; ++i) {
    auto& t = core.trials()[ids[i]];
    double v = t.score();
    board.push_back({{"trial", ids[i]},
                     {"state", to_string(t.rec.state)},
                     {"value", number_or_null(v)},
                     {"steps", t.steps},
                     {"config", to_json(t.rec.params)}});
    if (core.multi()) board.back()["objectives"] = objectives_json(s, t);
  }
  j["leaderboard"] = std::move(board);
  if (core.multi()) {
    auto front = nlohmann::json::array();
    for (auto id : core.pareto_front()) {
      auto& t = core.trials()[id];
      front.push_back({{"trial", id},
                       {"objectives", objectives_json(s, t)},
                       {"steps", t.steps},
                       {"config", to_json(t.rec.params)}});
    }
    j["pareto_front"] = std::move(front);
  } else {
    j["pareto_front"] = nullptr;
  }
  j["ensemble"] = r.ensemble.is_null() ? nlohmann::json(nullptr) : r.ensemble;
  j["warm_start"] =
      r.warm_start.is_null() ? nlohmann::json(nullptr) : r.warm_start;
  return j;
}

} // namespace troupe::automl
