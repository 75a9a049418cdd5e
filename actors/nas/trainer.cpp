#include "actors/nas/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace troupe::nas {

namespace {

constexpr double pi = 3.14159265358979323846;

/// The shared loop: `step` trains one batch at a learning rate.
template <class Step>
caf::expected<double> run_epochs(const image_set& data,
                                 const train_options& opts, Step&& step) {
  auto batch = std::max<size_t>(opts.batch, 2);
  std::vector<size_t> order(data.rows);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng{opts.seed};
  auto steps_per_epoch = (data.rows + batch - 1) / batch;
  auto total = std::max<size_t>(steps_per_epoch * opts.epochs, 1);
  size_t t = 0;
  std::vector<float> x;
  std::vector<int64_t> y;
  double last = 0;
  for (size_t e = 1; e <= opts.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    double sum = 0;
    size_t n = 0;
    for (size_t at = 0; at < data.rows; at += batch) {
      auto rows = std::min(batch, data.rows - at);
      if (rows < 2) break; // batch norm needs two rows
      x.resize(rows * data.features());
      y.resize(rows);
      for (size_t r = 0; r < rows; ++r) {
        auto src = order[at + r];
        std::copy(data.row(src), data.row(src) + data.features(),
                  x.begin() + static_cast<ptrdiff_t>(r * data.features()));
        y[r] = data.labels[src];
      }
      auto lr = opts.lr * 0.5 *
                (1 + std::cos(pi * static_cast<double>(t++) /
                              static_cast<double>(total)));
      auto loss = step(x.data(), y.data(), rows, lr);
      if (!loss) return loss.error();
      sum += *loss * static_cast<double>(rows);
      n += rows;
    }
    last = n ? sum / static_cast<double>(n) : 0;
    if (opts.on_epoch) opts.on_epoch(e, last);
  }
  return last;
}

} // namespace

caf::expected<double> train(network& net, const image_set& data,
                            const train_options& opts) {
  return run_epochs(
      data, opts,
      [&](const float* x, const int64_t* y, size_t rows, double lr) {
        return net.train_step(nullptr, x, y, rows, lr);
      });
}

caf::expected<double> train_supernet(network& supernet, const image_set& data,
                                     const train_options& opts, sampler& draw) {
  return run_epochs(
      data, opts,
      [&](const float* x, const int64_t* y, size_t rows, double lr) {
        auto sub = draw.space().resolve(draw.sample());
        return supernet.train_step(&sub, x, y, rows, lr);
      });
}

caf::expected<double> accuracy(const network& net, const net_arch* sub,
                               const image_set& data, bool batch_stats,
                               size_t batch) {
  if (data.rows == 0) return 0.0;
  auto classes = static_cast<size_t>(net.arch().classes);
  size_t right = 0;
  batch = std::max<size_t>(batch, 2);
  for (size_t at = 0; at < data.rows;) {
    auto rows = std::min(batch, data.rows - at);
    if (data.rows - at - rows == 1) rows += 1; // no lone row for batch norm
    auto logits = net.forward(sub, data.row(at), rows, batch_stats);
    if (!logits) return logits.error();
    for (size_t r = 0; r < rows; ++r) {
      auto* l = logits->data() + r * classes;
      auto best = static_cast<int64_t>(std::max_element(l, l + classes) - l);
      if (best == data.labels[at + r]) ++right;
    }
    at += rows;
  }
  return static_cast<double>(right) / static_cast<double>(data.rows);
}

void split(const image_set& data, size_t validation, uint64_t seed,
           image_set& train_part, image_set& validation_part) {
  std::vector<size_t> order(data.rows);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng{seed};
  std::shuffle(order.begin(), order.end(), rng);
  validation = std::min(validation, data.rows);
  std::vector<size_t> val(order.begin(),
                          order.begin() + static_cast<ptrdiff_t>(validation));
  std::vector<size_t> tr(order.begin() + static_cast<ptrdiff_t>(validation),
                         order.end());
  std::sort(val.begin(), val.end());
  std::sort(tr.begin(), tr.end());
  train_part = take(data, tr);
  validation_part = take(data, val);
}

} // namespace troupe::nas
