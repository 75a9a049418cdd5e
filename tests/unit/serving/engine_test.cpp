// The replica's engine (actors/serving/engine.hpp) driven directly: a test
// actor stands in for the replica and receives its loaded and batch
// messages, and a manual executor runs the engine's work when the test says
// (no engine thread: nothing races the test). The engine reads the real
// clock: run_inline decides by the model's measured time per row.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/serving/engine.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/serving/models.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::serving;
using namespace troupe::tabular;
using namespace troupe::test_models;
using namespace std::chrono_literals;

namespace {

struct engine_config : caf::actor_system_config {
  engine_config() { register_types(*this); }
};

/// A binary model loaded locally, 20 encoded rows with its scores for them,
/// and a test actor to stand in for the replica.
struct engine_fixture {
  test::temp_dir tmp;
  std::shared_ptr<servable> model;
  tabular::matrix rows;
  std::vector<float> want;
  engine_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<manual_executor> exec = std::make_shared<manual_executor>();

  engine_fixture() {
    auto a = make_model(tmp / "a", tabular::task_kind::binary, 5);
    auto s = servable::load(model_format::xgboost, a.ubj, a.spec);
    if (!s) FAIL(describe(s.error()));
    model = std::move(*s);
    auto scored = score_new_rows(*model);
    rows = std::move(scored.rows);
    want = std::move(scored.scores);
  }

  /// An engine with these settings whose model has loaded.
  std::unique_ptr<engine> start(size_t max_batch,
                                std::chrono::microseconds delay,
                                size_t bound = 1024) {
    batcher_options opts;
    opts.max_batch_rows = max_batch;
    opts.max_queue_delay = delay;
    opts.queue_bound = bound;
    auto m = model;
    auto e = std::make_unique<engine>(
        [m]() -> caf::expected<std::shared_ptr<servable>> { return m; }, opts,
        self->address(), real_clock(), exec);
    REQUIRE(exec->load());
    bool loaded = false;
    self->receive([&](loaded_atom, const caf::error& err) { loaded = !err; },
                  caf::after(30s) >> [] {});
    REQUIRE(loaded);
    return e;
  }

  /// Rows first .. first + n - 1, encoded.
  std::vector<float> x(size_t first, size_t n) const {
    return {rows.values.begin() + first * rows.cols,
            rows.values.begin() + (first + n) * rows.cols};
  }

  /// Runs the ready batches; the batches the engine finished, once it says
  /// some are.
  std::vector<std::shared_ptr<job>> collect(engine& e) {
    exec->run();
    bool told = false;
    self->receive([&](batch_atom) { told = true; }, caf::after(30s) >> [] {});
    REQUIRE(told);
    return e.take_done();
  }

  void check_scores(const job& j, size_t first) const {
    REQUIRE(j.error.empty());
    REQUIRE(j.scores.size() == j.requests.rows);
    for (size_t r = 0; r < j.requests.rows; ++r)
      CHECK(j.scores[r] == want[first + r]);
  }
};

} // namespace

TEST_CASE_METHOD(engine_fixture,
                 "a request that fills a batch alone on an idle engine runs on "
                 "the caller's thread once the model's time is known",
                 "[serving][engine]") {
  auto e = start(1, 0us);
  auto in = x(0, 1);
  // No batch has run yet: the model's cost is unknown.
  CHECK(e->run_inline(1, 1, in) == nullptr);
  CHECK(in.size() == rows.cols); // left for submit
  REQUIRE(e->submit(1, 1, std::move(in)) == admission::accepted);
  auto done = collect(*e);
  REQUIRE(done.size() == 1);
  check_scores(*done[0], 0);
  // Now requests run at once, with the same scores, and send no message.
  // One that finds the model's measured time over the budget (a loaded
  // machine) goes to the executor, as the replica sends it.
  size_t inline_runs = 0;
  for (size_t r = 1; r < 20; ++r) {
    auto row = x(r, 1);
    auto j = e->run_inline(r + 1, 1, row);
    if (j) {
      ++inline_runs;
      CHECK(j->requests.items.at(0).id == r + 1);
    } else {
      REQUIRE(row.size() == rows.cols);
      REQUIRE(e->submit(r + 1, 1, std::move(row)) == admission::accepted);
      auto batches = collect(*e);
      REQUIRE(batches.size() == 1);
      j = batches[0];
    }
    CHECK(j->requests.rows == 1);
    check_scores(*j, r);
  }
  CHECK(inline_runs > 0);
  self->receive([](batch_atom) { FAIL("a batch_atom for an inline run"); },
                caf::after(50ms) >> [] {});
  CHECK(e->take_done().empty());

  SECTION("a request too large for the budget goes to the thread") {
    auto many = std::vector<float>(20000 * rows.cols, 0.5f);
    CHECK(e->run_inline(100, 20000, many) == nullptr);
    CHECK(many.size() == 20000 * rows.cols);
  }
}

TEST_CASE_METHOD(engine_fixture,
                 "a request that does not fill a batch alone, or finds others "
                 "queued, waits for the engine's batch",
                 "[serving][engine]") {
  auto e = start(4, 200000us); // a batch waits up to 200 ms
  // A first full batch teaches the engine the model's time.
  REQUIRE(e->submit(1, 4, x(0, 4)) == admission::accepted);
  auto first = collect(*e);
  REQUIRE(first.size() == 1);
  check_scores(*first[0], 0);
  // One row does not fill a batch of 4: not run at once.
  auto one = x(4, 1);
  CHECK(e->run_inline(2, 1, one) == nullptr);
  REQUIRE(e->submit(2, 1, std::move(one)) == admission::accepted);
  // With that row queued, a full request may not overtake it.
  auto four = x(5, 4);
  CHECK(e->run_inline(3, 4, four) == nullptr);
  REQUIRE(e->submit(3, 4, std::move(four)) == admission::accepted);
  // The queued row and the four behind it do not fit in one batch of 4:
  // the row leaves alone (full: the next request does not fit beside it),
  // then the four.
  std::vector<std::shared_ptr<job>> done;
  while (done.size() < 2)
    for (auto& j : collect(*e))
      done.push_back(j);
  REQUIRE(done.size() == 2);
  CHECK(done[0]->requests.items.at(0).id == 2);
  check_scores(*done[0], 4);
  CHECK(done[1]->requests.items.at(0).id == 3);
  check_scores(*done[1], 5);
}
