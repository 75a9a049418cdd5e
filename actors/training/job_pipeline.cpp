// A pipeline job's plan (job_run.hpp): the mlp family's net (hidden blocks
// and a head, layers + 1 chain layers) cut into [run] stages stages by
// parameter count (models::stage_starts) or where [run] starts says, each a
// training.pipeline_stage
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

#include <cmath>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/pipeline_stage.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/parted_net_plan.hpp"
#include "actors/training/stage_worker.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
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

class pipeline_plan : public parted_net_plan {
public:
  explicit pipeline_plan(job_config cfg) : parted_net_plan(cfg, cfg.stages) {}

  caf::error prepared() override {
    outputs_ = data_.task == tabular::task_kind::multiclass
                   ? static_cast<uint32_t>(std::max<size_t>(data_.classes, 2))
                   : 1;
    // the user's cut, or one balanced by parameter count
    starts_ = !cfg_.starts.empty()
                  ? cfg_.starts
                  : models::stage_starts(
                        static_cast<uint32_t>(data_.train.cols), outputs_,
                        cfg_.net.layers, cfg_.net.width, cfg_.stages);
    return caf::none;
  }

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
    // every stage's state of the checkpoint, if any
    auto states = begin_placement(self);
    if (!states) return fail(self, states.error());
    // the first stage reads the inputs, the last the targets
    auto shards = write_member_shards(
        self, "stage", [](uint32_t k) { return k == 0; },
        [this](uint32_t k) { return k + 1 == cfg_.stages; });
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
      parts.push_back(part_of(self, k, (*states)[k]));
    train_parts_all(
        self, parts,
        [=](const std::vector<envelope>& answers) { finish(self, answers); },
        *shards);
  }

  std::vector<uint8_t> whole_model(const parts& p) const override {
    return pipeline_state(p, starts_);
  }

private:
  uint32_t end_of(size_t k) const {
    return k + 1 < starts_.size() ? starts_[k + 1] : cfg_.net.layers + 1;
  }

  /// The stages' states of a checkpoint's model (a PipelineState), which
  /// must be of this job's cut.
  caf::error parts_of(const std::vector<uint8_t>& model,
                      parts& states) const override {
    auto e = envelope::from_bytes(capnp::typeId<schema::PipelineState>(),
                                  model.data(), model.size());
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
    finish_parts(self, answers, "model.pipeline",
                 [&](nlohmann::json& summary, const auto&) {
                   auto& st = self->state;
                   std::vector<nlohmann::json> stages;
                   for (size_t k = 0; k < starts_.size(); ++k)
                     stages.push_back(
                         {{"stage", k},
                          {"layers", {starts_[k], end_of(k)}},
                          {"node", k < st.gang.size() ? st.gang[k].node : ""}});
                   summary["stages"] = stages;
                   summary["micro"] = cfg_.micro;
                   summary["schedule"] = cfg_.schedule;
                   summary["recompute"] = cfg_.net.recompute;
                   summary["layers"] = cfg_.net.layers;
                 });
  }

  uint32_t outputs_ = 1;
  std::vector<uint32_t> starts_;
};

} // namespace

std::shared_ptr<job_plan> make_pipeline_plan(const job_config& cfg) {
  return std::make_shared<pipeline_plan>(cfg);
}

} // namespace troupe::training
