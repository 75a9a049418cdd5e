// Data-parallel XGBoost (actors/training/xgb_parallel, rabit_tracker): the
// tracker's tree and ring, workers that each hold a block of the rows and
// train one booster together through troupe's own rabit tracker, predicting
// bit for bit what one process trains on all the rows (features with few
// distinct values: the histogram bins hold them exactly), training that
// continues from a checkpoint, and bad input.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/training/rabit_tracker.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

/// Integer features 0..9 (column 0 categorical, codes 0..5), and a label
/// from a planted rule with noise: binary, or a regression value.
tabular::matrix few_values(size_t rows, bool binary, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<int> digit{0, 9}, code{0, 5};
  std::normal_distribution<double> noise{0, 1};
  tabular::matrix m;
  m.rows = rows;
  m.cols = 6;
  for (size_t r = 0; r < rows; ++r) {
    double z = 0;
    for (size_t c = 0; c < m.cols; ++c) {
      float v = c == 0 ? static_cast<float>(code(rng))
                       : static_cast<float>(digit(rng));
      if (c == 0) z += (v == 1 || v == 4) ? 1.5 : -0.5;
      if (c == 1) z += 0.4 * (v - 4.5);
      if (c == 2) z -= 0.3 * (v - 4.5);
      m.values.push_back(v);
    }
    z += noise(rng);
    m.labels.push_back(binary ? (z > 0 ? 1.f : 0.f) : static_cast<float>(z));
  }
  return m;
}

tabular::matrix block(const tabular::matrix& m, size_t index, size_t workers) {
  auto [b, e] = block_of(m.rows, index, workers);
  std::vector<size_t> which;
  for (auto r = b; r < e; ++r)
    which.push_back(r);
  return tabular::take_rows(m, which);
}

std::vector<std::pair<std::string, std::string>> params(bool binary) {
  return {{"objective", binary ? "binary:logistic" : "reg:squarederror"},
          {"tree_method", "hist"},
          {"max_depth", "4"},
          {"eta", "0.3"},
          {"nthread", "1"},
          {"verbosity", "0"}};
}

const std::vector<std::string> types{"c", "q", "q", "q", "q", "q"};

/// Trains `workers` parts on threads through one tracker, optionally from a
/// checkpoint; every worker's model.
std::vector<xgb::checkpoint> parallel(const tabular::matrix& m, size_t workers,
                                      bool binary, uint32_t rounds,
                                      const xgb::checkpoint& start = {}) {
  auto tracker = rabit_tracker::start("127.0.0.1", static_cast<int>(workers));
  REQUIRE(tracker);
  std::vector<caf::expected<xgb::checkpoint>> out(workers, caf::error{});
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      xgb_part part;
      part.tracker_host = "127.0.0.1";
      part.tracker_port = (*tracker)->port();
      part.world = static_cast<int>(workers);
      part.task = "worker-" + std::to_string(w);
      part.params = params(binary);
      part.types = types;
      part.rounds = rounds;
      part.start = start;
      out[w] = train_part(part, block(m, w, workers));
    });
  for (auto& t : threads)
    t.join();
  CHECK((*tracker)->failure().empty());
  std::vector<xgb::checkpoint> models;
  for (auto& o : out) {
    if (!o) FAIL(describe(o.error()));
    models.push_back(std::move(*o));
  }
  return models;
}

xgb::checkpoint single(const tabular::matrix& m, bool binary, uint32_t rounds) {
  xgb_part part;
  part.params = params(binary);
  part.types = types;
  part.rounds = rounds;
  auto cp = train_part(part, m);
  REQUIRE(cp);
  return *cp;
}

std::vector<float> predictions(const xgb::checkpoint& cp,
                               const tabular::matrix& test) {
  auto b = xgb::booster::restore(cp);
  REQUIRE(b);
  size_t groups = 0;
  auto p = b->predict_dense(test.values.data(), test.rows, test.cols, groups);
  REQUIRE(p);
  return *p;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

} // namespace

TEST_CASE("rabit links: a tree and a ring that every rank agrees on",
          "[training][xgb_parallel]") {
  for (int n = 1; n <= 9; ++n) {
    auto l = rabit_link_map(n);
    REQUIRE(l.tree.size() == static_cast<size_t>(n));
    int roots = 0;
    for (int r = 0; r < n; ++r) {
      auto& nb = l.tree[static_cast<size_t>(r)];
      for (int v : nb) {
        // links are symmetric
        auto& back = l.tree[static_cast<size_t>(v)];
        CHECK(std::find(back.begin(), back.end(), r) != back.end());
      }
      auto p = l.parent[static_cast<size_t>(r)];
      if (p < 0)
        ++roots;
      else
        CHECK(std::find(nb.begin(), nb.end(), p) != nb.end());
      CHECK(l.ring[static_cast<size_t>(r)].first == (r + n - 1) % n);
      CHECK(l.ring[static_cast<size_t>(r)].second == (r + 1) % n);
    }
    CHECK(roots == 1);
    CHECK(l.parent[0] == -1);
  }
}

TEST_CASE("data-parallel XGBoost predicts bit for bit what one process "
          "trains on all the rows",
          "[training][xgb_parallel]") {
  for (bool binary : {true, false}) {
    auto m = few_values(900, binary, binary ? 7 : 8);
    auto test = few_values(300, binary, 99);
    auto one = predictions(single(m, binary, 12), test);
    for (size_t workers : {2, 3}) {
      INFO((binary ? "binary, " : "regression, ") << workers << " workers");
      auto models = parallel(m, workers, binary, 12);
      for (auto& cp : models)
        CHECK(same_bits(predictions(cp, test), one));
    }
  }
}

TEST_CASE("data-parallel XGBoost continues from a checkpoint as if never "
          "stopped",
          "[training][xgb_parallel]") {
  auto m = few_values(600, true, 3);
  auto test = few_values(200, true, 4);
  auto whole = parallel(m, 2, true, 10);
  auto half = parallel(m, 2, true, 4);
  auto rest = parallel(m, 2, true, 10, half[0]);
  auto b = xgb::booster::restore(rest[0]);
  REQUIRE(b);
  CHECK(*b->rounds() == 10);
  CHECK(same_bits(predictions(rest[0], test), predictions(whole[0], test)));
}

TEST_CASE("data-parallel XGBoost: bad input is named",
          "[training][xgb_parallel]") {
  SECTION("a worker without labels") {
    xgb_part part;
    part.params = params(true);
    part.rounds = 2;
    auto m = few_values(10, true, 1);
    m.labels.clear();
    auto r = train_part(part, m);
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("labeled rows"));
  }
  SECTION("a stranger that is no rabit worker") {
    auto tracker = rabit_tracker::start("127.0.0.1", 2);
    REQUIRE(tracker);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>((*tracker)->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
            0);
    const char junk[] = "GET / HTTP/1.0\r\n\r\n";
    REQUIRE(::send(fd, junk, sizeof junk, 0) > 0);
    std::string failure;
    for (int i = 0; i < 200 && failure.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
      failure = (*tracker)->failure();
    }
    ::close(fd);
    CHECK_THAT(failure, Catch::Contains("not a rabit worker"));
  }
  SECTION("a tracker for no workers") {
    auto t = rabit_tracker::start("127.0.0.1", 0);
    REQUIRE_FALSE(t);
    CHECK_THAT(describe(t.error()), Catch::Contains("at least one"));
  }
}
