// A replica's engine (actors/serving/engine.hpp) on CAF's deterministic test
// coordinator: a manual executor runs its work when the test says, the
// fixture's manual clock decides when a batch is due, and a stand-in actor
// receives what the engine tells its replica. No sleeps, no threads.

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "actors/serving/engine.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "tests/actors/fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/serving/models.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::serving;
using namespace troupe::test_models;
using namespace std::chrono_literals;

namespace {

/// What the engine told its replica.
struct told {
  size_t loaded = 0;
  caf::error load_error;
  size_t batches = 0;
};

caf::behavior stand_in(caf::event_based_actor*, std::shared_ptr<told> t) {
  return {
      [=](loaded_atom, const caf::error& err) {
        ++t->loaded;
        t->load_error = err;
      },
      [=](batch_atom) { ++t->batches; },
  };
}

struct engine_fixture : test::actor_fixture {
  test::temp_dir tmp;
  std::shared_ptr<servable> model;
  tabular::matrix rows;
  std::vector<float> want;
  std::shared_ptr<told> seen = std::make_shared<told>();
  caf::actor replica = sys->spawn(stand_in, seen);
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

  ~engine_fixture() {
    caf::anon_send_exit(replica, caf::exit_reason::user_shutdown);
  }

  std::unique_ptr<engine> start(size_t max_batch,
                                std::chrono::microseconds delay) {
    batcher_options opts;
    opts.max_batch_rows = max_batch;
    opts.max_queue_delay = delay;
    opts.queue_bound = 64;
    auto m = model;
    return std::make_unique<engine>(
        [m]() -> caf::expected<std::shared_ptr<servable>> { return m; }, opts,
        replica.address(), time, exec);
  }

  std::vector<float> x(size_t first, size_t n) const {
    return {rows.values.begin() + first * rows.cols,
            rows.values.begin() + (first + n) * rows.cols};
  }
};

} // namespace

TEST_CASE_METHOD(engine_fixture,
                 "an engine loads its model only when its executor runs, and "
                 "tells its replica once",
                 "[serving][engine][actors]") {
  auto e = start(4, 1000us);
  run();
  CHECK(seen->loaded == 0);
  CHECK(e->model() == nullptr);
  REQUIRE(exec->load());
  run();
  CHECK(seen->loaded == 1);
  CHECK(!seen->load_error);
  CHECK(e->model() == model);
}

TEST_CASE_METHOD(engine_fixture,
                 "a batch that is not full runs once its oldest request is "
                 "due by the engine's clock",
                 "[serving][engine][actors]") {
  auto e = start(4, 10000us); // a batch waits up to 10 ms to fill
  REQUIRE(exec->load());
  CHECK(exec->run() == 0);
  REQUIRE(e->submit(1, 1, x(0, 1)) == admission::accepted);
  REQUIRE(e->submit(2, 2, x(1, 2)) == admission::accepted);
  CHECK(exec->wakes() == 1); // only the push that found it idle wakes it
  REQUIRE(e->deadline());
  CHECK(*e->deadline() == time->now() + 10ms);
  CHECK(exec->run() == 0); // 3 rows of 4, not yet due
  advance(9ms);
  CHECK(exec->run() == 0);
  CHECK(seen->batches == 0);
  advance(1ms);
  CHECK(exec->run() == 1);
  run();
  CHECK(seen->batches == 1);
  auto done = e->take_done();
  REQUIRE(done.size() == 1);
  auto& j = *done[0];
  CHECK(j.requests.rows == 3);
  REQUIRE(j.error.empty());
  REQUIRE(j.scores.size() == 3);
  for (size_t r = 0; r < 3; ++r)
    CHECK(j.scores[r] == want[r]);
  CHECK(e->queued_rows() == 0);
  CHECK(!e->deadline());
}

TEST_CASE_METHOD(engine_fixture,
                 "a full batch runs at once, and batches finished before the "
                 "replica collects them cost one message",
                 "[serving][engine][actors]") {
  auto e = start(2, 50000us);
  REQUIRE(exec->load());
  exec->run();
  REQUIRE(e->submit(1, 2, x(0, 2)) == admission::accepted);
  REQUIRE(e->submit(2, 2, x(2, 2)) == admission::accepted);
  CHECK(exec->run() == 2); // both full: no wait for the clock
  run();
  CHECK(seen->batches == 1);
  auto done = e->take_done();
  REQUIRE(done.size() == 2);
  CHECK(done[0]->requests.items.at(0).id == 1);
  CHECK(done[1]->requests.items.at(0).id == 2);
  REQUIRE(e->submit(3, 2, x(4, 2)) == admission::accepted);
  CHECK(exec->run() == 1);
  run();
  CHECK(seen->batches == 2); // collected: the next batch tells again
}
