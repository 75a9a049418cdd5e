#include "runtime/command_cluster.hpp"

#include <filesystem>

#include "runtime/errors.hpp"

namespace troupe {

caf::expected<command_cluster> open_command_cluster(
    const std::string& address, uint32_t slots, const kind_registrar& kinds,
    std::vector<head_service> services, const std::string& data_dir,
    std::vector<rpc_service> rpc) {
  command_cluster out;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  if (address.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
      return make_error(errc::io_failure, "cannot create the data directory '" +
                                              data_dir + "': " + ec.message());
    auto dir = std::filesystem::absolute(data_dir).lexically_normal().string();
    auto lc = local_cluster::start(0, slots, kinds, {}, std::move(services),
                                   dir, std::move(rpc));
    if (!lc) return lc.error();
    port = (*lc)->gateway_port();
    out.embedded = std::move(*lc);
  } else {
    auto hp = parse_host_port(address, "127.0.0.1", 7701);
    if (!hp) return hp.error();
    host = hp->first;
    port = hp->second;
  }
  auto client = cluster_client::connect(host, port);
  if (!client) return client.error();
  out.client = std::move(*client);
  return out;
}

int command_exit_code(const caf::error& err) {
  return err.category() == caf::atom("troupe") &&
                 err.code() == static_cast<uint8_t>(errc::invalid_argument)
             ? 2
             : 1;
}

} // namespace troupe
