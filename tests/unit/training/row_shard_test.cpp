// A data-parallel worker's rows as a RowShard file: written and read back
// exactly; a file that is no shard is named.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "actors/training/row_shard.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::training;

TEST_CASE("a row shard holds its rows and labels exactly", "[training]") {
  test::temp_dir dir;
  std::vector<float> values{
      1.5f, -2.25f, std::numeric_limits<float>::quiet_NaN(),
      4.0f, 5.0f,   6.125f};
  std::vector<float> labels{0.0f, 1.0f};
  auto path = dir / "shard";
  REQUIRE_FALSE(write_row_shard(path, 3, values.data(), labels.data(), 2));
  auto back = read_row_shard(path);
  REQUIRE(back);
  CHECK(back->cols == 3);
  CHECK(back->rows() == 2);
  REQUIRE(back->values.size() == 6);
  for (size_t i = 0; i < 6; ++i)
    if (std::isnan(values[i]))
      CHECK(std::isnan(back->values[i]));
    else
      CHECK(back->values[i] == values[i]);
  CHECK(back->labels == labels);
}

TEST_CASE("a file that is no row shard is named", "[training]") {
  test::temp_dir dir;
  test::write_file(dir / "junk", "not a shard at all!");
  auto r = read_row_shard(dir / "junk");
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).find("junk") != std::string::npos);
  auto missing = read_row_shard(dir / "missing");
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()).find("missing") != std::string::npos);
}
