// A pipeline job's plan (job_run.hpp): the mlp family's net (hidden blocks
// and a head, layers + 1 chain layers) cut into [run] stages stages by
// parameter count (models::stage_starts), each a training.pipeline_stage
// actor (stage_worker.hpp) on a slot of the gang. The coordinator reads the
// data once (net_data.hpp), learns the inputs' standardisation, names each
// stage its neighbours (part_peers_atom) and sends it its part: the first
// stage gets the inputs as its shard, the last the targets, those between
// nothing but their layers. Every checkpoint_epochs epochs each stage sends
// its state; once every stage's state of that epoch is in, the job keeps
// them together (a PipelineState) as its checkpoint, and a lost stage
// regroups the gang from it, every stage restored at that epoch. At the end
// the stages run the validation rows forward, and the job writes
// OUT/model.pipeline (the PipelineState) and OUT/summary.json.

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/pipeline_stage.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/member_parts.hpp"
#include "actors/training/net_data.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "actors/training/stage_worker.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::vector<uint8_t> bytes_of(capnp::Data::Reader d) {
  return std::vector<uint8_t>(d.begin(), d.end());
}

/// Every stage's state in stage order, in a PipelineState's bytes.
std::vector<uint8_t> pipeline_state(const std::vector<std::vector<uint8_t>>& s,
                                    const std::vector<uint32_t>& begins) {
  auto e = make_envelope<schema::PipelineState>([&](auto p) {
    auto l = p.initStages(static_cast<unsigned>(s.size()));
    for (unsigned i = 0; i < s.size(); ++i)
      l.set(i, kj::arrayPtr(s[i].data(), s[i].size()));
    auto b = p.initBegins(static_cast<unsigned>(begins.size()));
    for (unsigned i = 0; i < begins.size(); ++i)
      b.set(i, begins[i]);
  });
  auto* b = static_cast<const uint8_t*>(e.data());
  return std::vector<uint8_t>(b, b + e.size_bytes());
}

class pipeline_plan : public job_plan {
public:
  explicit pipeline_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    if (auto err = read_net_data(cfg_, data_)) return err;
    auto& t = data_.train;
    steps_ = t.rows / cfg_.batch;
    if (steps_ == 0)
      return invalid(cfg_.source + ": " + std::to_string(t.rows) +
                     " training rows make no minibatch of batch = " +
                     std::to_string(cfg_.batch));
    outputs_ = data_.task == tabular::task_kind::multiclass
                   ? static_cast<uint32_t>(std::max<size_t>(data_.classes, 2))
                   : 1;
    starts_ =
        models::stage_starts(static_cast<uint32_t>(t.cols), outputs_,
                             cfg_.net.layers, cfg_.net.width, cfg_.stages);
    // the first stage standardises its inputs with the training rows'
    // means and deviations
    center_.assign(t.cols, 0.f);
    scale_.assign(t.cols, 1.f);
    for (size_t c = 0; c < t.cols; ++c) {
      double sum = 0, sq = 0;
      for (size_t r = 0; r < t.rows; ++r) {
        double v = t.at(r, c);
        sum += v;
        sq += v * v;
      }
      double mean = sum / static_cast<double>(t.rows);
      double var = sq / static_cast<double>(t.rows) - mean * mean;
      center_[c] = static_cast<float>(mean);
      scale_[c] = static_cast<float>(var > 1e-12 ? std::sqrt(var) : 1.0);
    }
    return caf::none;
  }

  uint32_t gang_size() const override { return cfg_.stages; }

  std::string data_line() const override {
    std::string cut;
    for (size_t k = 0; k < starts_.size(); ++k)
      cut += (k ? ", " : "") + std::string{"["} + std::to_string(starts_[k]) +
             ", " + std::to_string(end_of(k)) + ")";
    return std::to_string(data_.train.rows) + " training and " +
           std::to_string(data_.valid.rows) + " validation rows, " +
           std::to_string(data_.train.cols) + " columns, " +
           std::to_string(steps_) + " minibatches of " +
           std::to_string(cfg_.batch) + " rows an epoch in " +
           std::to_string(cfg_.micro) + " micro-batches (" + cfg_.schedule +
           "); layers by stage " + cut;
  }

  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    std::vector<member> out;
    for (size_t k = 0; k < nodes.size(); ++k)
      out.push_back({prefix + "stage-" + std::to_string(k), nodes[k],
                     stage_worker_kind, "", caf::actor{}});
    return out;
  }

  void start(job_self self) override {
    auto& st = self->state;
    parts_ = member_parts{cfg_.stages};
    epochs_done_ = st.start_step;
    stepping_since_ = {};
    // every stage's state of the checkpoint, if any
    std::vector<std::vector<uint8_t>> states(cfg_.stages);
    if (!st.ckpt.empty()) {
      auto r = restore(st.ckpt, states);
      if (r) return fail(self, r);
    }
    auto shards = write_stage_shards(self);
    if (!shards) return fail(self, shards.error());
    // the neighbours first: a stage's part comes after them
    auto K = static_cast<uint32_t>(st.gang.size());
    for (uint32_t k = 0; k < K; ++k)
      self->send(caf::actor_cast<part_worker_actor>(st.gang[k].handle),
                 part_peers_atom::value,
                 k > 0 ? st.gang[k - 1].handle : caf::actor{},
                 k + 1 < K ? st.gang[k + 1].handle : caf::actor{});
    std::vector<envelope> parts;
    for (uint32_t k = 0; k < K; ++k)
      parts.push_back(part_of(self, k, states[k]));
    train_parts_all(
        self, parts,
        [=](const std::vector<envelope>& answers) { finish(self, answers); },
        *shards);
  }

  std::optional<envelope> whole_checkpoint(job_self self, const envelope& ckpt,
                                           uint64_t step) override {
    auto& st = self->state;
    auto states = parts_.add(ckpt, step);
    if (!states) return std::nullopt;
    st.log->info("job {}: every stage's state at epoch {} is in", st.init.id,
                 step);
    return model_checkpoint(step, st.attempt, pipeline_state(*states, starts_));
  }

  void on_progress(job_self, uint64_t step, double loss) override {
    if (stepping_since_ == steady::time_point{})
      stepping_since_ = steady::now();
    epochs_done_ = std::max(epochs_done_, step);
    if (!std::isnan(loss)) last_loss_ = loss;
  }

  void disband(job_self) override { parts_.clear(); }

  void release() override {
    data_.train = tabular::matrix{};
    data_.valid = tabular::matrix{};
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    done([=](auto s) {
      s.setEpochs(cfg_.epochs);
      parallel_status(self->state, s, cfg_.epochs, epochs_done_,
                      steps_ * cfg_.batch, train_seconds_);
    });
  }

private:
  uint32_t end_of(size_t k) const {
    return k + 1 < starts_.size() ? starts_[k + 1] : cfg_.net.layers + 1;
  }

  /// The stages' states of a checkpoint (a PipelineState), which must be
  /// of this job's cut.
  caf::error restore(const envelope& ckpt,
                     std::vector<std::vector<uint8_t>>& states) const {
    auto model = ckpt.visit<schema::JobCheckpoint>(
        [](auto c) { return bytes_of(c.getModel()); }, whole_message);
    if (!model) return model.error();
    auto e = envelope::from_bytes(capnp::typeId<schema::PipelineState>(),
                                  model->data(), model->size());
    if (!e) return e.error();
    auto why = e->visit<schema::PipelineState>(
        [&](auto p) -> std::string {
          auto s = p.getStages();
          auto b = p.getBegins();
          if (s.size() != states.size() || b.size() != starts_.size())
            return "the checkpoint holds " + std::to_string(s.size()) +
                   " stages, the job has " + std::to_string(states.size());
          for (unsigned i = 0; i < s.size(); ++i) {
            if (b[i] != starts_[i])
              return "the checkpoint's stage " + std::to_string(i) +
                     " begins at layer " + std::to_string(b[i]) +
                     ", the job's at " + std::to_string(starts_[i]);
            states[i] = bytes_of(s[i]);
          }
          return {};
        },
        whole_message);
    if (!why) return why.error();
    if (!why->empty()) return invalid(*why);
    return caf::none;
  }

  /// The stages' row shards for this placement: the first stage's holds
  /// the inputs (and the targets, which give its row count), the last's
  /// the targets, the others' nothing.
  caf::expected<std::vector<std::string>> write_stage_shards(job_self self) {
    auto& st = self->state;
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec) return io_error("create", st.init.out_dir, ec.value());
    auto& t = data_.train;
    std::vector<std::string> out;
    for (uint32_t k = 0; k < cfg_.stages; ++k) {
      auto path = st.init.out_dir + "/.stage-" + std::to_string(st.attempt) +
                  "-" + std::to_string(k);
      bool first = k == 0, last = k + 1 == cfg_.stages;
      caf::error err;
      if (first)
        err = write_row_shard(path, static_cast<uint32_t>(t.cols),
                              t.values.data(), t.labels.data(), t.rows);
      else if (last)
        err = write_row_shard(path, 0, nullptr, t.labels.data(), t.rows);
      else
        err = write_row_shard(path, 0, nullptr, nullptr, 0);
      if (err) return err;
      out.push_back(std::move(path));
    }
    return out;
  }

  envelope part_of(job_self self, uint32_t k,
                   const std::vector<uint8_t>& state) const {
    auto& st = self->state;
    auto& v = data_.valid;
    bool first = k == 0, last = k + 1 == cfg_.stages;
    return make_envelope<schema::PipelinePart>([&](auto p) {
      p.setAttempt(st.attempt);
      p.setStage(k);
      p.setStages(cfg_.stages);
      p.setBegin(starts_[k]);
      p.setEnd(end_of(k));
      p.setInputs(static_cast<uint32_t>(data_.train.cols));
      p.setOutputs(outputs_);
      p.setLayers(cfg_.net.layers);
      p.setWidth(cfg_.net.width);
      p.setActivation(cfg_.net.activation);
      p.setTask(tabular::to_string(data_.task));
      p.setLr(cfg_.net.lr);
      p.setWeightDecay(cfg_.net.weight_decay);
      p.setSeed(cfg_.seed);
      p.setEpochs(cfg_.epochs);
      p.setBatch(cfg_.batch);
      p.setSteps(steps_);
      p.setMicro(cfg_.micro);
      p.setSchedule(cfg_.schedule);
      p.setRecompute(cfg_.net.recompute);
      p.setThreads(cfg_.threads);
      if (first) {
        auto c = p.initCenter(static_cast<unsigned>(center_.size()));
        auto s = p.initScale(static_cast<unsigned>(scale_.size()));
        for (unsigned i = 0; i < center_.size(); ++i) {
          c.set(i, center_[i]);
          s.set(i, scale_[i]);
        }
        p.setValidValues(
            kj::arrayPtr(reinterpret_cast<const uint8_t*>(v.values.data()),
                         v.values.size() * sizeof(float)));
      }
      if (last)
        p.setValidLabels(
            kj::arrayPtr(reinterpret_cast<const uint8_t*>(v.labels.data()),
                         v.labels.size() * sizeof(float)));
      p.setValidRows(static_cast<uint32_t>(v.rows));
      p.setClasses(static_cast<uint32_t>(data_.classes));
      p.setStartEpoch(static_cast<uint32_t>(st.start_step));
      p.setStartState(kj::arrayPtr(state.data(), state.size()));
      p.setCheckpointEvery(cfg_.checkpoint_seconds > 0 ? cfg_.checkpoint_epochs
                                                       : 0);
    });
  }

  /// Every stage trained to the end: the net (every stage's state) and
  /// the last stage's validation finish the job.
  void finish(job_self self, const std::vector<envelope>& answers) {
    auto& st = self->state;
    auto now = steady::now();
    train_seconds_ =
        std::chrono::duration<double>(now - st.training_since).count();
    auto step_seconds =
        stepping_since_ == steady::time_point{}
            ? train_seconds_
            : std::chrono::duration<double>(now - stepping_since_).count();
    std::vector<std::vector<uint8_t>> states;
    nlohmann::json valid = nlohmann::json::object();
    for (auto& a : answers) {
      auto r = a.visit<schema::JobCheckpoint>(
          [&](auto c) {
            states.push_back(bytes_of(c.getModel()));
            auto info = nlohmann::json::parse(c.getModelConfig().cStr(),
                                              nullptr, false);
            if (info.is_object() && info.contains("valid"))
              valid = info["valid"];
            return true;
          },
          whole_message);
      if (!r) return fail(self, r.error());
    }
    auto whole = pipeline_state(states, starts_);
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec)
      return fail(self, io_error("cannot create the directory", st.init.out_dir,
                                 ec.value()));
    auto path = st.init.out_dir + "/model.pipeline";
    if (auto err = write_synced(path, whole.data(), whole.size()))
      return fail(self, err);
    std::vector<nlohmann::json> stages;
    for (size_t k = 0; k < starts_.size(); ++k)
      stages.push_back({{"stage", k},
                        {"layers", {starts_[k], end_of(k)}},
                        {"node", k < st.gang.size() ? st.gang[k].node : ""}});
    auto trained = cfg_.epochs - std::min<uint64_t>(cfg_.epochs, st.start_step);
    auto per_epoch = steps_ * cfg_.batch;
    nlohmann::json summary{
        {"family", cfg_.family},
        {"config", cfg_.source},
        {"train_rows", data_.train.rows},
        {"valid_rows", data_.valid.rows},
        {"columns", data_.train.cols},
        {"task", tabular::to_string(data_.task)},
        {"stages", stages},
        {"micro", cfg_.micro},
        {"schedule", cfg_.schedule},
        {"recompute", cfg_.net.recompute},
        {"layers", cfg_.net.layers},
        {"width", cfg_.net.width},
        {"epochs", cfg_.epochs},
        {"batch", cfg_.batch},
        {"steps_per_epoch", steps_},
        {"train_loss", last_loss_},
        {"train_seconds", train_seconds_},
        {"step_seconds", step_seconds},
        {"examples_per_second_stepping",
         step_seconds > 0
             ? static_cast<double>(trained * per_epoch) / step_seconds
             : 0.0},
        {"resumed_from_step", st.start_step},
        {"attempts", st.attempt},
        {"valid", valid},
        {"usage", usage_json(st)},
        {"data_wait_share", data_wait_share_of(st)},
        {"elapsed_seconds",
         std::chrono::duration<double>(steady::now() - st.started).count()},
        {"model", path}};
    if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
      return fail(self, err);
    finish_job(self, summary);
  }

  job_config cfg_;
  net_data data_;
  uint32_t outputs_ = 1;
  uint64_t steps_ = 0;
  std::vector<uint32_t> starts_;
  std::vector<float> center_, scale_;
  /// Stages' states of checkpoints not yet whole.
  member_parts parts_;
  uint64_t epochs_done_ = 0;
  double last_loss_ = std::nan("");
  double train_seconds_ = 0;
  steady::time_point stepping_since_;
};

} // namespace

std::shared_ptr<job_plan> make_pipeline_plan(const job_config& cfg) {
  return std::make_shared<pipeline_plan>(cfg);
}

} // namespace troupe::training
