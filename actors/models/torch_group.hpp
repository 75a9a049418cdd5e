#pragma once

// c10d process groups over gloo, the one collective engine of troupe's
// LibTorch jobs (data-parallel replicas, tensor-parallel layers): a
// rendezvous store served by one member and a group joined through it.
// Included by torch code only.

#include <cstdint>
#include <functional>
#include <string>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace troupe::models::torch_nn {

/// A group of workers, whatever its backend.
using group_ptr = c10::intrusive_ptr<c10d::ProcessGroup>;

/// A joined group as the torch plugin's C interface hands it out
/// (troupe_torch_group_join's handle).
struct group_box {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int rank = 0;
  int world = 1;
};

/// A TCPStore served on `host` at a port the kernel picks (getPort()), for
/// `world` members; its clients wait at most `timeout_s` for a key.
c10::intrusive_ptr<c10d::TCPStore> serve_store(const std::string& host,
                                               int world, double timeout_s);

/// Joins group `prefix` as `rank` of `world` through the store at
/// store_host:store_port; gloo's links use `self_host`'s address. Blocks
/// until every member joined (or `timeout_s`, which also bounds each
/// collective). Throws c10::Error, std::runtime_error on failure.
c10::intrusive_ptr<c10d::ProcessGroupGloo>
join_gloo_group(const std::string& store_host, uint16_t store_port,
                const std::string& prefix, int rank, int world,
                const std::string& self_host, double timeout_s);

/// Runs f(rank, group) on `world` threads of this process, each a member
/// of one gloo group named `prefix` over 127.0.0.1 with `threads` intra-op
/// threads (tests and benchmarks of collective layers). A worker that
/// fails leaves the group and the others then fail on a closed connection,
/// so the error thrown (std::runtime_error) names every worker's failure.
void run_group_threads(int world, const std::string& prefix, int threads,
                       const std::function<void(int, const group_ptr&)>& f,
                       double timeout_s = 600);

} // namespace troupe::models::torch_nn
