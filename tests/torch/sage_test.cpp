// GraphSAGE on Debian's package graph (the shipped sample of bookworm's
// index): it beats the majority class by a clear margin, and training with
// minibatches sampled through METIS shards is training on the whole graph.

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/node_task.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/models/torch_sage.hpp"

#include <stdexcept>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"

namespace nn = troupe::models::torch_nn;
using namespace troupe::graph;

namespace {

std::vector<nn::sage_hop> as_hops(const neighbourhood& n) {
  std::vector<nn::sage_hop> hops;
  for (auto& h : n.hops)
    hops.push_back({h.frontier, h.offsets, h.neighbours});
  return hops;
}

} // namespace

TEST_CASE("GraphSAGE on Debian's package graph beats the majority class by "
          "a clear margin and trains the same through METIS shards",
          "[torch][graph][sage]") {
  auto l = debian_package_graph(
      {std::string{TROUPE_SOURCE_DIR} + "/tests/data/graph/Packages.sample"});
  REQUIRE(l);
  auto t = node_task_of(*l, 2, 128);
  REQUIRE(t);
  auto x = torch::from_blob(
      t->features.data(),
      {static_cast<int64_t>(t->graph.nodes), static_cast<int64_t>(t->cols)});
  sample_options so;
  so.fanouts = {10, 5};
  nn::sage_sampler whole = [&](const std::vector<uint32_t>& seeds,
                               uint64_t round) {
    auto o = so;
    o.seed = round;
    auto s = sample_neighbourhood(t->graph, seeds, o);
    if (!s) throw std::runtime_error(troupe::describe(s.error()));
    return as_hops(*s);
  };
  std::vector<shard_view> shards;
  for (uint32_t p = 0; p < 2; ++p) {
    auto s = shard_of(t->graph, t->map, p);
    REQUIRE(s);
    shards.push_back(std::move(*s));
  }
  size_t asked = 0;
  nn::sage_sampler sharded = [&](const std::vector<uint32_t>& seeds,
                                 uint64_t round) {
    auto o = so;
    o.seed = round;
    auto s = sample_through_shards(
        t->map, seeds, o,
        [&](uint32_t p, const std::vector<uint32_t>& nodes, uint32_t k,
            uint32_t hop) {
          ++asked;
          return sample_owned(shards[p], nodes, k, o.seed, hop);
        });
    if (!s) throw std::runtime_error(troupe::describe(s.error()));
    return as_hops(*s);
  };

  nn::sage_train_options to;
  to.hidden = 64;
  to.batch = 64;
  to.epochs = 25;
  to.lr = 0.01;
  auto run = [&](const nn::sage_sampler& sample, double& accuracy) {
    torch::manual_seed(5);
    nn::sage_net net(t->cols, to.hidden,
                     static_cast<int64_t>(l->label_names.size()));
    auto losses = nn::train_sage(net, x, t->labels, t->train, sample, to);
    accuracy = nn::sage_accuracy(net, x, t->labels, t->test, sample);
    return losses;
  };
  double acc_whole = 0, acc_sharded = 0;
  at::set_num_threads(1);
  auto losses = run(whole, acc_whole);
  INFO("accuracy " << acc_whole << ", majority " << t->majority_accuracy << " ("
                   << t->test.size() << " test packages of " << t->graph.nodes
                   << ")");
  CHECK(losses.back() < losses.front());
  CHECK(acc_whole >= t->majority_accuracy + 0.15);
  auto sharded_losses = run(sharded, acc_sharded);
  CHECK(asked > 0);
  CHECK(sharded_losses == losses);
  CHECK(acc_sharded == acc_whole);
}

TEST_CASE("a node task holds out a fifth of the nodes and keeps labels with "
          "their renumbered nodes",
          "[torch][graph][sage]") {
  auto l = debian_package_graph(
      {std::string{TROUPE_SOURCE_DIR} + "/tests/data/graph/Packages.sample"});
  REQUIRE(l);
  auto one = node_task_of(*l, 1, 16);
  auto two = node_task_of(*l, 2, 16);
  REQUIRE(one);
  REQUIRE(two);
  CHECK(one->train.size() + one->test.size() == l->graph.nodes);
  CHECK(one->test.size() > l->graph.nodes / 10);
  CHECK(one->test.size() < l->graph.nodes * 3 / 10);
  // one part keeps the order: labels as read
  CHECK(one->labels == l->labels);
  // two parts: the same multiset of labels, each part a contiguous range
  auto a = one->labels, b = two->labels;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
  CHECK(two->map.partitions() == 2);
  CHECK(two->map.nodes() == l->graph.nodes);
  CHECK(two->graph.edges() == l->graph.edges());
  labeled_graph empty;
  CHECK_FALSE(node_task_of(empty, 1, 16));
}
