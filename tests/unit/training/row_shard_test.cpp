// A data-parallel worker's rows as a row shard file: written and read back
// exactly; a file that is no shard is named.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
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

TEST_CASE("a row shard cut short or with a lying header is named",
          "[training]") {
  test::temp_dir dir;
  std::vector<float> values(12, 1.0f), labels(4, 0.0f);
  auto path = dir / "shard";
  REQUIRE_FALSE(write_row_shard(path, 3, values.data(), labels.data(), 4));
  auto bytes = test::read_file(path);
  REQUIRE(bytes.size() == 32 + 16 * 4);
  // a byte short: the size no longer fits the header's rows and columns
  test::write_file(dir / "short", bytes.substr(0, bytes.size() - 4));
  auto s = read_row_shard(dir / "short");
  REQUIRE_FALSE(s);
  CHECK(describe(s.error()).find("short") != std::string::npos);
  CHECK(describe(s.error()).find("4 rows of 3 columns") != std::string::npos);
  // rows huge enough that rows x columns would overflow: still refused
  auto lying = bytes;
  uint64_t rows = uint64_t{1} << 62;
  std::memcpy(lying.data() + 16, &rows, sizeof rows);
  test::write_file(dir / "lying", lying);
  CHECK_FALSE(read_row_shard(dir / "lying"));
  // zero rows is a shard (a worker with nothing is refused elsewhere)
  REQUIRE_FALSE(write_row_shard(dir / "empty", 3, nullptr, nullptr, 0));
  auto empty = read_row_shard(dir / "empty");
  REQUIRE(empty);
  CHECK(empty->rows() == 0);
  CHECK(empty->cols == 3);
}

TEST_CASE("a row shard of no columns holds labels alone", "[training]") {
  test::temp_dir dir;
  auto path = dir.path() + "/labels";
  std::vector<float> labels{1, 0, 2, 7};
  REQUIRE_FALSE(write_row_shard(path, 0, nullptr, labels.data(), 4));
  auto back = read_row_shard(path);
  REQUIRE(back);
  CHECK(back->cols == 0);
  CHECK(back->values.empty());
  CHECK(back->labels == labels);
}
