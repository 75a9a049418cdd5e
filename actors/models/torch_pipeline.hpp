#pragma once

// Pipeline parallelism for LibTorch: a sequential model cut into K stages,
// each run by its own worker thread, a minibatch cut into M micro-batches
// whose activations go forward and whose gradients go back between
// neighbouring stages as the tensors themselves (no copy within a process),
// in the order of a schedule (pipeline_schedule.hpp: GPipe or 1F1B). Each
// stage may recompute its activations in the backward pass instead of
// keeping them (torch_recompute.hpp). The micro-batches' losses are
// weighted by their share of the rows, so the gradients accumulated over a
// minibatch are the unsplit model's. Included by torch code only.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "actors/models/pipeline_schedule.hpp"
#include "actors/models/torch_recompute.hpp"

namespace troupe::models::torch_nn {

/// The loss of a micro-batch's outputs against its targets: the mean over
/// its rows.
using loss_fn =
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

struct pipeline_options {
  pipeline_schedule schedule = pipeline_schedule::one_f_one_b;
  /// Micro-batches per minibatch (at most its rows).
  uint32_t micro = 4;
  /// Each stage recomputes its activations in the backward pass, keeping
  /// only its micro-batches' inputs (GPipe's re-materialisation: the
  /// stage is one checkpointed segment).
  bool recompute = false;
  /// Intra-op threads per stage.
  int threads = 1;
};

/// What one stage did during a minibatch.
struct stage_report {
  /// Seconds spent running forward and backward passes.
  double busy_seconds = 0;
  /// The most micro-batches whose activations it kept at once.
  uint32_t most_kept = 0;
};

struct pipeline_result {
  /// The minibatch's mean loss.
  double loss = 0;
  /// From the first stage's start to the last stage's end.
  double seconds = 0;
  std::vector<stage_report> stages;
  /// The share of the stages' time spent waiting: 1 - busy / (K x seconds).
  double idle_fraction() const;
};

/// Where one stage's tensors come from and go to: its neighbours in this
/// process (run_pipeline's channels), or stage actors on other nodes whose
/// messages carry the tensors' bytes. A stage sends and receives in the
/// order of its plan, so a link that keeps each neighbour's order needs no
/// more (the micro-batch is named for checking).
class stage_links {
public:
  virtual ~stage_links() = default;
  /// Micro-batch `micro`'s activations from the stage before.
  virtual torch::Tensor receive_activation(uint32_t micro) = 0;
  /// Its activations to the stage after.
  virtual void send_activation(uint32_t micro, const torch::Tensor& t) = 0;
  /// The gradient of its activations from the stage after.
  virtual torch::Tensor receive_gradient(uint32_t micro) = 0;
  /// The gradient of its input to the stage before.
  virtual void send_gradient(uint32_t micro, const torch::Tensor& g) = 0;
};

/// One stage's part of a minibatch of `rows` rows cut into `options.micro`
/// micro-batches: stage `k` of `stages` runs `layers` over its plan
/// (stage_plan), the first reading `xs` (the micro-batches of x), the last
/// scoring against `ys` with `loss` (each micro-batch weighted by its
/// share of the rows) and adding the weighted losses to `*minibatch_loss`;
/// the others exchange tensors through `links`. Gradients accumulate into
/// the layers' parameters. Throws what a layer or link throws.
stage_report run_stage(const std::vector<chain_layer>& layers, uint32_t k,
                       uint32_t stages, const std::vector<torch::Tensor>& xs,
                       const std::vector<torch::Tensor>& ys, int64_t rows,
                       const loss_fn& loss, const pipeline_options& options,
                       stage_links& links, double* minibatch_loss);

/// Runs one minibatch (`x` [rows, ...], `y` [rows, ...]) through `stages`
/// (each a chain of layers, the first reading x, the last's output going
/// to `loss`): forward and backward passes of every micro-batch, the
/// gradients accumulated into the layers' parameters (the caller steps its
/// optimizer and zeroes them). Throws on a failed stage (after stopping the
/// others).
pipeline_result
run_pipeline(const std::vector<std::vector<chain_layer>>& stages,
             const torch::Tensor& x, const torch::Tensor& y,
             const loss_fn& loss, const pipeline_options& options);

/// `layers` cut before each of `starts` (balance_stages()'s answer).
std::vector<std::vector<chain_layer>>
cut_stages(const std::vector<chain_layer>& layers,
           const std::vector<size_t>& starts);

/// Each layer's parameter count, for balance_stages().
std::vector<double> parameter_costs(const std::vector<chain_layer>& layers);

/// Each layer's forward and backward seconds on `sample` (median of
/// `repeats`), for balance_stages().
std::vector<double> measured_costs(const std::vector<chain_layer>& layers,
                                   const torch::Tensor& sample,
                                   int repeats = 3);

} // namespace troupe::models::torch_nn
