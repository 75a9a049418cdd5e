#include "actors/features/client.hpp"

#include <filesystem>

#include <capnp/message.h>

#include "actors/features/rpc.hpp"
#include "actors/features/service.hpp"
#include "runtime/command_cluster.hpp"
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
  auto cluster = open_command_cluster(
      opts.cluster, 1, kinds,
      {{service_kind, service_name, "shards=" + std::to_string(opts.shards)}},
      opts.data_dir, {make_rpc_service()});
  if (!cluster) return cluster.error();
  c.embedded = std::move(cluster->embedded);
  c.client = std::move(cluster->client);
  auto cap = c.client->service(service_name);
  if (!cap) return cap.error();
  c.store = cap->castAs<schema::FeatureStore>();
  return c;
}

} // namespace troupe::features
