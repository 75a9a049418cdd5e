#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
namespace test = troupe::test;

namespace {

std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string{} : response.substr(at + 4);
}

} // namespace

TEST_CASE("render writes counters, gauges and cumulative histogram buckets",
          "[metrics]") {
  metrics_registry reg;
  auto iris = reg.add_counter("troupe_predictions_total", "Rows predicted.",
                              {{"version", "3"}, {"deployment", "iris"}});
  REQUIRE(iris);
  auto wine = reg.add_counter("troupe_predictions_total", "Rows predicted.",
                              {{"deployment", "wine"}, {"version", "1"}});
  REQUIRE(wine);
  iris->inc(5);
  iris->inc();
  wine->inc(2.5);
  auto depth = reg.add_gauge("troupe_queue_depth", "Requests waiting.");
  REQUIRE(depth);
  depth->set(7);
  depth->dec(2);
  auto lat = reg.add_histogram("troupe_latency_seconds", "Request latency.",
                               {0.25, 1, 2.5}, {{"deployment", "iris"}});
  REQUIRE(lat);
  // Bounds are inclusive: 0.25 and 1 land in their own buckets.
  for (double v : {0.125, 0.25, 0.5, 1.0, 2.0, 8.0})
    lat->observe(v);
  CHECK(lat->count() == 6);
  CHECK(lat->sum() == 11.875);
  std::string want = "# HELP troupe_latency_seconds Request latency.\n"
                     "# TYPE troupe_latency_seconds histogram\n"
                     "troupe_latency_seconds_bucket{deployment=\"iris\","
                     "le=\"0.25\"} 2\n"
                     "troupe_latency_seconds_bucket{deployment=\"iris\","
                     "le=\"1\"} 4\n"
                     "troupe_latency_seconds_bucket{deployment=\"iris\","
                     "le=\"2.5\"} 5\n"
                     "troupe_latency_seconds_bucket{deployment=\"iris\","
                     "le=\"+Inf\"} 6\n"
                     "troupe_latency_seconds_sum{deployment=\"iris\"} 11.875\n"
                     "troupe_latency_seconds_count{deployment=\"iris\"} 6\n"
                     "# HELP troupe_predictions_total Rows predicted.\n"
                     "# TYPE troupe_predictions_total counter\n"
                     "troupe_predictions_total{deployment=\"iris\","
                     "version=\"3\"} 6\n"
                     "troupe_predictions_total{deployment=\"wine\","
                     "version=\"1\"} 2.5\n"
                     "# HELP troupe_queue_depth Requests waiting.\n"
                     "# TYPE troupe_queue_depth gauge\n"
                     "troupe_queue_depth 5\n";
  CHECK(reg.render() == want);
}

TEST_CASE("asking for a series again returns the same series", "[metrics]") {
  metrics_registry reg;
  auto a = reg.add_counter("hits_total", "Hits.", {{"a", "1"}, {"b", "2"}});
  auto b = reg.add_counter("hits_total", "Hits.", {{"b", "2"}, {"a", "1"}});
  REQUIRE(a);
  REQUIRE(b);
  a->inc();
  b->inc();
  CHECK(a->value() == 2);
  CHECK(reg.remove("hits_total", {{"b", "2"}, {"a", "1"}}));
  CHECK_FALSE(reg.remove("hits_total", {{"a", "1"}}));
  a->inc(); // still safe after removal, but no longer rendered
  CHECK(reg.render() == "# HELP hits_total Hits.\n# TYPE hits_total counter\n");
}

TEST_CASE("label values and help text are escaped", "[metrics]") {
  metrics_registry reg;
  auto g = reg.add_gauge("odd", "Back\\slash and\nnewline \"kept\".",
                         {{"path", "C:\\dir\n\"x\""}});
  REQUIRE(g);
  g->set(-1.5);
  CHECK(reg.render() == "# HELP odd Back\\\\slash and\\nnewline \"kept\".\n"
                        "# TYPE odd gauge\n"
                        "odd{path=\"C:\\\\dir\\n\\\"x\\\"\"} -1.5\n");
}

TEST_CASE("special values render as NaN, +Inf and -Inf", "[metrics]") {
  metrics_registry reg;
  auto a = reg.add_gauge("a", "A.");
  auto b = reg.add_gauge("b", "B.");
  auto c = reg.add_gauge("c", "C.");
  REQUIRE((a && b && c));
  a->set(std::nan(""));
  b->set(std::numeric_limits<double>::infinity());
  c->set(-std::numeric_limits<double>::infinity());
  auto text = reg.render();
  CHECK(text.find("\na NaN\n") != std::string::npos);
  CHECK(text.find("\nb +Inf\n") != std::string::npos);
  CHECK(text.find("\nc -Inf\n") != std::string::npos);
}

TEST_CASE("bad names, labels, types and buckets are refused", "[metrics]") {
  metrics_registry reg;
  CHECK_FALSE(reg.add_counter("9lives", "x"));
  CHECK_FALSE(reg.add_counter("has-dash", "x"));
  CHECK_FALSE(reg.add_counter("ok", "x", {{"bad-label", "v"}}));
  CHECK_FALSE(reg.add_counter("ok", "x", {{"__reserved", "v"}}));
  CHECK_FALSE(reg.add_counter("ok", "x", {{"a", "1"}, {"a", "2"}}));
  CHECK_FALSE(reg.add_histogram("h", "x", {1, 2}, {{"le", "1"}}));
  CHECK_FALSE(reg.add_histogram("h", "x", {2, 1}));
  CHECK_FALSE(reg.add_histogram("h", "x",
                                {1, std::numeric_limits<double>::infinity()}));
  REQUIRE(reg.add_counter("taken", "x"));
  auto g = reg.add_gauge("taken", "x");
  REQUIRE_FALSE(g);
  CHECK(describe(g.error()).find("'taken' is a counter, not a gauge") !=
        std::string::npos);
  REQUIRE(reg.add_histogram("lat", "x", {1, 2}, {{"d", "a"}}));
  CHECK_FALSE(reg.add_histogram("lat", "x", {1, 3}, {{"d", "b"}}));
}

TEST_CASE("concurrent increments from four threads sum exactly", "[metrics]") {
  metrics_registry reg;
  auto c = reg.add_counter("ops_total", "Ops.", {{"kind", "x"}});
  auto g = reg.add_gauge("level", "Level.");
  auto h = reg.add_histogram("size", "Size.", {10, 100});
  REQUIRE((c && g && h));
  constexpr int per_thread = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      // A handle looked up in each thread is the same series.
      auto mine = *reg.add_counter("ops_total", "Ops.", {{"kind", "x"}});
      for (int i = 0; i < per_thread; ++i) {
        mine.inc();
        g->inc(t % 2 == 0 ? 1 : -1);
        h->observe(i % 200);
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(c->value() == 4.0 * per_thread);
  CHECK(g->value() == 0);
  CHECK(h->count() == 4u * per_thread);
  auto text = reg.render();
  CHECK(text.find("size_bucket{le=\"10\"} 22000\n") != std::string::npos);
  CHECK(text.find("size_bucket{le=\"100\"} 202000\n") != std::string::npos);
  CHECK(text.find("size_count 400000\n") != std::string::npos);
}

TEST_CASE("collectors refresh gauges at render time until removed",
          "[metrics]") {
  metrics_registry reg;
  int replicas = 3;
  int calls = 0;
  auto id = reg.add_collector([&] {
    ++calls;
    reg.add_gauge("troupe_replicas", "Replicas.", {{"deployment", "iris"}})
        ->set(replicas);
  });
  reg.add_collector([] { throw std::runtime_error("collector bug"); });
  CHECK(reg.render().find("troupe_replicas{deployment=\"iris\"} 3\n") !=
        std::string::npos);
  replicas = 5;
  CHECK(reg.render().find("troupe_replicas{deployment=\"iris\"} 5\n") !=
        std::string::npos);
  reg.remove_collector(id);
  replicas = 9;
  CHECK(reg.render().find("troupe_replicas{deployment=\"iris\"} 5\n") !=
        std::string::npos);
  CHECK(calls == 2);
}

TEST_CASE("default handles ignore updates", "[metrics]") {
  counter c;
  gauge g;
  histogram h;
  c.inc();
  g.set(3);
  h.observe(1);
  CHECK_FALSE(c);
  CHECK(c.value() == 0);
  CHECK(g.value() == 0);
  CHECK(h.count() == 0);
}

TEST_CASE("the metrics server answers GET /metrics and 404 elsewhere",
          "[metrics]") {
  metrics_registry reg;
  auto c = reg.add_counter("troupe_requests_total", "Requests.",
                           {{"deployment", "iris"}});
  REQUIRE(c);
  c->inc(42);
  auto srv = metrics_server::start(reg, "127.0.0.1", 0);
  REQUIRE(srv);
  auto port = (*srv)->port();
  REQUIRE(port != 0);

  auto res = test::http_get(port, "/metrics");
  INFO(res);
  CHECK(res.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(res.find("Content-Type: text/plain; version=0.0.4\r\n") !=
        std::string::npos);
  CHECK(body_of(res) == reg.render());
  CHECK(body_of(res).find("troupe_requests_total{deployment=\"iris\"} 42\n") !=
        std::string::npos);

  auto other = test::http_get(port, "/other");
  CHECK(other.rfind("HTTP/1.1 404 ", 0) == 0);

  // A client that connected and stays silent delays stop() by a second at
  // most.
  int idle = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto t0 = std::chrono::steady_clock::now();
  (*srv)->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  close(idle);
  CHECK(took < std::chrono::milliseconds{3500}); // httplib's default: 5 s
  CHECK(test::http_get(port, "/metrics").empty());
  (*srv)->stop(); // idempotent
}

TEST_CASE("a busy port is refused with a message naming it", "[metrics]") {
  metrics_registry reg;
  auto first = metrics_server::start(reg);
  REQUIRE(first);
  auto port = (*first)->port();
  auto second = metrics_server::start(reg, "127.0.0.1", port);
  REQUIRE_FALSE(second);
  CHECK(describe(second.error()).find("127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
}
