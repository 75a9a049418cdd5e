// A data-parallel MLP job's plan (job_run.hpp): the coordinator reads the
// data once (a CSV through the tabular preprocessor, or Fashion-MNIST's IDX
// files), shuffles the training rows, serves the group's rendezvous (c10d's
// TCPStore, through the torch plugin) and gives each slot of the gang a
// training.mlp_worker with a contiguous block of the rows. Each step every
// worker takes batch / workers rows of its own, and the gradients are
// averaged over the group, so the replicas stay one net: the one a single
// process trains with the global batch. The first worker reports each
// epoch and sends the net (weights, AdamW's state, the epoch) every
// checkpoint_seconds; a lost worker regroups the job from it, the rows dealt
// again over the new gang. At the end the net is validated and written as
// OUT/model.pt (TorchScript, which `troupe serve --torchscript` serves,
// with OUT/spec.json for a table) and OUT/model.mlp (the net and
// optimizer, to train on).
//
// A "torchscript" job trains a user's TorchScript module the same way: the
// coordinator loads the module (and checks it against the data with a
// probe) and sends every worker the same replica to start from, which its
// checkpoints replace; the job writes the trained module as model.pt and
// the replica as model.state.

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/idx.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/mlp_worker.hpp"
#include "actors/training/net_data.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

class mlp_plan : public job_plan {
public:
  explicit mlp_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    net_data d;
    if (auto err = read_net_data(cfg_, d)) return err;
    train_ = std::move(d.train);
    valid_ = std::move(d.valid);
    prep_ = std::move(d.prep);
    task_ = d.task;
    classes_ = d.classes;
    side_ = d.side;
    if (script()) {
      if (auto err = load_module()) return err;
    }
    // the smallest gang and the largest must both make steps
    if (auto err = shape(cfg_.min_workers)) return err;
    return shape(cfg_.workers);
  }

  uint32_t gang_size() const override { return cfg_.workers; }
  uint32_t least_gang_size() const override { return cfg_.min_workers; }

  std::string data_line() const override {
    return std::to_string(train_.rows) + " training and " +
           std::to_string(valid_.rows) + " validation rows, " +
           std::to_string(train_.cols) + " columns, " + std::to_string(steps_) +
           " steps of " + std::to_string(local_batch_ * workers_) +
           " rows an epoch";
  }

  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    return workers_of(nodes, prefix, mlp_worker_kind);
  }

  void start(job_self self) override {
    auto& st = self->state;
    // an elastic gang may have fewer workers than asked: the global batch
    // stays, each worker's share grows
    (void)shape(static_cast<uint32_t>(st.gang.size()));
    auto store = models::torch_rendezvous::serve(
        "0.0.0.0", static_cast<int>(workers_), 60);
    if (!store) return fail(self, store.error());
    store_ = std::make_unique<models::torch_rendezvous>(std::move(*store));
    epochs_done_ = st.start_step;
    // a user's module starts from the replica made of it
    std::vector<uint8_t> start_model = script_start_;
    if (!st.ckpt.empty())
      (void)st.ckpt.visit<schema::JobCheckpoint>(
          [&](auto c) {
            auto m = c.getModel();
            start_model.assign(m.begin(), m.end());
            return true;
          },
          whole_message);
    // each worker's block of rows goes as a shard through the dataset
    // caches: recomputed for this gang
    std::vector<envelope> parts;
    for (uint32_t w = 0; w < workers_; ++w)
      parts.push_back(part_of(self, w, start_model));
    auto shards = write_shards(self, train_, workers_);
    if (!shards) return fail(self, shards.error());
    stepping_since_ = {};
    train_parts(
        self, parts,
        [=](const envelope& model) {
          auto now = steady::now();
          train_seconds_ =
              std::chrono::duration<double>(now - self->state.training_since)
                  .count();
          step_seconds_ =
              stepping_since_ == steady::time_point{}
                  ? train_seconds_
                  : std::chrono::duration<double>(now - stepping_since_)
                        .count();
          // the validations of earlier epochs first: the summary holds them
          if (validating_ > 0)
            final_ = model;
          else
            finish(self, model);
        },
        *shards);
  }

  void on_progress(job_self, uint64_t step, double loss) override {
    if (stepping_since_ == steady::time_point{})
      stepping_since_ = steady::now();
    epochs_done_ = std::max(epochs_done_, step);
    if (!std::isnan(loss)) last_loss_ = loss;
  }

  /// The training rows go (the workers' shards are written); the
  /// validation rows stay for helpers still validating.
  void release() override {
    train_ = tabular::matrix{};
    script_start_ = {};
  }

  void disband(job_self) override {
    store_.reset();
    validating_ = 0;
    final_.reset();
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    done([=](auto s) {
      s.setEpochs(cfg_.epochs);
      parallel_status(self->state, s, cfg_.epochs, epochs_done_,
                      steps_ * local_batch_ * workers_, train_seconds_);
    });
  }

private:
  bool script() const { return cfg_.family == "torchscript"; }

  /// A torchscript job's replica to start from: the module file made a
  /// replica for this data (which checks it) and saved.
  caf::error load_module() {
    // on a cluster the head reads its cache's copy, a link of that name
    auto where = cfg_.source + ": [model] module '" +
                 std::filesystem::path{cfg_.module}.filename().string() + "': ";
    auto text = read_file(cfg_.module);
    if (!text) return invalid(where + describe(text.error()));
    std::vector<uint8_t> bytes(text->begin(), text->end());
    auto net = models::mlp_replica::create_script(
        bytes, cfg_.loss, cfg_.net.lr, cfg_.net.weight_decay, train_.cols,
        std::max<size_t>(classes_, 2), task_, cfg_.seed);
    if (!net) return invalid(where + describe(net.error()));
    auto saved = net->save();
    if (!saved) return saved.error();
    script_start_ = std::move(*saved);
    loss_ = net->loss();
    return caf::none;
  }

  /// Each worker's rows a step and the steps an epoch, for `workers`.
  caf::error shape(uint32_t workers) {
    workers_ = workers;
    local_batch_ = cfg_.batch / workers;
    if (local_batch_ == 0)
      return invalid(cfg_.source + ": [run] batch " +
                     std::to_string(cfg_.batch) + " is smaller than " +
                     std::to_string(workers) +
                     " workers: each takes batch / workers rows a step");
    auto smallest = block_of(train_.rows, workers - 1, workers);
    steps_ = (smallest.second - smallest.first) / local_batch_;
    if (steps_ == 0)
      return invalid(cfg_.source + ": " + std::to_string(train_.rows) +
                     " training rows make no step of " +
                     std::to_string(local_batch_) + " rows on each of " +
                     std::to_string(workers) + " workers");
    return caf::none;
  }

  envelope part_of(job_self self, uint32_t w,
                   const std::vector<uint8_t>& start_model) const {
    auto& st = self->state;
    return make_envelope<schema::MlpPart>([&](auto p) {
      p.setAttempt(st.attempt);
      p.setRank(w);
      p.setWorld(workers_);
      p.setStorePort(store_->port());
      p.setGroup(st.init.id + ".a" + std::to_string(st.attempt));
      p.setLayers(cfg_.net.layers);
      p.setWidth(cfg_.net.width);
      auto conv = p.initConv(static_cast<unsigned>(cfg_.net.conv.size()));
      for (unsigned i = 0; i < cfg_.net.conv.size(); ++i)
        conv.set(i, cfg_.net.conv[i]);
      p.setImageSide(static_cast<uint32_t>(side_));
      p.setActivation(cfg_.net.activation);
      p.setDropout(cfg_.net.dropout);
      p.setRecompute(cfg_.net.recompute);
      p.setLr(cfg_.net.lr);
      p.setWeightDecay(cfg_.net.weight_decay);
      p.setTask(tabular::to_string(task_));
      p.setClasses(static_cast<uint32_t>(std::max<size_t>(classes_, 2)));
      p.setSeed(cfg_.seed);
      p.setEpochs(cfg_.epochs);
      p.setLocalBatch(static_cast<uint32_t>(local_batch_));
      p.setGlobalBatch(static_cast<uint32_t>(local_batch_ * workers_));
      p.setSteps(steps_);
      p.setThreads(cfg_.threads);
      // the rows travel as the worker's shard
      p.setStartModel(kj::arrayPtr(start_model.data(), start_model.size()));
      p.setCheckpointSeconds(cfg_.checkpoint_seconds);
      p.setReports(w == 0);
      p.setValidEvery(static_cast<uint32_t>(cfg_.valid_every));
    });
  }

  /// The validation metrics of `net` (the task's: logloss,
  /// AUC, KS and accuracy; logloss and accuracy; RMSE and MAE).
  caf::expected<nlohmann::json>
  metrics_of(const models::mlp_replica& net) const {
    auto pred = net.predict(valid_.values.data(), valid_.rows, valid_.cols,
                            static_cast<int>(cfg_.threads));
    if (!pred) return pred.error();
    nlohmann::json valid = nlohmann::json::object();
    std::vector<const char*> names;
    if (task_ == tabular::task_kind::binary)
      names = {"logloss", "auc", "ks", "accuracy"};
    else if (task_ == tabular::task_kind::multiclass)
      names = {"logloss", "accuracy"};
    else
      names = {"rmse", "mae"};
    for (auto* n : names) {
      auto v = tabular::evaluate(
          n, valid_.labels, *pred,
          task_ == tabular::task_kind::regression ? 0 : classes_);
      if (v) valid[n] = *v;
    }
    return valid;
  }

  /// valid_every: the net of every that many epochs is validated off the
  /// job's thread (the plan lives while the helper holds it).
  void on_model(job_self self, const envelope& ckpt, uint64_t step) override {
    auto& st = self->state;
    if (cfg_.valid_every == 0 || step % cfg_.valid_every != 0) return;
    auto bytes = ckpt.visit<schema::JobCheckpoint>(
        [](auto c) {
          auto m = c.getModel();
          return std::vector<uint8_t>(m.begin(), m.end());
        },
        whole_message);
    if (!bytes) return;
    auto plan = std::static_pointer_cast<mlp_plan>(st.plan);
    auto me = caf::actor_cast<job_actor>(self);
    auto attempt = st.attempt;
    auto seconds =
        std::chrono::duration<double>(steady::now() - st.training_since)
            .count();
    ++validating_;
    self->system().spawn<caf::detached>([=] {
      auto net = models::mlp_replica::load(*bytes);
      auto m = net ? plan->metrics_of(*net)
                   : caf::expected<nlohmann::json>{net.error()};
      // always answered: the job waits for its validations to end
      caf::anon_send(me, job_valid_atom::value, attempt, step, seconds,
                     m ? m->dump() : std::string{});
    });
  }

  void on_validated(job_self self, uint32_t attempt, uint64_t step,
                    double seconds, const std::string& json) override {
    if (validating_ > 0) --validating_;
    keep_validation(self, step, seconds, json);
    if (validating_ == 0 && final_) {
      auto model = std::move(*final_);
      final_.reset();
      finish(self, model);
    }
  }

  void keep_validation(job_self self, uint64_t step, double seconds,
                       const std::string& json) {
    auto& st = self->state;
    auto m = record_validation(st, step, json);
    if (m.is_discarded()) return;
    auto entry = m;
    entry["step"] = step;
    entry["seconds"] = seconds;
    history_.push_back(std::move(entry));
    st.log->info("job {}: epoch {}: validation {}", st.init.id, step, json);
  }

  void finish(job_self self, const envelope& model) {
    auto& st = self->state;
    auto bytes = model.visit<schema::JobCheckpoint>(
        [](auto c) {
          auto m = c.getModel();
          return std::vector<uint8_t>(m.begin(), m.end());
        },
        whole_message);
    if (!bytes) return fail(self, bytes.error());
    auto net = models::mlp_replica::load(*bytes);
    if (!net) return fail(self, net.error());
    auto valid = metrics_of(*net);
    if (!valid) return fail(self, valid.error());
    auto pt = st.init.out_dir + "/model.pt";
    auto mlp = st.init.out_dir + (script() ? "/model.state" : "/model.mlp");
    auto spec = st.init.out_dir + "/spec.json";
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec)
      return fail(self, io_error("cannot create the directory", st.init.out_dir,
                                 ec.value()));
    if (auto err = net->export_torchscript(pt)) return fail(self, err);
    if (auto err = write_synced(mlp, bytes->data(), bytes->size()))
      return fail(self, err);
    // a table's feature spec: `troupe serve --torchscript model.pt --spec`
    if (prep_)
      if (auto err = prep_->save(spec)) return fail(self, err);
    auto trained = cfg_.epochs - std::min<uint64_t>(cfg_.epochs, st.start_step);
    auto per_epoch = steps_ * local_batch_ * workers_;
    nlohmann::json summary{
        {"family", cfg_.family},
        {"config", cfg_.source},
        {"train_rows", train_.rows},
        {"valid_rows", valid_.rows},
        {"columns", train_.cols},
        {"task", tabular::to_string(task_)},
        {"workers", workers_},
        {"threads", cfg_.threads},
        {"epochs", cfg_.epochs},
        {"conv", cfg_.net.conv},
        {"layers", cfg_.net.layers},
        {"recompute", cfg_.net.recompute},
        {"global_batch", local_batch_ * workers_},
        {"steps_per_epoch", steps_},
        {"train_loss", last_loss_},
        {"train_seconds", train_seconds_},
        {"examples_per_second",
         train_seconds_ > 0
             ? static_cast<double>(trained * per_epoch) / train_seconds_
             : 0.0},
        // from the first step on: without shipping the rows and joining
        {"step_seconds", step_seconds_},
        {"examples_per_second_stepping",
         step_seconds_ > 0
             ? static_cast<double>(trained * per_epoch) / step_seconds_
             : 0.0},
        {"resumed_from_step", st.start_step},
        {"attempts", st.attempt},
        {"valid", *valid},
        {"valid_history", history_},
        // each worker's time split: compute, data, comm, idle seconds
        {"usage", usage_json(st)},
        {"data_wait_share", data_wait_share_of(st)},
        {"elapsed_seconds",
         std::chrono::duration<double>(steady::now() - st.started).count()},
        {"model", pt},
        {"net", mlp}};
    if (prep_) summary["spec"] = spec;
    if (script()) {
      summary["module"] = cfg_.module;
      summary["loss"] = loss_;
      summary.erase("conv");
    }
    if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
      return fail(self, err);
    finish_job(self, summary);
  }

  job_config cfg_;
  tabular::matrix train_, valid_;
  /// A table's preprocessor (none for images).
  std::optional<tabular::preprocessor> prep_;
  /// torchscript: the saved replica of the user's module, to start from.
  std::vector<uint8_t> script_start_;
  std::string loss_; ///< its loss as resolved
  /// valid_every's validations: [{"step", "seconds", metrics...}].
  nlohmann::json history_ = nlohmann::json::array();
  /// Validations running off the job's thread, and the final model that
  /// waits for them.
  size_t validating_ = 0;
  std::optional<envelope> final_;
  tabular::task_kind task_ = tabular::task_kind::binary;
  size_t classes_ = 0;
  /// The images' side (a CNN's), 0 for a table.
  size_t side_ = 0;
  uint32_t workers_ = 0; ///< of the current placement
  size_t local_batch_ = 0;
  uint64_t steps_ = 0;
  std::unique_ptr<models::torch_rendezvous> store_;
  uint64_t epochs_done_ = 0;
  double last_loss_ = std::nan("");
  double train_seconds_ = 0;
  steady::time_point stepping_since_;
  double step_seconds_ = 0;
};

} // namespace

std::shared_ptr<job_plan> make_mlp_plan(const job_config& cfg) {
  return std::make_shared<mlp_plan>(cfg);
}

} // namespace troupe::training
