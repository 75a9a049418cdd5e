// The content-addressed dataset store: files named by SHA-256, chunked
// downloads that refuse a corrupt chunk and check the whole file.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "runtime/content_hash.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

/// 10,000 bytes that are not all alike.
std::string sample_bytes(size_t n = 10'000) {
  std::string out(n, '\0');
  uint32_t x = 12345;
  for (auto& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return out;
}

std::vector<uint8_t> slice(const std::string& bytes, size_t from, size_t n) {
  return {bytes.begin() + static_cast<long>(from),
          bytes.begin() + static_cast<long>(std::min(bytes.size(), from + n))};
}

} // namespace

TEST_CASE("SHA-256 names content", "[datasets]") {
  sha256 h;
  h.update("abc", 3);
  CHECK(h.hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // a fresh digest after hex(), fed in pieces
  h.update("a", 1);
  h.update("bc", 2);
  CHECK(h.hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(is_sha256_hex(std::string(64, 'a')));
  CHECK_FALSE(is_sha256_hex(std::string(64, 'A')));
  CHECK_FALSE(is_sha256_hex("abc"));
}

TEST_CASE("a file added to the store is kept under its hash", "[datasets]") {
  test::temp_dir dir;
  auto bytes = sample_bytes();
  test::write_file(dir / "data.csv", bytes);
  auto store = dataset_store::open(dir / "cache");
  REQUIRE(store);
  auto ref = store->add_file(dir / "data.csv", 4096);
  REQUIRE(ref);
  CHECK(ref->size == bytes.size());
  CHECK(ref->name == "data.csv");
  CHECK(ref->chunks() == 3);
  auto d = describe_file(dir / "data.csv", 4096);
  REQUIRE(d);
  CHECK(d->hash == ref->hash);
  auto held = store->find(ref->hash);
  REQUIRE(held);
  CHECK(test::read_file(held->string()) == bytes);
  // the same bytes again: nothing new
  REQUIRE(store->add_file(dir / "data.csv", 4096));
  CHECK(store->held().count == 1);
  CHECK(store->held().bytes == bytes.size());
  // chunks read back
  auto last = store->read_chunk(*ref, 2);
  REQUIRE(last);
  CHECK(last->size() == bytes.size() - 2 * 4096);
  CHECK(*last == slice(bytes, 8192, 4096));
  auto past = store->read_chunk(*ref, 3);
  REQUIRE_FALSE(past);
  CHECK(describe(past.error()).find("chunk 3") != std::string::npos);
  // a missing file is named
  auto missing = store->add_file(dir / "nope.csv");
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()).find("nope.csv") != std::string::npos);
}

TEST_CASE("a download refuses a corrupt chunk and stores the whole file",
          "[datasets]") {
  test::temp_dir dir;
  auto bytes = sample_bytes();
  test::write_file(dir / "data.csv", bytes);
  auto ref = describe_file(dir / "data.csv", 4096);
  REQUIRE(ref);
  auto store = dataset_store::open(dir / "cache");
  REQUIRE(store);
  auto d = dataset_download::begin(*store, *ref);
  REQUIRE(d);
  // out of order
  for (uint32_t i : {2u, 0u}) {
    auto c = slice(bytes, i * 4096, 4096);
    REQUIRE_FALSE(
        d->write(i, c.data(), c.size(), chunk_checksum(c.data(), c.size())));
  }
  CHECK(d->missing() == std::vector<uint32_t>{1});
  CHECK_FALSE(d->complete());
  auto early = d->commit();
  REQUIRE_FALSE(early);
  CHECK(describe(early.error()).find("missing") != std::string::npos);
  // chunk 1, corrupted after its checksum was taken
  auto c = slice(bytes, 4096, 4096);
  auto sum = chunk_checksum(c.data(), c.size());
  c[100] ^= 1;
  auto bad = d->write(1, c.data(), c.size(), sum);
  REQUIRE(bad);
  CHECK(describe(bad).find("chunk 1 of 3") != std::string::npos);
  CHECK(describe(bad).find("corrupt") != std::string::npos);
  CHECK(d->missing() == std::vector<uint32_t>{1});
  // a short chunk is refused too
  auto shorter = slice(bytes, 4096, 100);
  CHECK(d->write(1, shorter.data(), shorter.size(),
                 chunk_checksum(shorter.data(), shorter.size())));
  // sent again, right
  c[100] ^= 1;
  REQUIRE_FALSE(d->write(1, c.data(), c.size(), sum));
  REQUIRE(d->complete());
  auto path = d->commit();
  REQUIRE(path);
  CHECK(test::read_file(path->string()) == bytes);
  CHECK(store->find(ref->hash) == *path);
  // nothing left staged
  CHECK(fs::is_empty(store->staging()));
}

TEST_CASE("a download whose whole file does not match its hash is refused",
          "[datasets]") {
  test::temp_dir dir;
  auto bytes = sample_bytes(5000);
  auto store = dataset_store::open(dir / "cache");
  REQUIRE(store);
  dataset_ref ref;
  ref.hash = std::string(64, '0');
  ref.size = bytes.size();
  ref.name = "liar.csv";
  ref.chunk_size = 4096;
  auto d = dataset_download::begin(*store, ref);
  REQUIRE(d);
  for (uint32_t i = 0; i < 2; ++i) {
    auto c = slice(bytes, i * 4096, 4096);
    REQUIRE_FALSE(
        d->write(i, c.data(), c.size(), chunk_checksum(c.data(), c.size())));
  }
  auto path = d->commit();
  REQUIRE_FALSE(path);
  CHECK(describe(path.error()).find("liar.csv") != std::string::npos);
  CHECK_FALSE(store->find(ref.hash));
  // bad refs are named
  ref.hash = "xyz";
  CHECK(describe(check_ref(ref)).find("no SHA-256") != std::string::npos);
  ref.hash = std::string(64, '0');
  ref.chunk_size = 10;
  CHECK(describe(check_ref(ref)).find("chunk size") != std::string::npos);
}

TEST_CASE("a file adopted by the store moves into it", "[datasets]") {
  test::temp_dir dir;
  auto bytes = sample_bytes(6000);
  test::write_file(dir / "shard", bytes);
  auto store = dataset_store::open(dir / "cache");
  REQUIRE(store);
  auto ref = store->adopt_file(dir / "shard");
  REQUIRE(ref);
  CHECK_FALSE(fs::exists(dir / "shard"));
  auto held = store->find(ref->hash);
  REQUIRE(held);
  CHECK(test::read_file(held->string()) == bytes);
  // the same bytes again: the held copy stays, the file goes
  test::write_file(dir / "again", bytes);
  auto again = store->adopt_file(dir / "again");
  REQUIRE(again);
  CHECK(again->hash == ref->hash);
  CHECK_FALSE(fs::exists(dir / "again"));
  CHECK(store->held().count == 1);
}

TEST_CASE("opening a store clears the downloads that never finished",
          "[datasets]") {
  test::temp_dir dir;
  {
    auto store = dataset_store::open(dir / "cache");
    REQUIRE(store);
    test::write_file((store->staging() / "left-over").string(), "x");
  }
  auto store = dataset_store::open(dir / "cache");
  REQUIRE(store);
  CHECK(fs::is_empty(store->staging()));
  CHECK(store->held().count == 0);
}
