#pragma once

// A local cluster with one service on its head and a client of its gateway:
// where the tests of a service over RPC start.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"

namespace troupe::test {

/// A head and `workers` workers (`slots` slots each) in this process, with
/// `service` on the head and `rpc` on its gateway, and a client connected
/// to the gateway on loopback; fails the test if either cannot start.
struct service_cluster {
  std::unique_ptr<local_cluster> cluster;
  std::unique_ptr<cluster_client> client;

  service_cluster(size_t workers, uint32_t slots, const kind_registrar& kinds,
                  head_service service, const std::string& data_dir,
                  std::vector<rpc_service> rpc = {}) {
    auto lc =
        local_cluster::start(workers, slots, kinds, {}, {std::move(service)},
                             data_dir, std::move(rpc));
    if (!lc) FAIL("local_cluster::start: " << describe(lc.error()));
    cluster = std::move(*lc);
    auto c = cluster_client::connect("127.0.0.1", cluster->gateway_port());
    if (!c) FAIL("connect: " << describe(c.error()));
    client = std::move(*c);
  }
};

} // namespace troupe::test
