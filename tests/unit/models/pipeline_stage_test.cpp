// Pipeline stages through the torch plugin (actors/models/pipeline_stage,
// the plugin's torch_stage.cpp): K stages on their own threads, exchanging
// their tensors as float32 bytes through queues (as stage actors' messages
// carry them), train the net one stage of the whole net trains on the same
// minibatches (losses and outputs relative <= 1e-5) under GPipe and 1F1B;
// a stage saved and restored carries on as if never stopped; bad specs,
// a state of another stage and a link that fails are named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "actors/models/pipeline_stage.hpp"
#include "runtime/errors.hpp"
#include "tests/support/compare.hpp"

using namespace troupe;
using namespace troupe::models;

using troupe::test::relative;

namespace {

constexpr uint32_t cols = 6;
constexpr uint32_t classes = 3;

/// Rows of normal features whose class is the largest of three planted
/// scores.
void planted(size_t rows, uint64_t seed, std::vector<float>& x,
             std::vector<float>& y) {
  std::mt19937_64 rng{seed};
  std::normal_distribution<float> n{0, 1};
  for (size_t r = 0; r < rows; ++r) {
    float s[classes] = {0, 0, 0};
    for (uint32_t c = 0; c < cols; ++c) {
      float v = n(rng);
      x.push_back(v);
      s[c % classes] += v;
    }
    y.push_back(static_cast<float>(std::max_element(s, s + classes) - s));
  }
}

/// A tensor's bytes in flight between two stages.
struct message {
  int kind;
  uint32_t micro;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// One direction between two neighbouring stages.
class queue {
public:
  void push(message m) {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      items_.push_back(std::move(m));
    }
    ready_.notify_one();
  }
  message pop() {
    std::unique_lock<std::mutex> lock{mutex_};
    ready_.wait(lock, [&] { return !items_.empty(); });
    auto m = std::move(items_.front());
    items_.pop_front();
    return m;
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<message> items_;
};

/// Stage k's links: forward[k] brings its activations, backward[k] its
/// gradients.
class queue_links : public stage_tensor_links {
public:
  queue_links(std::vector<queue>& forward, std::vector<queue>& backward,
              uint32_t k)
      : forward_(forward), backward_(backward), k_(k) {}

  caf::error receive(int kind, uint32_t micro, const float*& data,
                     std::vector<int64_t>& shape) override {
    last_ = (kind == 0 ? forward_ : backward_)[k_].pop();
    if (last_.kind != kind || last_.micro != micro)
      return make_error(errc::invalid_argument, "out of order");
    data = last_.values.data();
    shape = last_.shape;
    return caf::none;
  }

  caf::error send(int kind, uint32_t micro, const float* data,
                  const std::vector<int64_t>& shape) override {
    int64_t n = 1;
    for (auto d : shape)
      n *= d;
    message m{kind, micro, shape, std::vector<float>(data, data + n)};
    (kind == 0 ? forward_[k_ + 1] : backward_[k_ - 1]).push(std::move(m));
    return caf::none;
  }

private:
  std::vector<queue>& forward_;
  std::vector<queue>& backward_;
  uint32_t k_;
  message last_;
};

stage_spec spec_of(uint32_t k, const std::vector<uint32_t>& starts,
                   pipeline_schedule schedule, uint32_t micro) {
  stage_spec s;
  s.inputs = cols;
  s.outputs = classes;
  s.layers = 3;
  s.width = 12;
  s.activation = "tanh";
  s.task = "multiclass";
  s.stage = k;
  s.stages = static_cast<uint32_t>(starts.size());
  s.begin = starts[k];
  s.end = k + 1 < starts.size() ? starts[k + 1] : s.layers + 1;
  s.micro = micro;
  s.schedule = schedule;
  s.lr = 1e-2;
  s.weight_decay = 1e-4;
  s.seed = 7;
  return s;
}

struct run_result {
  std::vector<double> losses;
  std::vector<float> outputs;
};

/// `steps` minibatches of `batch` rows through the stages cut at
/// `starts`, then a forward pass over every row.
run_result run(const std::vector<uint32_t>& starts, pipeline_schedule schedule,
               uint32_t micro, const std::vector<float>& x,
               const std::vector<float>& y, size_t batch, size_t steps) {
  auto K = static_cast<uint32_t>(starts.size());
  std::vector<pipeline_stage> stages;
  for (uint32_t k = 0; k < K; ++k) {
    auto s = pipeline_stage::create(spec_of(k, starts, schedule, micro));
    REQUIRE(s);
    stages.push_back(std::move(*s));
  }
  std::vector<queue> forward(K), backward(K);
  run_result out;
  out.outputs.resize(y.size() * classes);
  std::vector<std::string> errors(K);
  std::vector<std::thread> threads;
  for (uint32_t k = 0; k < K; ++k)
    threads.emplace_back([&, k] {
      queue_links links{forward, backward, k};
      bool first = k == 0, last = k + 1 == K;
      for (size_t s = 0; s < steps; ++s) {
        auto loss =
            stages[k].step(first ? x.data() + s * batch * cols : nullptr,
                           last ? y.data() + s * batch : nullptr, batch, links);
        if (!loss) {
          errors[k] = describe(loss.error());
          return;
        }
        if (last) out.losses.push_back(*loss);
      }
      if (auto err =
              stages[k].forward(first ? x.data() : nullptr, y.size(), links,
                                last ? out.outputs.data() : nullptr))
        errors[k] = describe(err);
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    CHECK(e.empty());
  return out;
}

} // namespace

TEST_CASE("pipeline stages exchanging their tensors as bytes train the net "
          "one whole stage trains, under GPipe and 1F1B",
          "[pipeline-stage]") {
  std::vector<float> x, y;
  planted(96, 3, x, y);
  auto whole = run({0}, pipeline_schedule::gpipe, 4, x, y, 32, 3);
  REQUIRE(whole.losses.size() == 3);
  CHECK(whole.losses[2] < whole.losses[0]);
  for (auto schedule :
       {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b}) {
    for (auto starts : std::vector<std::vector<uint32_t>>{{0, 2}, {0, 1, 3}}) {
      INFO(to_string(schedule) << ", " << starts.size() << " stages");
      auto cut = run(starts, schedule, 4, x, y, 32, 3);
      REQUIRE(cut.losses.size() == 3);
      for (size_t s = 0; s < 3; ++s)
        CHECK(relative(cut.losses[s], whole.losses[s]) <= 1e-5);
      double worst = 0;
      for (size_t i = 0; i < whole.outputs.size(); ++i)
        worst = std::max(
            worst, std::abs(double{cut.outputs[i]} - double{whole.outputs[i]}));
      CHECK(worst <= 1e-5);
      // probabilities: each row's sum to one
      CHECK(std::abs(cut.outputs[0] + cut.outputs[1] + cut.outputs[2] - 1) <
            1e-5);
    }
  }
}

TEST_CASE("a pipeline stage saved and restored carries on as if never "
          "stopped, and refuses another stage's state",
          "[pipeline-stage]") {
  std::vector<float> x, y;
  planted(64, 5, x, y);
  auto spec = spec_of(0, {0}, pipeline_schedule::one_f_one_b, 2);
  auto a = pipeline_stage::create(spec);
  REQUIRE(a);
  std::vector<queue> fw(1), bw(1);
  queue_links links{fw, bw, 0};
  REQUIRE(a->step(x.data(), y.data(), 32, links));
  auto saved = a->save();
  REQUIRE(saved);
  auto next = a->step(x.data() + 32 * cols, y.data() + 32, 32, links);
  REQUIRE(next);
  // a fresh stage (other weights: another seed) given the state
  auto other = spec;
  other.seed = 99;
  auto b = pipeline_stage::create(other);
  REQUIRE(b);
  REQUIRE_FALSE(b->load(*saved));
  auto again = b->step(x.data() + 32 * cols, y.data() + 32, 32, links);
  REQUIRE(again);
  CHECK(*again == *next);
  // the state of stage 0 of two is not this one's
  auto half = spec_of(0, {0, 2}, pipeline_schedule::one_f_one_b, 2);
  auto c = pipeline_stage::create(half);
  REQUIRE(c);
  auto err = c->load(*saved);
  REQUIRE(err);
  CHECK_THAT(describe(err),
             Catch::Contains(
                 "another part (begin 0, end 4; this one is begin 0, end 2)"));
  auto garbage = c->load(std::vector<uint8_t>(100, 7));
  CHECK(garbage);
}

TEST_CASE("pipeline stages name a bad spec and a link that fails",
          "[pipeline-stage]") {
  auto s = spec_of(1, {0, 2}, pipeline_schedule::gpipe, 2);
  s.begin = 0; // stage 1 cannot start at layer 0
  auto bad = pipeline_stage::create(s);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("cannot hold layers"));
  auto act = spec_of(0, {0}, pipeline_schedule::gpipe, 2);
  act.activation = "swish";
  auto bad_act = pipeline_stage::create(act);
  REQUIRE_FALSE(bad_act);
  CHECK_THAT(describe(bad_act.error()), Catch::Contains("swish"));
  auto scaled = spec_of(0, {0}, pipeline_schedule::gpipe, 2);
  scaled.center = {1, 2};
  auto bad_scale = pipeline_stage::create(scaled);
  REQUIRE_FALSE(bad_scale);
  CHECK_THAT(describe(bad_scale.error()), Catch::Contains("6 inputs"));
  // the last stage of two, whose link gives up: the link's own error
  class lost : public stage_tensor_links {
  public:
    caf::error receive(int, uint32_t, const float*&,
                       std::vector<int64_t>&) override {
      return make_error(errc::io_failure, "stage 0 went away");
    }
    caf::error send(int, uint32_t, const float*,
                    const std::vector<int64_t>&) override {
      return caf::none;
    }
  } links;
  auto last =
      pipeline_stage::create(spec_of(1, {0, 2}, pipeline_schedule::gpipe, 2));
  REQUIRE(last);
  std::vector<float> y(8, 1.f);
  auto r = last->step(nullptr, y.data(), 8, links);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == static_cast<uint8_t>(errc::io_failure));
  CHECK_THAT(describe(r.error()), Catch::Contains("stage 0 went away"));
  // too few rows for the micro-batches
  auto few = last->step(nullptr, y.data(), 1, links);
  REQUIRE_FALSE(few);
  CHECK_THAT(describe(few.error()), Catch::Contains("micro-batches"));
}
