// The injected clocks and the numbered error categories of runtime/.

#include <catch2/catch.hpp>

#include <chrono>

#include "runtime/clock.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

/// A subsystem's codes, declared as a family declares its own.
enum class sample_errc : uint8_t { overloaded = 1, draining = 7 };

} // namespace

template <>
struct troupe::error_category_of<sample_errc> {
  static constexpr caf::atom_value value = caf::atom("sample");
  static std::string name(uint8_t code) {
    switch (static_cast<sample_errc>(code)) {
    case sample_errc::overloaded:
      return "overloaded";
    case sample_errc::draining:
      return "draining";
    }
    return "code " + std::to_string(code);
  }
};

TEST_CASE("a manual clock stands still until it is advanced, and both of "
          "its readings move together") {
  manual_clock c;
  auto t0 = c.now();
  auto w0 = c.wall_ms();
  CHECK(w0 == manual_clock::default_wall_ms);
  CHECK(c.now() == t0);
  c.advance(1500us);
  CHECK(c.now() - t0 == 1500us);
  CHECK(c.wall_ms() == w0 + 1); // 1.5 ms: one whole millisecond
  c.advance(500us);
  CHECK(c.wall_ms() == w0 + 2); // sub-millisecond steps are not lost
  c.advance(-5s);               // never backwards
  CHECK(c.now() - t0 == 2ms);
  c.set_wall_ms(42);
  CHECK(c.wall_ms() == 42);
  CHECK(c.now() - t0 == 2ms);
}

TEST_CASE("the real clock is monotonic and reads the system's wall time") {
  auto c = real_clock();
  auto a = c->now();
  auto b = c->now();
  CHECK(b >= a);
  auto sys = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  CHECK(std::abs(c->wall_ms() - sys) < 5000);
  CHECK(real_clock() == c); // one shared instance
}

TEST_CASE("runtime error codes keep their explicit numbers") {
  // They cross nodes: a renumbering would change what a peer reads.
  CHECK(static_cast<int>(errc::invalid_argument) == 1);
  CHECK(static_cast<int>(errc::not_found) == 4);
  CHECK(static_cast<int>(errc::shutting_down) == 10);
}

TEST_CASE("a subsystem's errors carry its category and code, and describe() "
          "names them") {
  auto err = make_error(sample_errc::draining, "replica r1 is draining");
  CHECK(err.category() == caf::atom("sample"));
  CHECK(err.code() == 7);
  CHECK(is(err, sample_errc::draining));
  CHECK_FALSE(is(err, sample_errc::overloaded));
  CHECK_FALSE(
      is(err, errc::invalid_argument)); // same code space, other category
  CHECK(describe(err) == "replica r1 is draining");
  // Without a message, the registered name of the code.
  auto bare = caf::error{uint8_t{1}, caf::atom("sample")};
  CHECK(describe(bare) == "sample: overloaded");
  CHECK(is(make_error(errc::not_found, "x"), errc::not_found));
}
