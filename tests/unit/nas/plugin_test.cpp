// The NAS plugin (libtroupe_nas.so): parameter counts, extraction of a
// sub-network from the supernet, and the exported TorchScript model loaded
// the way `troupe serve` loads it.

#include <catch2/catch.hpp>

#include <cmath>

#include "actors/models/servable.hpp"

#include "actors/nas/model_export.hpp"
#include "actors/nas/plugin.hpp"
#include "actors/nas/sampler.hpp"
#include "actors/nas/trainer.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe::nas;

namespace {

const image_set& small_train() {
  static image_set train = [] {
    image_set tr, te;
    auto err = read_fashion_mnist(std::string{TROUPE_SOURCE_DIR} +
                                      "/tests/data/fashion-mnist-small",
                                  tr, te);
    REQUIRE(!err);
    return tr;
  }();
  return train;
}

template <class T>
T get(caf::expected<T> x) {
  if (!x) FAIL(troupe::describe(x.error()));
  return std::move(*x);
}

/// The supernet after two training steps (20 images, batches of 10), so
/// that its weights and batch-norm scales are no longer their initial
/// values.
network trained_supernet(const search_space& s, sampler& draw) {
  auto net = get(network::create(s.largest(), 1));
  std::vector<size_t> rows(20);
  for (size_t i = 0; i < rows.size(); ++i)
    rows[i] = i;
  train_options o;
  o.epochs = 1;
  o.batch = 10;
  get(train_supernet(net, take(small_train(), rows), o, draw));
  return net;
}

} // namespace

TEST_CASE(
    "nas: LibTorch's parameter count of a sub-network equals the analytic "
    "count",
    "[nas][plugin]") {
  REQUIRE(!set_torch_threads(1));
  for (auto kind : {space_kind::mobilenet, space_kind::resnet}) {
    auto s = search_space::of(kind);
    auto super = get(network::create(s.largest(), 1));
    CHECK(get(super.param_count(nullptr)) == count_params(s.largest()));
    sampler draw{s, {100000, 0}, 21};
    for (int i = 0; i < 10; ++i) {
      auto a = s.resolve(draw.sample());
      INFO(describe(a));
      CHECK(get(super.param_count(&a)) == count_params(a));
      auto standalone = get(network::create(a, 2));
      CHECK(get(standalone.param_count(nullptr)) == count_params(a));
    }
  }
  auto base = get(network::create(lenet_baseline(), 3));
  CHECK(get(base.param_count(nullptr)) == count_params(lenet_baseline()));
}

TEST_CASE(
    "nas: an extracted network's weights and outputs equal the supernet's "
    "slice before retraining",
    "[nas][plugin]") {
  REQUIRE(!set_torch_threads(1));
  for (auto kind : {space_kind::mobilenet, space_kind::resnet}) {
    auto s = search_space::of(kind);
    sampler draw{s, {100000, 0}, 31};
    auto super = trained_supernet(s, draw);
    for (int i = 0; i < 3; ++i) {
      auto a = s.resolve(draw.sample());
      INFO(describe(a));
      auto sub = get(super.extract(a));
      auto slice = get(super.weights(&a));
      auto own = get(sub.weights(nullptr));
      REQUIRE(own.size() == slice.size());
      REQUIRE(static_cast<int64_t>(own.size()) == count_params(a));
      CHECK(own == slice); // bit for bit
      // Not a trivial copy: the sub-network is smaller than the supernet.
      CHECK(own.size() < get(super.weights(nullptr)).size());
      auto x = small_train().row(100);
      auto from_super = get(super.forward(&a, x, 16, true));
      auto from_sub = get(sub.forward(nullptr, x, 16, true));
      REQUIRE(from_super.size() == 16 * 10);
      for (size_t k = 0; k < from_super.size(); ++k)
        REQUIRE(from_sub[k] == Approx(from_super[k]).margin(1e-5));
    }
  }
}

TEST_CASE("nas: a sub-network that is not a slice of the supernet is refused",
          "[nas][plugin]") {
  auto s = search_space::mobilenet();
  auto super = get(network::create(s.largest(), 1));
  auto a = s.largest();
  a.stages[0].width += 8;
  auto sub = super.extract(a);
  REQUIRE(!sub);
  CHECK_THAT(troupe::describe(sub.error()),
             Catch::Contains("cannot extract") &&
                 Catch::Contains("the network's is"));
}

TEST_CASE(
    "nas: the exported model loads as a TorchScript servable and predicts "
    "what the network predicts",
    "[nas][plugin]") {
  REQUIRE(!set_torch_threads(1));
  auto s = search_space::mobilenet();
  sampler draw{s, {100000, 0}, 41};
  auto super = trained_supernet(s, draw);
  auto a = s.resolve(draw.sample());
  auto net = get(super.extract(a));
  train_options o;
  o.epochs = 1;
  o.batch = 50;
  auto part = take(small_train(), [] {
    std::vector<size_t> v;
    for (size_t i = 0; i < 200; ++i)
      v.push_back(i);
    return v;
  }());
  get(train(net, part, o));
  REQUIRE(!net.calibrate(part.pixels.data(), part.rows, 50));
  troupe::test::temp_dir dir;
  REQUIRE(!write_model_dir(net, dir / "model"));
  auto model = troupe::models::servable::load(
      troupe::models::model_format::torchscript, dir / "model/model.pt",
      dir / "model/spec.json");
  if (!model) FAIL(troupe::describe(model.error()));
  CHECK((*model)->features() == 784);
  CHECK((*model)->classes().size() == 10);
  auto x = small_train().row(300);
  auto probs = (*model)->predict(x, 8);
  if (!probs) FAIL(troupe::describe(probs.error()));
  auto logits = get(net.forward(nullptr, x, 8, false));
  REQUIRE(probs->size() == 80);
  for (size_t r = 0; r < 8; ++r) {
    double top = -1e30, total = 0;
    for (size_t c = 0; c < 10; ++c)
      top = std::max<double>(top, logits[r * 10 + c]);
    for (size_t c = 0; c < 10; ++c)
      total += std::exp(logits[r * 10 + c] - top);
    for (size_t c = 0; c < 10; ++c)
      CHECK((*probs)[r * 10 + c] ==
            Approx(std::exp(logits[r * 10 + c] - top) / total).margin(1e-4));
  }
  // The lone-row path of serving works too (batch norm on running stats).
  auto one = (*model)->predict(x, 1);
  REQUIRE(one);
  CHECK((*one)[0] == Approx((*probs)[0]).margin(1e-4));
}
