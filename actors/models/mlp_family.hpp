#pragma once

// The "mlp" estimator family: LibTorch feed-forward nets (the module is
// torch_mlp_net.hpp) trained one epoch per step by AdamW on shuffled
// mini-batches, in the torch plugin libtroupe_torch.so (torch_mlp.cpp),
// which the first MLP dlopen()s. Binary tasks use BCE with logits,
// multiclass softmax cross-entropy, regression MSE on the standardised
// target; the inputs are standardised inside the net with the training
// mean and std. A seed and a thread count fix a run; saved bytes hold the
// weights, AdamW's state and the epoch, so an MLP loaded after e epochs
// trains on exactly as if it had never stopped.
//
// Parameters (names without the "mlp." prefix), each optional:
//
//   layers        integer 1..16 (default 2)    hidden layers
//   width         integer 1..4096 (64)         units per hidden layer
//   activation    relu, gelu or tanh (relu)
//   dropout       number in [0, 0.95] (0.1)    after each hidden layer
//   lr            number in [1e-6, 1] (1e-3)   AdamW's learning rate
//   weight_decay  number in [0, 1] (1e-5)      AdamW's decoupled decay
//   batch_size    integer 1..65536 (128), or its text ("128") when a
//                 search space makes it categorical
//
// Plain C++; includes no torch header.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "actors/models/estimator.hpp"

namespace troupe::models {

/// Epochs at a study's full budget.
constexpr uint64_t mlp_max_steps = 64;

/// The family, for the estimator registry (registered as "mlp" where
/// LibTorch is built). Its make and load fail with a clear error when the
/// plugin cannot be loaded.
estimator_family mlp_family();

/// Writes the trained net of `est`, an estimator of the mlp family, as a
/// TorchScript module that servable::load(model_format::torchscript, ...)
/// serves: forward() takes raw [rows, inputs] float32 rows (the scaling is
/// folded into the weights) and gives [rows] P(class 1), [rows, K] class
/// probabilities or [rows] values. Errors: another family's estimator, a
/// file that cannot be written.
caf::error export_mlp_torchscript(const estimator& est,
                                  const std::string& path);

/// The same from an mlp estimator's saved bytes.
caf::error export_mlp_torchscript(const std::vector<uint8_t>& bytes,
                                  const std::string& path);

} // namespace troupe::models
