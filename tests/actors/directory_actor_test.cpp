// Deterministic tests of the directory and node agent actors.

#include <catch2/catch.hpp>

#include "runtime/cluster.hpp"
#include "schemas/cluster.capnp.h"
#include "tests/actors/fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct join_outcome {
  bool answered = false;
  bool accepted = false;
  std::string reason;
  uint64_t incarnation = 0;
};

/// An actor that joins like a node's agent would, then stays silent (no
/// heartbeats) until told `heartbeat_atom`.
caf::actor fake_node(caf::actor_system& sys, caf::actor dir, std::string name,
                     std::string secret, std::shared_ptr<join_outcome> out) {
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    auto req = make_envelope<schema::JoinRequest>([&](auto r) {
      r.setName(name);
      r.setSecret(kj::arrayPtr(reinterpret_cast<const kj::byte*>(secret.data()),
                               secret.size()));
      r.setHost("test-host");
      r.setPid(42);
      r.setSlots(2);
    });
    self->request(dir, caf::infinite, join_atom::value, req)
        .then([=](const envelope& reply) {
          (void)reply.visit<schema::JoinReply>([&](auto r) {
            out->answered = true;
            out->accepted = r.getAccepted();
            out->reason = r.getReason();
            out->incarnation = r.getIncarnation();
          });
        });
    return {
        [=](heartbeat_atom) {
          auto hb = make_envelope<schema::Heartbeat>([&](auto h) {
            h.setName(name);
            h.setIncarnation(out->incarnation);
            h.setFreeSlots(2);
          });
          self->send(dir, heartbeat_atom::value, hb);
        },
        [](rejoin_atom) {},
    };
  });
}

/// An actor that subscribes to the directory and records every event.
caf::actor recorder(caf::actor_system& sys, caf::actor dir,
                    std::shared_ptr<std::vector<std::string>> events) {
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    self->request(dir, caf::infinite, subscribe_atom::value)
        .then([](const envelope&) {});
    return {
        [=](event_atom, const envelope& ev) {
          (void)ev.visit<schema::DirectoryEvent>([&](auto e) {
            using K = schema::DirectoryEvent::Kind;
            std::string kind = e.getKind() == K::NODE_JOINED ? "joined"
                               : e.getKind() == K::NODE_LEFT ? "left"
                               : e.getKind() == K::ACTOR_REGISTERED
                                   ? "registered"
                                   : "removed";
            std::string who =
                e.getKind() == K::NODE_JOINED || e.getKind() == K::NODE_LEFT
                    ? e.getNode().getName().cStr()
                    : e.getActor().getName().cStr();
            events->push_back(kind + " " + who);
          });
        },
    };
  });
}

size_t node_count(test::actor_fixture& fx, caf::actor dir) {
  size_t n = 0;
  auto probe = fx.sys->spawn([&, dir](caf::event_based_actor* self) {
    self->request(dir, caf::infinite, snapshot_atom::value)
        .then([&](const envelope& snap) {
          (void)snap.visit<schema::Snapshot>(
              [&](auto s) { n = s.getNodes().size(); });
        });
  });
  fx.run();
  return n;
}

struct directory_fixture : test::actor_fixture {
  caf::actor dir;
  std::shared_ptr<std::vector<std::string>> events =
      std::make_shared<std::vector<std::string>>();

  directory_fixture() {
    directory_config dc;
    dc.secret = "right";
    dc.node_timeout = 3000ms;
    dc.heartbeat = 500ms;
    dc.now = clock();
    dir = spawn_directory(*sys, dc);
    recorder(*sys, dir, events);
    run();
  }

  ~directory_fixture() {
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    run();
  }
};

} // namespace

TEST_CASE_METHOD(directory_fixture,
                 "a node that stops sending heartbeats is removed after the "
                 "timeout and watchers are told") {
  auto out = std::make_shared<join_outcome>();
  auto node = fake_node(*sys, dir, "silent", "right", out);
  run();
  REQUIRE(out->accepted);
  CHECK(node_count(*this, dir) == 1);
  // Heartbeats keep it alive past the timeout.
  for (int i = 0; i < 10; ++i) {
    advance(500ms);
    caf::anon_send(node, heartbeat_atom::value);
    run();
  }
  CHECK(node_count(*this, dir) == 1);
  // Silence: removed once the timeout has passed, not before.
  advance(2500ms);
  CHECK(node_count(*this, dir) == 1);
  advance(1000ms);
  CHECK(node_count(*this, dir) == 0);
  CHECK(*events == std::vector<std::string>{"joined silent", "left silent"});
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(directory_fixture,
                 "a wrong or missing secret is refused and never listed") {
  auto wrong = std::make_shared<join_outcome>();
  auto none = std::make_shared<join_outcome>();
  auto a = fake_node(*sys, dir, "intruder", "wrong", wrong);
  auto b = fake_node(*sys, dir, "anonymous", "", none);
  run();
  REQUIRE(wrong->answered);
  CHECK_FALSE(wrong->accepted);
  CHECK_THAT(wrong->reason, Catch::Contains("secret"));
  REQUIRE(none->answered);
  CHECK_FALSE(none->accepted);
  CHECK(node_count(*this, dir) == 0);
  CHECK(events->empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(directory_fixture,
                 "a node whose agent dies is removed at once") {
  auto out = std::make_shared<join_outcome>();
  auto node = fake_node(*sys, dir, "doomed", "right", out);
  run();
  REQUIRE(out->accepted);
  caf::anon_send_exit(node, caf::exit_reason::kill);
  run();
  CHECK(node_count(*this, dir) == 0);
  REQUIRE(events->size() == 2);
  CHECK(events->back() == "left doomed");
}

TEST_CASE_METHOD(directory_fixture,
                 "a restarted node rejoins under its name as a new "
                 "incarnation") {
  auto first = std::make_shared<join_outcome>();
  auto a = fake_node(*sys, dir, "phoenix", "right", first);
  run();
  auto second = std::make_shared<join_outcome>();
  auto b = fake_node(*sys, dir, "phoenix", "right", second);
  run();
  REQUIRE(second->accepted);
  CHECK(second->incarnation > first->incarnation);
  CHECK(node_count(*this, dir) == 1);
  CHECK(*events == std::vector<std::string>{"joined phoenix", "left phoenix",
                                            "joined phoenix"});
  // The old incarnation's heartbeats no longer count; the new one's do.
  advance(2000ms);
  caf::anon_send(a, heartbeat_atom::value);
  caf::anon_send(b, heartbeat_atom::value);
  run();
  advance(2000ms);
  CHECK(node_count(*this, dir) == 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(directory_fixture,
                 "spawn places an actor through a node agent, registers it, "
                 "and frees the slot when it stops") {
  agent_config ac;
  ac.name = "head";
  ac.slots = 1;
  ac.secret = "right";
  ac.is_head = true;
  auto agent = spawn_agent(*sys, dir, ac);
  run();
  envelope spawned;
  caf::error failed;
  auto asker = [&](std::string where, std::string name) {
    spawned = envelope{};
    failed = caf::error{};
    sys->spawn([&, where, name](caf::event_based_actor* self) {
      self->request(dir, caf::infinite, caf::spawn_atom::value,
                    std::string{"echo"}, where, std::string{}, name)
          .then([&](const envelope& e) { spawned = e; },
                [&](caf::error& e) { failed = e; });
    });
    run();
  };
  asker("any", "e1");
  REQUIRE_FALSE(failed);
  auto name = spawned.visit<schema::Snapshot>(
      [](auto s) { return std::string{s.getActors()[0].getName().cStr()}; });
  REQUIRE(name);
  CHECK(*name == "e1");
  CHECK(events->back() == "registered e1");
  // The directory counts the slot at once, before the next heartbeat.
  uint32_t free_now = 99;
  sys->spawn([&](caf::event_based_actor* self) {
    self->request(dir, caf::infinite, snapshot_atom::value)
        .then([&](const envelope& e) {
          (void)e.visit<schema::Snapshot>(
              [&](auto s) { free_now = s.getNodes()[0].getFreeSlots(); });
        });
  });
  run();
  CHECK(free_now == 0);

  // The only slot is taken: the agent refuses the next one.
  asker("head", "e2");
  REQUIRE(failed);
  CHECK_THAT(describe(failed), Catch::Contains("no free slot"));

  // Unknown kinds and bad names are refused before any node is asked.
  sys->spawn([&](caf::event_based_actor* self) {
    self->request(dir, caf::infinite, caf::spawn_atom::value,
                  std::string{"no-such-kind"}, std::string{"any"},
                  std::string{}, std::string{})
        .then([](const envelope&) {}, [&](caf::error& e) { failed = e; });
  });
  run();
  CHECK_THAT(describe(failed), Catch::Contains("unknown actor kind"));

  // Stopping it frees the slot again.
  sys->spawn([&](caf::event_based_actor* self) {
    self->request(dir, caf::infinite, stop_atom::value, std::string{"e1"})
        .then([] {});
  });
  run();
  CHECK(events->back() == "removed e1");
  asker("head", "e3");
  CHECK_FALSE(failed);
  caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
}
