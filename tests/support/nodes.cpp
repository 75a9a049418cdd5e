#include "tests/support/nodes.hpp"

#include "runtime/client.hpp"

namespace troupe::test {

node_set::node_set(std::string dir, std::vector<std::string> head_args)
    : dir_(std::move(dir)), port_(free_port()), gateway_port_(free_port()),
      secret_file_(dir_ + "/secret") {
  write_file(secret_file_, "s3cret-for-tests\n");
  std::vector<std::string> argv{troupe_bin(),
                                "node",
                                "--head",
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--gateway-port",
                                std::to_string(gateway_port_),
                                "--data-dir",
                                dir_ + "/head",
                                "--secret-file",
                                secret_file_,
                                "--heartbeat-ms",
                                "200",
                                "--node-timeout-ms",
                                "2000"};
  argv.insert(argv.end(), head_args.begin(), head_args.end());
  head_ = std::make_unique<process>(argv, dir_ + "/head.log");
}

std::string node_set::head_addr() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string node_set::gateway_addr() const {
  return "127.0.0.1:" + std::to_string(gateway_port_);
}

std::vector<std::string> node_set::worker_argv(const std::string& name,
                                               std::vector<std::string> args,
                                               bool with_secret) const {
  std::vector<std::string> argv{
      troupe_bin(),           "node", "--join", head_addr(), "--name", name,
      "--connect-timeout-ms", "10000"};
  if (with_secret) {
    argv.push_back("--secret-file");
    argv.push_back(secret_file_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::unique_ptr<process> node_set::worker(const std::string& name,
                                          std::vector<std::string> args) const {
  return std::make_unique<process>(worker_argv(name, std::move(args)),
                                   dir_ + "/" + name + ".log");
}

bool node_set::wait_for_features(size_t nodes,
                                 std::chrono::milliseconds timeout) const {
  return eventually(
      [&] {
        auto c = cluster_client::connect("127.0.0.1", gateway_port_,
                                         std::chrono::seconds{1});
        if (!c) return false;
        auto ns = (*c)->nodes();
        auto as = (*c)->actors();
        if (!ns || ns->size() != nodes || !as) return false;
        for (auto& a : *as)
          if (a.name == "features") return true;
        return false;
      },
      timeout);
}

} // namespace troupe::test
