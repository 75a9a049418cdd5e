#include "actors/features/client.hpp"

#include <filesystem>

#include <capnp/message.h>

#include "actors/features/rpc.hpp"
#include "actors/features/service.hpp"
#include "runtime/errors.hpp"

namespace troupe::features {

caf::expected<std::vector<group_spec>> store_connection::groups() {
  return call("groups", [&] {
    auto resp = client->wait(store.groupsRequest().send());
    std::vector<group_spec> out;
    for (auto g : resp.getGroups())
      out.push_back(from_schema(g));
    return out;
  });
}

caf::expected<group_spec> store_connection::group(const std::string& name) {
  auto all = groups();
  if (!all) return all.error();
  std::string names;
  for (auto& g : *all) {
    if (g.name == name) return g;
    names += (names.empty() ? "" : ", ") + g.name;
  }
  return make_error(errc::not_found,
                    "no feature group '" + name +
                        "' (groups: " + (names.empty() ? "none" : names) + ")");
}

caf::expected<group_spec> store_connection::create(const group_spec& g) {
  return call("create group " + g.name, [&] {
    auto req = store.createGroupRequest();
    to_schema(g, req.initGroup());
    auto resp = client->wait(req.send());
    return from_schema(resp.getGroup());
  });
}

caf::expected<void> store_connection::flush() {
  return call("flush", [&] { client->wait(store.flushRequest().send()); });
}

caf::expected<store_connection> connect_store(const store_options& opts,
                                              const kind_registrar& kinds) {
  store_connection c;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  if (opts.cluster.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opts.data_dir, ec);
    if (ec)
      return make_error(errc::io_failure, "cannot create the data directory '" +
                                              opts.data_dir +
                                              "': " + ec.message());
    auto dir = std::filesystem::absolute(opts.data_dir).string();
    auto lc = local_cluster::start(
        0, 1, kinds, {},
        {{service_kind, service_name, "shards=" + std::to_string(opts.shards)}},
        dir, {make_rpc_service()});
    if (!lc) return lc.error();
    port = (*lc)->gateway_port();
    c.embedded = std::move(*lc);
  } else {
    auto hp = parse_host_port(opts.cluster, "127.0.0.1", 7701);
    if (!hp) return hp.error();
    host = hp->first;
    port = hp->second;
  }
  auto client = cluster_client::connect(host, port);
  if (!client) return client.error();
  c.client = std::move(*client);
  auto cap = c.client->service(service_name);
  if (!cap) return cap.error();
  c.store = cap->castAs<schema::FeatureStore>();
  return c;
}

} // namespace troupe::features
