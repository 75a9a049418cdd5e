// Reading Fashion-MNIST's IDX files (the committed subset).

#include <catch2/catch.hpp>

#include "actors/nas/errors.hpp"
#include "actors/tabular/idx.hpp"
#include "tests/support/process.hpp"

using namespace troupe::tabular;

namespace {

std::string small_dir() {
  return std::string{TROUPE_SOURCE_DIR} + "/tests/data/fashion-mnist-small";
}

} // namespace

TEST_CASE("nas: the committed Fashion-MNIST subset reads as 1,000 + 500 images",
          "[nas][idx]") {
  image_set train, test;
  REQUIRE(!read_fashion_mnist(small_dir(), train, test));
  CHECK(train.rows == 1000);
  CHECK(test.rows == 500);
  CHECK(train.height == 28);
  CHECK(train.width == 28);
  CHECK(train.pixels.size() == 1000 * 784);
  std::vector<int> per_class(10, 0);
  for (auto y : train.labels) {
    REQUIRE(y >= 0);
    REQUIRE(y <= 9);
    ++per_class[static_cast<size_t>(y)];
  }
  for (auto n : per_class)
    CHECK(n > 50); // every class is there
  float top = 0;
  for (auto p : train.pixels)
    top = std::max(top, p);
  CHECK(top == 255);
  // The first training image of Fashion-MNIST is an ankle boot.
  CHECK(train.labels[0] == 9);
  CHECK(fashion_classes()[9] == "Ankle boot");
}

TEST_CASE("nas: a missing data directory is named", "[nas][idx]") {
  image_set train, test;
  auto err = read_fashion_mnist("/nonexistent/fmnist", train, test);
  REQUIRE(err);
  CHECK(troupe::is(err, troupe::errc::invalid_argument));
  CHECK_THAT(troupe::describe(err),
             Catch::Contains("data directory '/nonexistent/fmnist' does not "
                             "exist"));
}

TEST_CASE("nas: a truncated or foreign IDX file is named", "[nas][idx]") {
  troupe::test::temp_dir dir;
  auto labels = small_dir() + "/train-labels-idx1-ubyte.gz";
  // Not IDX at all.
  troupe::test::write_file(dir / "junk", "hello, world, not an image file");
  auto junk = read_idx(dir / "junk", labels);
  REQUIRE(!junk);
  CHECK_THAT(troupe::describe(junk.error()),
             Catch::Contains("junk: not an IDX image file"));
  // A header promising more images than the file holds.
  std::string header{"\x00\x00\x08\x03\x00\x00\x03\xe8\x00\x00\x00\x1c"
                     "\x00\x00\x00\x1c",
                     16};
  troupe::test::write_file(dir / "short", header + std::string(784, '\0'));
  auto shrt = read_idx(dir / "short", labels);
  REQUIRE(!shrt);
  CHECK_THAT(troupe::describe(shrt.error()),
             Catch::Contains("short: holds 784 pixel bytes, its header "
                             "promises 1000 images of 28x28"));
  // A file that is not there.
  auto none = read_idx(dir / "none.gz", labels);
  REQUIRE(!none);
  CHECK_THAT(troupe::describe(none.error()),
             Catch::Contains("none.gz: no such file"));
}
