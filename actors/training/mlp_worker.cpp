#include "actors/training/mlp_worker.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include <caf/all.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct mlp_job : group_seat {
  troupe_torch_mlp_params params{};
  tabular::task_kind task = tabular::task_kind::binary;
  uint32_t classes = 2;
  uint64_t seed = 0;
  uint32_t epochs = 0;
  models::parallel_epoch epoch;
  size_t cols = 0, rows = 0;
  std::vector<float> x, y;
  std::vector<uint8_t> start;
  double checkpoint_seconds = 0;
  bool reports = false;
  uint32_t valid_every = 0;
};

/// `sharded`: the rows come in a shard, not in the part.
caf::expected<mlp_job> read_part(const envelope& env,
                                 const std::string& head_host, bool sharded) {
  auto r = env.visit<schema::MlpPart>(
      [&](auto p) -> caf::expected<mlp_job> {
        mlp_job j;
        static_cast<group_seat&>(j) = seat_of(p, head_host);
        j.params.layers = static_cast<int32_t>(p.getLayers());
        j.params.width = static_cast<int32_t>(p.getWidth());
        std::string act = p.getActivation().cStr();
        j.params.activation = act == "gelu" ? 1 : act == "tanh" ? 2 : 0;
        j.params.dropout = p.getDropout();
        j.params.recompute = p.getRecompute() ? 1 : 0;
        j.params.lr = p.getLr();
        j.params.weight_decay = p.getWeightDecay();
        j.params.batch_size = static_cast<int32_t>(p.getLocalBatch());
        auto conv = p.getConv();
        if (conv.size() > 4)
          return make_error(errc::invalid_argument,
                            "MlpPart: " + std::to_string(conv.size()) +
                                " conv layers (at most 4)");
        j.params.conv_layers = static_cast<int32_t>(conv.size());
        for (unsigned i = 0; i < conv.size(); ++i)
          j.params.conv[i] = static_cast<int32_t>(conv[i]);
        j.params.image_side = static_cast<int32_t>(p.getImageSide());
        auto task = tabular::parse_task_kind(p.getTask().cStr());
        if (!task) return task.error();
        j.task = *task;
        j.classes = p.getClasses();
        j.seed = p.getSeed();
        j.epochs = p.getEpochs();
        j.epoch.local_batch = p.getLocalBatch();
        j.epoch.global_batch = p.getGlobalBatch();
        j.epoch.steps = p.getSteps();
        j.epoch.threads = static_cast<int>(std::max(1u, p.getThreads()));
        j.cols = p.getCols();
        j.x = floats_of(p.getValues());
        j.y = floats_of(p.getLabels());
        if (!sharded && (j.cols == 0 || j.y.size() * j.cols != j.x.size()))
          return make_error(errc::invalid_argument,
                            "MlpPart for rank " + std::to_string(j.rank) +
                                ": " + std::to_string(j.x.size()) +
                                " values, " + std::to_string(j.y.size()) +
                                " labels and " + std::to_string(j.cols) +
                                " columns do not make a matrix");
        j.rows = j.y.size();
        auto start = p.getStartModel();
        j.start.assign(start.begin(), start.end());
        j.checkpoint_seconds = p.getCheckpointSeconds();
        j.reports = p.getReports();
        j.valid_every = p.getValidEvery();
        return j;
      },
      whole_message);
  if (!r) return r.error();
  return std::move(*r);
}

caf::expected<envelope> train_mlp_part(const envelope& env, part_context& ctx) {
  auto usage = start_usage(ctx);
  auto job = read_part(env, ctx.args.head_host, !ctx.shard.empty());
  if (!job) return job.error();
  if (!ctx.shard.empty()) {
    auto rows = usage.data([&] { return read_row_shard(ctx.shard); });
    if (!rows) return rows.error();
    ctx.shard_read();
    job->cols = rows->cols;
    job->rows = rows->rows();
    job->x = std::move(rows->values);
    job->y = std::move(rows->labels);
  }
  auto who = "worker " + std::to_string(job->rank);
  auto lost = [&](caf::error err) {
    return gloo_peer_lost(who, std::move(err));
  };
  auto group = usage.comm([&] { return join_seat(*job, ctx.args.head_host); });
  if (!group) return lost(group.error());
  auto replica =
      job->start.empty()
          ? models::mlp_replica::create(job->params, job->cols, job->classes,
                                        job->task, job->seed)
          : models::mlp_replica::load(job->start);
  if (!replica) return replica.error();
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  // the first report, before the first step: the job times the steps
  // from here (the rows are shipped, the group is joined)
  if (job->reports)
    caf::anon_send(ctx.job, job_progress_atom::value, job->attempt,
                   replica->epochs(), std::nan(""));
  for (auto e = replica->epochs(); e < job->epochs; ++e) {
    if (ctx.cancel.load())
      return make_error(errc::shutting_down, who + " was stopped");
    models::epoch_times times;
    auto loss = replica->fit_epoch(&*group, job->x.data(), job->y.data(),
                                   job->rows, job->cols, job->epoch, &times);
    if (!loss) return lost(loss.error());
    usage.add_data(times.data);
    usage.add_compute(times.compute);
    usage.add_comm(times.comm);
    // every worker's split goes to the job
    report_usage(ctx, job->rank, job->attempt, e + 1, usage);
    if (!job->reports) continue;
    caf::anon_send(ctx.job, job_progress_atom::value, job->attempt, e + 1,
                   *loss);
    // the net goes to the job for a checkpoint, or to be validated
    bool validate = job->valid_every > 0 && (e + 1) % job->valid_every == 0;
    bool timer = job->checkpoint_seconds > 0 &&
                 clock::now() - last >=
                     std::chrono::duration<double>(job->checkpoint_seconds);
    if (e + 1 < job->epochs && (validate || timer)) {
      if (auto bytes = replica->save())
        caf::anon_send(ctx.job, job_checkpoint_atom::value,
                       model_checkpoint(e + 1, job->attempt, *bytes));
      last = clock::now();
    }
  }
  // every replica holds the same net: the first sends it
  std::vector<uint8_t> bytes;
  if (job->rank == 0) {
    auto b = replica->save();
    if (!b) return b.error();
    bytes = std::move(*b);
  }
  return model_checkpoint(job->epochs, job->attempt, bytes);
}

} // namespace

void register_mlp_kinds(caf::actor_system_config& cfg) {
  register_part_kind(cfg, mlp_worker_kind, train_mlp_part);
}

} // namespace troupe::training
