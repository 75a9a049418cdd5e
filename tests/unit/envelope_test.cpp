#include <catch2/catch.hpp>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/common.capnp.h"

using namespace troupe;

namespace {

envelope text_envelope(const std::string& text) {
  return make_envelope<schema::TextMessage>([&](auto m) { m.setText(text); });
}

} // namespace

TEST_CASE("an envelope reads back the struct it was built from") {
  auto env = text_envelope("hello");
  CHECK(env.type_id() == capnp::typeId<schema::TextMessage>());
  auto text = env.visit<schema::TextMessage>(
      [](auto m) { return std::string{m.getText().cStr()}; });
  REQUIRE(text);
  CHECK(*text == "hello");
}

TEST_CASE("copies of an envelope share one buffer") {
  auto env = text_envelope("shared");
  auto copy = env;
  CHECK(copy.data() == env.data());
  CHECK(copy.size_bytes() == env.size_bytes());
}

TEST_CASE("reading an envelope as another type is a type_mismatch error") {
  auto env = text_envelope("x");
  auto r = env.visit<schema::NodeInfo>([](auto) { return 1; });
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == static_cast<uint8_t>(errc::type_mismatch));
  CHECK_THAT(describe(r.error()),
             Catch::Contains("TextMessage") && Catch::Contains("NodeInfo"));
}

TEST_CASE("garbage bytes under a valid type id are a malformed_message error") {
  std::vector<uint64_t> junk{0xffffffff00000005ull, 0x1234, 0xdeadbeefull,
                             0xffffffffffffffffull};
  auto env = envelope::from_bytes(capnp::typeId<schema::TextMessage>(),
                                  junk.data(), junk.size() * 8);
  REQUIRE(env);
  auto r = env->visit<schema::TextMessage>(
      [](auto m) { return std::string{m.getText().cStr()}; });
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == static_cast<uint8_t>(errc::malformed_message));
}

TEST_CASE("from_bytes refuses a size that is not whole words") {
  char bytes[12] = {0};
  auto env = envelope::from_bytes(1, bytes, sizeof(bytes));
  REQUIRE_FALSE(env);
  CHECK_THAT(describe(env.error()), Catch::Contains("12 bytes"));
}

TEST_CASE("the traversal limit stops an amplifying message") {
  auto env = make_envelope<schema::Snapshot>([](auto s) {
    auto nodes = s.initNodes(2000);
    for (unsigned i = 0; i < nodes.size(); ++i)
      nodes[i].setName("node-with-a-longish-name");
  });
  reader_limits tight;
  tight.traversal_words = 64;
  auto r = env.visit<schema::Snapshot>(
      [](auto s) {
        size_t n = 0;
        for (auto node : s.getNodes())
          n += node.getName().size();
        return n;
      },
      tight);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == static_cast<uint8_t>(errc::malformed_message));
  auto ok =
      env.visit<schema::Snapshot>([](auto s) { return s.getNodes().size(); });
  REQUIRE(ok);
  CHECK(*ok == 2000u);
}

TEST_CASE("an envelope survives CAF binary serialization byte for byte") {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto env = text_envelope("over the wire");
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(env));
  envelope back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(back));
  CHECK(back.type_id() == env.type_id());
  REQUIRE(back.size_bytes() == env.size_bytes());
  CHECK(std::memcmp(back.data(), env.data(), env.size_bytes()) == 0);
  CHECK(back.data() != env.data());
}

TEST_CASE("to_text renders known schemas and names unknown ones") {
  CHECK_THAT(to_text(text_envelope("hi")), Catch::Contains("text = \"hi\""));
  std::vector<uint64_t> words{0, 0};
  auto unknown = envelope::from_bytes(0x1234, words.data(), 16);
  REQUIRE(unknown);
  CHECK_THAT(to_text(*unknown), Catch::Contains("unknown type"));
}
