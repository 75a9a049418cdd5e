#pragma once

// The plain Cap'n Proto peers of the benchmarks: a server on one thread and
// one KJ event loop whose bootstrap is a Cluster handing out one service,
// reached by troupe's own clients. Connections are buffered as the
// gateway's are.

#include <cstdint>
#include <cstdio>
#include <string>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "runtime/bridge.hpp"
#include "runtime/buffered_stream.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe::bench {

/// The bootstrap: service(name) gives `service`; ping answers.
class peer_cluster final : public schema::Cluster::Server {
public:
  peer_cluster(std::string name, capnp::Capability::Client service)
      : name_{std::move(name)}, service_{std::move(service)} {}

  kj::Promise<void> service(ServiceContext ctx) override {
    if (ctx.getParams().getName() != name_.c_str())
      throw rpc_failure("unknown service '" +
                        std::string{ctx.getParams().getName().cStr()} +
                        "'; this server has: " + name_);
    ctx.getResults().setService(service_);
    return kj::READY_NOW;
  }

  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

private:
  std::string name_;
  capnp::Capability::Client service_;
};

inline kj::Promise<void> peer_accept_loop(kj::ConnectionReceiver& listener,
                                          capnp::TwoPartyServer& server) {
  return listener.accept().then(
      [&listener, &server](kj::Own<kj::AsyncIoStream>&& connection) {
        server.accept(troupe::buffered(kj::mv(connection)));
        return peer_accept_loop(listener, server);
      });
}

/// Serves `service` as `name` on 127.0.0.1:port until killed; prints
/// "LABEL: listening on 127.0.0.1:PORT" once it listens. `make` builds the
/// service's capability on the server's event loop.
template <class Make>
int serve_peer(const char* label, uint16_t port, const std::string& name,
               Make make) {
  auto io = kj::setupAsyncIo();
  auto addr = io.provider->getNetwork()
                  .parseAddress("127.0.0.1", port)
                  .wait(io.waitScope);
  auto listener = addr->listen();
  capnp::TwoPartyServer server{kj::heap<peer_cluster>(name, make())};
  std::printf("%s: listening on 127.0.0.1:%u\n", label, listener->getPort());
  std::fflush(stdout);
  peer_accept_loop(*listener, server).wait(io.waitScope);
  return 0;
}

} // namespace troupe::bench
