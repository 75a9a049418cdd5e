// The shard actor on CAF's deterministic coordinator with a manual clock:
// the injected clock decides which versions expired, and the minute sweep
// deletes them. No sleeps.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/features/errors.hpp"
#include "actors/features/group.hpp"
#include "actors/features/shard.hpp"
#include "runtime/clock.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/features.capnp.h"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::features;
using namespace std::chrono_literals;

namespace {

struct shard_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>();
  test::temp_dir dir;
  shard_actor shard;

  shard_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    register_types(cfg);
    register_shard_kind(cfg, time);
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto h = sys->spawn<caf::actor>(
        shard_kind,
        caf::make_message(kind_args{shard_name(0), "n1", "0", dir.path()}),
        nullptr, false);
    REQUIRE(h);
    shard = caf::actor_cast<shard_actor>(*h);
    sched->run();
  }

  ~shard_fixture() {
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void advance(std::chrono::milliseconds d) {
    time->advance(d);
    sched->advance_time(d);
    sched->run();
  }

  /// Asks the shard and returns its answer (run to completion).
  template <class R, class... Ts>
  caf::expected<R> ask(Ts... xs) {
    caf::expected<R> out = caf::make_error(caf::sec::request_timeout);
    sys->spawn([&, xs...](caf::event_based_actor* self) {
      self->request(caf::actor_cast<caf::actor>(shard), caf::infinite, xs...)
          .then([&](R& r) { out = std::move(r); },
                [&](caf::error& err) { out = std::move(err); });
    });
    sched->run();
    return out;
  }

  /// Versions of `group` on the shard now.
  uint64_t versions(const std::string& group) {
    auto env = ask<envelope>(shard_stats_atom::value, group);
    REQUIRE(env);
    uint64_t n = 0;
    REQUIRE(
        env->visit<schema::ShardStats>([&](auto r) { n = r.getVersions(); }));
    return n;
  }
};

envelope write_at(const std::string& group, const std::string& entity,
                  int64_t event_us) {
  return make_envelope<schema::FeatureWrite>([&](auto w) {
    w.setGroup(group);
    auto row = w.initRows(1)[0];
    row.setEntity(entity);
    row.setEventTime(event_us);
    row.initVector(0);
    row.initFields(1)[0].setInt64(7);
  });
}

} // namespace

TEST_CASE_METHOD(shard_fixture,
                 "a shard expires versions by its injected clock and its "
                 "minute sweep deletes them",
                 "[features][shard]") {
  group_spec g;
  g.name = "ttl";
  g.fields.push_back({"n", field_type::int64, true});
  g.ttl_ms = 10000; // 10 s
  auto defined = ask<bool>(
      define_atom::value,
      make_envelope<schema::FeatureGroup>([&](auto b) { to_schema(g, b); }));
  REQUIRE(defined);
  const int64_t now_us = time->wall_ms() * 1000;
  // "a" is 5 s old, "b" 20 s old (expired already, kept until a sweep), "c"
  // 55 s in the future of the manual clock (long past on the system's).
  for (auto [entity, at] :
       {std::pair{"a", now_us - 5'000'000}, std::pair{"b", now_us - 20'000'000},
        std::pair{"c", now_us + 55'000'000}}) {
    auto w = ask<envelope>(write_atom::value, write_at("ttl", entity, at));
    INFO(entity << ": " << (w ? std::string{} : describe(w.error())));
    REQUIRE(w);
  }
  CHECK(versions("ttl") == 3);
  // Before the minute: no sweep yet.
  advance(59s);
  CHECK(versions("ttl") == 3);
  // The sweep at one minute deletes what the injected clock says expired:
  // "a" and "b", not "c" (5 s old then).
  advance(1s);
  CHECK(versions("ttl") == 1);
}

TEST_CASE_METHOD(shard_fixture,
                 "a shard without a node data directory or with a bad index "
                 "does not start, naming why",
                 "[features][shard]") {
  auto h = sys->spawn<caf::actor>(
      shard_kind, caf::make_message(kind_args{"s", "n1", "x", dir.path()}),
      nullptr, false);
  REQUIRE(h);
  caf::error why;
  sys->spawn([&, target = *h](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(target);
    self->set_down_handler([&why, self](caf::down_msg& dm) {
      why = dm.reason;
      self->quit();
    });
    return {[](ping_atom) {}};
  });
  sched->run();
  REQUIRE(why);
  CHECK(is(why, features::errc::bad_shard_config));
  CHECK_THAT(describe(why), Catch::Contains("'x' is not a shard index"));
}
