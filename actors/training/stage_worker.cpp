#include "actors/training/stage_worker.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/pipeline_stage.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/net_data.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

/// How long a stage waits for a neighbour's tensor: a lost neighbour's
/// job regroups (and stops this stage) long before.
constexpr auto tensor_wait = std::chrono::minutes{10};

struct stage_job {
  models::stage_spec spec;
  uint32_t attempt = 0;
  uint32_t epochs = 0;
  uint32_t batch = 0;
  uint64_t steps = 0;
  uint32_t start_epoch = 0;
  std::vector<uint8_t> start_state;
  uint32_t checkpoint_every = 0;
  std::vector<float> valid_x, valid_y;
  uint32_t valid_rows = 0;
  uint32_t classes = 0;
};

caf::expected<stage_job> read_part(const envelope& env) {
  auto r = env.visit<schema::PipelinePart>(
      [&](auto p) -> caf::expected<stage_job> {
        stage_job j;
        auto& s = j.spec;
        s.stage = p.getStage();
        s.stages = p.getStages();
        s.begin = p.getBegin();
        s.end = p.getEnd();
        s.inputs = p.getInputs();
        s.outputs = p.getOutputs();
        s.layers = p.getLayers();
        s.width = p.getWidth();
        s.activation = p.getActivation().cStr();
        s.task = p.getTask().cStr();
        s.lr = p.getLr();
        s.weight_decay = p.getWeightDecay();
        s.seed = p.getSeed();
        s.micro = p.getMicro();
        if (!models::parse_schedule(p.getSchedule().cStr(), s.schedule))
          return make_error(errc::invalid_argument,
                            std::string{"PipelinePart: schedule '"} +
                                p.getSchedule().cStr() + "'");
        s.recompute = p.getRecompute();
        s.threads = std::max(1u, p.getThreads());
        for (auto v : p.getCenter())
          s.center.push_back(v);
        for (auto v : p.getScale())
          s.scale.push_back(v);
        j.attempt = p.getAttempt();
        j.epochs = p.getEpochs();
        j.batch = p.getBatch();
        j.steps = p.getSteps();
        j.start_epoch = p.getStartEpoch();
        auto st = p.getStartState();
        j.start_state.assign(st.begin(), st.end());
        j.checkpoint_every = p.getCheckpointEvery();
        j.valid_x = floats_of(p.getValidValues());
        j.valid_y = floats_of(p.getValidLabels());
        j.valid_rows = p.getValidRows();
        j.classes = p.getClasses();
        if (j.batch == 0 || j.steps == 0)
          return make_error(errc::invalid_argument,
                            "PipelinePart for stage " +
                                std::to_string(s.stage) +
                                ": no minibatch to train");
        return j;
      },
      whole_message);
  if (!r) return r.error();
  return std::move(*r);
}

/// The stage's links: tensors to and from its neighbouring stage actors,
/// as PipelineTensor envelopes (part_message_atom).
class actor_links : public models::stage_tensor_links {
public:
  actor_links(part_context& ctx, uint32_t attempt, uint32_t stage)
      : ctx_(ctx), attempt_(attempt), stage_(stage) {}

  /// The minibatch the tensors belong to, and whether it is the
  /// validation pass (its activations are of kind 2).
  uint64_t step = 0;
  bool validating = false;

  caf::error receive(int kind, uint32_t micro, const float*& data,
                     std::vector<int64_t>& shape) override {
    uint8_t want = validating ? 2 : static_cast<uint8_t>(kind);
    auto attempt = attempt_;
    auto at = step;
    auto e = ctx_.inbox.take(
        [&](const envelope& m) {
          auto ok = m.visit<schema::PipelineTensor>(
              [&](auto t) {
                return t.getAttempt() == attempt && t.getStep() == at &&
                       t.getMicro() == micro && t.getKind() == want;
              },
              whole_message);
          return ok && *ok;
        },
        ctx_.cancel, tensor_wait,
        "stage " + std::to_string(stage_) + ": the " +
            (kind == 0 ? "activations" : "gradients") + " of step " +
            std::to_string(at) + ", micro-batch " + std::to_string(micro));
    if (!e) {
      // a neighbour that sends nothing for so long is gone: the job
      // regroups
      if (is(e.error(), errc::timeout))
        return make_error(errc::io_failure, describe(e.error()));
      return e.error();
    }
    shape.clear();
    auto read = e->visit<schema::PipelineTensor>(
        [&](auto t) {
          for (auto d : t.getShape())
            shape.push_back(d);
          values_ = floats_of(t.getValues());
          return true;
        },
        whole_message);
    if (!read) return read.error();
    int64_t n = 1;
    for (auto d : shape)
      n *= d;
    if (n != static_cast<int64_t>(values_.size()))
      return make_error(errc::invalid_argument,
                        "stage " + std::to_string(stage_) + ": a tensor of " +
                            std::to_string(values_.size()) +
                            " values does not fill its shape");
    data = values_.data();
    return caf::none;
  }

  caf::error send(int kind, uint32_t micro, const float* data,
                  const std::vector<int64_t>& shape) override {
    auto& peer = kind == 0 ? ctx_.after : ctx_.before;
    if (!peer)
      return make_error(errc::invalid_argument,
                        "stage " + std::to_string(stage_) + " has no " +
                            (kind == 0 ? "next" : "previous") + " stage");
    int64_t n = 1;
    for (auto d : shape)
      n *= d;
    auto e = make_envelope<schema::PipelineTensor>([&](auto t) {
      t.setAttempt(attempt_);
      t.setStep(step);
      t.setMicro(micro);
      t.setKind(static_cast<uint8_t>(validating ? 2 : kind));
      auto s = t.initShape(static_cast<unsigned>(shape.size()));
      for (unsigned i = 0; i < shape.size(); ++i)
        s.set(i, shape[i]);
      t.setValues(kj::arrayPtr(reinterpret_cast<const uint8_t*>(data),
                               static_cast<size_t>(n) * sizeof(float)));
    });
    caf::anon_send(peer, part_message_atom::value, std::move(e));
    return caf::none;
  }

private:
  part_context& ctx_;
  uint32_t attempt_;
  uint32_t stage_;
  std::vector<float> values_;
};

/// The validation metrics of the last stage's outputs.
nlohmann::json metrics_of(const stage_job& j, const std::vector<float>& out) {
  nlohmann::json valid = nlohmann::json::object();
  std::vector<const char*> names;
  size_t classes = 0;
  if (j.spec.task == "binary") {
    names = {"logloss", "auc", "ks", "accuracy"};
    classes = 2;
  } else if (j.spec.task == "multiclass") {
    names = {"logloss", "accuracy"};
    classes = j.classes;
  } else {
    names = {"rmse", "mae"};
  }
  for (auto* n : names)
    if (auto v = tabular::evaluate(n, j.valid_y, out, classes)) valid[n] = *v;
  return valid;
}

caf::expected<envelope> train_stage_part(const envelope& env,
                                         part_context& ctx) {
  auto usage = start_usage(ctx);
  auto job = read_part(env);
  if (!job) return job.error();
  auto& spec = job->spec;
  bool first = spec.stage == 0;
  bool last = spec.stage + 1 == spec.stages;
  auto who = "stage " + std::to_string(spec.stage);
  row_block rows;
  if (!ctx.shard.empty()) {
    auto r = usage.data([&] { return read_row_shard(ctx.shard); });
    if (!r) return r.error();
    ctx.shard_read();
    rows = std::move(*r);
  }
  size_t needed = job->batch * job->steps;
  if ((first || last) && rows.rows() < needed)
    return make_error(errc::invalid_argument,
                      who + ": " + std::to_string(rows.rows()) + " rows for " +
                          std::to_string(job->steps) + " minibatches of " +
                          std::to_string(job->batch));
  if (first && rows.cols != spec.inputs)
    return make_error(errc::invalid_argument,
                      who + ": rows of " + std::to_string(rows.cols) +
                          " columns for a net of " +
                          std::to_string(spec.inputs) + " inputs");
  auto stage = models::pipeline_stage::create(spec);
  if (!stage) return stage.error();
  if (!job->start_state.empty())
    if (auto err = stage->load(job->start_state)) return err;
  actor_links links{ctx, job->attempt, spec.stage};
  std::vector<float> x(first ? size_t{job->batch} * spec.inputs : 0);
  std::vector<float> y(last ? job->batch : 0);
  // the last stage reports (it has the loss); every stage sends its state
  // at the same epochs, and the job joins them
  epoch_loop loop{spec.stage,
                  job->attempt,
                  job->start_epoch,
                  job->epochs,
                  job->checkpoint_every,
                  last,
                  true,
                  std::to_string(spec.stage)};
  auto fit = [&](uint32_t e) -> caf::expected<double> {
    // each epoch its own order of the rows, the same on the first and the
    // last stage (a middle stage holds no rows)
    std::vector<size_t> order;
    if (first || last)
      order = deal_order(rows.rows(), spec.seed + 1000003ULL * (e + 1));
    double sum = 0;
    for (uint64_t s = 0; s < job->steps; ++s) {
      if (ctx.cancel.load())
        return make_error(errc::shutting_down, who + " was stopped");
      if (first || last)
        usage.data([&] {
          for (uint32_t i = 0; i < job->batch; ++i) {
            auto r = order[s * job->batch + i];
            if (first)
              std::memcpy(x.data() + size_t{i} * spec.inputs,
                          rows.values.data() + r * spec.inputs,
                          spec.inputs * sizeof(float));
            if (last) y[i] = rows.labels[r];
          }
          return 0;
        });
      links.step = uint64_t{e} * job->steps + s;
      models::stage_seconds secs;
      auto loss =
          stage->step(first ? x.data() : nullptr, last ? y.data() : nullptr,
                      job->batch, links, &secs);
      if (!loss) return loss.error();
      usage.add_compute(secs.compute);
      usage.add_comm(secs.wait);
      if (last) sum += *loss;
    }
    return sum / static_cast<double>(job->steps);
  };
  if (auto err =
          run_epochs(ctx, who, loop, usage, fit, [&] { return stage->save(); }))
    return err;
  // the validation rows forward through every stage; the last scores them
  nlohmann::json info = {{"stage", spec.stage}};
  if (job->valid_rows > 0) {
    links.step = job->epochs;
    links.validating = true;
    std::vector<float> out;
    if (last)
      out.resize(size_t{job->valid_rows} *
                 (spec.task == "multiclass" ? spec.outputs : 1));
    if (auto err =
            stage->forward(first ? job->valid_x.data() : nullptr,
                           job->valid_rows, links, last ? out.data() : nullptr))
      return err;
    if (last) info["valid"] = metrics_of(*job, out);
  }
  auto bytes = stage->save();
  if (!bytes) return bytes.error();
  return model_checkpoint(job->epochs, job->attempt, *bytes, info.dump());
}

} // namespace

void register_stage_kinds(caf::actor_system_config& cfg) {
  register_part_kind(cfg, stage_worker_kind, train_stage_part);
}

} // namespace troupe::training
