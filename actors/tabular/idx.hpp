#pragma once

// Fashion-MNIST as troupe reads it: the IDX files (gzip-compressed, as
// Debian's dataset-fashion-mnist installs them, or plain) of images and
// labels, read with zlib. Shared by neural architecture search and
// data-parallel training jobs. Plain C++.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::tabular {

/// Images and their labels.
struct image_set {
  size_t rows = 0;
  size_t height = 0;
  size_t width = 0;
  /// rows x height x width pixels, 0..255 as floats, row-major.
  std::vector<float> pixels;
  /// One class per image, 0..9.
  std::vector<int64_t> labels;

  size_t features() const { return height * width; }
  const float* row(size_t r) const { return pixels.data() + r * features(); }
};

/// The rows `which` of `s`, in that order.
image_set take(const image_set& s, const std::vector<size_t>& which);

/// The ten class names of Fashion-MNIST, by label.
const std::vector<std::string>& fashion_classes();

/// Reads an IDX image file (magic 0x00000803) and its label file (magic
/// 0x00000801), either gzip-compressed or plain. Errors
/// (errc::invalid_argument) name the file and what is wrong: missing, not IDX,
/// truncated, counts that differ, a label over 9.
caf::expected<image_set> read_idx(const std::string& images_path,
                                  const std::string& labels_path);

/// Reads a Fashion-MNIST directory: DIR/train-images-idx3-ubyte.gz,
/// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
/// t10k-labels-idx1-ubyte.gz (each also accepted without .gz). `train` and
/// `test` receive the two sets.
caf::error read_fashion_mnist(const std::string& dir, image_set& train,
                              image_set& test);

/// The files read_fashion_mnist reads in `dir` (the .gz one of each pair
/// where it exists), whether they exist or not.
std::vector<std::string> fashion_mnist_files(const std::string& dir);

} // namespace troupe::tabular
