#pragma once

// A pipeline stage from plain C++ (no torch header): stage k of K of a
// sequential MLP (hidden blocks, then a head), which trains a minibatch at
// a time over micro-batches whose activations and gradients the caller
// carries to its neighbours (stage_tensor_links: a stage actor's messages),
// and saves and restores its weights and AdamW's state. Runs in the torch
// plugin (torch_stage.cpp), dlopen()ed on first use; errors are
// models::errc::torch_failure with the plugin's message, or
// troupe::errc::invalid_argument for bad input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/pipeline_schedule.hpp"
#include "actors/models/plugin_handle.hpp"

namespace troupe::models {

/// The net and the stage's place in it.
struct stage_spec {
  uint32_t inputs = 1;
  /// Logits: classes for multiclass, else 1.
  uint32_t outputs = 1;
  /// Hidden blocks; the head is chain layer `layers` (layers + 1 in all).
  uint32_t layers = 2;
  uint32_t width = 64;
  /// relu, gelu or tanh.
  std::string activation = "relu";
  /// binary, multiclass or regression.
  std::string task = "binary";
  uint32_t stage = 0;
  uint32_t stages = 1;
  /// This stage's chain layers: [begin, end).
  uint32_t begin = 0;
  uint32_t end = 3;
  uint32_t micro = 4;
  pipeline_schedule schedule = pipeline_schedule::one_f_one_b;
  bool recompute = false;
  uint32_t threads = 1;
  double lr = 1e-3;
  double weight_decay = 0;
  uint64_t seed = 0;
  /// The first stage standardises its inputs with these (inputs entries
  /// each; empty: as they are).
  std::vector<float> center, scale;
};

/// Where a stage's tensors come from and go to. kind 0: activations (from
/// the stage before, to the stage after); kind 1: gradients (from the
/// stage after, to the stage before). A received tensor's values stay
/// valid until the next receive().
class stage_tensor_links {
public:
  virtual ~stage_tensor_links() = default;
  virtual caf::error receive(int kind, uint32_t micro, const float*& data,
                             std::vector<int64_t>& shape) = 0;
  virtual caf::error send(int kind, uint32_t micro, const float* data,
                          const std::vector<int64_t>& shape) = 0;
};

/// Seconds of a minibatch on a stage: computing, and waiting for its
/// neighbours' tensors.
struct stage_seconds {
  double compute = 0;
  double wait = 0;
};

class pipeline_stage {
public:
  static caf::expected<pipeline_stage> create(const stage_spec& spec);

  /// One minibatch of `rows` rows (x: rows x inputs on the first stage, y:
  /// rows targets on the last; null elsewhere) and an optimizer step. The
  /// minibatch's mean loss on the last stage, NaN elsewhere.
  caf::expected<double> step(const float* x, const float* y, size_t rows,
                             stage_tensor_links& links,
                             stage_seconds* seconds = nullptr);

  /// A forward pass without gradients; the last stage writes rows x
  /// outputs (multiclass probabilities) or rows (P(class 1), or values)
  /// into `out`.
  caf::error forward(const float* x, size_t rows, stage_tensor_links& links,
                     float* out);

  caf::expected<std::vector<uint8_t>> save() const;
  caf::error load(const std::vector<uint8_t>& bytes);

  const stage_spec& spec() const { return spec_; }

private:
  pipeline_stage(plugin_handle h, stage_spec spec)
      : handle_(std::move(h)), spec_(std::move(spec)) {}
  plugin_handle handle_;
  stage_spec spec_;
};

/// Each stage's first chain layer for a net of `layers` hidden blocks of
/// `width` on `inputs` columns with `outputs` logits, cut into `stages`
/// by parameter count (balance_stages).
std::vector<uint32_t> stage_starts(uint32_t inputs, uint32_t outputs,
                                   uint32_t layers, uint32_t width,
                                   uint32_t stages);

} // namespace troupe::models
