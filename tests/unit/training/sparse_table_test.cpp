// The parameter server's sparse model (actors/training): the FTRL-Proximal
// and AdaGrad tables against the paper's per-coordinate algorithm written
// out here, key-range shards that train exactly as one table, memory in
// proportion to the touched keys of a 2^32 key space, logistic regression
// that learns a planted model, the consistency clock, and bad input.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "actors/tabular/metrics.hpp"
#include "actors/training/sparse_lr.hpp"
#include "actors/training/sparse_table.hpp"
#include "actors/training/step_clock.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/training/planted.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

std::vector<sparse_row> planted(size_t n, size_t features, size_t active,
                                uint64_t seed) {
  return test::planted(n, features, active, seed, -0.3, 0xffffffffull);
}

/// FTRL-Proximal per coordinate, one example at a time, as Algorithm 1 of
/// McMahan et al. (2013) states it.
struct paper_ftrl {
  double alpha, beta, l1, l2;
  std::unordered_map<uint64_t, double> z, n;

  double w(uint64_t i) {
    auto zi = z[i];
    if (std::abs(zi) <= l1) return 0;
    return -(zi - (zi < 0 ? -1 : 1) * l1) /
           ((beta + std::sqrt(n[i])) / alpha + l2);
  }

  void learn(const sparse_row& row) {
    std::vector<uint64_t> active{bias_key};
    active.insert(active.end(), row.keys.begin(), row.keys.end());
    std::map<uint64_t, double> wt;
    double margin = 0;
    for (auto i : active) {
      wt[i] = w(i);
      margin += wt[i];
    }
    auto p = 1 / (1 + std::exp(-margin));
    for (auto i : active) {
      auto g = p - row.label;
      auto sigma = (std::sqrt(n[i] + g * g) - std::sqrt(n[i])) / alpha;
      z[i] += g - sigma * wt[i];
      n[i] += g * g;
    }
  }
};

double auc_of(const sparse_table& t, const std::vector<sparse_row>& rows) {
  std::vector<float> y, p;
  for (auto& r : rows) {
    y.push_back(r.label);
    p.push_back(predict(t, r));
  }
  auto a = tabular::auc(y, p);
  REQUIRE(a);
  return *a;
}

} // namespace

TEST_CASE("the FTRL table trains as the paper's per-coordinate algorithm",
          "[training][ps]") {
  auto rows = planted(2000, 300, 8, 1);
  sparse_params params;
  params.alpha = 0.2;
  params.beta = 1;
  params.l1 = 0.5;
  params.l2 = 0.1;
  sparse_table table{params};
  REQUIRE_FALSE(train_in_process(table, rows, 1, 1));
  paper_ftrl ref{0.2, 1, 0.5, 0.1, {}, {}};
  for (auto& r : rows)
    ref.learn(r);
  size_t compared = 0;
  for (auto& r : rows)
    for (auto k : r.keys) {
      CHECK(table.weight(k) == Approx(ref.w(k)).margin(1e-6));
      ++compared;
    }
  CHECK(table.weight(bias_key) == Approx(ref.w(bias_key)).margin(1e-6));
  CHECK(compared > 1000);
  // L1 keeps some weights at exactly zero
  size_t zeros = 0;
  for (auto& e : table.entries())
    zeros += table.weight(e.key) == 0.f ? 1 : 0;
  CHECK(zeros > 0);
}

TEST_CASE("a table cut into key-range shards trains exactly as one table",
          "[training][ps]") {
  auto rows = planted(3000, 500, 10, 2);
  sparse_params params;
  params.l1 = 0.1;
  sparse_table whole{params};
  REQUIRE_FALSE(train_in_process(whole, rows, 16, 2));
  const uint32_t shards = 3;
  std::vector<sparse_table> part(shards, sparse_table{params});
  for (int epoch = 0; epoch < 2; ++epoch)
    for (size_t b = 0; b < rows.size(); b += 16) {
      auto end = std::min(rows.size(), b + 16);
      auto keys = keys_of(rows, b, end);
      std::vector<float> weights;
      for (auto k : keys)
        weights.push_back(part[shard_of(k, shards)].weight(k));
      auto g = gradient(rows, b, end, keys, weights);
      REQUIRE(g);
      std::vector<std::vector<uint64_t>> ks(shards);
      std::vector<std::vector<float>> gs(shards);
      for (size_t i = 0; i < g->keys.size(); ++i) {
        auto s = shard_of(g->keys[i], shards);
        ks[s].push_back(g->keys[i]);
        gs[s].push_back(g->grads[i]);
      }
      for (uint32_t s = 0; s < shards; ++s)
        REQUIRE_FALSE(part[s].push(ks[s], gs[s]));
    }
  size_t stored = 0;
  for (uint32_t s = 0; s < shards; ++s) {
    stored += part[s].size();
    for (auto& e : part[s].entries()) {
      CHECK(shard_of(e.key, shards) == s);
      CHECK(part[s].weight(e.key) == whole.weight(e.key)); // bit for bit
    }
  }
  CHECK(stored == whole.size());
  // every shard holds a contiguous range: its first key is where it starts
  for (uint32_t s = 1; s < shards; ++s) {
    auto first = first_key_of(s, shards);
    CHECK(shard_of(first, shards) == s);
    CHECK(shard_of(first - 1, shards) == s - 1);
  }
  CHECK(shard_of(~uint64_t{0}, shards) == shards - 1);
  CHECK(first_key_of(0, shards) == 0);
}

TEST_CASE("a 2^32 key space costs memory in proportion to the touched keys",
          "[training][ps]") {
  sparse_table table;
  std::mt19937_64 rng{7};
  std::set<uint64_t> distinct;
  std::vector<uint64_t> keys;
  std::vector<float> grads;
  for (int i = 0; i < 200000; ++i) {
    auto k = rng() & 0xffffffffull;
    keys.push_back(k);
    grads.push_back(0.5f);
    distinct.insert(k);
  }
  REQUIRE_FALSE(table.push(keys, grads));
  CHECK(table.size() == distinct.size());
  // a dense table of 2^32 floats would take 16 GiB
  CHECK(table.bytes() < 32u * 1024 * 1024);
  CHECK(table.bytes() >= distinct.size() * 24);
  // untouched keys read as zero and are not stored by a pull
  CHECK(table.pull({1ull << 40, 3})[0] == 0.f);
  CHECK(table.size() == distinct.size());
}

TEST_CASE("logistic regression on hashed keys learns a planted model with "
          "FTRL and AdaGrad, and checkpoints restore it",
          "[training][ps]") {
  auto train = planted(20000, 2000, 12, 3);
  auto valid = planted(4000, 2000, 12, 4);
  for (auto opt : {sparse_optimizer::ftrl, sparse_optimizer::adagrad}) {
    sparse_params params;
    params.optimizer = opt;
    params.alpha = opt == sparse_optimizer::ftrl ? 0.1 : 0.05;
    params.l2 = 0.01;
    sparse_table table{params};
    auto before = auc_of(table, valid);
    REQUIRE_FALSE(train_in_process(table, train, 32, 3));
    auto after = auc_of(table, valid);
    INFO(to_string(opt) << ": AUC " << before << " -> " << after);
    CHECK(before == Approx(0.5));
    CHECK(after > 0.8);
    sparse_table copy{params};
    copy.restore(table.entries());
    for (auto& r : valid)
      CHECK(predict(copy, r) == predict(table, r));
  }
}

TEST_CASE("the step clock holds workers to sync, bounded staleness and "
          "async",
          "[training][ps]") {
  step_clock sync{0};
  sync.add("a");
  sync.add("b");
  CHECK(sync.may_start("a"));
  CHECK(sync.finish("a").empty());
  CHECK_FALSE(sync.may_start("a")); // b has not pushed step 0
  sync.wait("a");
  CHECK(sync.finish("b") == std::vector<std::string>{"a"});
  CHECK(sync.may_start("a"));
  CHECK(sync.slowest() == 1);

  auto tau = parse_consistency("ssp:2");
  REQUIRE(tau);
  step_clock ssp{*tau};
  ssp.add("fast");
  ssp.add("slow");
  for (int i = 0; i < 2; ++i)
    ssp.finish("fast");
  CHECK(ssp.may_start("fast")); // 2 ahead
  ssp.finish("fast");
  CHECK_FALSE(ssp.may_start("fast")); // 3 ahead
  ssp.wait("fast");
  // the slow worker leaves (its node died): the fast one goes on
  CHECK(ssp.remove("slow") == std::vector<std::string>{"fast"});
  // a regrouped worker joins at the checkpoint's step
  ssp.add("new", 3);
  CHECK(ssp.clock("new") == 3);
  CHECK(ssp.may_start("fast"));

  auto none = parse_consistency("async");
  REQUIRE(none);
  step_clock async{*none};
  async.add("a");
  async.add("b");
  for (int i = 0; i < 100; ++i)
    async.finish("a");
  CHECK(async.may_start("a"));
  CHECK_FALSE(async.may_start("ghost"));

  for (auto bad : {"ssp", "ssp:", "ssp:-1", "ssp:x", "eventual"}) {
    auto err = parse_consistency(bad);
    REQUIRE_FALSE(err);
    CHECK_THAT(describe(err.error()),
               Catch::Contains(std::string{"'"} + bad + "'") &&
                   Catch::Contains("sync, async"));
  }
}

TEST_CASE("bad parameter-server input is named", "[training][ps]") {
  sparse_table table;
  auto err = table.push({1, 2}, {0.5f});
  REQUIRE(err);
  CHECK_THAT(describe(err),
             Catch::Contains("2 keys") && Catch::Contains("1 gradients"));
  err = table.push({1, 9}, {0.5f, std::nanf("")});
  REQUIRE(err);
  CHECK_THAT(describe(err),
             Catch::Contains("non-finite") && Catch::Contains("key 9"));
  CHECK(table.size() == 0); // nothing of a bad push is applied
  sparse_params p;
  p.alpha = 0;
  CHECK_THAT(describe(p.check()), Catch::Contains("alpha"));
  p.alpha = 0.1;
  p.l1 = -1;
  CHECK_THAT(describe(p.check()), Catch::Contains("l1"));
  CHECK_FALSE(sparse_params{}.check());
  auto opt = parse_sparse_optimizer("sgd");
  REQUIRE_FALSE(opt);
  CHECK_THAT(describe(opt.error()), Catch::Contains("'sgd'"));
  std::vector<sparse_row> rows{{{5, 6}, 1.f}};
  auto g = gradient(rows, 0, 1, {bias_key, 5}, {0.f, 0.f});
  REQUIRE_FALSE(g);
  CHECK_THAT(describe(g.error()), Catch::Contains("key 6"));
  CHECK(train_in_process(table, rows, 0, 1));
}
