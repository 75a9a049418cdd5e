// actor_bridge: KJ promises settled by one long-lived actor's requests.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <kj/async-io.h>

#include "runtime/bridge.hpp"

using namespace std::chrono_literals;

namespace {

/// Answers an int with its double; never answers a string (the request
/// stays waiting), and quits on "quit".
caf::behavior doubler(caf::event_based_actor* self) {
  return {
      [](int x) { return 2 * x; },
      [self](const std::string& s) -> caf::result<int> {
        if (s == "quit") self->quit();
        return self->make_response_promise<int>(); // never delivered
      },
  };
}

} // namespace

TEST_CASE("actor_bridge answers calls from one actor and fails them at once "
          "when their target is or goes down",
          "[bridge]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto io = kj::setupAsyncIo();
  troupe::actor_bridge bridge{sys};
  auto target = sys.spawn(doubler);

  // many calls in flight at once, each with its own answer
  std::vector<kj::Promise<int>> calls;
  for (int i = 0; i < 100; ++i)
    calls.push_back(bridge.ask<int>(target, caf::infinite, "double: ", i));
  for (int i = 0; i < 100; ++i)
    CHECK(calls[static_cast<size_t>(i)].wait(io.waitScope) == 2 * i);

  // an error of the target carries the context
  auto timed =
      bridge.ask<int>(target, 50ms, "slow: ", std::string{"never answered"});
  CHECK_THROWS_WITH(timed.wait(io.waitScope),
                    Catch::Contains("slow: ") && Catch::Contains("timeout"));

  // waiting calls fail as soon as the target stops, without a timeout
  // (through the watch, or CAF's own answer for a local actor, whichever
  // comes first)
  // (5 s: a bridge that missed the stop fails with a timeout, not a hang)
  auto waiting = bridge.ask<int>(target, 5s, "held: ", std::string{"hold"});
  auto start = std::chrono::steady_clock::now();
  caf::anon_send(target, std::string{"quit"});
  CHECK_THROWS_WITH(waiting.wait(io.waitScope),
                    Catch::Contains("held: not running") ||
                        Catch::Contains("held: system_error"));
  CHECK(std::chrono::steady_clock::now() - start < 10s);

  // a call to a target already down fails too
  auto late = bridge.ask<int>(target, 5s, "late: ", 1);
  CHECK_THROWS_WITH(late.wait(io.waitScope),
                    Catch::Contains("late: ") && !Catch::Contains("timeout"));

  // a new target is watched afresh: answered, then its waiting call fails
  // when it stops
  auto again = sys.spawn(doubler);
  CHECK(bridge.ask<int>(again, caf::infinite, "", 21).wait(io.waitScope) == 42);
  auto held = bridge.ask<int>(again, 5s, "again: ", std::string{"hold"});
  caf::anon_send(again, std::string{"quit"});
  CHECK_THROWS_WITH(held.wait(io.waitScope),
                    Catch::Contains("again: ") && !Catch::Contains("timeout"));
}
