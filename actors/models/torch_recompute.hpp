#pragma once

// Recomputation (activation checkpointing) for LibTorch, whose C++ API has
// no checkpoint function. A checkpointed segment runs its forward pass
// without recording a graph: only its input is kept. The backward pass
// runs the segment again with the graph on and differentiates that, so a
// chain of n layers cut into k segments keeps k inputs plus one segment's
// activations at a time instead of all n layers'. The recomputation draws
// the same random numbers as the first run (generator states are taken
// before it and put back for it), so gradients equal the plain run's bit
// for bit. The recomputed graph's backward pass accumulates the
// parameters' gradients into their .grad as it reaches each one, as the
// plain run does (gradient-accumulator hooks fire as usual); the parameters
// are also inputs of the segment's node, so a segment whose input needs no
// gradient (the first) still runs its backward pass (PyTorch's reentrant
// checkpoint skips it unless the input requires one; see its warning). It
// works for every job that builds its net as a chain: data-parallel,
// pipeline stages and tensor-parallel blocks alike (the gradients' buckets
// and ready-counters see them). As with PyTorch's reentrant checkpoint,
// the outer pass must be backward() (which accumulates into .grad), not
// torch::autograd::grad(). Included by torch code only.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace troupe::models::torch_nn {

/// One layer or segment of a chain: a function of one tensor.
using segment_fn = std::function<torch::Tensor(const torch::Tensor&)>;

/// A layer of a chain and the parameters it reads.
struct chain_layer {
  segment_fn run;
  std::vector<torch::Tensor> params;
};

/// What a checkpointed segment keeps equal between its two runs.
struct recompute_options {
  /// Generators the segment draws from (dropout's): each one's state is
  /// taken before the first run and the recomputation draws from that
  /// state; the generator is left where the first run left it.
  std::vector<at::Generator> generators;
  /// Does the same for torch's default CPU generator (PyTorch's
  /// preserve_rng_state).
  bool preserve_default_generator = true;
  /// run_chain() with automatic segments: balanced_segments() (the least
  /// memory) instead of auto_segments().
  bool least_memory = false;
};

/// Runs `segment` on `input` keeping none of its activations; the backward
/// pass recomputes them. `params` are the tensors the segment reads besides
/// its input (its parameters): the gradients of those that require one are
/// computed. Without grad mode, or when neither the input nor any parameter
/// requires a gradient, it simply runs the segment.
torch::Tensor checkpointed(const segment_fn& segment,
                           const torch::Tensor& input,
                           const std::vector<torch::Tensor>& params,
                           const recompute_options& options = {});

/// The number of segments that minimises the activations kept for a chain
/// of `layers` layers of similar size cut evenly: round(sqrt(layers)), at
/// least 1 (Chen et al.'s sqrt(n) checkpoints).
int64_t sqrt_segments(int64_t layers);

/// `layers` cut into `segments` contiguous segments of nearly equal length.
std::vector<int64_t> even_segments(int64_t layers, int64_t segments);

/// Segment lengths, input to output, for a chain of `layers` layers of
/// similar size whose last segment runs plainly, that keep at most `kept`
/// layers' activations at once (as kept_layers() counts them) and
/// recompute the fewest layers: checkpointed segments shrink by one toward
/// the output, the last is as long as the one before it, in as few
/// segments as reach `layers`, the first taking what is left.
std::vector<int64_t> budget_segments(int64_t layers, int64_t kept);

/// The most layers' activations `sizes` keeps at once, in units of one
/// layer's output: while checkpointed segment j (from 0) is recomputed,
/// the inputs of the j before it, its own input and layers, and the
/// gradient of its output: j + size(j) + 1; the last segment, run plainly:
/// its layers and the inputs before it. (bench_recompute's measured peaks
/// follow these counts.)
int64_t kept_layers(const std::vector<int64_t>& sizes);

/// The least memory: budget_segments() with the least budget that it
/// meets. 16 layers: 5, 4, 3, 2, 2 (6 kept, against 7 for 4 even
/// segments); 64: 11, 10, ..., 4, 4 (12 against 15 for 8 of 8), for more
/// recomputation (60 of 64 layers against 56).
std::vector<int64_t> balanced_segments(int64_t layers);

/// The default: what sqrt_segments() even segments keep, recomputing less.
/// 16 layers: 6, 5, 5 (7 kept, 11 recomputed, against 7 and 12 for 4 of
/// 4); 64: 8, 13, 12, 11, 10, 10 (15 and 54 against 15 and 56).
std::vector<int64_t> auto_segments(int64_t layers);

/// Runs `layers` in order on `input`, cut into contiguous segments, all
/// checkpointed but the last, whose activations the backward pass needs
/// first (PyTorch's checkpoint_sequential does the same). Lengths count
/// layers with parameters: a layer without any (an activation, dropout)
/// stays in the segment of the layer before it. `segments` 0 cuts by
/// auto_segments() (balanced_segments() with options.least_memory); N > 0
/// cuts into N even segments (1: no checkpoints).
torch::Tensor run_chain(const std::vector<chain_layer>& layers,
                        const torch::Tensor& input, int64_t segments = 0,
                        const recompute_options& options = {});

/// The layers of a Sequential module, each with its parameters.
std::vector<chain_layer> chain_of(const torch::nn::Sequential& seq);

} // namespace troupe::models::torch_nn
