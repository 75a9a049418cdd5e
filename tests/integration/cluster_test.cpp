// Real `troupe node` processes on loopback, driven through the RPC client and
// the shell, as a user would.

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "runtime/client.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/common.capnp.h"
#include "schemas/demo.capnp.h"
#include "tests/support/nodes.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using test::process;

namespace {

/// A cluster of real processes in a temporary directory.
struct cluster_fixture {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  uint16_t port = nodes.port();
  uint16_t gateway_port = nodes.gateway_port();
  std::string secret_file = nodes.secret_file();
  std::map<std::string, std::unique_ptr<process>> workers;

  process& head() { return nodes.head(); }

  std::string head_addr() const { return nodes.head_addr(); }

  std::string gateway_addr() const { return nodes.gateway_addr(); }

  process& start_worker(const std::string& name,
                        const std::string& secret = {}) {
    std::vector<std::string> args{"--slots", "2"};
    if (!secret.empty() && secret != "none") {
      auto f = dir / (name + ".secret");
      test::write_file(f, secret);
      args.push_back("--secret-file");
      args.push_back(f);
    }
    auto p = std::make_unique<process>(
        nodes.worker_argv(name, args, secret.empty()), dir / (name + ".log"));
    auto& ref = *p;
    workers[name] = std::move(p);
    return ref;
  }

  std::unique_ptr<cluster_client> client() {
    std::unique_ptr<cluster_client> c;
    test::eventually(
        [&] {
          auto r = cluster_client::connect("127.0.0.1", gateway_port, 1s);
          if (!r) return false;
          c = std::move(*r);
          return true;
        },
        15s);
    REQUIRE(c);
    // The head's gateway opens only once the head's own node is listed, so
    // a client can spawn on "head" as soon as it connects (CI once failed
    // such a spawn, 0.05 s after the head started, when it opened first).
    REQUIRE(has_node(*c, "head"));
    return c;
  }

  size_t node_count(cluster_client& c) {
    auto ns = c.nodes();
    return ns ? ns->size() : 0;
  }

  bool has_node(cluster_client& c, const std::string& name) {
    auto ns = c.nodes();
    if (!ns) return false;
    return std::any_of(ns->begin(), ns->end(),
                       [&](auto& n) { return n.name == name; });
  }

  test::run_result shell(const std::string& commands) {
    return test::run(
        {test::troupe_bin(), "shell", gateway_addr(), "-c", commands}, 30s);
  }

  std::string logs() {
    std::string out = "--- head ---\n" + head().log();
    for (auto& [name, p] : workers)
      out += "--- " + name + " ---\n" + p->log();
    return out;
  }
};

} // namespace

TEST_CASE("three nodes form a cluster and the shell lists them") {
  cluster_fixture f;
  auto c = f.client();
  f.start_worker("worker-1");
  f.start_worker("worker-2");
  INFO(f.logs());
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 3; }, 15s));
  auto r = f.shell("nodes");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("head") && Catch::Contains("worker-1") &&
                        Catch::Contains("worker-2") &&
                        Catch::Contains("3 nodes"));
}

TEST_CASE("a killed worker is removed within 3 s, watchers are told, and it "
          "rejoins under its name") {
  cluster_fixture f;
  auto c = f.client();
  f.start_worker("worker-1");
  auto& victim = f.start_worker("worker-2");
  INFO(f.logs());
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 3; }, 15s));

  // A watcher in its own thread with its own client, as the shell would be.
  std::atomic<bool> saw_removal{false};
  std::atomic<bool> subscribed{false};
  std::thread watcher{[&] {
    auto wc = cluster_client::connect("127.0.0.1", f.gateway_port);
    if (!wc) return;
    (void)(*wc)->watch(
        [&](const event_row& ev) {
          if (ev.kind == "node-left" && ev.node.name == "worker-2") {
            saw_removal = true;
            return false;
          }
          return true;
        },
        20s, [&](auto&, auto&) { subscribed = true; });
  }};
  REQUIRE(test::eventually([&] { return subscribed.load(); }, 10s));

  victim.signal(SIGKILL);
  auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 2; }, 3s));
  auto took = std::chrono::steady_clock::now() - killed_at;
  CHECK(took < 3s);
  CHECK_FALSE(f.has_node(*c, "worker-2"));
  watcher.join();
  CHECK(saw_removal);

  f.start_worker("worker-2");
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 3; }, 15s));
  CHECK(f.has_node(*c, "worker-2"));
}

TEST_CASE("a node process with a wrong or missing secret is refused, logged "
          "and exits") {
  cluster_fixture f;
  auto c = f.client();
  auto spawned = c->spawn("echo", "head", "", "guarded");
  REQUIRE(spawned);
  auto& wrong = f.start_worker("intruder", "not-the-secret");
  auto& none = f.start_worker("anonymous", "none");
  CHECK(wrong.wait(15s) == 3);
  CHECK(none.wait(15s) == 3);
  INFO(f.logs());
  CHECK_FALSE(f.has_node(*c, "intruder"));
  CHECK_FALSE(f.has_node(*c, "anonymous"));
  CHECK_THAT(f.head().log(), Catch::Contains("refused join of 'intruder'"));
  CHECK_THAT(wrong.log(), Catch::Contains("refused"));
  auto ns = c->nodes();
  REQUIRE(ns);
  CHECK(ns->size() == 1);
}

TEST_CASE("a remote spawn on a named node answers requests through the "
          "envelope") {
  cluster_fixture f;
  auto c = f.client();
  f.start_worker("worker-1");
  f.start_worker("worker-2");
  INFO(f.logs());
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 3; }, 15s));
  auto spawned = c->spawn("primes", "worker-2", "", "counter");
  REQUIRE(spawned);
  REQUIRE(spawned->size() == 1);
  CHECK((*spawned)[0].node == "worker-2");
  CHECK((*spawned)[0].name == "counter");

  auto req = make_envelope<schema::PrimeRange>([](auto r) {
    r.setLo(0);
    r.setHi(1000);
  });
  auto reply = c->send("counter", req);
  REQUIRE(reply);
  auto counted = reply->visit<schema::PrimeCount>([](auto r) {
    return std::make_tuple(r.getCount(), std::string{r.getNode().cStr()});
  });
  REQUIRE(counted);
  CHECK(std::get<0>(*counted) == 168);
  CHECK(std::get<1>(*counted) == "worker-2");

  // Placement: "every" puts one on each node, and a full node refuses.
  auto everywhere = c->spawn("echo", "every");
  REQUIRE(everywhere);
  CHECK(everywhere->size() == 3);
  auto full = c->spawn("echo", "head");
  REQUIRE_FALSE(full);
  CHECK_THAT(describe(full.error()), Catch::Contains("no free slot"));

  // stats of the actor count what it handled.
  auto st = c->stats("counter");
  REQUIRE(st);
  REQUIRE(st->size() == 1);
  CHECK((*st)[0].handled >= 1);
  CHECK((*st)[0].node == "worker-2");

  // stop removes it from the directory.
  REQUIRE(c->stop("counter"));
  auto actors = c->actors();
  REQUIRE(actors);
  CHECK(std::none_of(actors->begin(), actors->end(),
                     [](auto& a) { return a.name == "counter"; }));
  auto gone = c->send("counter", req);
  REQUIRE_FALSE(gone);
  CHECK_THAT(describe(gone.error()), Catch::Contains("no actor named"));
}

TEST_CASE("an envelope that is not a valid message of its claimed type gets "
          "an error reply and the actor keeps running") {
  cluster_fixture f;
  auto c = f.client();
  f.start_worker("worker-1");
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 2; }, 15s));
  REQUIRE(c->spawn("primes", "worker-1", "", "p"));
  std::vector<uint64_t> junk{0x00000fff00000000ull, 0xdeadbeefdeadbeefull,
                             0x0123456789abcdefull};
  auto bad = envelope::from_bytes(capnp::typeId<schema::PrimeRange>(),
                                  junk.data(), junk.size() * 8);
  REQUIRE(bad);
  auto r = c->send("p", *bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()), Catch::Contains("not a valid"));

  auto wrong_type = make_envelope<schema::TextMessage>(
      [](auto m) { m.setText("count these"); });
  auto r2 = c->send("p", wrong_type);
  REQUIRE_FALSE(r2);
  CHECK_THAT(describe(r2.error()), Catch::Contains("expected PrimeRange"));

  auto good = make_envelope<schema::PrimeRange>([](auto x) {
    x.setLo(0);
    x.setHi(100);
  });
  auto ok = c->send("p", good);
  REQUIRE(ok);
  CHECK(*ok->visit<schema::PrimeCount>([](auto x) { return x.getCount(); }) ==
        25);
}

TEST_CASE("a client writing random bytes to the gateway is dropped and other "
          "clients are unaffected") {
  cluster_fixture f;
  auto c = f.client();
  REQUIRE(c->ping());
  for (int round = 0; round < 3; ++round) {
    auto r = test::run({"/bin/bash", "-c",
                        "head -c 65536 /dev/urandom > /dev/tcp/127.0.0.1/" +
                            std::to_string(f.gateway_port)},
                       10s);
    CHECK(r.code != -1);
  }
  CHECK(c->ping());
  auto ns = c->nodes();
  REQUIRE(ns);
  CHECK(ns->size() == 1);
  CHECK(f.head().running());
  // A new client (its own thread: one KJ loop per thread) still gets in.
  bool fresh_ok = false;
  std::thread other{[&] {
    auto fresh = cluster_client::connect("127.0.0.1", f.gateway_port);
    fresh_ok = fresh && (*fresh)->ping();
  }};
  other.join();
  CHECK(fresh_ok);
}

TEST_CASE("the shell runs scripts, prints help for unknown commands and "
          "reports an unreachable head") {
  cluster_fixture f;
  auto c = f.client();
  auto r = f.shell("spawn echo head --name e1; send e1 hello there; actors");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("hello there") && Catch::Contains("e1"));

  auto bad = f.shell("frobnicate");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(bad.out + bad.err, Catch::Contains("nodes"));

  auto piped = test::run({test::troupe_bin(), "shell", f.gateway_addr()}, 30s,
                         "nodes\n# a comment\nactors\n");
  CHECK(piped.code == 0);
  CHECK_THAT(piped.out,
             Catch::Contains("1 nodes") || Catch::Contains("1 node"));

  auto unreachable = test::run(
      {test::troupe_bin(), "shell",
       "127.0.0.1:" + std::to_string(test::free_port()), "-c", "nodes"},
      30s);
  CHECK(unreachable.code == 2);
  CHECK_THAT(unreachable.err, Catch::Contains("cannot reach the head"));
}

TEST_CASE("shutdown through the gateway stops every node") {
  cluster_fixture f;
  auto c = f.client();
  auto& w = f.start_worker("worker-1");
  REQUIRE(test::eventually([&] { return f.node_count(*c) == 2; }, 15s));
  REQUIRE(c->shutdown());
  CHECK(w.wait(10s) == 0);
  CHECK(f.head().wait(10s) == 0);
}

TEST_CASE("bad node options are refused with a message naming them") {
  test::temp_dir dir;
  auto node = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{test::troupe_bin(), "node"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, 30s);
  };
  auto sched = node({"--head", "--scheduler", "bogus"});
  CHECK(sched.code == 2);
  CHECK_THAT(sched.err, Catch::Contains("--scheduler 'bogus'"));
  auto label = node({"--head", "--label", "nokey"});
  CHECK(label.code == 2);
  CHECK_THAT(label.err, Catch::Contains("--label 'nokey'"));
  auto level = node({"--head", "--log-level", "loud"});
  CHECK(level.code == 2);
  CHECK_THAT(level.err, Catch::Contains("--log-level 'loud'"));
  auto neither = node({"--slots", "2"});
  CHECK(neither.code == 2);
  CHECK_THAT(neither.err, Catch::Contains("--head or --join"));
  auto port =
      node({"--join", "127.0.0.1:99999", "--secret-file", dir / "missing"});
  CHECK(port.code == 2);
  CHECK_THAT(port.err, Catch::Contains("99999"));
  auto secret =
      node({"--join", "127.0.0.1:7", "--secret-file", dir / "missing"});
  CHECK(secret.code == 2);
  CHECK_THAT(secret.err, Catch::Contains(dir / "missing"));
}
