// Data-parallel MLPs (actors/models/parallel_mlp, the plugin's
// torch_parallel.cpp): N replicas in a gloo group, each on its own rows
// with a local batch of B/N, end with the weights one process trains with
// batch B on the same rows (relative difference <= 1e-5), for a binary and
// a regression task; the rendezvous and the group name their bad input.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <thread>

#include "actors/models/parallel_mlp.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;

namespace {

constexpr size_t cols = 8;

/// rows x ncols normal features and labels from a planted model (binary,
/// or a regression value).
void planted(size_t rows, bool binary, uint64_t seed, std::vector<float>& x,
             std::vector<float>& y, size_t ncols = cols) {
  std::mt19937_64 rng{seed};
  std::normal_distribution<float> n{0, 1};
  for (size_t r = 0; r < rows; ++r) {
    float z = 0;
    for (size_t c = 0; c < ncols; ++c) {
      float v = n(rng) * (1 + c) + static_cast<float>(c);
      x.push_back(v);
      z += (c % 2 ? 0.3f : -0.2f) * (v - c);
    }
    y.push_back(binary ? (z + 0.5f * n(rng) > 0 ? 1.f : 0.f) : 3 * z + 10);
  }
}

troupe_torch_mlp_params params() {
  troupe_torch_mlp_params p{};
  p.layers = 2;
  p.width = 16;
  p.activation = 2; // tanh: smooth, so float rounding stays rounding
  p.batch_size = 32;
  p.dropout = 0;
  p.lr = 1e-2;
  p.weight_decay = 1e-4;
  return p;
}

double relative_difference(const std::vector<float>& a,
                           const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

} // namespace

namespace {

using replica_maker = std::function<caf::expected<mlp_replica>()>;

/// `world` replicas from `make` in a gloo group, each on its own rows with
/// a local batch of B / world, against one process with batch B on the
/// same rows in the same order: their weights after 3 epochs.
void check_one_net(const replica_maker& make, size_t ncols, bool binary,
                   int world) {
  const size_t local = 16, steps = 12, epochs = 3;
  const size_t global = local * world;
  // each worker's own rows
  std::vector<std::vector<float>> xs(world), ys(world);
  for (int w = 0; w < world; ++w)
    planted(local * steps, binary, 100 + w, xs[w], ys[w], ncols);
  // one process: step s takes every worker's s-th local batch
  std::vector<float> x1, y1;
  for (size_t s = 0; s < steps; ++s)
    for (int w = 0; w < world; ++w) {
      x1.insert(x1.end(), xs[w].begin() + s * local * ncols,
                xs[w].begin() + (s + 1) * local * ncols);
      y1.insert(y1.end(), ys[w].begin() + s * local,
                ys[w].begin() + (s + 1) * local);
    }
  auto one = make();
  REQUIRE(one);
  parallel_epoch e1{global, global, steps, false, 1 << 20, 1};
  for (size_t k = 0; k < epochs; ++k)
    REQUIRE(one->fit_epoch(nullptr, x1.data(), y1.data(), global * steps, ncols,
                           e1));
  auto expected = one->weights();
  REQUIRE(expected);

  auto store = torch_rendezvous::serve("127.0.0.1", world, 30);
  REQUIRE(store);
  std::vector<caf::expected<std::vector<float>>> got(world, caf::error{});
  std::vector<std::thread> threads;
  for (int w = 0; w < world; ++w)
    threads.emplace_back([&, w] {
      auto g = torch_group::join("127.0.0.1", store->port(), "test", w, world,
                                 "127.0.0.1", 30);
      if (!g) {
        got[w] = g.error();
        return;
      }
      auto m = make();
      if (!m) {
        got[w] = m.error();
        return;
      }
      // small buckets: several allreduces per step, overlapping backward
      parallel_epoch e{local, global, steps, false, 256, 1};
      for (size_t k = 0; k < epochs; ++k)
        if (auto l = m->fit_epoch(&*g, xs[w].data(), ys[w].data(),
                                  local * steps, ncols, e);
            !l) {
          got[w] = l.error();
          return;
        }
      got[w] = m->weights();
    });
  for (auto& t : threads)
    t.join();
  for (int w = 0; w < world; ++w) {
    if (!got[w]) FAIL("worker " << w << ": " << describe(got[w].error()));
    CHECK(relative_difference(*got[w], *expected) <= 1e-5);
  }
  // and the replicas moved: they are not the initial weights
  auto fresh = make();
  REQUIRE(fresh);
  CHECK(relative_difference(*fresh->weights(), *expected) > 1e-2);
}

/// A troupe MLP of `p`.
replica_maker mlp_of(const troupe_torch_mlp_params& p, size_t ncols,
                     bool binary) {
  auto task =
      binary ? tabular::task_kind::binary : tabular::task_kind::regression;
  return [=] { return mlp_replica::create(p, ncols, 2, task, 7); };
}

/// The bytes of tests/data/torchscript/NAME (make_modules.py wrote them
/// with PyTorch).
std::vector<uint8_t> module_file(const std::string& name) {
  std::ifstream in{std::string{TROUPE_SOURCE_DIR} + "/tests/data/torchscript/" +
                       name,
                   std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A small CNN over 8 x 8 images: two conv blocks of 4 and 6 channels.
troupe_torch_mlp_params cnn_params() {
  auto p = params();
  p.layers = 1;
  p.conv_layers = 2;
  p.conv[0] = 4;
  p.conv[1] = 6;
  p.image_side = 8;
  return p;
}

} // namespace

TEST_CASE("N data-parallel MLP replicas end with the weights of one process "
          "with the global batch",
          "[models][parallel_mlp]") {
  for (bool binary : {true, false})
    for (int world : {2, 3}) {
      INFO((binary ? "binary" : "regression") << ", " << world << " workers");
      check_one_net(mlp_of(params(), cols, binary), cols, binary, world);
    }
}

TEST_CASE("recomputing an MLP's hidden activations changes no weight "
          "(dropout included) alone or data-parallel",
          "[models][parallel_mlp]") {
  auto p = params();
  p.layers = 8;
  p.dropout = 0.2;
  auto q = p;
  q.recompute = 1;
  std::vector<float> x, y;
  planted(16 * 12, true, 5, x, y, cols);
  auto fit = [&](const troupe_torch_mlp_params& pp) {
    auto m = mlp_replica::create(pp, cols, 2, tabular::task_kind::binary, 7);
    REQUIRE(m);
    parallel_epoch e{16, 16, 12, true, 1 << 20, 1};
    for (int k = 0; k < 2; ++k)
      REQUIRE(m->fit_epoch(nullptr, x.data(), y.data(), 16 * 12, cols, e));
    auto w = m->weights();
    REQUIRE(w);
    return *w;
  };
  auto kept = fit(p), recomputed = fit(q);
  CHECK(kept == recomputed); // bit for bit
  auto r = p;
  r.dropout = 0.3; // the comparison can fail
  CHECK(fit(r) != kept);
  // the gradients' buckets are all-reduced as the recomputed layers' reach
  // them
  // (4 layers: 2 of them checkpointed; deeper tanh nets drift past the
  // 1e-5 that one process and a group of replicas agree within)
  auto plain = q;
  plain.dropout = 0;
  plain.layers = 4;
  check_one_net(mlp_of(plain, cols, true), cols, true, 2);
  // a bad flag is named
  auto bad = p;
  bad.recompute = 2;
  auto m = mlp_replica::create(bad, cols, 2, tabular::task_kind::binary, 7);
  REQUIRE_FALSE(m);
  CHECK_THAT(describe(m.error()), Catch::Contains("recompute must be 0 or 1"));
}

TEST_CASE("N data-parallel CNN replicas end with the weights of one process "
          "with the global batch, and export as TorchScript that scores "
          "as they do",
          "[models][parallel_mlp]") {
  for (int world : {2, 3}) {
    INFO(world << " workers");
    check_one_net(mlp_of(cnn_params(), 64, true), 64, true, world);
  }
  // the CNN's TorchScript module (pixels scaled, conv blocks, head) scores
  // the rows as the replica does
  std::vector<float> x, y;
  planted(64, true, 3, x, y, 64);
  auto m =
      mlp_replica::create(cnn_params(), 64, 2, tabular::task_kind::binary, 7);
  REQUIRE(m);
  parallel_epoch e{16, 16, 4, true, 1 << 20, 1};
  REQUIRE(m->fit_epoch(nullptr, x.data(), y.data(), 64, 64, e));
  auto p = m->predict(x.data(), 64, 64, 1);
  REQUIRE(p);
  test::temp_dir dir;
  auto path = dir / "cnn.pt";
  REQUIRE(m->export_torchscript(path) == caf::none);
  // the spec the module serves behind: 64 pixel columns, a binary label
  std::string csv;
  for (size_t c = 0; c < 64; ++c)
    csv += "p" + std::to_string(c) + ",";
  csv += "y\n";
  for (size_t r = 0; r < 64; ++r) {
    for (size_t c = 0; c < 64; ++c)
      csv += std::to_string(x[r * 64 + c]) + ",";
    csv += std::to_string(static_cast<int>(y[r])) + "\n";
  }
  test::write_file(dir / "pixels.csv", csv);
  auto table = tabular::read_csv(dir / "pixels.csv");
  REQUIRE(table);
  auto data = tabular::make_dataset(*table, "y");
  REQUIRE(data);
  REQUIRE(data->prep.save(dir / "spec.json") == caf::none);
  auto served =
      servable::load(model_format::torchscript, path, dir / "spec.json");
  REQUIRE(served);
  auto q = (*served)->predict(x.data(), 64);
  REQUIRE(q);
  REQUIRE(q->size() == p->size());
  CHECK(relative_difference(*q, *p) <= 1e-5);
  // a CNN of images that are not square, or pooled to nothing, is refused
  auto bad = cnn_params();
  bad.image_side = 7;
  auto r = mlp_replica::create(bad, 64, 2, tabular::task_kind::binary, 7);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()), Catch::Contains("square images"));
  bad = cnn_params();
  bad.conv_layers = 4;
  bad.conv[2] = bad.conv[3] = 2;
  r = mlp_replica::create(bad, 64, 2, tabular::task_kind::binary, 7);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()), Catch::Contains("leave no pixel"));
}

TEST_CASE("N data-parallel replicas of a user's TorchScript module end with "
          "the weights of one process, resume from their saved form and "
          "serve as the module",
          "[models][parallel_mlp][torchscript]") {
  // binary_net.pt has its own loss method; regression_net.pt none (mse)
  for (bool binary : {true, false}) {
    auto bytes = module_file(binary ? "binary_net.pt" : "regression_net.pt");
    auto task =
        binary ? tabular::task_kind::binary : tabular::task_kind::regression;
    replica_maker make = [=] {
      return mlp_replica::create_script(bytes, "", 1e-2, 1e-4, cols, 2, task,
                                        7);
    };
    for (int world : {2, 3}) {
      INFO((binary ? "binary" : "regression") << ", " << world << " workers");
      check_one_net(make, cols, binary, world);
    }
    // saved after an epoch and loaded, it trains on as the one kept
    std::vector<float> x, y;
    planted(64, binary, 5, x, y);
    parallel_epoch e{16, 16, 4, true, 1 << 20, 1};
    auto kept = make();
    REQUIRE(kept);
    REQUIRE(kept->fit_epoch(nullptr, x.data(), y.data(), 64, cols, e));
    auto saved = kept->save();
    REQUIRE(saved);
    auto loaded = mlp_replica::load(*saved);
    REQUIRE(loaded);
    CHECK(loaded->epochs() == 1);
    REQUIRE(kept->fit_epoch(nullptr, x.data(), y.data(), 64, cols, e));
    REQUIRE(loaded->fit_epoch(nullptr, x.data(), y.data(), 64, cols, e));
    CHECK(*loaded->weights() == *kept->weights());
    // the exported module is the user's, trained: served, it scores the
    // rows as the replica does
    auto p = kept->predict(x.data(), 64, cols, 1);
    REQUIRE(p);
    if (binary)
      for (auto v : *p)
        REQUIRE((v >= 0 && v <= 1));
    test::temp_dir dir;
    REQUIRE(kept->export_torchscript(dir / "net.pt") == caf::none);
    std::string csv;
    for (size_t c = 0; c < cols; ++c)
      csv += "f" + std::to_string(c) + ",";
    csv += "y\n";
    for (size_t r = 0; r < 64; ++r) {
      for (size_t c = 0; c < cols; ++c)
        csv += std::to_string(x[r * cols + c]) + ",";
      csv += (binary ? std::to_string(static_cast<int>(y[r]))
                     : std::to_string(y[r])) +
             "\n";
    }
    test::write_file(dir / "rows.csv", csv);
    auto table = tabular::read_csv(dir / "rows.csv");
    REQUIRE(table);
    auto data = tabular::make_dataset(*table, "y");
    REQUIRE(data);
    REQUIRE(data->task == task);
    REQUIRE(data->prep.save(dir / "spec.json") == caf::none);
    auto served = servable::load(model_format::torchscript, dir / "net.pt",
                                 dir / "spec.json");
    REQUIRE(served);
    auto q = (*served)->predict(x.data(), 64);
    REQUIRE(q);
    CHECK(relative_difference(*q, *p) <= 1e-5);
  }
}

TEST_CASE("a user's TorchScript module: bad modules and losses are named",
          "[models][parallel_mlp][torchscript]") {
  auto binary = module_file("binary_net.pt");
  auto regression = module_file("regression_net.pt");
  auto refused = [](const caf::expected<mlp_replica>& r) {
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  using tabular::task_kind;
  // not a TorchScript file
  std::vector<uint8_t> junk{'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'};
  CHECK_THAT(refused(mlp_replica::create_script(junk, "", 1e-3, 0, cols, 2,
                                                task_kind::binary, 1)),
             Catch::Contains("not a TorchScript module"));
  // rows of other columns than the module's
  CHECK_THAT(refused(mlp_replica::create_script(binary, "", 1e-3, 0, 5, 2,
                                                task_kind::binary, 1)),
             Catch::Contains("forward() fails on [2, 5] float rows"));
  // a binary module for 4 classes
  CHECK_THAT(refused(mlp_replica::create_script(binary, "", 1e-3, 0, cols, 4,
                                                task_kind::multiclass, 1)),
             Catch::Contains("shape [2]") && Catch::Contains("[rows, 4]"));
  // a loss that is neither a method nor a built-in, or not a scalar
  CHECK_THAT(
      refused(mlp_replica::create_script(regression, "hinge", 1e-3, 0, cols, 2,
                                         task_kind::regression, 1)),
      Catch::Contains("no method 'hinge'") && Catch::Contains("built-in"));
  CHECK_THAT(
      refused(mlp_replica::create_script(regression, "per_row", 1e-3, 0, cols,
                                         2, task_kind::regression, 1)),
      Catch::Contains("'per_row' gives a tensor of shape [2]") &&
          Catch::Contains("scalar"));
  // a built-in loss by name trains
  auto huber = mlp_replica::create_script(regression, "huber", 1e-3, 0, cols, 2,
                                          task_kind::regression, 1);
  REQUIRE(huber);
  // a bad learning rate
  CHECK_THAT(refused(mlp_replica::create_script(binary, "", 0, 0, cols, 2,
                                                task_kind::binary, 1)),
             Catch::Contains("lr must be > 0"));
}

TEST_CASE("data-parallel MLPs: bad input is named", "[models][parallel_mlp]") {
  SECTION("more steps than a worker's rows") {
    auto m =
        mlp_replica::create(params(), cols, 2, tabular::task_kind::binary, 1);
    REQUIRE(m);
    std::vector<float> x(10 * cols, 1.f), y(10, 1.f);
    parallel_epoch e{8, 8, 2, true, 1 << 20, 1};
    auto r = m->fit_epoch(nullptr, x.data(), y.data(), 10, cols, e);
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("2 steps of 8 rows") &&
                                        Catch::Contains("10 rows"));
  }
  SECTION("a rank outside the group") {
    auto g = torch_group::join("127.0.0.1", 1, "x", 3, 2, "127.0.0.1", 1);
    REQUIRE_FALSE(g);
    CHECK_THAT(describe(g.error()), Catch::Contains("rank 3 of 2"));
  }
}
