// GraphSAGE on Debian's package graph (the shipped sample of bookworm's
// index): it beats the majority class by a clear margin, and training with
// minibatches sampled through METIS shards is training on the whole graph.

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/node_task.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_actor.hpp"
#include "actors/graph/shard_client.hpp"
#include "actors/graph/shard_file.hpp"
#include "actors/graph/shard_placement.hpp"
#include "actors/models/torch_sage.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "tests/support/process.hpp"

namespace nn = troupe::models::torch_nn;
using namespace troupe::graph;

namespace {

std::vector<nn::sage_hop> as_hops(const neighbourhood& n) {
  std::vector<nn::sage_hop> hops;
  for (auto& h : n.hops)
    hops.push_back({h.frontier, h.offsets, h.neighbours});
  return hops;
}

/// The shipped sample of bookworm's package index.
std::unique_ptr<labeled_graph> package_sample() {
  auto l = debian_package_graph(
      {std::string{TROUPE_SOURCE_DIR} + "/tests/data/graph/Packages.sample"});
  if (!l) FAIL(troupe::describe(l.error()));
  return std::make_unique<labeled_graph>(std::move(*l));
}

/// Every node's features as one table (no copy).
torch::Tensor feature_table(node_task& t) {
  return torch::from_blob(
      t.features.data(),
      {static_cast<int64_t>(t.graph.nodes), static_cast<int64_t>(t.cols)});
}

/// Minibatches sampled in one process over the whole graph.
nn::sage_sampler whole_graph(const node_task& t, const sample_options& so) {
  return [&t, so](const std::vector<uint32_t>& seeds, uint64_t round) {
    auto o = so;
    o.seed = round;
    auto s = sample_neighbourhood(t.graph, seeds, o);
    if (!s) throw std::runtime_error(troupe::describe(s.error()));
    return nn::sage_batch{as_hops(*s)};
  };
}

} // namespace

TEST_CASE("GraphSAGE on Debian's package graph beats the majority class by "
          "a clear margin and trains the same through METIS shards",
          "[torch][graph][sage]") {
  auto l = package_sample();
  auto t = node_task_of(*l, 2, 128);
  REQUIRE(t);
  auto x = feature_table(*t);
  sample_options so;
  so.fanouts = {10, 5};
  auto whole = whole_graph(*t, so);
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
        ask_each([&](uint32_t p, const std::vector<uint32_t>& nodes, uint32_t k,
                     uint32_t hop) {
          ++asked;
          return sample_owned(shards[p], nodes, k, o.seed, hop);
        }));
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
  auto l = package_sample();
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

TEST_CASE("GraphSAGE trained by two data-parallel workers that sample their "
          "minibatches and fetch their features through graph shard actors "
          "on a cluster's nodes takes the steps one process takes on the "
          "whole graph",
          "[torch][graph][sage]") {
  auto l = package_sample();
  auto t = node_task_of(*l, 2, 64);
  REQUIRE(t);
  troupe::test::temp_dir dir;
  std::vector<std::string> files;
  for (uint32_t p = 0; p < 2; ++p) {
    auto s =
        graph_shard_of(t->graph, t->map, p, t->features, t->cols, t->labels);
    REQUIRE(s);
    files.push_back(dir.path() + "/part-" + std::to_string(p) + ".gshard");
    REQUIRE_FALSE(write_graph_shard(files.back(), *s));
  }
  // a head and a worker node, each with its dataset cache: the shards'
  // files travel through the caches to their nodes
  auto cluster = troupe::local_cluster::start(1, 1, register_graph_kinds, {},
                                              {}, dir.path() + "/nodes");
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  auto shards =
      place_shards(sys, (*cluster)->directory(), {"head", "worker-1"}, files);
  INFO((shards ? std::string{} : troupe::describe(shards.error())));
  REQUIRE(static_cast<bool>(shards));
  REQUIRE(shards->size() == 2);

  nn::sage_train_options to;
  to.hidden = 32;
  to.batch = 64;
  to.epochs = 3;
  to.lr = 0.01;
  sample_options so;
  so.fanouts = {10, 5};
  // one process on the whole graph
  auto x = feature_table(*t);
  auto whole = whole_graph(*t, so);
  at::set_num_threads(1);
  torch::manual_seed(5);
  nn::sage_net one(t->cols, to.hidden,
                   static_cast<int64_t>(l->label_names.size()));
  auto expected = nn::train_sage(one, x, t->labels, t->train, whole, to);

  // two workers, each with its own client of the shard actors; their
  // replicas start equal (the same seed) and know no feature but what the
  // shards send
  std::vector<std::vector<double>> losses(2);
  std::vector<size_t> rows_fetched(2, 0);
  std::vector<bool> labels_agree(2, true);
  nn::run_group_threads(
      2, "sage-shards", 1,
      [&](int rank, const nn::group_ptr& g) {
        shard_client client{sys, t->map, *shards};
        nn::sage_sampler through = [&](const std::vector<uint32_t>& seeds,
                                       uint64_t round) {
          auto o = so;
          o.seed = round;
          auto b = client.batch(seeds, o);
          if (!b) throw std::runtime_error(troupe::describe(b.error()));
          rows_fetched[rank] += b->nodes.size();
          for (size_t i = 0; i < b->nodes.size(); ++i)
            if (b->rows.labels[i] != t->labels[b->nodes[i]])
              labels_agree[rank] = false;
          auto rows = torch::from_blob(b->rows.values.data(),
                                       {static_cast<int64_t>(b->nodes.size()),
                                        static_cast<int64_t>(b->rows.dims)})
                          .clone();
          return nn::sage_batch{as_hops(b->hops), rows};
        };
        torch::manual_seed(5);
        nn::sage_net net(t->cols, to.hidden,
                         static_cast<int64_t>(l->label_names.size()));
        // no global table: every row comes from the shards
        losses[rank] = nn::train_sage(net, torch::Tensor{}, t->labels, t->train,
                                      through, to, g);
      },
      120);
  for (int r = 0; r < 2; ++r) {
    INFO("worker " << r);
    CHECK(rows_fetched[r] > 0);
    CHECK(labels_agree[r]);
    REQUIRE(losses[r].size() == expected.size());
    for (size_t e = 0; e < expected.size(); ++e)
      CHECK(std::abs(losses[r][e] - expected[e]) <= 1e-4 * expected[e]);
  }
  // a node no shard owns is named
  shard_client client{sys, t->map, *shards};
  auto bad = client.features({t->graph.nodes + 3});
  REQUIRE_FALSE(bad);
  CHECK_THAT(troupe::describe(bad.error()),
             Catch::Contains("is not in the graph of"));
}
