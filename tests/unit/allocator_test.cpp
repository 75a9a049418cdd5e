// The allocator troupe's programs run on: jemalloc (CMakeLists.txt's
// troupe_malloc), or a sanitizer's own in sanitized builds.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <dlfcn.h>
#include <string>

#include "runtime/allocator.hpp"
#include "tests/support/process.hpp"

namespace {

/// The file that defines the malloc this process calls.
std::string malloc_owner() {
  Dl_info info{};
  // through a volatile pointer: the address of the malloc the dynamic linker
  // bound, not a compiler builtin
  void* (*volatile f)(size_t) = &std::malloc;
  REQUIRE(dladdr(reinterpret_cast<void*>(f), &info) != 0);
  return info.dli_fname ? info.dli_fname : "";
}

} // namespace

TEST_CASE("troupe's programs allocate through jemalloc", "[allocator]") {
  auto owner = malloc_owner();
  INFO("malloc comes from " << owner);
#ifdef TROUPE_JEMALLOC
  CHECK(owner.find("jemalloc") != std::string::npos);
  // jemalloc answers its own control interface: the allocation really is
  // its, not only its symbol
  using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  REQUIRE(mallctl != nullptr);
  const char* version = nullptr;
  size_t len = sizeof(version);
  REQUIRE(mallctl("version", &version, &len, nullptr, 0) == 0);
  CHECK(std::string{version}.rfind("5.", 0) == 0);
  // with troupe's options (runtime/malloc/malloc_conf.cpp): huge pages, unless
  // the environment says otherwise
  if (std::getenv("MALLOC_CONF") == nullptr) {
    const char* thp = nullptr;
    len = sizeof(thp);
    REQUIRE(mallctl("opt.thp", &thp, &len, nullptr, 0) == 0);
    CHECK(std::string{thp} == "always");
  }
  // the troupe binary itself loads it too
  auto ldd = troupe::test::run(
      {"/usr/bin/env", "LD_TRACE_LOADED_OBJECTS=1", troupe::test::troupe_bin()},
      std::chrono::seconds{10});
  REQUIRE(ldd.code == 0);
  CHECK(ldd.out.find("libjemalloc") != std::string::npos);
  // and its options: jemalloc prints them at exit when asked
  auto stats =
      troupe::test::run({"/usr/bin/env", "MALLOC_CONF=stats_print:true",
                         troupe::test::troupe_bin(), "--help"},
                        std::chrono::seconds{10});
  REQUIRE(stats.code == 0);
  CHECK((stats.out + stats.err).find("opt.thp: \"always\"") !=
        std::string::npos);
#else
  // sanitized build: the sanitizer's allocator, never jemalloc beside it
  CHECK(owner.find("jemalloc") == std::string::npos);
#endif
}

TEST_CASE("freed pages are kept while a holder lives, and decay again after "
          "the last",
          "[allocator]") {
  auto before = troupe::current_decay_times();
#ifdef TROUPE_JEMALLOC
  // jemalloc's defaults (or MALLOC_CONF's): pages decay
  REQUIRE(before.dirty >= 0);
  {
    troupe::freed_pages_kept a;
    CHECK(troupe::current_decay_times().dirty == -1);
    CHECK(troupe::current_decay_times().muzzy == -1);
    {
      troupe::freed_pages_kept b; // overlapping holders: counted
      CHECK(troupe::current_decay_times().dirty == -1);
    }
    CHECK(troupe::current_decay_times().dirty == -1);
  }
  auto after = troupe::current_decay_times();
  CHECK(after.dirty == before.dirty);
  CHECK(after.muzzy == before.muzzy);
#else
  troupe::freed_pages_kept a; // nothing to tell the sanitizer's allocator
  CHECK(troupe::current_decay_times().dirty == before.dirty);
#endif
}
