#pragma once

// The feed-forward network of the "mlp" family, in the shared model layer:
// the plugin trains it in one process (torch_mlp.cpp) and data-parallel
// training reuses the same module. It standardises its inputs itself (and
// a regression target: it predicts the standardised value), with the
// training mean and std kept as buffers, so unscaled data trains well and
// the scaling travels with the weights. Dropout draws from a generator the
// caller passes, so a seed fixes a run whatever else uses torch's global
// generator. Included by torch code only (it includes torch/torch.h).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "actors/models/torch_recompute.hpp"

namespace troupe::models::torch_nn {

enum class mlp_task : int32_t { binary = 0, multiclass = 1, regression = 2 };

enum class mlp_activation : int32_t { relu = 0, gelu = 1, tanh = 2 };

/// The shape of a net.
struct mlp_net_options {
  int64_t inputs = 1;
  /// Logits per row: 1 for binary and regression, K for multiclass.
  int64_t outputs = 1;
  /// Hidden layers (>= 1) and their width.
  int64_t layers = 2;
  int64_t width = 64;
  mlp_activation activation = mlp_activation::relu;
  /// Dropout after each hidden layer's activation.
  double dropout = 0;
  /// Training recomputes the hidden layers' activations in the backward
  /// pass instead of keeping them (torch_recompute.hpp: checkpointed
  /// segments, cut by auto_segments; gradients equal bit for bit).
  bool recompute = false;
  mlp_task task = mlp_task::binary;
  /// A small CNN first (empty: none): each entry a block of a 3x3
  /// convolution (padding 1) to that many channels, the activation and a
  /// 2x2 max-pool, over the inputs read as one-channel side x side images.
  std::vector<int64_t> conv;
  int64_t side = 0;
};

/// Per-column sums of `x` ([rows, cols]) in float64, or with `center`
/// ([cols] float64) the sums of squared deviations from it. A block of
/// rows at a time: a whole float64 copy of the training rows (and its
/// deviations, and their squares) is hundreds of MB of fresh pages, which
/// the kernel zeroes one by one: 2 s of a 3-epoch Fashion-MNIST job
/// (perf: clear_page_erms), against about 0.1 s in blocks.
inline torch::Tensor column_sums(const torch::Tensor& x,
                                 const torch::Tensor& center = {}) {
  constexpr int64_t block = 1024;
  auto out = torch::zeros({x.size(1)}, torch::kFloat64);
  for (int64_t r = 0; r < x.size(0); r += block) {
    auto b = x.slice(0, r, std::min(r + block, x.size(0))).to(torch::kFloat64);
    if (center.defined()) b = (b - center).square_();
    out += b.sum(0);
  }
  return out;
}

/// Hidden layers (Linear, activation, dropout) and a Linear head.
class mlp_netImpl : public torch::nn::Module {
public:
  explicit mlp_netImpl(const mlp_net_options& o) : opts_(o) {
    auto in = o.inputs;
    if (!o.conv.empty()) {
      int64_t channels = 1, side = o.side;
      for (size_t i = 0; i < o.conv.size(); ++i) {
        conv_.push_back(register_module(
            "conv" + std::to_string(i),
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(channels, o.conv[i], 3).padding(1))));
        channels = o.conv[i];
        side /= 2;
      }
      in = channels * side * side;
    }
    for (int64_t i = 0; i < o.layers; ++i) {
      hidden_.push_back(register_module("hidden" + std::to_string(i),
                                        torch::nn::Linear(in, o.width)));
      in = o.width;
    }
    head_ = register_module("head", torch::nn::Linear(in, o.outputs));
    x_mean_ = register_buffer("x_mean", torch::zeros({o.inputs}));
    x_std_ = register_buffer("x_std", torch::ones({o.inputs}));
    y_mean_ = register_buffer("y_mean", torch::zeros({1}));
    y_std_ = register_buffer("y_std", torch::ones({1}));
  }

  const mlp_net_options& options() const { return opts_; }

  /// Draws every weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  /// with `gen` (the bound of torch's default Linear initialisation).
  void init_weights(at::Generator gen) {
    torch::NoGradGuard no_grad;
    auto draw = [&](torch::nn::Linear& l) {
      auto bound = 1.0 / std::sqrt(static_cast<double>(l->weight.size(1)));
      l->weight.uniform_(-bound, bound, gen);
      l->bias.uniform_(-bound, bound, gen);
    };
    for (auto& c : conv_) {
      auto w = c->weight;
      auto bound =
          1.0 /
          std::sqrt(static_cast<double>(w.size(1) * w.size(2) * w.size(3)));
      w.uniform_(-bound, bound, gen);
      c->bias.uniform_(-bound, bound, gen);
    }
    for (auto& l : hidden_)
      draw(l);
    draw(head_);
  }

  /// Learns the input scaling from training rows `x` ([rows, inputs]) and,
  /// for regression, the target's from `y` ([rows]); a constant column
  /// keeps std 1.
  void fit_scaling(const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard no_grad;
    auto fix = [](torch::Tensor s) {
      return torch::where(s > 1e-12, s, torch::ones_like(s));
    };
    auto n = static_cast<double>(x.size(0));
    auto xm = column_sums(x) / n;
    x_mean_.copy_(xm);
    x_std_.copy_(fix((column_sums(x, xm) / n).sqrt()));
    if (opts_.task == mlp_task::regression) {
      auto yc = y.reshape({-1, 1});
      auto ym = column_sums(yc) / n;
      y_mean_.copy_(ym);
      y_std_.copy_(fix((column_sums(yc, ym) / n).sqrt()));
    }
  }

  /// Sets the scaling learnt elsewhere (data-parallel workers compute it
  /// over every worker's rows): the inputs' mean and std ([inputs]) and a
  /// regression target's ([1]).
  void set_scaling(const torch::Tensor& x_mean, const torch::Tensor& x_std,
                   const torch::Tensor& y_mean, const torch::Tensor& y_std) {
    torch::NoGradGuard no_grad;
    x_mean_.copy_(x_mean);
    x_std_.copy_(x_std);
    y_mean_.copy_(y_mean.reshape({1}));
    y_std_.copy_(y_std.reshape({1}));
  }

  /// The logits (the standardised value for regression) of raw rows `x`,
  /// [rows, outputs]. Dropout applies when `dropout_gen` is given (training)
  /// and draws from it.
  torch::Tensor forward(torch::Tensor x,
                        c10::optional<at::Generator> dropout_gen = {}) {
    auto h = (x - x_mean_) / x_std_;
    if (!conv_.empty()) {
      h = h.view({-1, 1, opts_.side, opts_.side});
      for (auto& c : conv_)
        h = torch::max_pool2d(activate(c->forward(h), opts_.activation), 2);
      h = h.flatten(1);
    }
    if (opts_.recompute && torch::GradMode::is_enabled()) {
      std::vector<chain_layer> chain;
      for (auto& l : hidden_)
        chain.push_back({[this, l, dropout_gen](const torch::Tensor& x) {
                           return hidden(l, x, dropout_gen);
                         },
                         {l->weight, l->bias}});
      recompute_options o;
      if (dropout_gen) o.generators.push_back(*dropout_gen);
      // a plain Linear for the head: its input is the chain's output
      return head_->forward(run_chain(chain, h, 0, o));
    }
    for (auto& l : hidden_)
      h = hidden(l, h, dropout_gen);
    return head_->forward(h);
  }

  /// A hidden layer: Linear, activation, dropout (drawn from `dropout_gen`
  /// when given).
  torch::Tensor hidden(torch::nn::Linear l, const torch::Tensor& x,
                       const c10::optional<at::Generator>& dropout_gen) const {
    auto h = activate(l->forward(x), opts_.activation);
    if (dropout_gen && opts_.dropout > 0) {
      auto keep = 1.0 - opts_.dropout;
      auto mask = torch::empty_like(h).bernoulli_(keep, dropout_gen);
      h = h * mask / keep;
    }
    return h;
  }

  /// The training loss of forward()'s `out` against labels `y` ([rows]:
  /// class indices or raw values): BCE with logits, softmax cross-entropy
  /// or MSE on the standardised target.
  torch::Tensor loss(const torch::Tensor& out, const torch::Tensor& y) const {
    switch (opts_.task) {
    case mlp_task::binary:
      return torch::binary_cross_entropy_with_logits(out.squeeze(1), y);
    case mlp_task::multiclass:
      return torch::nn::functional::cross_entropy(out, y.to(torch::kLong));
    case mlp_task::regression:
      return torch::mse_loss(out.squeeze(1), (y - y_mean_) / y_std_);
    }
    return out;
  }

  /// Scores from forward()'s `out`: [rows] P(class 1), [rows, K] class
  /// probabilities, or [rows] values on the target's scale.
  torch::Tensor scores(const torch::Tensor& out) const {
    switch (opts_.task) {
    case mlp_task::binary:
      return torch::sigmoid(out.squeeze(1));
    case mlp_task::multiclass:
      return torch::softmax(out, 1);
    case mlp_task::regression:
      return out.squeeze(1) * y_std_ + y_mean_;
    }
    return out;
  }

  /// A TorchScript module computing scores() of forward() on raw rows, the
  /// input scaling folded into the first layer and a regression target's
  /// into the head, so that it is a plain net: forward(x) of [rows, inputs]
  /// float32 gives [rows] (binary, regression) or [rows, K] (multiclass).
  torch::jit::Module to_torchscript() const {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> w, b;
    for (auto& l : hidden_) {
      w.push_back(l->weight.detach().clone());
      b.push_back(l->bias.detach().clone());
    }
    w.push_back(head_->weight.detach().clone());
    b.push_back(head_->bias.detach().clone());
    // W ((x - m) / s) + b = (W / s) x + (b - (W / s) m), for an MLP
    if (conv_.empty()) {
      w[0] = w[0] / x_std_.unsqueeze(0);
      b[0] = b[0] - w[0].matmul(x_mean_);
    }
    if (opts_.task == mlp_task::regression) { // v * ys + ym
      w.back() = w.back() * y_std_;
      b.back() = b.back() * y_std_ + y_mean_;
    }
    torch::jit::Module m{"troupe_mlp"};
    std::string body = "    h = x\n";
    auto act = opts_.activation == mlp_activation::gelu   ? "torch.gelu"
               : opts_.activation == mlp_activation::tanh ? "torch.tanh"
                                                          : "torch.relu";
    if (!conv_.empty()) {
      // a CNN scales the pixels first (the convolutions share weights
      // over positions whose scaling differs), then pools its blocks
      m.register_parameter("x_mean", x_mean_.to(torch::kFloat32).clone(),
                           false);
      m.register_parameter("x_std", x_std_.to(torch::kFloat32).clone(), false);
      body += "    h = ((h - self.x_mean) / self.x_std).view(-1, 1, " +
              std::to_string(opts_.side) + ", " + std::to_string(opts_.side) +
              ")\n";
      for (size_t i = 0; i < conv_.size(); ++i) {
        auto n = std::to_string(i);
        m.register_parameter("cw" + n, conv_[i]->weight.detach().clone(),
                             false);
        m.register_parameter("cb" + n, conv_[i]->bias.detach().clone(), false);
        body += std::string{"    h = torch.max_pool2d("} + act +
                "(torch.conv2d(h, self.cw" + n + ", self.cb" + n +
                ", [1, 1], [1, 1])), [2, 2])\n";
      }
      body += "    h = h.flatten(1)\n";
    }
    for (size_t i = 0; i < w.size(); ++i) {
      auto n = std::to_string(i);
      m.register_parameter("w" + n, w[i].contiguous(), false);
      m.register_parameter("b" + n, b[i].contiguous(), false);
      auto affine = "h.matmul(self.w" + n + ".t()) + self.b" + n;
      if (i + 1 < w.size())
        body += std::string{"    h = "} + act + "(" + affine + ")\n";
      else
        body += "    h = " + affine + "\n";
    }
    switch (opts_.task) {
    case mlp_task::binary:
      body += "    h = torch.sigmoid(h).squeeze(1)\n";
      break;
    case mlp_task::multiclass:
      body += "    h = torch.softmax(h, 1)\n";
      break;
    case mlp_task::regression:
      body += "    h = h.squeeze(1)\n";
      break;
    }
    m.define("def forward(self, x):\n" + body + "    return h\n");
    m.eval();
    return m;
  }

  static torch::Tensor activate(const torch::Tensor& h, mlp_activation a) {
    switch (a) {
    case mlp_activation::relu:
      return torch::relu(h);
    case mlp_activation::gelu:
      return torch::gelu(h);
    case mlp_activation::tanh:
      return torch::tanh(h);
    }
    return h;
  }

private:
  mlp_net_options opts_;
  std::vector<torch::nn::Conv2d> conv_;
  std::vector<torch::nn::Linear> hidden_;
  torch::nn::Linear head_{nullptr};
  torch::Tensor x_mean_, x_std_, y_mean_, y_std_;
};

TORCH_MODULE(mlp_net);

} // namespace troupe::models::torch_nn
