// Dataset caches pull chunks from each other: a held hash is never fetched
// again, fetches of one hash share a transfer, a corrupt chunk is refused
// and asked for again, and a client's upload is checked chunk by chunk.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <string>

#include <caf/all.hpp>

#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/datasets.capnp.h"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

std::string sample_bytes(size_t n) {
  std::string out(n, '\0');
  uint32_t x = 99;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

struct cache_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  test::temp_dir dir;
  std::string bytes = sample_bytes(50'000);
  dataset_ref ref;

  cache_fixture() {
    register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    test::write_file(dir / "train.csv", bytes);
    auto r = describe_file(dir / "train.csv", 4096);
    REQUIRE(r);
    ref = *r;
  }

  std::vector<dataset_cache_actor> caches;

  ~cache_fixture() {
    // caches run on threads of their own: the system waits for them
    for (auto& c : caches)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  }

  dataset_cache_actor cache(const std::string& name) {
    dataset_cache_config c;
    c.node = name;
    c.dir = dir / name;
    caches.push_back(spawn_dataset_cache(*sys, c));
    return caches.back();
  }

  template <class R, class... Ts>
  caf::expected<R> ask(const dataset_cache_actor& to, Ts... xs) {
    caf::scoped_actor self{*sys};
    caf::expected<R> out = caf::error{};
    self->request(to, 10s, xs...)
        .receive([&](R& r) { out = std::move(r); },
                 [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  uint64_t stat(const dataset_cache_actor& c,
                uint64_t (*field)(schema::DatasetCacheStats::Reader)) {
    auto e = ask<envelope>(c, dataset_stats_atom::value);
    REQUIRE(e);
    auto v =
        e->visit<schema::DatasetCacheStats>([&](auto s) { return field(s); });
    REQUIRE(v);
    return *v;
  }
};

uint64_t fetched(schema::DatasetCacheStats::Reader s) {
  return s.getFetched();
}
uint64_t skipped(schema::DatasetCacheStats::Reader s) {
  return s.getSkipped();
}
uint64_t chunks_in(schema::DatasetCacheStats::Reader s) {
  return s.getChunksIn();
}
uint64_t chunks_out(schema::DatasetCacheStats::Reader s) {
  return s.getChunksOut();
}
uint64_t refused(schema::DatasetCacheStats::Reader s) {
  return s.getChunksRefused();
}
uint64_t held(schema::DatasetCacheStats::Reader s) {
  return s.getHeld();
}

/// Chunk `index` of `bytes` as `ref` cuts it, its checksum taken before
/// the bytes are corrupted when `corrupt`.
envelope chunk_of(const dataset_ref& ref, const std::string& bytes,
                  uint32_t index, bool corrupt) {
  auto from = size_t{index} * ref.chunk_size;
  std::vector<uint8_t> c(
      bytes.begin() + static_cast<long>(from),
      bytes.begin() +
          static_cast<long>(std::min(bytes.size(), from + ref.chunk_size)));
  auto sum = chunk_checksum(c.data(), c.size());
  if (corrupt) c[c.size() / 2] ^= 0x5a;
  return make_envelope<schema::DatasetChunk>([&](auto b) {
    b.setHash(ref.hash);
    b.setIndex(index);
    b.setBytes(kj::arrayPtr(c.data(), c.size()));
    b.setChecksum(sum);
  });
}

/// A source that serves `ref`'s chunks from `bytes`, corrupting the bytes
/// (after taking their checksum) of chunk `bad` the first `times` times.
caf::behavior lying_source(caf::event_based_actor* self, dataset_ref ref,
                           std::string bytes, uint32_t bad, uint32_t times,
                           std::shared_ptr<std::atomic<uint32_t>> asked) {
  return {[=](dataset_read_atom, const envelope&, uint32_t index) mutable {
    ++*asked;
    bool corrupt = index == bad && times > 0;
    if (corrupt) --times;
    return chunk_of(ref, bytes, index, corrupt);
  }};
}

} // namespace

TEST_CASE("a cache fetches a dataset from another once", "[datasets]") {
  cache_fixture f;
  auto a = f.cache("a");
  auto b = f.cache("b");
  auto put = f.ask<envelope>(a, dataset_put_atom::value, f.dir / "train.csv");
  REQUIRE(put);
  auto ref = dataset_ref_of(*put);
  REQUIRE(ref);
  CHECK(ref->hash == f.ref.hash);
  auto chunks = ref->chunks(); // 1 MiB chunks: one
  CHECK(chunks == 1);
  f.ref.chunk_size = 4096; // ask in 4 KiB chunks: 13
  auto ref_env = to_envelope(f.ref);
  auto path = f.ask<std::string>(b, dataset_fetch_atom::value, ref_env,
                                 caf::actor_cast<caf::actor>(a));
  REQUIRE(path);
  CHECK(test::read_file(*path) == f.bytes);
  CHECK(path->find(f.dir / "b") == 0);
  CHECK(f.stat(b, fetched) == 1);
  CHECK(f.stat(b, chunks_in) == 13);
  CHECK(f.stat(a, chunks_out) == 13);
  // held now: answered from the cache, nothing moves
  auto again = f.ask<std::string>(b, dataset_fetch_atom::value, ref_env,
                                  caf::actor_cast<caf::actor>(a));
  REQUIRE(again);
  CHECK(*again == *path);
  CHECK(f.stat(b, skipped) == 1);
  CHECK(f.stat(a, chunks_out) == 13);
  CHECK(f.stat(b, held) == 1);
  // two fetches answered: two holders. The first drop keeps the file for
  // the other; the second removes it from b, and a still holds its own
  caf::anon_send(b, dataset_drop_atom::value, f.ref.hash);
  CHECK(f.stat(b, held) == 1);
  CHECK(test::read_file(*path) == f.bytes);
  caf::anon_send(b, dataset_drop_atom::value, f.ref.hash);
  CHECK(f.stat(b, held) == 0);
  CHECK(f.stat(a, held) == 1);
}

TEST_CASE("two adopters of the same bytes share the file until both drop it",
          "[datasets]") {
  cache_fixture f;
  auto a = f.cache("a");
  // two jobs write shards with the same rows, and each adopts its own copy
  std::string hash;
  for (auto name : {"shard-x", "shard-y"}) {
    auto p = f.dir / name;
    std::filesystem::copy_file(f.dir / "train.csv", p);
    auto r = f.ask<envelope>(a, dataset_adopt_atom::value, std::string{p});
    REQUIRE(r);
    auto ref = dataset_ref_of(*r);
    REQUIRE(ref);
    hash = ref->hash;
  }
  CHECK(f.stat(a, held) == 1);
  caf::anon_send(a, dataset_drop_atom::value, hash); // the first job ends
  CHECK(f.stat(a, held) == 1);                       // the other reads it
  caf::anon_send(a, dataset_drop_atom::value, hash);
  CHECK(f.stat(a, held) == 0);
}

TEST_CASE("fetches of one hash share one transfer", "[datasets]") {
  cache_fixture f;
  auto a = f.cache("a");
  auto b = f.cache("b");
  REQUIRE(f.ask<envelope>(a, dataset_put_atom::value, f.dir / "train.csv"));
  f.ref.chunk_size = 4096;
  auto ref_env = to_envelope(f.ref);
  caf::scoped_actor self{*f.sys};
  std::vector<std::string> paths;
  // plain sends: all three are asked before any answer comes back
  for (int i = 0; i < 3; ++i)
    self->send(b, dataset_fetch_atom::value, ref_env,
               caf::actor_cast<caf::actor>(a));
  for (int i = 0; i < 3; ++i)
    self->receive([&](const std::string& p) { paths.push_back(p); },
                  [&](caf::error& err) { FAIL(describe(err)); },
                  caf::after(10s) >> [&] { FAIL("no answer"); });
  REQUIRE(paths.size() == 3);
  CHECK(paths[0] == paths[1]);
  CHECK(paths[1] == paths[2]);
  CHECK(f.stat(a, chunks_out) == 13);
  CHECK(f.stat(b, fetched) == 1);
}

TEST_CASE("a corrupt chunk is refused and fetched again", "[datasets]") {
  cache_fixture f;
  auto b = f.cache("b");
  auto asked = std::make_shared<std::atomic<uint32_t>>(0);
  auto liar = f.sys->spawn(lying_source, f.ref, f.bytes, 5u, 1u, asked);
  auto path = f.ask<std::string>(b, dataset_fetch_atom::value,
                                 to_envelope(f.ref), liar);
  REQUIRE(path);
  CHECK(test::read_file(*path) == f.bytes);
  CHECK(f.stat(b, refused) == 1);
  CHECK(asked->load() == 14); // 13 chunks, chunk 5 twice
  caf::anon_send_exit(liar, caf::exit_reason::user_shutdown);
}

TEST_CASE("a chunk corrupt every time fails the fetch, naming it",
          "[datasets]") {
  cache_fixture f;
  auto b = f.cache("b");
  auto asked = std::make_shared<std::atomic<uint32_t>>(0);
  auto liar = f.sys->spawn(lying_source, f.ref, f.bytes, 2u, 100u, asked);
  auto path = f.ask<std::string>(b, dataset_fetch_atom::value,
                                 to_envelope(f.ref), liar);
  REQUIRE_FALSE(path);
  auto why = describe(path.error());
  CHECK(why.find("train.csv") != std::string::npos);
  CHECK(why.find("chunk 2 of 13") != std::string::npos);
  CHECK(f.stat(b, refused) == 3);
  CHECK(f.stat(b, held) == 0);
  caf::anon_send_exit(liar, caf::exit_reason::user_shutdown);
}

TEST_CASE("a fetch from a cache that lacks the dataset fails", "[datasets]") {
  cache_fixture f;
  auto a = f.cache("a");
  auto b = f.cache("b");
  auto path =
      f.ask<std::string>(b, dataset_fetch_atom::value, to_envelope(f.ref),
                         caf::actor_cast<caf::actor>(a));
  REQUIRE_FALSE(path);
  CHECK(describe(path.error()).find("not held") != std::string::npos);
  // and without a source
  auto none = f.ask<std::string>(b, dataset_fetch_atom::value,
                                 to_envelope(f.ref), caf::actor{});
  REQUIRE_FALSE(none);
  CHECK(describe(none.error()).find("no source") != std::string::npos);
}

TEST_CASE("an upload is checked chunk by chunk", "[datasets]") {
  cache_fixture f;
  auto a = f.cache("a");
  f.ref.chunk_size = 32768; // 2 chunks
  auto offered = f.ask<bool>(a, dataset_offer_atom::value, to_envelope(f.ref));
  REQUIRE(offered);
  CHECK_FALSE(*offered);
  auto chunk = [&](uint32_t i, bool corrupt) {
    return chunk_of(f.ref, f.bytes, i, corrupt);
  };
  auto first = f.ask<bool>(a, dataset_chunk_atom::value, chunk(0, false));
  REQUIRE(first);
  CHECK_FALSE(*first);
  auto bad = f.ask<bool>(a, dataset_chunk_atom::value, chunk(1, true));
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("chunk 1 of 2") != std::string::npos);
  auto good = f.ask<bool>(a, dataset_chunk_atom::value, chunk(1, false));
  REQUIRE(good);
  CHECK(*good);
  CHECK(f.stat(a, refused) == 1);
  CHECK(f.stat(a, held) == 1);
  // offered again: held, nothing to send
  auto again = f.ask<bool>(a, dataset_offer_atom::value, to_envelope(f.ref));
  REQUIRE(again);
  CHECK(*again);
  // a chunk with no offer open is named
  auto stray = f.ask<bool>(a, dataset_chunk_atom::value, chunk(0, false));
  REQUIRE_FALSE(stray);
  CHECK(describe(stray.error()).find("offer it first") != std::string::npos);
}
