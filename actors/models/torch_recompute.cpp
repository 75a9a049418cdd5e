#include "actors/models/torch_recompute.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace troupe::models::torch_nn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// A generator and the state it had before a segment's first run.
struct taken_state {
  at::Generator generator;
  torch::Tensor state;
};

torch::Tensor state_of(at::Generator& g) {
  std::lock_guard<std::mutex> lock{g.mutex()};
  return g.get_state();
}

void set_state(at::Generator& g, const torch::Tensor& s) {
  std::lock_guard<std::mutex> lock{g.mutex()};
  g.set_state(s);
}

/// What the backward pass needs besides the saved input: the segment, the
/// tensors it reads and the generator states to replay. A capsule in the
/// node's saved data.
struct segment_state : torch::CustomClassHolder {
  segment_fn segment;
  std::vector<torch::Tensor> params;
  std::vector<taken_state> generators;
  bool input_needs_grad = false;
};

/// Puts the taken generator states back for a recomputation and, after it,
/// the states the generators had.
class replayed_generators {
public:
  explicit replayed_generators(std::vector<taken_state>& taken)
      : taken_(taken) {
    for (auto& t : taken_) {
      now_.push_back(state_of(t.generator));
      set_state(t.generator, t.state);
    }
  }
  ~replayed_generators() {
    for (size_t i = 0; i < taken_.size(); ++i)
      set_state(taken_[i].generator, now_[i]);
  }
  replayed_generators(const replayed_generators&) = delete;
  replayed_generators& operator=(const replayed_generators&) = delete;

private:
  std::vector<taken_state>& taken_;
  std::vector<torch::Tensor> now_;
};

/// The autograd node of a checkpointed segment. Function::apply runs
/// forward() with grad mode off, so the segment records no graph; its
/// inputs are the segment's input and parameters.
struct checkpoint_node : torch::autograd::Function<checkpoint_node> {
  static torch::Tensor forward(AutogradContext* ctx,
                               c10::intrusive_ptr<segment_state> state,
                               const torch::Tensor& input,
                               at::TensorList /*params*/) {
    ctx->save_for_backward({input});
    auto out = state->segment(input);
    ctx->saved_data["segment"] = at::IValue::make_capsule(std::move(state));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto state = c10::static_intrusive_pointer_cast<segment_state>(
        ctx->saved_data["segment"].toCapsule());
    auto saved = ctx->get_saved_variables();
    variable_list result(2 + state->params.size());
    if (grads.empty() || !grads[0].defined()) return result;
    torch::AutoGradMode grad_on{true};
    auto x = saved[0].detach().requires_grad_(state->input_needs_grad);
    torch::Tensor out;
    {
      replayed_generators replay{state->generators};
      out = state->segment(x);
    }
    if (!out.requires_grad()) return result;
    // the recomputed graph's backward pass accumulates the parameters'
    // gradients into their .grad as it reaches each one, as the plain run
    // would (returning them through this node would hold a whole
    // segment's gradients at once); the input's comes back through x
    torch::autograd::backward({out}, {grads[0]}, /*retain_graph=*/false,
                              /*create_graph=*/false);
    if (state->input_needs_grad) result[1] = x.grad();
    return result;
  }
};

} // namespace

torch::Tensor checkpointed(const segment_fn& segment,
                           const torch::Tensor& input,
                           const std::vector<torch::Tensor>& params,
                           const recompute_options& options) {
  auto any_grad =
      input.requires_grad() ||
      std::any_of(params.begin(), params.end(),
                  [](const torch::Tensor& p) { return p.requires_grad(); });
  if (!torch::GradMode::is_enabled() || !any_grad) return segment(input);
  auto state = c10::make_intrusive<segment_state>();
  state->segment = segment;
  state->params = params;
  state->input_needs_grad = input.requires_grad();
  auto take = [&](const at::Generator& g) {
    at::Generator copy = g; // shares the generator: its state is what moves
    state->generators.push_back({copy, state_of(copy)});
  };
  for (const auto& g : options.generators)
    take(g);
  if (options.preserve_default_generator)
    take(at::detail::getDefaultCPUGenerator());
  return checkpoint_node::apply(std::move(state), input,
                                at::TensorList{params});
}

int64_t sqrt_segments(int64_t layers) {
  return std::max<int64_t>(1, std::llround(std::sqrt(static_cast<double>(
                                  std::max<int64_t>(layers, 1)))));
}

std::vector<int64_t> budget_segments(int64_t layers, int64_t kept) {
  if (layers <= 1) return {std::max<int64_t>(layers, 0)};
  kept = std::max<int64_t>(kept, 1);
  // with k segments, the last (run plainly) may be kept - k + 1 long and
  // checkpointed segment j kept - 1 - j: the fewest segments that reach
  // `layers` leave the longest last one, the least recomputation
  auto room = [kept](int64_t k) {
    auto r = kept - k + 1;
    for (int64_t j = 0; j + 1 < k; ++j)
      r += kept - 1 - j;
    return r;
  };
  int64_t k = 1;
  while (room(k) < layers && kept - k > 0)
    ++k;
  if (k == 1) return {layers};
  // lengths from the output back, each leaving one layer at least for
  // every segment before it; the first takes what is left
  std::vector<int64_t> sizes(static_cast<size_t>(k));
  auto left = layers;
  auto last = std::max<int64_t>(1, std::min(kept - k + 1, left - (k - 1)));
  sizes.back() = last;
  left -= last;
  for (int64_t j = k - 2; j >= 1; --j) {
    auto n = std::max<int64_t>(1, std::min(kept - 1 - j, left - j));
    sizes[static_cast<size_t>(j)] = n;
    left -= n;
  }
  sizes[0] = left;
  return sizes;
}

int64_t kept_layers(const std::vector<int64_t>& sizes) {
  if (sizes.empty()) return 0;
  auto k = static_cast<int64_t>(sizes.size());
  auto peak = (k - 1) + sizes.back();
  for (int64_t j = 0; j + 1 < k; ++j)
    peak = std::max(peak, j + sizes[static_cast<size_t>(j)] + 1);
  return peak;
}

std::vector<int64_t> balanced_segments(int64_t layers) {
  for (int64_t c = 1;; ++c) {
    auto sizes = budget_segments(layers, c);
    if (kept_layers(sizes) <= c) return sizes;
  }
}

std::vector<int64_t> auto_segments(int64_t layers) {
  return budget_segments(
      layers, kept_layers(even_segments(layers, sqrt_segments(layers))));
}

std::vector<int64_t> even_segments(int64_t layers, int64_t segments) {
  segments = std::clamp<int64_t>(segments, 1, std::max<int64_t>(layers, 1));
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < segments; ++s)
    sizes.push_back((s + 1) * layers / segments - s * layers / segments);
  return sizes;
}

torch::Tensor run_chain(const std::vector<chain_layer>& layers,
                        const torch::Tensor& input, int64_t segments,
                        const recompute_options& options) {
  // cuts fall only before layers with parameters: an activation, dropout
  // or reshape stays with the layer before it (its output is that layer's
  // input, kept once, so cutting between them saves nothing)
  std::vector<size_t> starts;
  for (size_t i = 0; i < layers.size(); ++i)
    if (starts.empty() || !layers[i].params.empty()) starts.push_back(i);
  auto n = static_cast<int64_t>(starts.size());
  starts.push_back(layers.size());
  auto sizes = segments > 0           ? even_segments(n, segments)
               : options.least_memory ? balanced_segments(n)
                                      : auto_segments(n);
  auto h = input;
  int64_t group = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    auto begin = starts[group];
    group += sizes[s];
    auto end = starts[group];
    if (s + 1 == sizes.size()) {
      for (auto i = begin; i < end; ++i)
        h = layers[i].run(h);
      break;
    }
    // the segment outlives this call (the backward pass runs it): it
    // holds copies of its layers' functions
    std::vector<segment_fn> part;
    std::vector<torch::Tensor> params;
    for (auto i = begin; i < end; ++i) {
      part.push_back(layers[i].run);
      params.insert(params.end(), layers[i].params.begin(),
                    layers[i].params.end());
    }
    auto run = [part = std::move(part)](const torch::Tensor& x) {
      auto y = x;
      for (const auto& f : part)
        y = f(y);
      return y;
    };
    h = checkpointed(run, h, params, options);
  }
  return h;
}

std::vector<chain_layer> chain_of(const torch::nn::Sequential& seq) {
  std::vector<chain_layer> layers;
  for (size_t i = 0; i < seq->size(); ++i) {
    chain_layer l;
    l.params = seq->ptr(i)->parameters();
    // a copy of the module's handle: it runs the same module
    torch::nn::AnyModule any = seq->begin()[static_cast<std::ptrdiff_t>(i)];
    l.run = [any](const torch::Tensor& x) mutable { return any.forward(x); };
    layers.push_back(std::move(l));
  }
  return layers;
}

} // namespace troupe::models::torch_nn
