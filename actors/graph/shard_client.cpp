#include "actors/graph/shard_client.hpp"

#include <cstring>
#include <string>

#include <caf/all.hpp>

#include "actors/graph/shard_actor.hpp"
#include "runtime/errors.hpp"
#include "schemas/graph.capnp.h"

namespace troupe::graph {

namespace {

const reader_limits whole_message{max_envelope_bytes / 8 + 1024, 64};

template <class List, class T>
void copy_list(List l, std::vector<T>& v) {
  v.resize(l.size());
  for (unsigned i = 0; i < l.size(); ++i)
    v[i] = l[i];
}

caf::error shard_failed(uint32_t p, const caf::error& err) {
  return make_error(errc::io_failure, "graph shard of partition " +
                                          std::to_string(p) + ": " +
                                          describe(err));
}

} // namespace

shard_client::shard_client(caf::actor_system& sys, partition_map map,
                           std::vector<caf::actor> shards,
                           std::chrono::milliseconds timeout)
    : map_(std::move(map)), shards_(std::move(shards)), timeout_(timeout),
      self_(std::make_unique<caf::scoped_actor>(sys)) {}

shard_client::~shard_client() = default;

caf::expected<std::vector<sampled_hop>>
shard_client::ask(const std::vector<std::vector<uint32_t>>& nodes, uint32_t k,
                  uint64_t seed, uint32_t hop) {
  auto parts = map_.partitions();
  if (nodes.size() != parts || shards_.size() != parts)
    return make_error(errc::invalid_argument,
                      std::to_string(nodes.size()) + " parts of a hop and " +
                          std::to_string(shards_.size()) + " shards for " +
                          std::to_string(parts) + " partitions");
  auto& self = *self_;
  // every request out first: the shards sample side by side
  using handle = decltype(self->request(shards_[0], timeout_,
                                        graph_sample_atom::value, envelope{}));
  std::vector<std::pair<uint32_t, handle>> asked;
  for (uint32_t p = 0; p < parts; ++p) {
    if (nodes[p].empty()) continue;
    auto req = make_envelope<schema::GraphSampleRequest>([&](auto r) {
      auto ns = r.initNodes(static_cast<unsigned>(nodes[p].size()));
      for (unsigned i = 0; i < nodes[p].size(); ++i)
        ns.set(i, nodes[p][i]);
      r.setK(k);
      r.setSeed(seed);
      r.setHop(hop);
    });
    asked.emplace_back(
        p, self->request(shards_[p], timeout_, graph_sample_atom::value, req));
  }
  std::vector<sampled_hop> out(parts);
  caf::error failed;
  for (auto& [p, h] : asked)
    h.receive(
        [&, p = p](const envelope& reply) {
          auto ok = reply.visit<schema::GraphSampledHop>(
              [&](auto r) {
                auto& o = out[p];
                copy_list(r.getOffsets(), o.offsets);
                copy_list(r.getNeighbours(), o.neighbours);
                o.frontier = nodes[p];
                return true;
              },
              whole_message);
          if (!ok && !failed) failed = shard_failed(p, ok.error());
        },
        [&, p = p](caf::error& err) {
          if (!failed) failed = shard_failed(p, err);
        });
  if (failed) return failed;
  return out;
}

caf::expected<neighbourhood>
shard_client::sample(const std::vector<uint32_t>& seeds,
                     const sample_options& o) {
  return sample_through_shards(
      map_, seeds, o,
      [&](const std::vector<std::vector<uint32_t>>& nodes, uint32_t k,
          uint32_t hop) { return ask(nodes, k, o.seed, hop); });
}

caf::expected<node_rows>
shard_client::features(const std::vector<uint32_t>& nodes) {
  auto parts = map_.partitions();
  if (shards_.size() != parts)
    return make_error(errc::invalid_argument,
                      std::to_string(shards_.size()) + " shards for " +
                          std::to_string(parts) + " partitions");
  std::vector<std::vector<uint32_t>> by(parts);
  std::vector<std::vector<size_t>> places(parts);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i] >= map_.nodes())
      return make_error(errc::invalid_argument,
                        "node " + std::to_string(nodes[i]) +
                            " is not in the graph of " +
                            std::to_string(map_.nodes()) + " nodes");
    auto p = map_.locate(nodes[i]).partition;
    by[p].push_back(nodes[i]);
    places[p].push_back(i);
  }
  auto& self = *self_;
  using handle = decltype(self->request(
      shards_[0], timeout_, graph_features_atom::value, envelope{}));
  std::vector<std::pair<uint32_t, handle>> asked;
  for (uint32_t p = 0; p < parts; ++p) {
    if (by[p].empty()) continue;
    auto req = make_envelope<schema::GraphNodes>([&](auto r) {
      auto ns = r.initNodes(static_cast<unsigned>(by[p].size()));
      for (unsigned i = 0; i < by[p].size(); ++i)
        ns.set(i, by[p][i]);
    });
    asked.emplace_back(p, self->request(shards_[p], timeout_,
                                        graph_features_atom::value, req));
  }
  node_rows out;
  bool sized = false;
  caf::error failed;
  for (auto& [p, h] : asked)
    h.receive(
        [&, p = p](const envelope& reply) {
          auto ok = reply.visit<schema::GraphNodeFeatures>(
              [&](auto r) -> std::string {
                auto dims = r.getDims();
                if (!sized) {
                  out.dims = dims;
                  out.values.assign(nodes.size() * size_t{dims}, 0.f);
                  out.labels.assign(nodes.size(), 0);
                  sized = true;
                }
                auto values = r.getValues();
                auto labels = r.getLabels();
                if (dims != out.dims ||
                    values.size() != by[p].size() * size_t{dims} * 4 ||
                    labels.size() != by[p].size())
                  return "graph shard of partition " + std::to_string(p) +
                         " answered " + std::to_string(labels.size()) +
                         " rows of " + std::to_string(dims) + " dims for " +
                         std::to_string(by[p].size()) + " nodes of " +
                         std::to_string(out.dims);
                for (size_t i = 0; i < by[p].size(); ++i) {
                  std::memcpy(out.values.data() + places[p][i] * dims,
                              values.begin() + i * dims * sizeof(float),
                              dims * sizeof(float));
                  out.labels[places[p][i]] = labels[static_cast<unsigned>(i)];
                }
                return {};
              },
              whole_message);
          if (failed) return;
          if (!ok)
            failed = shard_failed(p, ok.error());
          else if (!ok->empty())
            failed = make_error(errc::invalid_argument, *ok);
        },
        [&, p = p](caf::error& err) {
          if (!failed) failed = shard_failed(p, err);
        });
  if (failed) return failed;
  return out;
}

caf::expected<minibatch> shard_client::batch(const std::vector<uint32_t>& seeds,
                                             const sample_options& o) {
  auto n = sample(seeds, o);
  if (!n) return n.error();
  minibatch b;
  b.hops = std::move(*n);
  b.nodes = compact(b.hops);
  auto rows = features(b.nodes);
  if (!rows) return rows.error();
  b.rows = std::move(*rows);
  return b;
}

} // namespace troupe::graph
