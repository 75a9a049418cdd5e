#pragma once

// Pipeline parallelism's plans, plain C++: how a sequential model's layers
// are cut into K stages, and in which order a stage runs the forward and
// backward passes of a minibatch's M micro-batches.
//
// GPipe runs every micro-batch's forward pass, then every backward pass:
// each stage keeps the activations of all M micro-batches. 1F1B
// (PipeDream-Flush) runs K - 1 - k forward passes on stage k to fill the
// pipeline, then alternates one forward and one backward pass, then drains:
// a stage never keeps more than K - k micro-batches. Both idle the same
// (K - 1) / (M + K - 1) of a step when stages cost the same, the bubble
// that more micro-batches shrink.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::models {

enum class pipeline_schedule { gpipe, one_f_one_b };

/// "gpipe" or "1f1b".
std::string to_string(pipeline_schedule s);
/// Parses "gpipe" or "1f1b" (false: unknown).
bool parse_schedule(const std::string& text, pipeline_schedule& out);

/// One step of a stage's plan: the forward or backward pass of a
/// micro-batch.
struct pipeline_op {
  bool forward = true;
  uint32_t micro = 0;
  bool operator==(const pipeline_op& o) const {
    return forward == o.forward && micro == o.micro;
  }
};

/// Stage `stage`'s (0-based, of `stages`) passes over `micro` micro-batches
/// in order: every micro-batch's forward then its backward exactly once,
/// forwards in micro-batch order, backwards too.
std::vector<pipeline_op> stage_plan(pipeline_schedule s, uint32_t stage,
                                    uint32_t stages, uint32_t micro);

/// The most micro-batches whose activations `plan` keeps at once (forward
/// done, backward not yet).
uint32_t most_in_flight(const std::vector<pipeline_op>& plan);

/// The bubble of a pipeline of equal stages: (K - 1) / (M + K - 1).
double bubble_bound(uint32_t stages, uint32_t micro);

/// Cuts layers of cost `costs` (time per layer measured, or parameter
/// counts) into `stages` contiguous, non-empty stages whose largest total
/// is the least possible; returns each stage's first layer (stages
/// entries, the first 0). Needs 1 <= stages <= costs.size().
std::vector<size_t> balance_stages(const std::vector<double>& costs,
                                   size_t stages);

} // namespace troupe::models
