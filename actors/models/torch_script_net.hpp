#pragma once

// A user's TorchScript module as the torch plugin trains it (the job family
// "torchscript"): the module, loaded from the bytes torch.jit.save wrote,
// its loss (a method of the module, or a built-in one) and what its
// forward() gives. forward() takes the raw float rows [batch, columns] and
// gives what `troupe serve --torchscript` serves: [batch] values or P(class
// 1), [batch, 2] binary scores, or [batch, K] class scores (logits or
// probabilities). The loss takes (forward's output, the targets): class
// indices (int64, [batch]) when forward gives class scores, else float
// targets shaped as the output; it gives the batch's mean, a scalar.
// Plugin-internal (torch_script.cpp defines it); errors are thrown as
// std::runtime_error and caught at the plugin's C boundary.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

namespace troupe::models::torch_script {

/// The built-in losses, for a module without a loss method.
enum class loss_kind { method, cross_entropy, bce, mse, huber, l1 };

struct script_net {
  torch::jit::Module module;
  /// The loss as the job names it: a method of the module or a built-in.
  std::string loss;
  loss_kind kind = loss_kind::method;
  int32_t task = 0;  ///< 0 binary, 1 multiclass, 2 regression
  int64_t width = 1; ///< forward()'s values per row

  std::vector<torch::Tensor> parameters() const;
  torch::Tensor forward(const torch::Tensor& x);
  /// The loss of `out` against labels `y` (float class indices or values).
  torch::Tensor loss_of(const torch::Tensor& out, const torch::Tensor& y);
  /// Scores as troupe's nets give them: [n] values or P(class 1), or [n, K]
  /// class probabilities (a softmax of logits).
  torch::Tensor scores(const torch::Tensor& out) const;
  /// The module as torch.jit.save writes it.
  std::string bytes() const;
};

/// The module in `bytes` for `task` (with `classes` classes) on `inputs`
/// columns, its loss resolved: `loss` empty takes the module's `loss`
/// method, else the task's built-in (cross_entropy for class scores, bce
/// for P(class 1), mse for values); a named loss is a method of the module
/// or a built-in. A probe checks forward()'s shape and that the loss is a
/// scalar; every refusal says what the module must give.
std::unique_ptr<script_net> load_script_net(const std::string& bytes,
                                            const std::string& loss,
                                            int32_t task, uint64_t inputs,
                                            uint64_t classes);

} // namespace troupe::models::torch_script
