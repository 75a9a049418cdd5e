#include "actors/training/sage_worker.hpp"

#include <chrono>
#include <cmath>
#include <optional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/graph/shard_client.hpp"
#include "actors/models/graphsage_net.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct sage_job : group_seat {
  models::sage_spec spec;
  std::vector<uint32_t> fanouts;
  uint32_t batch = 0, epochs = 0;
  std::vector<uint64_t> counts;
  std::vector<uint32_t> train, test;
  uint32_t start_epoch = 0;
  std::vector<uint8_t> start_state;
  uint32_t checkpoint_every = 0;
};

template <class List, class T>
void copy_list(List l, std::vector<T>& v) {
  v.resize(l.size());
  for (unsigned i = 0; i < l.size(); ++i)
    v[i] = l[i];
}

caf::expected<sage_job> read_part(const envelope& env,
                                  const std::string& head_host) {
  auto r = env.visit<schema::SagePart>(
      [&](auto p) {
        sage_job j;
        static_cast<group_seat&>(j) = seat_of(p, head_host);
        auto& s = j.spec;
        s.inputs = p.getInputs();
        s.hidden = p.getHidden();
        s.classes = p.getClasses();
        s.lr = p.getLr();
        s.weight_decay = p.getWeightDecay();
        s.seed = p.getSeed();
        s.threads = std::max(1u, p.getThreads());
        copy_list(p.getFanouts(), j.fanouts);
        j.batch = p.getBatch();
        j.epochs = p.getEpochs();
        copy_list(p.getPartCounts(), j.counts);
        copy_list(p.getTrain(), j.train);
        copy_list(p.getTest(), j.test);
        j.start_epoch = p.getStartEpoch();
        j.start_state = bytes_of(p.getStartState());
        j.checkpoint_every = p.getCheckpointEvery();
        return j;
      },
      whole_message);
  if (!r) return r.error();
  return std::move(*r);
}

/// A shard_client minibatch as the net takes it (moved, not copied).
models::sage_sample as_sample(graph::minibatch&& b) {
  models::sage_sample s;
  for (size_t h = 0; h < 2 && h < b.hops.hops.size(); ++h) {
    auto& hop = b.hops.hops[h];
    s.frontier[h] = std::move(hop.frontier);
    s.offsets[h] = std::move(hop.offsets);
    s.neighbours[h] = std::move(hop.neighbours);
  }
  s.dims = b.rows.dims;
  s.x = std::move(b.rows.values);
  s.labels = std::move(b.rows.labels);
  return s;
}

caf::expected<envelope> train_sage_part(const envelope& env,
                                        part_context& ctx) {
  auto usage = start_usage(ctx);
  auto job = read_part(env, ctx.args.head_host);
  if (!job) return job.error();
  auto who = "GraphSAGE worker " + std::to_string(job->rank);
  auto map = graph::partition_map::from_counts(job->counts);
  if (!map) return map.error();
  if (ctx.actors.size() != map->partitions())
    return make_error(errc::invalid_argument,
                      who + ": " + std::to_string(ctx.actors.size()) +
                          " shard actors for " +
                          std::to_string(map->partitions()) + " partitions");
  if (job->fanouts.size() != 2)
    return make_error(errc::invalid_argument,
                      who + ": GraphSAGE samples 2 hops, not " +
                          std::to_string(job->fanouts.size()));
  for (auto* list : {&job->train, &job->test})
    for (auto v : *list)
      if (v >= map->nodes())
        return make_error(errc::invalid_argument,
                          who + ": node " + std::to_string(v) +
                              " is not in the graph of " +
                              std::to_string(map->nodes()) + " nodes");
  graph::shard_client shards{ctx.system, *map, ctx.actors};
  models::sage_sample_fn sample =
      [&](const std::vector<uint32_t>& seeds,
          uint64_t round) -> caf::expected<models::sage_sample> {
    if (ctx.cancel.load())
      return make_error(errc::shutting_down, who + " was stopped");
    graph::sample_options o;
    o.fanouts = job->fanouts;
    o.seed = round;
    auto b = shards.batch(seeds, o);
    if (!b) return b.error();
    return as_sample(std::move(*b));
  };
  auto lost = [&](caf::error err) {
    return gloo_peer_lost(who, std::move(err));
  };
  std::optional<models::torch_group> group;
  if (job->world > 1) {
    auto g = usage.comm([&] { return join_seat(*job, ctx.args.head_host); });
    if (!g) return lost(g.error());
    group.emplace(std::move(*g));
  }
  auto net = models::sage_model::create(job->spec, group ? &*group : nullptr);
  if (!net) return net.error();
  if (!job->start_state.empty())
    if (auto err = net->load(job->start_state)) return err;
  bool first = job->rank == 0;
  // replicas are equal: the first reports and sends the whole net
  epoch_loop loop{job->rank,
                  job->attempt,
                  job->start_epoch,
                  job->epochs,
                  job->checkpoint_every,
                  first,
                  first,
                  ""};
  auto err = run_epochs(
      ctx, who, loop, usage,
      [&](uint32_t e) -> caf::expected<double> {
        // every replica draws the same order of the training nodes
        auto fit = net->fit_epoch(job->train, job->batch,
                                  job->spec.seed * 1000003ULL + e + 1, sample);
        if (!fit) return lost(fit.error());
        usage.add_data(fit->sample_seconds);
        usage.add_compute(fit->compute_seconds);
        usage.add_comm(fit->comm_seconds);
        return fit->loss;
      },
      [&] { return net->save(); });
  if (err) return err;
  nlohmann::json info = {{"rank", job->rank}};
  if (first && !job->test.empty()) {
    auto s = net->evaluate(job->test, 1024, sample);
    if (!s) return lost(s.error());
    info["valid"] = {{"logloss", s->logloss}, {"accuracy", s->accuracy}};
  }
  auto bytes = net->save();
  if (!bytes) return bytes.error();
  return model_checkpoint(job->epochs, job->attempt, *bytes, info.dump());
}

} // namespace

void register_sage_kinds(caf::actor_system_config& cfg) {
  register_part_kind(cfg, sage_worker_kind, train_sage_part);
}

} // namespace troupe::training
