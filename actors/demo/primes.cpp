#include "actors/demo/primes.hpp"

#include <chrono>
#include <cstdio>

#include <caf/all.hpp>

#include "runtime/client.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/demo.capnp.h"

namespace troupe::demo {

uint64_t count_primes(uint64_t lo, uint64_t hi) {
  uint64_t n = 0;
  for (uint64_t x = lo < 2 ? 2 : lo; x < hi; ++x) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= x; ++d)
      if (x % d == 0) {
        prime = false;
        break;
      }
    n += prime ? 1 : 0;
  }
  return n;
}

namespace {

using primes_self = typed_worker_of<primes_actor>::type;

caf::result<envelope> on_call(const kind_args& args, const envelope& req) {
  auto t0 = std::chrono::steady_clock::now();
  auto range = req.visit<schema::PrimeRange>(
      [](auto r) { return std::make_pair(r.getLo(), r.getHi()); });
  if (!range) return range.error();
  auto [lo, hi] = *range;
  if (hi < lo || hi - lo > 100'000'000)
    return make_error(errc::invalid_argument,
                      "PrimeRange [" + std::to_string(lo) + ", " +
                          std::to_string(hi) +
                          ") is reversed or wider than 1e8");
  auto n = count_primes(lo, hi);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  return make_envelope<schema::PrimeCount>([&](auto c) {
    c.setLo(lo);
    c.setHi(hi);
    c.setCount(n);
    c.setNode(args.node);
    c.setActor(args.name);
    c.setMicros(static_cast<uint64_t>(us));
  });
}

primes_actor::behavior_type primes(primes_self* self, kind_args args) {
  register_schema<schema::PrimeRange>();
  register_schema<schema::PrimeCount>();
  self->identify(args);
  return {
      [=](call_atom, const envelope& req) { return on_call(args, req); },
      self->stats_handler(),
  };
}

} // namespace

void register_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type("primes", primes);
}

int run_demo(size_t nodes, size_t tasks) {
  if (nodes < 1 || tasks < 1) {
    std::fprintf(stderr, "troupe demo: --nodes and --tasks must be >= 1\n");
    return 2;
  }
  std::printf("troupe demo: forming a cluster of %zu nodes in this process\n",
              nodes);
  auto cluster = local_cluster::start(nodes - 1, 2, register_kinds);
  if (!cluster) {
    std::fprintf(stderr, "troupe demo: %s\n",
                 describe(cluster.error()).c_str());
    return 1;
  }
  auto client =
      cluster_client::connect("127.0.0.1", (*cluster)->gateway_port());
  if (!client) {
    std::fprintf(stderr, "troupe demo: %s\n", describe(client.error()).c_str());
    return 1;
  }
  auto& c = **client;
  auto listed = c.nodes();
  if (!listed) {
    std::fprintf(stderr, "troupe demo: %s\n", describe(listed.error()).c_str());
    return 1;
  }
  for (auto& n : *listed)
    std::printf("  node %-10s %u slots%s\n", n.name.c_str(), n.slots,
                n.is_head ? " (head)" : "");
  auto spawned = c.spawn("primes", "every");
  if (!spawned) {
    std::fprintf(stderr, "troupe demo: %s\n",
                 describe(spawned.error()).c_str());
    return 1;
  }
  std::printf("spawned %zu primes actors; sending %zu ranges\n",
              spawned->size(), tasks);
  const uint64_t width = 200'000;
  uint64_t total = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < tasks; ++i) {
    auto& target = (*spawned)[i % spawned->size()];
    auto req = make_envelope<schema::PrimeRange>([&](auto r) {
      r.setLo(i * width);
      r.setHi((i + 1) * width);
    });
    auto reply = c.send(target.name, req);
    if (!reply) {
      std::fprintf(stderr, "troupe demo: %s\n",
                   describe(reply.error()).c_str());
      return 1;
    }
    auto ok = reply->visit<schema::PrimeCount>([&](auto r) {
      total += r.getCount();
      std::printf("  [%9llu, %9llu)  %6llu primes  by %-10s on %-9s %7llu us\n",
                  static_cast<unsigned long long>(r.getLo()),
                  static_cast<unsigned long long>(r.getHi()),
                  static_cast<unsigned long long>(r.getCount()),
                  r.getActor().cStr(), r.getNode().cStr(),
                  static_cast<unsigned long long>(r.getMicros()));
    });
    if (!ok) {
      std::fprintf(stderr, "troupe demo: %s\n", describe(ok.error()).c_str());
      return 1;
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  std::printf("%llu primes below %llu, counted by %zu actors in %lld ms\n",
              static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(tasks * width), spawned->size(),
              static_cast<long long>(ms));
  return 0;
}

} // namespace troupe::demo
