#include "actors/training/xgb_worker.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <caf/all.hpp>

#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

/// An XgbPart read out of its envelope.
struct xgb_job {
  xgb_part part;
  tabular::matrix rows;
  uint32_t attempt = 0;
  bool reports = false;
  double checkpoint_seconds = 0;
};

/// `sharded`: the rows come in a shard, not in the part.
caf::expected<xgb_job> read_part(const envelope& env,
                                 const std::string& head_host, bool sharded) {
  auto r = env.visit<schema::XgbPart>(
      [&](auto p) -> caf::expected<xgb_job> {
        xgb_job j;
        j.attempt = p.getAttempt();
        j.reports = p.getReports();
        j.checkpoint_seconds = p.getCheckpointSeconds();
        auto& x = j.part;
        x.task = p.getTask().cStr();
        x.tracker_host = p.getTrackerHost().cStr();
        if (x.tracker_host.empty()) x.tracker_host = head_host;
        x.tracker_port = p.getTrackerPort();
        x.world = static_cast<int>(p.getWorld());
        for (auto kv : p.getParams())
          x.params.emplace_back(kv.getName().cStr(), kv.getValue().cStr());
        for (auto t : p.getTypes())
          x.types.emplace_back(t.cStr());
        x.rounds = p.getRounds();
        auto model = p.getStartModel();
        x.start.model.assign(model.begin(), model.end());
        x.start.config = p.getStartConfig().cStr();
        if (sharded) return j;
        auto& m = j.rows;
        m.cols = p.getCols();
        auto values = p.getValues();
        auto labels = p.getLabels();
        if (m.cols == 0 || labels.size() * m.cols != values.size())
          return make_error(
              errc::invalid_argument,
              "XgbPart for " + x.task + ": " + std::to_string(values.size()) +
                  " values, " + std::to_string(labels.size()) + " labels and " +
                  std::to_string(m.cols) + " columns do not make a matrix");
        m.rows = labels.size();
        m.values.reserve(values.size());
        for (auto v : values)
          m.values.push_back(v);
        m.labels.reserve(labels.size());
        for (auto v : labels)
          m.labels.push_back(v);
        return j;
      },
      whole_message);
  if (!r) return r.error();
  return std::move(*r);
}

/// The rank a part's task names ("worker-K").
uint32_t rank_of(const std::string& task) {
  auto dash = task.rfind('-');
  return dash == std::string::npos ? 0
                                   : static_cast<uint32_t>(std::strtoul(
                                         task.c_str() + dash + 1, nullptr, 10));
}

caf::expected<envelope> train_xgb_part(const envelope& env, part_context& ctx) {
  auto usage = start_usage(ctx);
  auto job = read_part(env, ctx.args.head_host, !ctx.shard.empty());
  if (!job) return job.error();
  if (!ctx.shard.empty()) {
    auto rows = usage.data([&] { return read_row_shard(ctx.shard); });
    if (!rows) return rows.error();
    ctx.shard_read();
    job->rows.cols = rows->cols;
    job->rows.rows = rows->rows();
    job->rows.values = std::move(rows->values);
    job->rows.labels = std::move(rows->labels);
  }
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  // the split goes to the job every quarter second and at the end
  auto rank = rank_of(job->part.task);
  auto reported = clock::time_point{};
  auto report = [&](uint64_t round) {
    report_usage(ctx, rank, job->attempt, round, usage);
    reported = clock::now();
  };
  job->part.usage = &usage;
  job->part.after_round = [&](uint32_t round, const xgb::booster& b) {
    if (ctx.cancel.load()) return false;
    if (clock::now() - reported >= std::chrono::milliseconds{250})
      report(round);
    if (!job->reports) return true;
    caf::anon_send(ctx.job, job_progress_atom::value, job->attempt,
                   uint64_t{round}, std::nan(""));
    if (job->checkpoint_seconds > 0 && round < job->part.rounds &&
        clock::now() - last >=
            std::chrono::duration<double>(job->checkpoint_seconds)) {
      if (auto cp = b.save_checkpoint())
        caf::anon_send(
            ctx.job, job_checkpoint_atom::value,
            model_checkpoint(round, job->attempt, cp->model, cp->config));
      last = clock::now();
    }
    return true;
  };
  auto out = train_part(job->part, job->rows);
  if (!out)
    return peer_lost_as_io("worker " + job->part.task, out.error(),
                           {"Allreduce failed", "Broadcast failed",
                            "Allgather failed", "rabit", "tracker", "socket",
                            "Socket"});
  report(job->part.rounds);
  return model_checkpoint(job->part.rounds, job->attempt, out->model,
                          out->config);
}

} // namespace

void register_xgb_kinds(caf::actor_system_config& cfg) {
  register_part_kind(cfg, xgb_worker_kind, train_xgb_part);
}

} // namespace troupe::training
