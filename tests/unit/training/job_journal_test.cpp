// The training service's journal (actors/training/job_journal): a job's
// submit is stored once, a checkpoint replaces the last one with its
// manifest and event in one transaction, events keep their order, and all
// of it survives reopening the store.

#include <catch2/catch.hpp>

#include "actors/training/job_journal.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

envelope checkpoint_at(uint64_t step) {
  return make_envelope<schema::JobCheckpoint>([&](auto c) {
    c.setStep(step);
    c.setAttempt(1);
    auto shards = c.initShards(1);
    shards[0].initKeys(1).set(0, 42);
    shards[0].initZ(1).set(0, -0.5);
    shards[0].initN(1).set(0, 2.0);
  });
}

} // namespace

TEST_CASE("the job journal keeps submits, the last checkpoint and events "
          "across reopening",
          "[training][journal]") {
  test::temp_dir dir;
  {
    auto j = job_journal::open(dir.path() + "/jobs");
    REQUIRE(j);
    auto sub = make_envelope<schema::JobSubmit>([](auto s) {
      s.setId("a");
      s.setConfig("family = \"sparse-lr\"");
    });
    REQUIRE_FALSE((*j)->add_job("a", sub));
    auto again = (*j)->add_job("a", sub);
    REQUIRE(again);
    CHECK_THAT(describe(again), Catch::Contains("'a' is in the journal"));
    auto none = (*j)->checkpoint("a");
    REQUIRE(none);
    CHECK_FALSE(*none);
    REQUIRE_FALSE((*j)->put_checkpoint("a", checkpoint_at(10), 10, 1, 1000));
    REQUIRE_FALSE((*j)->put_checkpoint("a", checkpoint_at(20), 20, 1, 2000));
    auto ev = make_envelope<schema::JobEvent>([](auto e) {
      e.setKind(schema::JobEvent::Kind::LOST);
      e.setStep(20);
    });
    REQUIRE_FALSE((*j)->add_event("a", ev));
  }
  auto j = job_journal::open(dir.path() + "/jobs");
  REQUIRE(j);
  auto ids = (*j)->ids();
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::string>{"a"});
  auto sub = (*j)->job("a");
  REQUIRE(sub);
  CHECK(sub->visit<schema::JobSubmit>([](auto s) {
    return std::string{s.getConfig().cStr()};
  }) == std::string{"family = \"sparse-lr\""});
  auto ckpt = (*j)->checkpoint("a");
  REQUIRE(ckpt);
  REQUIRE(*ckpt);
  auto step = (*ckpt)->visit<schema::JobCheckpoint>([](auto c) {
    CHECK(c.getShards()[0].getZ()[0] == -0.5);
    return c.getStep();
  });
  REQUIRE(step);
  CHECK(*step == 20); // the last one replaced the first
  auto events = (*j)->events("a");
  REQUIRE(events);
  std::vector<std::pair<schema::JobEvent::Kind, uint64_t>> seen;
  for (auto& e : *events)
    (void)e.visit<schema::JobEvent>([&](auto r) {
      seen.emplace_back(r.getKind(), r.getStep());
      return true;
    });
  using kind = schema::JobEvent::Kind;
  CHECK(seen == std::vector<std::pair<kind, uint64_t>>{{kind::CHECKPOINT, 10},
                                                       {kind::CHECKPOINT, 20},
                                                       {kind::LOST, 20}});
  auto missing = (*j)->job("b");
  REQUIRE_FALSE(missing);
  CHECK_THAT(describe(missing.error()), Catch::Contains("no job 'b'"));
}
