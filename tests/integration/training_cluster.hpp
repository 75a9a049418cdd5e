#pragma once

// A training service on an in-process cluster (a head and workers joined
// over loopback), reached through the gateway as `troupe train --cluster`
// reaches it: submit a job's TOML, ask its status, wait for it.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "actors/training/service.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/integration/training_support.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

namespace troupe::test::training_jobs {

using namespace std::chrono_literals;

struct training_cluster {
  training_cluster(const test::temp_dir& dir, size_t workers, uint32_t slots)
      : c{workers,
          slots,
          training::register_kinds,
          {training::service_kind, training::service_name, {}},
          dir.path()} {
    c.client->set_timeout(10s);
  }

  caf::expected<envelope> call(const envelope& e, const std::string& op) {
    return c.client->send(training::service_name, e, op);
  }

  caf::expected<view> submit(const std::string& id, const std::string& toml) {
    auto e = make_envelope<schema::JobSubmit>([&](auto s) {
      s.setId(id);
      s.setConfig(toml);
      s.setOrigin("job.toml");
    });
    auto r = call(e, "submit");
    if (!r) return r.error();
    return view_of(*r);
  }

  view status(const std::string& id) {
    auto r = call(ref(id), "status");
    if (!r) FAIL("status " << id << ": " << describe(r.error()));
    return view_of(*r);
  }

  static envelope ref(const std::string& id) {
    return make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
  }

  view wait_for(const std::string& id,
                const std::function<bool(const view&)>& p,
                std::chrono::milliseconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto v = status(id);
    while (!p(v) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      v = status(id);
    }
    return v;
  }

  /// Slots held by each consumer ("" for free ones).
  std::map<std::string, size_t> holders() {
    auto xs = c.client->slots();
    if (!xs) FAIL("slots: " << describe(xs.error()));
    std::map<std::string, size_t> out;
    for (auto& x : *xs)
      ++out[x.consumer];
    return out;
  }

  test::service_cluster c;
};

} // namespace troupe::test::training_jobs
