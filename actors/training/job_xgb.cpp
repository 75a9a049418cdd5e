// A data-parallel XGBoost job's plan (job_run.hpp): the coordinator reads
// the table once, fits the preprocessor (so categorical columns reach
// XGBoost as categories) and runs a rabit tracker; each slot of the gang
// gets a training.xgb_worker and a contiguous block of the training rows,
// written as a shard that the worker's node fetches through the dataset
// caches (job_run.hpp, train_parts).
// The workers boost one model together (xgb_parallel.hpp); the first
// reports each round and sends the model every checkpoint_seconds, which
// the coordinator keeps in the journal. A lost worker regroups the job:
// the new gang gets new blocks of the rows and continues from the last
// checkpoint's model. At the end the model is validated and saved as a
// model directory (OUT/model) that `troupe serve` and `troupe predict`
// load.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/saved_model.hpp"
#include "actors/models/trainable.hpp"
#include "actors/models/xgb_data.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/rabit_tracker.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "actors/training/xgb_worker.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::training {

namespace {

class xgb_plan : public job_plan {
public:
  explicit xgb_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    auto table = tabular::read_csv(cfg_.train);
    if (!table) return table.error();
    auto ds = tabular::make_dataset(*table, cfg_.target);
    if (!ds) return ds.error();
    data_ = std::move(*ds);
    if (!cfg_.valid.empty()) {
      auto vt = tabular::read_csv(cfg_.valid);
      if (!vt) return vt.error();
      std::vector<std::string> warnings;
      auto v = data_.prep.transform_labeled(*vt, warnings);
      if (!v) return v.error();
      valid_ = std::move(*v);
    } else {
      auto split = tabular::train_test_split(data_.X.labels, data_.task,
                                             cfg_.seed, cfg_.valid_fraction);
      if (!split) return split.error();
      valid_ = tabular::take_rows(data_.X, split->test);
      data_.X = tabular::take_rows(data_.X, split->train);
    }
    if (data_.X.rows < cfg_.workers || valid_.rows == 0)
      return make_error(errc::invalid_argument,
                        cfg_.train + ": " + std::to_string(data_.X.rows) +
                            " training and " + std::to_string(valid_.rows) +
                            " validation rows for " +
                            std::to_string(cfg_.workers) +
                            " worker(s): each worker needs rows, and "
                            "validation some");
    for (auto& [k, v] : cfg_.boost)
      if (k == "max_depth" || k == "max_bin")
        params_[k] = static_cast<int64_t>(v);
      else
        params_[k] = v;
    auto p = models::xgboost_params(params_, data_.task, data_.classes.size(),
                                    cfg_.threads, cfg_.seed);
    if (!p) return p.error();
    xgb_params_ = std::move(*p);
    types_ = models::xgboost_feature_types(data_.prep);
    train_rows_ = data_.X.rows;
    return caf::none;
  }

  uint32_t gang_size() const override { return cfg_.workers; }
  uint32_t least_gang_size() const override { return cfg_.min_workers; }

  /// The training rows go (shipped to the workers as shards already).
  void release() override { data_.X = tabular::matrix{}; }

  std::string data_line() const override {
    return std::to_string(train_rows_) + " training and " +
           std::to_string(valid_.rows) + " validation rows, " +
           std::to_string(data_.X.cols) + " columns";
  }

  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    return workers_of(nodes, prefix, xgb_worker_kind);
  }

  void start(job_self self) override {
    auto& st = self->state;
    // an elastic gang may have fewer workers than asked
    workers_ = static_cast<uint32_t>(st.gang.size());
    auto tracker = rabit_tracker::start("0.0.0.0", static_cast<int>(workers_),
                                        std::chrono::seconds{10});
    if (!tracker) return fail(self, tracker.error());
    tracker_ = std::move(*tracker);
    rounds_done_ = st.start_step;
    first_round_at_ = last_round_at_ = {};
    model_ = envelope{};
    auto attempt = st.attempt;
    std::vector<uint8_t> start_model;
    std::string start_config;
    if (!st.ckpt.empty())
      (void)st.ckpt.visit<schema::JobCheckpoint>(
          [&](auto c) {
            auto m = c.getModel();
            start_model.assign(m.begin(), m.end());
            start_config = c.getModelConfig().cStr();
            return true;
          },
          whole_message);
    // each worker's block of rows goes as a shard through the dataset
    // caches: recomputed for this gang
    std::vector<envelope> parts;
    for (uint32_t w = 0; w < workers_; ++w)
      parts.push_back(part_of(w, attempt, start_model, start_config));
    auto shards = write_shards(self, data_.X, workers_);
    if (!shards) return fail(self, shards.error());
    train_parts(
        self, parts,
        [=](const envelope& model) {
          model_ = model;
          train_seconds_ = std::chrono::duration<double>(
                               steady::now() - self->state.training_since)
                               .count();
          finish(self);
        },
        *shards);
  }

  void on_progress(job_self self, uint64_t step, double) override {
    // the first worker reports each round's end: the rounds after the
    // first are timed report to report, without setup
    auto now = steady::now();
    if (step == self->state.start_step + 1) {
      first_round_at_ = now;
      first_round_ = step;
    }
    if (step > rounds_done_) last_round_at_ = now;
    rounds_done_ = std::max(rounds_done_, step);
  }

  void disband(job_self) override {
    // the tracker's thread may be talking to a worker: let it end aside
    if (tracker_) std::thread{[t = std::move(tracker_)] {}}.detach();
    tracker_.reset();
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    done([=](auto s) {
      s.setEpochs(0);
      parallel_status(self->state, s, cfg_.rounds, rounds_done_, train_rows_,
                      train_seconds_);
    });
  }

private:
  envelope part_of(uint32_t w, uint32_t attempt,
                   const std::vector<uint8_t>& start_model,
                   const std::string& start_config) const {
    return make_envelope<schema::XgbPart>([&](auto p) {
      p.setAttempt(attempt);
      char task[32];
      std::snprintf(task, sizeof task, "worker-%05u", w);
      p.setTask(task);
      p.setTrackerPort(static_cast<uint16_t>(tracker_->port()));
      p.setWorld(workers_);
      auto params = p.initParams(static_cast<unsigned>(xgb_params_.size()));
      for (unsigned i = 0; i < xgb_params_.size(); ++i) {
        params[i].setName(xgb_params_[i].first);
        params[i].setValue(xgb_params_[i].second);
      }
      auto types = p.initTypes(static_cast<unsigned>(types_.size()));
      for (unsigned i = 0; i < types_.size(); ++i)
        types.set(i, types_[i]);
      p.setRounds(cfg_.rounds);
      // the rows travel as the worker's shard
      p.setStartModel(kj::arrayPtr(start_model.data(), start_model.size()));
      p.setStartConfig(start_config);
      p.setCheckpointSeconds(cfg_.checkpoint_seconds);
      p.setReports(w == 0);
    });
  }

  /// Validation metrics of the model's predictions of the validation rows.
  caf::expected<nlohmann::json> validate(const xgb::booster& b) const {
    auto dm = models::xgboost_matrix(valid_, types_);
    if (!dm) return dm.error();
    auto pred = b.predict(*dm);
    if (!pred) return pred.error();
    nlohmann::json out = nlohmann::json::object();
    auto classes = data_.classes.size();
    std::vector<const char*> names;
    if (data_.task == tabular::task_kind::binary)
      names = {"logloss", "auc", "ks", "accuracy"};
    else if (data_.task == tabular::task_kind::multiclass)
      names = {"logloss", "accuracy"};
    else
      names = {"rmse", "mae"};
    for (auto* n : names) {
      auto v = tabular::evaluate(
          n, valid_.labels, *pred,
          data_.task == tabular::task_kind::regression ? 0 : classes);
      if (v) out[n] = *v;
    }
    return out;
  }

  void finish(job_self self) {
    auto& st = self->state;
    auto cp = model_.visit<schema::JobCheckpoint>(
        [](auto c) {
          auto m = c.getModel();
          return xgb::checkpoint{std::vector<uint8_t>(m.begin(), m.end()),
                                 c.getModelConfig().cStr()};
        },
        whole_message);
    if (!cp) return fail(self, cp.error());
    auto b = xgb::booster::restore(*cp);
    if (!b) return fail(self, b.error());
    auto valid = validate(*b);
    if (!valid) return fail(self, valid.error());
    tabular::model_info info;
    info.family = "xgboost";
    info.params = params_;
    info.study = st.init.id;
    auto dir = st.init.out_dir + "/model";
    if (auto err = models::save_model(dir, *b, data_.prep, info))
      return fail(self, err);
    auto trained = cfg_.rounds - std::min<uint64_t>(cfg_.rounds, st.start_step);
    nlohmann::json params = nlohmann::json::object();
    for (auto& [k, v] : xgb_params_)
      params[k] = v;
    nlohmann::json summary{
        {"family", cfg_.family},
        {"config", cfg_.source},
        {"train_rows", train_rows_},
        {"valid_rows", valid_.rows},
        {"columns", data_.X.cols},
        {"workers", workers_},
        {"threads", cfg_.threads},
        {"rounds", cfg_.rounds},
        {"params", params},
        {"train_seconds", train_seconds_},
        {"rounds_per_second",
         train_seconds_ > 0 ? static_cast<double>(trained) / train_seconds_
                            : 0.0},
        // a round's time once training runs: from the first round's end to
        // the last's, over the rounds between
        {"round_seconds", round_seconds()},
        {"resumed_from_step", st.start_step},
        {"attempts", st.attempt},
        {"valid", *valid},
        // each worker's time split: compute, data, comm, idle seconds
        {"usage", usage_json(st)},
        {"data_wait_share", data_wait_share_of(st)},
        {"elapsed_seconds",
         std::chrono::duration<double>(steady::now() - st.started).count()},
        {"model", dir}};
    if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
      return fail(self, err);
    finish_job(self, summary);
  }

  job_config cfg_;
  tabular::dataset data_;
  tabular::matrix valid_;
  /// data_.X's rows (kept once release() dropped them).
  size_t train_rows_ = 0;
  tabular::config params_;
  std::vector<std::pair<std::string, std::string>> xgb_params_;
  std::vector<std::string> types_;
  std::unique_ptr<rabit_tracker> tracker_;
  double round_seconds() const {
    if (first_round_at_ == steady::time_point{} || rounds_done_ <= first_round_)
      return std::nan("");
    return std::chrono::duration<double>(last_round_at_ - first_round_at_)
               .count() /
           static_cast<double>(rounds_done_ - first_round_);
  }

  uint32_t workers_ = 0; ///< of the current placement
  uint64_t rounds_done_ = 0;
  steady::time_point first_round_at_, last_round_at_;
  uint64_t first_round_ = 0;
  envelope model_;
  double train_seconds_ = 0;
};

} // namespace

std::shared_ptr<job_plan> make_xgb_plan(const job_config& cfg) {
  return std::make_shared<xgb_plan>(cfg);
}

} // namespace troupe::training
