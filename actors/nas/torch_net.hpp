#pragma once

// Inside the NAS plugin only (it includes LibTorch): a network of a layout
// (space.hpp's layout_json, parsed here), the supernet's slicing, training
// steps and batch-norm handling. torch_abi.cpp wraps it in the C interface;
// torch_export.cpp writes it as TorchScript.
//
// Weight sharing: every parameter is allocated at the layout's size; a
// sub-network uses, of each, the first channels along the output and input
// dimensions and the centre kxk of a kernel (the slice() rule). The walk
// that computes a sub-network's output records, in order, every slice it
// uses, which is how extraction copies them and how weights are listed.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace troupe::nas::plugin {

/// A parsed layout (see layout_json in space.hpp).
struct layout {
  struct block {
    int kernel = 3;
    int hidden = 0;
  };
  struct stage {
    int stride = 1;
    int width = 0;
    std::vector<block> blocks;
  };
  std::string kind; ///< "mobilenet", "resnet" or "lenet"
  int image = 28;
  int in = 1;
  int classes = 10;
  int stem = 0;
  std::vector<stage> stages;
};

/// Parses a layout; throws std::invalid_argument naming the field.
layout parse_layout(const std::string& text);

/// How batch norm runs in a walk.
enum class bn_mode {
  batch,       ///< the batch's statistics, running ones untouched
  batch_track, ///< the batch's statistics, running ones updated
  running,     ///< the running statistics (inference)
};

/// The first sizes[d] entries of `full` along each dimension d; the
/// centred ones along the kernel dimensions (2 and 3) of a convolution.
torch::Tensor slice(const torch::Tensor& full, at::IntArrayRef sizes);

/// A network: named parameters and batch-norm buffers at the layout's
/// sizes, and an Adam optimizer over them.
class net {
public:
  /// Allocates and initializes (from `seed`) the parameters of `shape`.
  net(layout shape, uint64_t seed);

  const layout& shape() const { return shape_; }

  /// One slice a walk used.
  struct use {
    std::string name;
    torch::Tensor value; ///< the slice (a view of the parameter)
    bool buffer = false; ///< a batch-norm running statistic
  };

  /// Logits of the sub-network `a` (nullptr: the whole network) for rows of
  /// pixels x ([rows, image * image * in]). Appends every slice it uses to
  /// `uses` when given. Throws on a sub-network that does not fit.
  torch::Tensor forward(const layout* a, const torch::Tensor& x, bn_mode mode,
                        std::vector<use>* uses = nullptr);

  /// The slices `a` uses, in order (a forward pass over two blank rows).
  std::vector<use> slices(const layout* a);

  /// Copies every slice `a` uses in `from` into this network's parameter of
  /// the same name, which must have the slice's shape.
  void copy_from(net& from, const layout& a);

  /// One Adam step; returns the loss.
  double train_step(const layout* a, const torch::Tensor& x,
                    const torch::Tensor& y, double lr);

  /// Resets the running statistics and re-estimates them over `x`.
  void calibrate(const torch::Tensor& x, int64_t batch);

  /// The named parameters and buffers, in allocation order.
  const std::vector<std::pair<std::string, torch::Tensor>>& tensors() const {
    return order_;
  }

private:
  struct walker; // the forward walk (torch_net.cpp)

  /// Allocates a parameter (or, buffer = true, a running statistic).
  torch::Tensor& add(const std::string& name, torch::Tensor t,
                     bool buffer = false);
  /// Allocates a batch-norm's scale, shift and running statistics.
  void add_bn(const std::string& name, int64_t channels);
  /// Allocates a convolution weight, Kaiming-normal.
  void add_conv(const std::string& name, int64_t out, int64_t in, int64_t k);

  layout shape_;
  std::map<std::string, torch::Tensor> params_;
  std::vector<std::pair<std::string, torch::Tensor>> order_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<torch::optim::Adam> opt_;
};

/// Normalizes pixels 0..255 the way every network's first step does
/// (Fashion-MNIST's mean and deviation).
constexpr double pixel_mean = 0.2860;
constexpr double pixel_std = 0.3530;

/// Writes `n` as a TorchScript module (torch_export.cpp).
void save_torchscript(const net& n, const std::string& path);

} // namespace troupe::nas::plugin
