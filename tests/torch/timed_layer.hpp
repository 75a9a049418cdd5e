#pragma once

// A layer of known cost for pipeline tests and benchmarks: it sleeps
// `forward_ms` in its forward pass and twice that in its backward pass
// (a gradient hook), so a schedule's overlap can be measured apart from
// the machine's cores.

#include <chrono>
#include <thread>

#include "actors/models/torch_recompute.hpp"

namespace troupe::test {

inline models::torch_nn::chain_layer timed_layer(int forward_ms) {
  auto w = torch::ones({1}).requires_grad_(true);
  models::torch_nn::chain_layer l;
  l.params = {w};
  l.run = [w, forward_ms](const torch::Tensor& x) {
    std::this_thread::sleep_for(std::chrono::milliseconds(forward_ms));
    auto y = x * w;
    y.register_hook([forward_ms](torch::Tensor g) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2 * forward_ms));
      return g;
    });
    return y;
  };
  return l;
}

} // namespace troupe::test
