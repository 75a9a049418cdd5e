#pragma once

// A Catch2 fixture over CAF's deterministic test coordinator: messages are
// delivered only when the test runs the scheduler, and time moves only when
// the test advances it. No sleeps, no threads.

#include <chrono>
#include <memory>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "runtime/clock.hpp"
#include "runtime/directory_table.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"

namespace troupe::test {

struct actor_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  /// The wall clock the directory under test sees.
  wall_clock::time_point now = wall_clock::time_point{} + std::chrono::hours{1};
  /// The clock injected into the actors under test (study, router, engine).
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>();

  actor_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    register_types(cfg);
    register_builtin_kinds(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }

  ~actor_fixture() { sched->run(); }

  /// Delivers every pending message.
  void run() { sched->run(); }

  /// Moves every clock forward and fires due timers.
  void advance(std::chrono::milliseconds d) {
    now += d;
    time->advance(d);
    sched->advance_time(d);
    sched->run();
  }

  /// A function returning the fixture's wall clock.
  std::function<wall_clock::time_point()> clock() {
    return [this] { return now; };
  }
};

} // namespace troupe::test
