// Deterministic tests of automl.service (actors/automl/service.hpp) in a
// process without a directory (so without runners): its studies read the
// clock the service was given, and its refusals are automl errors. CAF's
// test coordinator and the fixture's manual clock; no sleeps, no threads.

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/automl/cli.hpp"
#include "actors/automl/errors.hpp"
#include "actors/automl/service.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "tests/actors/fixture.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

automl::study_spec quadratic(const std::string& id) {
  automl::study_spec s;
  s.id = id;
  s.family = "quadratic";
  s.metric = "value";
  s.sampler = "random";
  s.scheduler = "none";
  s.max_trials = 4;
  s.max_resource = 9;
  s.min_resource = 1;
  s.every = 1;
  return s;
}

struct service_fixture : test::actor_fixture {
  test::temp_dir dir;
  automl::service_actor service;

  service_fixture() {
    kind_args args;
    args.name = automl::service_name;
    args.node = "head";
    args.config = dir.path();
    service = automl::spawn_service(*sys, args, time);
    run();
  }

  ~service_fixture() {
    caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
    run();
  }

  /// Sends (atom, payload) to the service and returns its answer.
  template <class Atom>
  caf::expected<envelope> ask(Atom op, const envelope& payload) {
    auto got = std::make_shared<std::optional<caf::expected<envelope>>>();
    auto s = service;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(s, caf::infinite, op, payload)
          .then([=](const envelope& e) { *got = e; },
                [=](caf::error& err) { *got = std::move(err); });
    });
    run();
    if (!*got) FAIL("the service did not answer");
    return std::move(**got);
  }

  caf::expected<envelope> submit(const automl::study_spec& spec) {
    auto sub = automl::submit_envelope(spec, 1);
    REQUIRE(sub);
    return ask(automl::submit_atom::value, *sub);
  }
};

struct status_view {
  std::string id, state;
  uint64_t elapsed_ms = 0, max_trials = 0;
};

status_view view_of(const caf::expected<envelope>& env) {
  if (!env) FAIL("an error: " << describe(env.error()));
  auto v = env->visit<schema::StudyStatus>([](auto s) {
    return status_view{s.getId(), s.getState(), s.getElapsedMs(),
                       s.getMaxTrials()};
  });
  if (!v) FAIL("not a StudyStatus: " << describe(v.error()));
  return *v;
}

} // namespace

TEST_CASE_METHOD(service_fixture,
                 "the service's studies run on the clock it was given",
                 "[automl-actors]") {
  auto first = view_of(submit(quadratic("clocked")));
  CHECK(first.id == "clocked");
  CHECK(first.state == "running");
  CHECK(first.elapsed_ms == 0);
  CHECK(first.max_trials == 4);
  advance(1500ms);
  auto later =
      view_of(ask(automl::status_atom::value, automl::ref_envelope("clocked")));
  CHECK(later.state == "running");
  CHECK(later.elapsed_ms == 1500);
}

TEST_CASE_METHOD(service_fixture,
                 "the service refuses what it cannot do with automl errors "
                 "that say why",
                 "[automl-actors]") {
  REQUIRE(submit(quadratic("once")));
  auto again = submit(quadratic("once"));
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), automl::errc::study_loaded));
  CHECK_THAT(describe(again.error()), Catch::Contains("already running"));
  auto resumed = ask(automl::resume_atom::value, automl::ref_envelope("once"));
  REQUIRE_FALSE(resumed);
  CHECK(is(resumed.error(), automl::errc::study_loaded));
  CHECK_THAT(describe(resumed.error()), Catch::Contains("already loaded"));
  auto unknown = ask(automl::status_atom::value, automl::ref_envelope("nope"));
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), automl::errc::study_not_loaded));
  CHECK_THAT(describe(unknown.error()), Catch::Contains("'nope'"));
  auto stop = ask(stop_atom::value, automl::ref_envelope("nope"));
  REQUIRE_FALSE(stop);
  CHECK(is(stop.error(), automl::errc::study_not_loaded));
  auto reserved = submit(quadratic("journal"));
  REQUIRE_FALSE(reserved);
  CHECK(is(reserved.error(), automl::errc::reserved_id));
  CHECK_THAT(describe(reserved.error()), Catch::Contains("reserved"));
  auto bad = quadratic("bad");
  bad.scheduler = "tournament";
  auto refused = submit(bad);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), troupe::errc::invalid_argument));
  CHECK_THAT(describe(refused.error()), Catch::Contains("'tournament'"));
}
