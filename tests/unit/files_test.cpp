// runtime/files.hpp: outputs written whole or not at all.

#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;

namespace {

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir))
    ++n;
  return n;
}

} // namespace

TEST_CASE("an atomic file replaces its target only on commit", "[files]") {
  troupe::test::temp_dir dir;
  auto target = fs::path{dir / "out.csv"};
  troupe::write_synced(target, std::string{"old\n"});
  {
    troupe::atomic_file f{target};
    f.stream() << "new\n";
    CHECK(troupe::test::read_file(target) ==
          "old\n"); // nothing visible before the commit
  }
  CHECK(troupe::test::read_file(target) ==
        "old\n");                  // no commit: the old content stays
  CHECK(entries(dir.path()) == 1); // and no temporary file is left
  troupe::atomic_file f{target};
  f.stream() << "new\n";
  CHECK(!f.commit());
  CHECK(troupe::test::read_file(target) == "new\n");
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("an atomic file writes a device such as /dev/null in place instead "
          "of renaming over it",
          "[files]") {
  troupe::atomic_file f{"/dev/null"};
  f.stream() << "discarded\n";
  CHECK(!f.commit());
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("an atomic file in a missing directory fails naming the target",
          "[files]") {
  troupe::test::temp_dir dir;
  troupe::atomic_file f{dir / "no/such/dir/out.csv"};
  f.stream() << "x";
  auto err = f.commit();
  REQUIRE(err);
  CHECK(troupe::describe(err).find("out.csv") != std::string::npos);
}
