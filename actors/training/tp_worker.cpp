#include "actors/training/tp_worker.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/tensor_parallel_net.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct tp_job : group_seat {
  models::tp_spec spec;
  uint32_t epochs = 0, batch = 0;
  uint64_t steps = 0;
  uint32_t start_epoch = 0;
  std::vector<uint8_t> start_state;
  uint32_t checkpoint_every = 0;
  std::vector<float> valid_x, valid_y;
  uint32_t valid_rows = 0;
};

caf::expected<tp_job> read_part(const envelope& env,
                                const std::string& head_host) {
  auto r = env.visit<schema::TensorPart>(
      [&](auto p) -> caf::expected<tp_job> {
        tp_job j;
        static_cast<group_seat&>(j) = seat_of(p, head_host);
        auto& s = j.spec;
        s.inputs = p.getInputs();
        s.classes = p.getClasses();
        s.width = p.getWidth();
        s.hidden = p.getHidden();
        s.blocks = p.getBlocks();
        s.lr = p.getLr();
        s.weight_decay = p.getWeightDecay();
        s.seed = p.getSeed();
        s.threads = std::max(1u, p.getThreads());
        for (auto v : p.getCenter())
          s.center.push_back(v);
        for (auto v : p.getScale())
          s.scale.push_back(v);
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
        if (j.valid_y.size() != j.valid_rows ||
            j.valid_x.size() != size_t{j.valid_rows} * s.inputs)
          return make_error(errc::invalid_argument,
                            "TensorPart for rank " + std::to_string(j.rank) +
                                ": its validation rows do not make a "
                                "matrix of " +
                                std::to_string(s.inputs) + " columns");
        return j;
      },
      whole_message);
  if (!r) return r.error();
  return std::move(*r);
}

caf::expected<envelope> train_tp_part(const envelope& env, part_context& ctx) {
  auto usage = start_usage(ctx);
  auto job = read_part(env, ctx.args.head_host);
  if (!job) return job.error();
  auto who = "rank " + std::to_string(job->rank);
  row_block rows;
  if (!ctx.shard.empty()) {
    auto r = usage.data([&] { return read_row_shard(ctx.shard); });
    if (!r) return r.error();
    ctx.shard_read();
    rows = std::move(*r);
  }
  if (rows.cols != job->spec.inputs ||
      rows.rows() < size_t{job->batch} * job->steps)
    return make_error(errc::invalid_argument,
                      who + ": " + std::to_string(rows.rows()) + " rows of " +
                          std::to_string(rows.cols) + " columns for " +
                          std::to_string(job->steps) + " minibatches of " +
                          std::to_string(job->batch) + " rows of " +
                          std::to_string(job->spec.inputs));
  auto lost = [&](caf::error err) {
    return gloo_peer_lost(who, std::move(err));
  };
  auto group = usage.comm([&] { return join_seat(*job, ctx.args.head_host); });
  if (!group) return lost(group.error());
  auto net = models::tp_net::create(job->spec, *group);
  if (!net) return net.error();
  if (!job->start_state.empty())
    if (auto err = net->load(job->start_state)) return err;
  // the first rank reports; every rank sends its part at the same epochs
  epoch_loop loop{job->rank,
                  job->attempt,
                  job->start_epoch,
                  job->epochs,
                  job->checkpoint_every,
                  job->rank == 0,
                  true,
                  std::to_string(job->rank)};
  using clock = std::chrono::steady_clock;
  auto err = run_epochs(
      ctx, who, loop, usage,
      [&](uint32_t e) -> caf::expected<double> {
        auto t0 = clock::now();
        // every rank draws the same order of the rows
        auto loss = net->fit_epoch(rows.values.data(), rows.labels.data(),
                                   rows.rows(), job->batch, job->steps,
                                   job->spec.seed * 1000003ULL + e + 1);
        if (!loss) return lost(loss.error());
        usage.add_compute(
            std::chrono::duration<double>(clock::now() - t0).count());
        return *loss;
      },
      [&] { return net->save(); });
  if (err) return err;
  nlohmann::json info = {{"rank", job->rank},
                         {"parameter_bytes", net->parameter_bytes()}};
  if (job->valid_rows > 0) {
    auto s = net->evaluate(job->valid_x.data(), job->valid_y.data(),
                           job->valid_rows);
    if (!s) return lost(s.error());
    info["valid"] = {{"logloss", s->logloss}, {"accuracy", s->accuracy}};
  }
  auto bytes = net->save();
  if (!bytes) return bytes.error();
  return model_checkpoint(job->epochs, job->attempt, *bytes, info.dump());
}

} // namespace

void register_tp_kinds(caf::actor_system_config& cfg) {
  register_part_kind(cfg, tp_worker_kind, train_tp_part);
}

} // namespace troupe::training
