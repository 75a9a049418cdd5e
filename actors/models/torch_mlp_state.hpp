#pragma once

// An MLP of the torch plugin as its translation units share it: the net,
// its AdamW optimizer and where training stands (torch_mlp.cpp trains it in
// one process, torch_parallel.cpp data-parallel), and the seeded
// generators both draw from. Plugin-internal: included by torch code only.

#include <cstdint>
#include <memory>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"
#include "actors/models/torch_mlp_net.hpp"

namespace troupe::models::torch_mlp {

using torch_nn::mlp_net;

/// One MLP: its net, its optimizer and where training stands.
struct mlp {
  troupe_torch_mlp_params params{};
  int32_t task = 0;
  uint64_t inputs = 0;
  uint64_t outputs = 0;
  uint64_t seed = 0;
  uint64_t epochs = 0;
  mlp_net net{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt;
};

/// SplitMix64's finalizer: a well-mixed 64-bit value from `x`.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A generator of its own, seeded with `seed`.
inline at::Generator make_gen(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

} // namespace troupe::models::torch_mlp
