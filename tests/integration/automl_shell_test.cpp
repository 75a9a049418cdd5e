// The shell's study commands against a real head (which starts the "automl"
// service) and a real `troupe automl` client, on loopback.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using troupe::test::process;

namespace {

/// A head with two slots in a temporary directory.
struct head_fixture {
  troupe::test::temp_dir dir;
  uint16_t port = troupe::test::free_port();
  uint16_t gateway_port = troupe::test::free_port();
  process head{{troupe::test::troupe_bin(), "node", "--head", "--port",
                std::to_string(port), "--bind", "127.0.0.1", "--gateway-port",
                std::to_string(gateway_port), "--data-dir", dir / "head",
                "--slots", "2"},
               dir / "head.log"};

  std::string gateway_addr() const {
    return "127.0.0.1:" + std::to_string(gateway_port);
  }

  troupe::test::run_result shell(const std::string& commands) {
    return troupe::test::run(
        {troupe::test::troupe_bin(), "shell", gateway_addr(), "-c", commands},
        30s);
  }

  /// Waits until the gateway answers and the service is registered.
  bool service_up() {
    return troupe::test::eventually([&] { return shell("studies").code == 0; },
                                    15s);
  }
};

/// The total and the complete trials in the `trials` line of `study ID`'s
/// output ("trials    57: 40 done, ..."), or -1.
long trials_of(const std::string& study_text) {
  std::smatch m;
  static const std::regex line{R"(\ntrials +(\d+):)"};
  return std::regex_search(study_text, m, line) ? std::stol(m[1]) : -1;
}

long done_of(const std::string& study_text) {
  std::smatch m;
  static const std::regex line{R"(\ntrials +\d+: (\d+) done)"};
  return std::regex_search(study_text, m, line) ? std::stol(m[1]) : -1;
}

} // namespace

TEST_CASE("the shell lists, shows and stops a running study") {
  head_fixture f;
  INFO(f.head.log());
  REQUIRE(f.service_up());
  // 200 trials of up to 9 steps of 20 ms on 2 slots: seconds of work, so the
  // study still runs when the shell stops it.
  process automl{{troupe::test::troupe_bin(),
                  "automl",
                  "--cluster",
                  f.gateway_addr(),
                  "--family",
                  "quadratic",
                  "--sleep-ms",
                  "20",
                  "--max-rounds",
                  "9",
                  "--min-rounds",
                  "1",
                  "--every",
                  "1",
                  "--trials",
                  "200",
                  "--study",
                  "s1",
                  "--out",
                  f.dir / "runs",
                  "--quiet"},
                 f.dir / "automl.log"};
  REQUIRE(troupe::test::eventually(
      [&] {
        return automl.log().find("study s1: started") != std::string::npos;
      },
      15s));
  // Stopped with a complete trial, the study refits it and finishes (with
  // none it would fail: nothing to refit).
  REQUIRE(troupe::test::eventually(
      [&] { return done_of(f.shell("study s1").out) >= 1; }, 30s));

  auto r = f.shell("studies; study s1; stop-study s1");
  INFO(r.out << r.err << automl.log());
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  // `studies`: a header and a row for s1 with its state.
  CHECK_THAT(r.out, Catch::Contains("ID  STATE") &&
                        Catch::Contains("\ns1  running") &&
                        Catch::Contains("1 studies\n"));
  // `study s1`: its fields and a leaderboard header.
  CHECK_THAT(r.out, Catch::Contains("study     s1\n") &&
                        Catch::Contains("metric    value (lower is better)") &&
                        Catch::Contains("budget    200 trials") &&
                        Catch::Contains("\nRANK  TRIAL  STATE "));
  // `stop-study s1`: the status line right after the stop.
  CHECK_THAT(r.out, Catch::Matches(R"([\s\S]*\nstudy s1: (stopping|refitting|)"
                                   R"(finished), \d+ trials [\s\S]*)"));

  // The client sees the study finish and exits, well before its 200 trials.
  auto code = automl.wait(30s);
  CHECK(code == 0);
  auto after = f.shell("study s1");
  INFO(after.out << after.err);
  CHECK_THAT(after.out, Catch::Contains("state     finished"));
  auto trials = trials_of(after.out);
  CHECK(trials > 0);
  CHECK(trials < 200);
}

TEST_CASE("the shell reports unknown studies and a missing service") {
  head_fixture f;
  INFO(f.head.log());
  REQUIRE(f.service_up());
  auto unknown = f.shell("study nope");
  CHECK(unknown.code == 1);
  CHECK_THAT(unknown.err,
             Catch::StartsWith("error: no study 'nope' is loaded"));
  CHECK(unknown.out.empty());

  auto gone = f.shell("stop automl; studies; stop-study s1");
  INFO(gone.out << gone.err);
  CHECK(gone.code == 1);
  CHECK(gone.err ==
        "error: the AutoML service is not running: no actor named 'automl' "
        "is registered (the head starts it)\n"
        "error: the AutoML service is not running: no actor named 'automl' "
        "is registered (the head starts it)\n");
}
