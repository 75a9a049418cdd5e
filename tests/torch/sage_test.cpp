// GraphSAGE on Debian's package graph (the shipped sample of bookworm's
// index): it beats the majority class by a clear margin, and training with
// minibatches sampled through METIS shards is training on the whole graph.

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/metis.hpp"
#include "actors/graph/node_features.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/models/torch_sage.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include <catch2/catch.hpp>

namespace nn = troupe::models::torch_nn;
using namespace troupe::graph;

namespace {

std::vector<nn::sage_hop> as_hops(const neighbourhood& n) {
  std::vector<nn::sage_hop> hops;
  for (auto& h : n.hops)
    hops.push_back({h.frontier, h.offsets, h.neighbours});
  return hops;
}

uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

TEST_CASE("GraphSAGE on Debian's package graph beats the majority class by "
          "a clear margin and trains the same through METIS shards",
          "[torch][graph][sage]") {
  auto l = debian_package_graph(
      {std::string{TROUPE_SOURCE_DIR} + "/tests/data/graph/Packages.sample"});
  REQUIRE(l);
  // renumbered so that each of 2 METIS parts owns a contiguous range
  metis_options mo;
  mo.parts = 2;
  auto part = metis_partition(l->graph, mo);
  REQUIRE(part);
  auto r = renumber(*part, 2);
  REQUIRE(r);
  auto g = relabel(l->graph, r->new_id);
  auto n = g.nodes;
  const uint32_t dims = 128;
  auto raw = name_features(l->names, l->graph, dims);
  auto x = torch::empty({static_cast<int64_t>(n), dims + 1});
  std::vector<uint32_t> labels(n);
  for (uint32_t v = 0; v < n; ++v) {
    auto to = r->new_id[v];
    std::copy(raw.begin() + static_cast<std::ptrdiff_t>(v * (dims + 1)),
              raw.begin() + static_cast<std::ptrdiff_t>((v + 1) * (dims + 1)),
              x[to].data_ptr<float>());
    labels[to] = l->labels[v];
  }
  // a fifth of the packages, by a hash of their name's node, held out
  std::vector<uint32_t> train, test;
  for (uint32_t v = 0; v < n; ++v)
    (mix(v) % 5 == 0 ? test : train).push_back(v);
  std::map<uint32_t, size_t> seen;
  for (auto v : train)
    ++seen[labels[v]];
  auto majority =
      std::max_element(seen.begin(), seen.end(), [](auto& a, auto& b) {
        return a.second < b.second;
      })->first;
  double majority_accuracy =
      static_cast<double>(
          std::count_if(test.begin(), test.end(),
                        [&](uint32_t v) { return labels[v] == majority; })) /
      static_cast<double>(test.size());

  sample_options so;
  so.fanouts = {10, 5};
  nn::sage_sampler whole = [&](const std::vector<uint32_t>& seeds,
                               uint64_t round) {
    auto o = so;
    o.seed = round;
    auto s = sample_neighbourhood(g, seeds, o);
    if (!s) throw std::runtime_error("sampling failed");
    return as_hops(*s);
  };
  std::vector<shard_view> shards;
  for (uint32_t p = 0; p < 2; ++p) {
    auto s = shard_of(g, r->map, p);
    REQUIRE(s);
    shards.push_back(std::move(*s));
  }
  size_t asked = 0;
  nn::sage_sampler sharded = [&](const std::vector<uint32_t>& seeds,
                                 uint64_t round) {
    auto o = so;
    o.seed = round;
    auto s = sample_through_shards(
        r->map, seeds, o,
        [&](uint32_t p, const std::vector<uint32_t>& nodes, uint32_t k,
            uint32_t hop) {
          ++asked;
          return sample_owned(shards[p], nodes, k, o.seed, hop);
        });
    if (!s) throw std::runtime_error("sampling through shards failed");
    return as_hops(*s);
  };

  nn::sage_train_options to;
  to.hidden = 64;
  to.batch = 64;
  to.epochs = 25;
  to.lr = 0.01;
  auto run = [&](const nn::sage_sampler& sample, double& accuracy) {
    torch::manual_seed(5);
    nn::sage_net net(dims + 1, to.hidden,
                     static_cast<int64_t>(l->label_names.size()));
    auto losses = nn::train_sage(net, x, labels, train, sample, to);
    accuracy = nn::sage_accuracy(net, x, labels, test, sample);
    return losses;
  };
  double acc_whole = 0, acc_sharded = 0;
  at::set_num_threads(1);
  auto losses = run(whole, acc_whole);
  INFO("accuracy " << acc_whole << ", majority " << majority_accuracy << " ("
                   << test.size() << " test packages of " << n << ")");
  CHECK(losses.back() < losses.front());
  CHECK(acc_whole >= majority_accuracy + 0.15);
  auto sharded_losses = run(sharded, acc_sharded);
  CHECK(asked > 0);
  CHECK(sharded_losses == losses);
  CHECK(acc_sharded == acc_whole);
}
