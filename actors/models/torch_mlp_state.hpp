#pragma once

// An MLP of the torch plugin as its translation units share it: the net,
// its AdamW optimizer and where training stands (torch_mlp.cpp trains it in
// one process, torch_parallel.cpp data-parallel), and the seeded
// generators both draw from. Plugin-internal: included by torch code only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"
#include "actors/models/torch_mlp_net.hpp"
#include "actors/models/torch_script_net.hpp"

namespace troupe::models::torch_mlp {

using torch_nn::mlp_net;

/// One MLP: its net, its optimizer and where training stands. A user's
/// TorchScript module takes the net's place when `script` is set (then
/// only params.lr and params.weight_decay are used).
struct mlp {
  troupe_torch_mlp_params params{};
  int32_t task = 0;
  uint64_t inputs = 0;
  uint64_t outputs = 0;
  uint64_t seed = 0;
  uint64_t epochs = 0;
  mlp_net net{nullptr};
  std::unique_ptr<torch_script::script_net> script;
  std::unique_ptr<torch::optim::AdamW> opt;

  /// The trained parameters, in the order of the net's parameters().
  std::vector<torch::Tensor> parameters() const {
    return script ? script->parameters() : net->parameters();
  }
};

// A module replica's saved form (torch_script.cpp): troupe_torch_mlp_save
// and _load hand such a replica over to these.

/// Whether an archive of this "format" holds a module replica.
bool is_script_archive(const std::string& format);
/// Writes every key of a module replica (format, module, optimizer, ...).
void write_script(const mlp& m, torch::serialize::OutputArchive& a);
/// The module replica in `a` (throws std::runtime_error on bad content).
std::unique_ptr<mlp> read_script(torch::serialize::InputArchive& a);

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
