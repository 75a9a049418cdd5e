#include "actors/models/torch_group.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

namespace troupe::models::torch_nn {

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds{
      static_cast<int64_t>(std::max(seconds, 0.001) * 1000)};
}

} // namespace

c10::intrusive_ptr<c10d::TCPStore> serve_store(const std::string& host,
                                               int world, double timeout_s) {
  c10d::TCPStoreOptions o;
  o.port = 0;
  o.isServer = true;
  o.numWorkers = static_cast<size_t>(std::max(world, 1));
  o.waitWorkers = false;
  o.timeout = millis(timeout_s);
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

c10::intrusive_ptr<c10d::ProcessGroupGloo>
join_gloo_group(const std::string& store_host, uint16_t store_port,
                const std::string& prefix, int rank, int world,
                const std::string& self_host, double timeout_s) {
  if (world < 1 || rank < 0 || rank >= world)
    throw std::runtime_error("rank " + std::to_string(rank) + " of " +
                             std::to_string(world) + " workers");
  c10d::TCPStoreOptions o;
  o.port = store_port;
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = millis(timeout_s);
  auto store = c10::make_intrusive<c10d::TCPStore>(store_host, o);
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  auto opts = c10d::ProcessGroupGloo::Options::create(millis(timeout_s));
  opts->devices.push_back(
      c10d::ProcessGroupGloo::createDeviceForHostname(self_host));
  opts->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world,
                                                     opts);
}

void run_group_threads(int world, const std::string& prefix, int threads,
                       const std::function<void(int, const group_ptr&)>& f,
                       double timeout_s) {
  auto store = serve_store("127.0.0.1", world, timeout_s);
  auto port = store->getPort();
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> workers;
  for (int r = 0; r < world; ++r)
    workers.emplace_back([&, r] {
      try {
        at::set_num_threads(std::max(threads, 1));
        group_ptr g = join_gloo_group("127.0.0.1", port, prefix, r, world,
                                      "127.0.0.1", timeout_s);
        f(r, g);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      } catch (...) {
        errors[static_cast<size_t>(r)] = "unknown exception";
      }
    });
  for (auto& t : workers)
    t.join();
  std::string what;
  for (size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty())
      what += "worker " + std::to_string(r) + ": " + errors[r] + "\n";
  if (!what.empty()) throw std::runtime_error(what);
}

} // namespace troupe::models::torch_nn
