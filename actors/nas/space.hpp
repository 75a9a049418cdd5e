#pragma once

// The search spaces of neural architecture search: a MobileNet-like space
// (inverted-residual blocks: depths, widths, kernel sizes, expansion ratios)
// and a ResNet-like space (basic blocks: depths, widths, kernel sizes,
// bottleneck ratios) over 28x28 grey images, their encoding as categorical
// decisions (genes), and the analytic count of a network's parameters and
// FLOPs. Plain C++, no LibTorch: the plugin builds the networks these
// describe (see layout_json).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

namespace troupe::nas {

/// Which family of networks a space holds.
enum class space_kind {
  mobilenet, ///< stem, then stages of inverted-residual (MBConv) blocks
  resnet,    ///< stem, then stages of basic residual blocks
  lenet,     ///< the hand-designed baseline (no choices)
};

/// "mobilenet", "resnet" or "lenet".
std::string to_string(space_kind x);

/// Parses "mobilenet" or "resnet" (the searchable spaces); the error names
/// the text and lists them.
caf::expected<space_kind> parse_space_kind(const std::string& text);

/// One block of a concrete network.
struct block_arch {
  int kernel = 3; ///< kernel size of its spatial convolutions
  /// Channels inside the block: the expanded width of an MBConv block, the
  /// middle width of a basic block.
  int hidden = 0;
};

/// One stage of a concrete network: its blocks share the output width; the
/// first block applies the stride.
struct stage_arch {
  int stride = 1;
  int width = 0;
  std::vector<block_arch> blocks;
};

/// A concrete network: what the plugin builds and what is counted.
struct net_arch {
  space_kind kind = space_kind::mobilenet;
  int image = 28;      ///< input height = width
  int in_channels = 1; ///< input channels
  int classes = 10;
  int stem = 0; ///< output channels of the 3x3 stem convolution
  std::vector<stage_arch> stages;
};

/// Parameters (weights, biases and batch-norm scales and shifts; not the
/// running statistics) of `a`.
int64_t count_params(const net_arch& a);

/// Multiply-accumulates of one image's forward pass through the
/// convolutions and the classifier (batch norm, activations and pooling are
/// not counted), as MobileNet papers count "FLOPs".
int64_t count_flops(const net_arch& a);

/// The JSON the plugin reads: {"kind", "image", "in", "classes", "stem",
/// "stages": [{"stride", "width", "blocks": [{"kernel", "hidden"}]}]}.
std::string layout_json(const net_arch& a);

/// The same as readable text: "stem 16 | s2 w24: k5e3 k3e6 | ...".
std::string describe(const net_arch& a);

/// A choice per decision: index into that decision's options.
using genes = std::vector<int>;

/// A stage's choices: its depth and width; its stride is fixed.
struct stage_choices {
  int stride = 1;
  std::vector<int> depths;
  std::vector<int> widths;
};

/// A space of networks of one kind. Its decisions, in order: the stem's
/// width; for each stage its depth and width, then for each of its
/// max-depth block slots the kernel size and the ratio (slots past the
/// chosen depth are inactive). Every option list is sorted ascending, so the
/// first option of every decision gives the smallest network.
class search_space {
public:
  /// The MobileNet-like space: stem {8, 12, 16}; three stride-2 stages of 1-2,
  /// 1-3 and 1-3 MBConv blocks, widths {16, 24}, {24, 32, 40},
  /// {40, 48, 64}; kernels {3, 5, 7}; expansion ratios {2, 3, 4, 6} (hidden =
  /// input width x ratio).
  static search_space mobilenet();

  /// The ResNet-like space: stem {8, 12, 16}; three stride-2 stages of 1-2
  /// basic blocks, widths {16, 24, 32}, {24, 32, 48}, {32, 48, 64}; kernels
  /// {3, 5}; bottleneck ratios {0.5, 0.75, 1} (hidden = output width x
  /// ratio).
  static search_space resnet();

  /// The space of `kind` (mobilenet or resnet).
  static search_space of(space_kind kind);

  space_kind kind() const { return kind_; }

  /// Options per decision.
  const std::vector<size_t>& decisions() const { return options_; }

  /// Whether decision `i` matters under `g` (a block slot past its stage's
  /// depth does not).
  bool active(const genes& g, size_t i) const;

  /// The network `g` chooses (g must hold one valid index per decision).
  net_arch resolve(const genes& g) const;

  /// Whether `g` has one index in range per decision.
  bool valid(const genes& g) const;

  /// The smallest network: the first option of every decision.
  genes smallest() const;

  /// The supernet: every stage at its largest width and depth, every block
  /// at the largest kernel and at the largest hidden width any choice gives
  /// it. Every network of the space is a slice of it.
  net_arch largest() const;

  /// {"stem": 16, "stages": [{"depth", "width", "blocks": [{"kernel",
  /// "ratio"}]}]}: the choices `g` makes, active ones only.
  nlohmann::json choices_json(const genes& g) const;

private:
  /// Hidden width of a block of input width `in`, output `out`, ratio r.
  int hidden(int in, int out, double ratio) const;

  space_kind kind_ = space_kind::mobilenet;
  std::vector<int> stems_;
  std::vector<stage_choices> stages_;
  std::vector<int> kernels_;
  std::vector<double> ratios_;
  std::vector<size_t> options_;
};

/// The hand-designed baseline, a LeNet-5-like CNN: conv 5x5 (1 -> 20, pad
/// 2) + BN + ReLU + max-pool 2, conv 5x5 (20 -> 40, pad 2) + BN + ReLU +
/// max-pool 2, fully connected 1960 -> 40 + ReLU, fully connected 40 -> 10:
/// 99,470 parameters, 1.4 M FLOPs. In net_arch terms: stem = 20 (the first
/// convolution), one stage of width 40 (the second) holding one block of
/// kernel 5 whose hidden width is the fully connected layer's (40).
net_arch lenet_baseline();

} // namespace troupe::nas
