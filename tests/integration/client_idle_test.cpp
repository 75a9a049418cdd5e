// A gateway client that sat idle longer than its per-call timeout still
// gets its answers: its event loop's timer reads the clock only when the
// loop runs, so a deadline counted from a stale clock would have passed
// before the call was made (a shell left alone for a minute, a benchmark
// that ran its peer between two calls).

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"

using namespace troupe;
using namespace std::chrono_literals;

TEST_CASE("a client idle for longer than its timeout still gets answers",
          "[client]") {
  auto cluster = local_cluster::start(0, 1, {});
  REQUIRE(cluster);
  auto c = cluster_client::connect("127.0.0.1", (*cluster)->gateway_port());
  REQUIRE(c);
  (*c)->set_timeout(400ms);
  REQUIRE((*c)->nodes());
  std::this_thread::sleep_for(900ms);
  auto n = (*c)->nodes();
  if (!n) FAIL("after an idle spell: " << describe(n.error()));
  CHECK(n->size() == 1);
}
