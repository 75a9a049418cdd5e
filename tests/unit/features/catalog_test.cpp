#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/features/catalog.hpp"
#include "actors/features/group.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::features;

namespace {

group_spec vectors() {
  group_spec g;
  g.name = "vectors";
  g.description = "embeddings";
  g.vector_name = "emb";
  g.width = 8;
  g.allow_nan = true;
  g.created_ms = 1709251200000;
  g.shards = 4;
  return g;
}

group_spec events() {
  group_spec g;
  g.name = "events";
  g.fields = {{"count", field_type::int64, false},
              {"kind", field_type::text, true},
              {"at", field_type::timestamp, true}};
  g.ttl_ms = 86400000;
  g.created_ms = 1709251300000;
  g.shards = 4;
  return g;
}

void check_same_group(const group_spec& got, const group_spec& want) {
  INFO("group " << want.name);
  CHECK(got.same_definition(want));
  CHECK(got.description == want.description);
  CHECK(got.created_ms == want.created_ms);
  CHECK(got.shards == want.shards);
}

} // namespace

TEST_CASE("a new catalog has no groups and no placements",
          "[features][catalog]") {
  test::temp_dir dir;
  auto c = catalog::open(dir / "catalog");
  REQUIRE(c);
  auto gs = c->groups();
  REQUIRE(gs);
  CHECK(gs->empty());
  auto ps = c->placements();
  REQUIRE(ps);
  CHECK(ps->empty());
}

TEST_CASE("the catalog's groups and placements persist across reopening",
          "[features][catalog]") {
  test::temp_dir dir;
  {
    auto c = catalog::open(dir / "catalog");
    REQUIRE(c);
    REQUIRE_FALSE(c->put_group(vectors()));
    REQUIRE_FALSE(c->put_group(events()));
    REQUIRE_FALSE(c->set_placements(
        {{2, "node-b"}, {0, "node-a"}, {1, "node-b"}, {3, "node-c"}}));
  }
  auto c = catalog::open(dir / "catalog");
  REQUIRE(c);
  auto gs = c->groups();
  REQUIRE(gs);
  REQUIRE(gs->size() == 2);
  // by name
  check_same_group((*gs)[0], events());
  check_same_group((*gs)[1], vectors());
  auto ps = c->placements();
  REQUIRE(ps);
  REQUIRE(ps->size() == 4);
  // by index
  const char* nodes[] = {"node-a", "node-b", "node-b", "node-c"};
  for (uint32_t i = 0; i < 4; ++i) {
    CHECK((*ps)[i].index == i);
    CHECK((*ps)[i].node == nodes[i]);
  }
}

TEST_CASE("putting a group again replaces its definition, and placements "
          "are updated by index",
          "[features][catalog]") {
  test::temp_dir dir;
  {
    auto c = catalog::open(dir / "catalog");
    REQUIRE(c);
    REQUIRE_FALSE(c->put_group(vectors()));
    REQUIRE_FALSE(c->set_placements({{0, "node-a"}, {1, "node-b"}}));
    auto changed = vectors();
    changed.description = "new words";
    changed.width = 16;
    REQUIRE_FALSE(c->put_group(changed));
    REQUIRE_FALSE(
        c->set_placements({{1, "node-c"}, {2, "node-d"}, {300, "node-e"}}));
  }
  auto c = catalog::open(dir / "catalog");
  REQUIRE(c);
  auto gs = c->groups();
  REQUIRE(gs);
  REQUIRE(gs->size() == 1);
  CHECK((*gs)[0].width == 16);
  CHECK((*gs)[0].description == "new words");
  auto ps = c->placements();
  REQUIRE(ps);
  REQUIRE(ps->size() == 4);
  CHECK((*ps)[0].node == "node-a");
  CHECK((*ps)[1].node == "node-c");
  CHECK((*ps)[2].node == "node-d");
  CHECK((*ps)[3].index == 300);
  CHECK((*ps)[3].node == "node-e");
}
