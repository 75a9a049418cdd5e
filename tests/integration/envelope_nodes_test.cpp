// The envelope between actors: in one process (shared buffer) and between two
// nodes joined over loopback through CAF's middleman (bytes unchanged).

#include <catch2/catch.hpp>

#include <cstring>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/common.capnp.h"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

caf::actor spawn_echo_on(caf::actor_system& sys, caf::actor dir,
                         const std::string& where, const std::string& name) {
  caf::scoped_actor self{sys};
  caf::actor out;
  self->request(dir, 10s, caf::spawn_atom::value, std::string{"echo"}, where,
                std::string{}, name)
      .receive(
          [](const envelope&) {},
          [](caf::error& err) { FAIL("spawn failed: " << describe(err)); });
  self->request(dir, 10s, lookup_atom::value, name)
      .receive(
          [&](const caf::actor& a) { out = a; },
          [](caf::error& err) { FAIL("lookup failed: " << describe(err)); });
  return out;
}

} // namespace

TEST_CASE("an envelope round trip in one process shares the sender's buffer") {
  auto cluster = local_cluster::start(0, 1, {});
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  auto echo = spawn_echo_on(sys, (*cluster)->directory(), "head", "local-echo");
  REQUIRE(echo);
  REQUIRE(echo.node() == sys.node());
  auto msg = make_envelope<schema::TextMessage>(
      [](auto m) { m.setText("in process"); });
  caf::scoped_actor self{sys};
  const void* back = nullptr;
  self->request(echo, 5s, call_atom::value, msg)
      .receive([&](const envelope& reply) { back = reply.data(); },
               [](caf::error& err) { FAIL(describe(err)); });
  CHECK(back == msg.data());
}

TEST_CASE("an envelope crosses two nodes byte for byte") {
  auto cluster = local_cluster::start(1, 1, {});
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  auto echo =
      spawn_echo_on(sys, (*cluster)->directory(), "worker-1", "remote-echo");
  REQUIRE(echo);
  REQUIRE(echo.node() != sys.node());
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  auto msg =
      make_envelope<schema::TextMessage>([&](auto m) { m.setText(big); });
  caf::scoped_actor self{sys};
  bool same_bytes = false;
  bool fresh_buffer = false;
  std::string text;
  self->request(echo, 10s, call_atom::value, msg)
      .receive(
          [&](const envelope& reply) {
            same_bytes =
                reply.size_bytes() == msg.size_bytes() &&
                std::memcmp(reply.data(), msg.data(), msg.size_bytes()) == 0;
            fresh_buffer = reply.data() != msg.data();
            auto t = reply.visit<schema::TextMessage>(
                [](auto m) { return std::string{m.getText().cStr()}; });
            if (t) text = *t;
          },
          [](caf::error& err) { FAIL(describe(err)); });
  CHECK(same_bytes);
  CHECK(fresh_buffer);
  CHECK(text == big);
}

TEST_CASE("a process that connected but never joined cannot look up or "
          "reach registered actors") {
  auto cluster = local_cluster::start(0, 1, {});
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  REQUIRE(spawn_echo_on(sys, (*cluster)->directory(), "head", "guarded"));
  caf::actor_system_config cfg;
  configure(cfg, {}, {});
  caf::actor_system outsider{cfg};
  auto dir =
      outsider.middleman().remote_actor("127.0.0.1", (*cluster)->node_port());
  REQUIRE(dir);
  caf::scoped_actor self{outsider};
  std::vector<std::string> refusals;
  auto expect_refusal = [&](auto... xs) {
    self->request(*dir, 5s, xs...)
        .receive([&](const caf::message&) { refusals.push_back("answered"); },
                 [&](caf::error& err) { refusals.push_back(describe(err)); });
  };
  expect_refusal(lookup_atom::value, std::string{"guarded"});
  expect_refusal(snapshot_atom::value);
  expect_refusal(stop_atom::value, std::string{"guarded"});
  expect_refusal(caf::spawn_atom::value, std::string{"echo"},
                 std::string{"any"}, std::string{}, std::string{});
  REQUIRE(refusals.size() == 4);
  for (auto& r : refusals)
    CHECK_THAT(r, Catch::Contains("not a member"));
  // The actor is still registered and serving.
  caf::scoped_actor inside{sys};
  bool found = false;
  inside
      ->request((*cluster)->directory(), 5s, lookup_atom::value,
                std::string{"guarded"})
      .receive([&](const caf::actor& a) { found = static_cast<bool>(a); },
               [](caf::error&) {});
  CHECK(found);
}
