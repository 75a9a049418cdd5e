#include "actors/graph/shard_actor.hpp"

#include <chrono>
#include <cstring>
#include <memory>

#include <caf/all.hpp>

#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_file.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "schemas/graph.capnp.h"

namespace troupe::graph {

namespace {

/// How long a shard's file may take to reach its node.
constexpr auto fetch_timeout = std::chrono::minutes{30};

/// Messages that carry a hop's nodes or features: any size the wire takes.
const reader_limits whole_message{max_envelope_bytes / 8 + 1024, 64};

struct shard_state {
  static inline const char* name = "troupe.graph_shard";
  std::string who;
  std::shared_ptr<const graph_shard> shard;
  std::shared_ptr<spdlog::logger> log = log::get("graph");
};

using shard_self =
    caf::stateful_actor<shard_state, typed_worker_of<graph_shard_actor>::type>*;

envelope info_of(const graph_shard& s) {
  return make_envelope<schema::GraphShardInfo>([&](auto i) {
    i.setPartition(s.view.partition);
    i.setBegin(s.view.begin);
    i.setEnd(s.view.end);
    i.setHalo(s.view.halo.size());
    i.setEdges(s.view.neighbours.size());
    i.setDims(s.dims);
    i.setBytes(s.bytes());
  });
}

caf::error not_loaded(const shard_state& st) {
  return make_error(errc::invalid_argument,
                    "graph shard " + st.who + " has no partition loaded");
}

/// Reads the file on a helper thread and answers with its info once the
/// shard holds it (meanwhile the shard serves what it held).
caf::result<envelope> load(shard_self self, const std::string& path) {
  auto rp = self->make_response_promise<envelope>();
  auto slot = std::make_shared<caf::expected<graph_shard>>(caf::error{});
  auto reader = self->system().spawn<caf::detached>(
      [slot, path](caf::event_based_actor* helper) -> caf::behavior {
        return {[=](caf::tick_atom) {
          *slot = read_graph_shard(path);
          helper->quit();
          return caf::unit;
        }};
      });
  self->request(reader, caf::infinite, caf::tick_atom::value)
      .then(
          [=]() mutable {
            auto& st = self->state;
            if (!*slot) {
              rp.deliver(slot->error());
              return;
            }
            st.shard = std::make_shared<const graph_shard>(std::move(**slot));
            auto& v = st.shard->view;
            st.log->info("graph shard {}: partition {} loaded: nodes [{}, "
                         "{}), {} halo, {} edges, {} dims",
                         st.who, v.partition, v.begin, v.end, v.halo.size(),
                         v.neighbours.size(), st.shard->dims);
            rp.deliver(info_of(*st.shard));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<envelope> sample(shard_self self, const envelope& req) {
  auto& st = self->state;
  if (!st.shard) return not_loaded(st);
  auto out = req.visit<schema::GraphSampleRequest>(
      [&](auto r) -> caf::expected<envelope> {
        auto ns = r.getNodes();
        std::vector<uint32_t> nodes(ns.size());
        for (unsigned i = 0; i < ns.size(); ++i)
          nodes[i] = ns[i];
        auto hop = sample_owned(st.shard->view, nodes, r.getK(), r.getSeed(),
                                r.getHop());
        if (!hop) return hop.error();
        return make_envelope<schema::GraphSampledHop>([&](auto a) {
          auto off = a.initOffsets(static_cast<unsigned>(hop->offsets.size()));
          for (unsigned i = 0; i < hop->offsets.size(); ++i)
            off.set(i, hop->offsets[i]);
          auto nb =
              a.initNeighbours(static_cast<unsigned>(hop->neighbours.size()));
          for (unsigned i = 0; i < hop->neighbours.size(); ++i)
            nb.set(i, hop->neighbours[i]);
        });
      },
      whole_message);
  if (!out) return out.error();
  if (!*out) return out->error();
  return std::move(**out);
}

caf::result<envelope> features(shard_self self, const envelope& req) {
  auto& st = self->state;
  if (!st.shard) return not_loaded(st);
  auto& s = *st.shard;
  auto out = req.visit<schema::GraphNodes>(
      [&](auto r) -> caf::expected<envelope> {
        auto ns = r.getNodes();
        for (auto n : ns)
          if (n < s.view.begin || n >= s.view.end)
            return make_error(errc::invalid_argument,
                              "graph shard " + st.who + " (partition " +
                                  std::to_string(s.view.partition) +
                                  ") does not own node " + std::to_string(n) +
                                  ": it owns [" + std::to_string(s.view.begin) +
                                  ", " + std::to_string(s.view.end) + ")");
        return make_envelope<schema::GraphNodeFeatures>([&](auto a) {
          a.setDims(s.dims);
          auto bytes = size_t{ns.size()} * s.dims * sizeof(float);
          auto values = a.initValues(static_cast<unsigned>(bytes));
          auto labels = a.initLabels(ns.size());
          for (unsigned i = 0; i < ns.size(); ++i) {
            auto local = size_t{ns[i] - s.view.begin};
            std::memcpy(values.begin() + size_t{i} * s.dims * sizeof(float),
                        s.features.data() + local * s.dims,
                        s.dims * sizeof(float));
            labels.set(i, s.labels[local]);
          }
        });
      },
      whole_message);
  if (!out) return out.error();
  if (!*out) return out->error();
  return std::move(**out);
}

graph_shard_actor::behavior_type shard_behavior(shard_self self,
                                                kind_args args) {
  self->identify(args);
  self->state.who = args.name;
  return {
      [=](graph_load_atom, const std::string& path) {
        return load(self, path);
      },
      [=](graph_load_atom, const envelope& ref,
          const caf::actor& source) -> caf::result<envelope> {
        auto cache = local_dataset_cache(self->system());
        if (!cache)
          return make_error(errc::not_found,
                            "graph shard " + self->state.who +
                                ": its node runs no dataset cache");
        if (auto r = dataset_ref_of(ref); !r) return r.error();
        auto rp = self->make_response_promise<envelope>();
        self->request(cache, fetch_timeout, dataset_fetch_atom::value, ref,
                      source)
            .then(
                [=](const std::string& path) mutable {
                  // the file is on this node now: load it as any path
                  rp.delegate(caf::actor_cast<graph_shard_actor>(self),
                              graph_load_atom::value, path);
                },
                [=](caf::error& err) mutable {
                  rp.deliver(make_error(errc::not_found,
                                        "graph shard " + self->state.who +
                                            ": its partition did not "
                                            "arrive: " +
                                            describe(err)));
                });
        return rp;
      },
      [=](graph_sample_atom, const envelope& req) { return sample(self, req); },
      [=](graph_features_atom, const envelope& req) {
        return features(self, req);
      },
      self->stats_handler(),
  };
}

} // namespace

void register_graph_kinds(caf::actor_system_config& cfg) {
  register_schema<schema::GraphShardInfo>();
  register_schema<schema::GraphSampleRequest>();
  register_schema<schema::GraphSampledHop>();
  register_schema<schema::GraphNodes>();
  register_schema<schema::GraphNodeFeatures>();
  cfg.add_actor_type(graph_shard_kind, shard_behavior);
  mark_service_kind(graph_shard_kind);
}

} // namespace troupe::graph
