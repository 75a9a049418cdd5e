// Trials run as training jobs: the job config a trial's configuration
// becomes (read back by the training family's own parser), and the checks a
// study of job trials gets.

#include <catch2/catch.hpp>

#include "actors/automl/job_trial.hpp"
#include "actors/automl/study_spec.hpp"
#include "actors/training/job_config.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::automl;

namespace {

job_trial_input sparse_input() {
  job_trial_input in;
  in.study = "s";
  in.family = "sparse-lr";
  in.params = {{"alpha", 0.25}, {"sparse-lr.l1", 1e-3}, {"l2", 2.0}};
  in.data_path = "/data/with \"quote\".csv";
  in.target = "clicked";
  in.metric = "auc";
  in.seed = 7;
  in.max_resource = 9;
  in.gang = {"head", "w1", "w2"};
  in.job_dir = "/out/s/trials/0";
  return in;
}

study_spec job_spec(const std::string& family, uint32_t workers) {
  study_spec s;
  s.id = "s";
  s.family = family;
  s.data_path = "/data/x.csv";
  s.target = "y";
  s.metric = "auc";
  s.maximize = true;
  s.max_resource = 9;
  s.min_resource = 1;
  s.every = 1;
  s.workers_per_trial = workers;
  return s;
}

} // namespace

TEST_CASE("a sparse-lr trial's configuration becomes a job config the "
          "training family reads back",
          "[automl][job-trial]") {
  auto text = job_config_text(sparse_input());
  REQUIRE(text);
  auto cfg = training::parse_job_config(*text, "/out/s/trials/0/job.toml");
  INFO(*text);
  REQUIRE(cfg);
  CHECK(cfg->family == "sparse-lr");
  CHECK(cfg->train == "/data/with \"quote\".csv");
  CHECK(cfg->target == "clicked");
  CHECK(cfg->model.alpha == 0.25);
  CHECK(cfg->model.l1 == 1e-3);
  CHECK(cfg->model.l2 == 2.0);
  // a gang of 3: one shard and two workers
  CHECK(cfg->shards == 1);
  CHECK(cfg->workers == 2);
  CHECK(cfg->validations == 9);
  CHECK(cfg->seed == 7);
  CHECK(cfg->max_attempts == 1);
  CHECK(cfg->checkpoint_seconds == 0);
}

TEST_CASE("an mlp trial's configuration becomes a data-parallel job of its "
          "gang's workers, its epochs the study's full budget",
          "[automl][job-trial]") {
  job_trial_input in;
  in.family = "mlp";
  in.params = {{"mlp.layers", int64_t{3}},
               {"width", int64_t{48}},
               {"activation", std::string{"gelu"}},
               {"dropout", 0.1},
               {"lr", 0.003},
               {"weight_decay", 1e-5},
               {"batch_size", std::string{"128"}}};
  in.data_path = "/data/x.csv";
  in.target = "y";
  in.max_resource = 6;
  in.threads = 2;
  in.gang = {"a", "b"};
  auto text = job_config_text(in);
  REQUIRE(text);
  auto cfg = training::parse_job_config(*text, "job.toml");
  INFO(*text);
  REQUIRE(cfg);
  CHECK(cfg->family == "mlp");
  CHECK(cfg->net.layers == 3);
  CHECK(cfg->net.width == 48);
  CHECK(cfg->net.activation == "gelu");
  CHECK(cfg->net.dropout == 0.1);
  CHECK(cfg->net.lr == 0.003);
  CHECK(cfg->net.weight_decay == 1e-5);
  CHECK(cfg->batch == 128);
  CHECK(cfg->workers == 2);
  CHECK(cfg->epochs == 6);
  CHECK(cfg->threads == 2);
}

TEST_CASE("a job trial's configuration with a parameter its job has no "
          "setting for is refused, naming it",
          "[automl][job-trial]") {
  auto in = sparse_input();
  in.params["max_depth"] = int64_t{6};
  auto text = job_config_text(in);
  REQUIRE_FALSE(text);
  CHECK_THAT(describe(text.error()),
             Catch::Contains("'max_depth'") && Catch::Contains("alpha"));
  in = sparse_input();
  in.params["sparse-lr.alpha"] = 0.5; // and "alpha": the same key twice
  text = job_config_text(in);
  REQUIRE_FALSE(text);
  CHECK_THAT(describe(text.error()), Catch::Contains("model.alpha"));
  in = sparse_input();
  in.gang = {"head"}; // no room for a worker beside the shard
  text = job_config_text(in);
  REQUIRE_FALSE(text);
  CHECK_THAT(describe(text.error()), Catch::Contains("at least 2 slots"));
}

TEST_CASE("studies of trials run as jobs lease gangs, and are checked for "
          "what a job trial cannot do",
          "[automl][job-trial]") {
  CHECK(trial_job_family(job_spec("sparse-lr", 0)) == "sparse-lr");
  CHECK(trial_gang_size(job_spec("sparse-lr", 0)) == 2);
  CHECK(trial_gang_size(job_spec("sparse-lr", 3)) == 4);
  CHECK(trial_job_family(job_spec("mlp", 1)).empty());
  CHECK(trial_gang_size(job_spec("mlp", 1)) == 1);
  CHECK(trial_job_family(job_spec("mlp", 2)) == "mlp");
  CHECK(trial_gang_size(job_spec("mlp", 2)) == 2);
  CHECK(trial_gang_size(job_spec("xgboost", 0)) == 1);
  CHECK_FALSE(validate(job_spec("sparse-lr", 1)));
  auto refused = [](study_spec s, const std::string& what) {
    auto err = validate(s);
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains(what));
  };
  refused(job_spec("xgboost", 2), "workers_per_trial 2");
  auto s = job_spec("sparse-lr", 1);
  s.scheduler = "hyperband";
  refused(s, "pauses trials");
  s = job_spec("sparse-lr", 1);
  s.test_path = "/data/test.csv";
  refused(s, "drop --test");
  s = job_spec("sparse-lr", 1);
  s.metric = "rmse";
  refused(s, "auc, logloss or ks");
  s = job_spec("sparse-lr", 1);
  s.objectives = {"latency"};
  refused(s, "metric only");
  // the spec keeps its workers per trial through its Cap'n Proto form
  auto back = spec_from(to_envelope(job_spec("mlp", 3)));
  REQUIRE(back);
  CHECK(back->workers_per_trial == 3);
}
