// The `knn` estimator family: k-nearest neighbours by brute force. Its one
// step stores the training rows (a later step keeps them: the matrix is the
// same at every step); predicting scans every training row for every query
// row, so that the answer is exact whatever the size, with the training
// rows kept in blocks of columns (each block's distances to a query
// vectorize across its rows) and query rows shared by ctx.threads threads.
//
// Neighbours are the k rows of smallest distance, ties going to the row
// that comes first in the training matrix. With `weights = distance` a
// neighbour counts 1 / its distance, and when some neighbours are at
// distance 0 only those count (as scikit-learn does). A class's probability
// is its (weighted) share of the neighbours, smoothed by a small epsilon so
// that no class gets probability 0; a value is the (weighted) mean. A cell
// that is NaN in the query or the training row adds nothing to a distance.

#include <algorithm>
#include <cmath>
#include <limits>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/estimator_support.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

namespace {

using tabular::task_kind;

constexpr const char* family_name = "knn";
constexpr uint32_t format_version = 1;
constexpr const char* saved_what = "saved knn estimator";

/// Training rows per block of the column-major copy.
constexpr size_t train_block = 256;
/// Query rows one thread takes at a time.
constexpr size_t query_block = 32;
/// Added to every class's share before renormalising.
constexpr double smoothing = 1e-3;
/// Floats per list of a saved estimator's training values (whole rows).
constexpr size_t saved_block_floats = size_t{1} << 24;

struct knn_params {
  uint32_t neighbors = 5;
  bool by_distance = false;
  bool euclidean = true;
};

caf::expected<knn_params> read_params(const tabular::config& cfg) {
  detail::param_reader r{cfg, family_name};
  knn_params p;
  auto k = r.integer("n_neighbors", p.neighbors, 1, 100000);
  if (!k) return k.error();
  auto w = r.choice("weights", "uniform", {"uniform", "distance"});
  if (!w) return w.error();
  auto m = r.choice("metric", "euclidean", {"manhattan", "euclidean"});
  if (!m) return m.error();
  if (auto err = r.unknown()) return err;
  p.neighbors = static_cast<uint32_t>(*k);
  p.by_distance = *w == "distance";
  p.euclidean = *m == "euclidean";
  return p;
}

/// A neighbour candidate: (distance as compared, training row).
using candidate = std::pair<float, uint64_t>;

class knn_estimator final : public estimator {
public:
  knn_estimator(knn_params params, estimator_context ctx)
      : params_(params), ctx_(std::move(ctx)) {}

  caf::error fit_step(const tabular::matrix& train) override {
    if (rows_ == 0) {
      if (auto err = detail::check_train(train, ctx_, family_name)) return err;
      rows_ = train.rows;
      cols_ = train.cols;
      labels_ = train.labels;
      build_blocks(train.values);
    } else if (auto err = detail::check_columns(train, cols_, family_name)) {
      return err;
    }
    ++steps_;
    return caf::none;
  }

  uint64_t steps() const override { return steps_; }

  caf::expected<std::vector<float>>
  predict(const tabular::matrix& m) const override {
    if (rows_ == 0)
      return make_error(troupe::errc::invalid_argument,
                        std::string{family_name} +
                            ": predict before the first training step");
    if (auto err = detail::check_columns(m, cols_, family_name)) return err;
    auto width = score_width(ctx_);
    std::vector<float> out(m.rows * width);
    auto blocks = (m.rows + query_block - 1) / query_block;
    detail::parallel_blocks(blocks, ctx_.threads, [&](size_t b) {
      auto begin = b * query_block;
      auto end = std::min(m.rows, begin + query_block);
      std::vector<std::vector<candidate>> heaps(end - begin);
      search(m, begin, end, heaps);
      for (size_t q = begin; q < end; ++q)
        score(heaps[q - begin], out.data() + q * width);
    });
    return out;
  }

  caf::expected<std::vector<uint8_t>> save() const override {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::KnnEstimator>();
    root.setVersion(format_version);
    root.setTask(detail::to_schema(ctx_.task));
    root.setClasses(static_cast<uint32_t>(classes()));
    root.setNeighbors(params_.neighbors);
    root.setWeights(params_.by_distance ? schema::KnnWeights::DISTANCE
                                        : schema::KnnWeights::UNIFORM);
    root.setMetric(params_.euclidean ? schema::KnnMetric::EUCLIDEAN
                                     : schema::KnnMetric::MANHATTAN);
    root.setSteps(steps_);
    root.setRows(rows_);
    root.setFeatures(static_cast<uint32_t>(cols_));
    auto per_list = cols_ == 0
                        ? size_t{1}
                        : std::max<size_t>(1, saved_block_floats / cols_);
    auto lists = rows_ == 0 ? size_t{0} : (rows_ + per_list - 1) / per_list;
    auto values = root.initValues(static_cast<unsigned>(lists));
    for (size_t l = 0; l < lists; ++l) {
      auto begin = l * per_list * cols_;
      auto end = std::min(rows_, (l + 1) * per_list) * cols_;
      auto list = values.init(static_cast<unsigned>(l),
                              static_cast<unsigned>(end - begin));
      for (size_t i = begin; i < end; ++i)
        list.set(static_cast<unsigned>(i - begin), value(i / cols_, i % cols_));
    }
    auto labels = root.initLabels(static_cast<unsigned>(labels_.size()));
    for (size_t i = 0; i < labels_.size(); ++i)
      labels.set(static_cast<unsigned>(i), labels_[i]);
    return checkpoint_bytes(message);
  }

  /// Reads save()'s training rows into this estimator.
  caf::error restore(schema::KnnEstimator::Reader in) {
    auto bad = [](const std::string& why) {
      return make_error(models::errc::bad_model,
                        std::string{saved_what} + ": " + why);
    };
    steps_ = in.getSteps();
    auto rows = in.getRows();
    auto cols = size_t{in.getFeatures()};
    if (rows == 0) return caf::none; // never trained
    if (cols == 0) return bad("no features");
    std::vector<float> values;
    values.reserve(rows * cols);
    for (auto list : in.getValues())
      for (auto x : list)
        values.push_back(x);
    if (values.size() != rows * cols || in.getLabels().size() != rows)
      return bad(std::to_string(values.size()) + " values and " +
                 std::to_string(in.getLabels().size()) + " labels for " +
                 std::to_string(rows) + " rows of " + std::to_string(cols) +
                 " features");
    labels_.clear();
    labels_.reserve(rows);
    for (auto y : in.getLabels())
      labels_.push_back(y);
    auto k = static_cast<float>(classes());
    if (tabular::is_classification(ctx_.task))
      for (auto y : labels_)
        if (!(y >= 0 && y < k && std::floor(y) == y))
          return bad("a label is not a class index below " +
                     std::to_string(classes()));
    rows_ = rows;
    cols_ = cols;
    build_blocks(values);
    return caf::none;
  }

private:
  size_t classes() const {
    return tabular::is_classification(ctx_.task) ? ctx_.classes : 0;
  }

  /// Keeps the training rows `values` (rows_ x cols_, row-major) column by
  /// column in blocks of rows, the last block padded with rows of zeros
  /// that search() never reports.
  void build_blocks(const std::vector<float>& values) {
    auto blocks = (rows_ + train_block - 1) / train_block;
    blocked_.assign(blocks * cols_ * train_block, 0.0f);
    has_nan_ = std::any_of(values.begin(), values.end(),
                           [](float x) { return std::isnan(x); });
    for (size_t i = 0; i < rows_; ++i) {
      auto* block = blocked_.data() + (i / train_block) * cols_ * train_block;
      for (size_t j = 0; j < cols_; ++j)
        block[j * train_block + i % train_block] = values[i * cols_ + j];
    }
  }

  /// Training row `i`'s value in column `j`.
  float value(size_t i, size_t j) const {
    return blocked_[(i / train_block) * cols_ * train_block + j * train_block +
                    i % train_block];
  }

  /// Fills `heaps` with the neighbours of query rows [begin, end) of `m`,
  /// each a max-heap of at most k candidates.
  void search(const tabular::matrix& m, size_t begin, size_t end,
              std::vector<std::vector<candidate>>& heaps) const {
    auto k = std::min<size_t>(params_.neighbors, rows_);
    for (auto& h : heaps)
      h.reserve(k + 1);
    constexpr auto inf = std::numeric_limits<float>::infinity();
    float dist[train_block];
    auto blocks = (rows_ + train_block - 1) / train_block;
    for (size_t b = 0; b < blocks; ++b) {
      auto* block = blocked_.data() + b * cols_ * train_block;
      auto first = b * train_block;
      auto count = std::min(train_block, rows_ - first);
      for (size_t q = begin; q < end; ++q) {
        std::fill(dist, dist + train_block, 0.0f);
        auto* x = m.row(q);
        for (size_t j = 0; j < cols_; ++j) {
          auto v = x[j];
          if (std::isnan(v)) continue;
          auto* col = block + j * train_block;
          // the loops without NaN checks vectorize
          if (params_.euclidean && !has_nan_) {
            for (size_t t = 0; t < train_block; ++t) {
              auto d = v - col[t];
              dist[t] += d * d;
            }
          } else if (!has_nan_) {
            for (size_t t = 0; t < train_block; ++t)
              dist[t] += std::fabs(v - col[t]);
          } else {
            for (size_t t = 0; t < train_block; ++t) {
              auto d = std::isnan(col[t]) ? 0.0f : v - col[t];
              dist[t] += params_.euclidean ? d * d : std::fabs(d);
            }
          }
        }
        auto& heap = heaps[q - begin];
        for (size_t t = 0; t < count; ++t) {
          // inf - inf in a distance is NaN: the farthest there is
          auto dt = std::isnan(dist[t]) ? inf : dist[t];
          candidate c{dt, first + t};
          if (heap.size() < k) {
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end());
          } else if (c < heap.front()) {
            std::pop_heap(heap.begin(), heap.end());
            heap.back() = c;
            std::push_heap(heap.begin(), heap.end());
          }
        }
      }
    }
  }

  /// The scores of one query row from its neighbours.
  void score(std::vector<candidate>& heap, float* out) const {
    std::sort_heap(heap.begin(), heap.end()); // nearest first
    std::vector<double> weight(heap.size(), 1.0);
    if (params_.by_distance) {
      bool exact = heap.front().first == 0.0f;
      for (size_t i = 0; i < heap.size(); ++i) {
        double d = heap[i].first;
        if (params_.euclidean) d = std::sqrt(d);
        if (exact)
          weight[i] = d == 0 ? 1.0 : 0.0;
        else
          weight[i] = 1.0 / d;
      }
    }
    double total = 0;
    for (auto w : weight)
      total += w;
    if (!(total > 0 && std::isfinite(total))) { // overflowing distances
      std::fill(weight.begin(), weight.end(), 1.0);
      total = static_cast<double>(weight.size());
    }
    if (ctx_.task == task_kind::regression) {
      double sum = 0;
      for (size_t i = 0; i < heap.size(); ++i)
        sum += weight[i] * labels_[heap[i].second];
      out[0] = static_cast<float>(sum / total);
      return;
    }
    std::vector<double> share(ctx_.classes, 0.0);
    for (size_t i = 0; i < heap.size(); ++i)
      share[static_cast<size_t>(labels_[heap[i].second])] += weight[i];
    auto norm = 1.0 + smoothing * static_cast<double>(ctx_.classes);
    auto p = [&](size_t c) { return (share[c] / total + smoothing) / norm; };
    if (ctx_.task == task_kind::binary) {
      out[0] = static_cast<float>(p(1));
      return;
    }
    for (size_t c = 0; c < ctx_.classes; ++c)
      out[c] = static_cast<float>(p(c));
  }

  knn_params params_;
  estimator_context ctx_;
  uint64_t steps_ = 0;
  size_t rows_ = 0;
  size_t cols_ = 0;
  std::vector<float> labels_;
  /// The training rows (see build_blocks()).
  std::vector<float> blocked_;
  bool has_nan_ = false; ///< whether a training cell is NaN
};

caf::expected<std::unique_ptr<estimator>>
make_knn(const tabular::config& cfg, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  auto p = read_params(cfg);
  if (!p) return p.error();
  return std::unique_ptr<estimator>{new knn_estimator(*p, ctx)};
}

caf::expected<std::unique_ptr<estimator>>
load_knn(const std::vector<uint8_t>& bytes, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  return read_checkpoint<schema::KnnEstimator>(
      bytes, saved_what,
      [&](schema::KnnEstimator::Reader in)
          -> caf::expected<std::unique_ptr<estimator>> {
        auto bad = [](const std::string& why) {
          return detail::bad_saved(saved_what, why);
        };
        if (auto err = detail::check_saved(in, format_version, ctx, saved_what))
          return err;
        if (in.getNeighbors() == 0) return bad("0 neighbours");
        if (static_cast<uint16_t>(in.getWeights()) > 1 ||
            static_cast<uint16_t>(in.getMetric()) > 1)
          return bad("unknown weights or metric");
        knn_params p;
        p.neighbors = in.getNeighbors();
        p.by_distance = in.getWeights() == schema::KnnWeights::DISTANCE;
        p.euclidean = in.getMetric() == schema::KnnMetric::EUCLIDEAN;
        auto est = std::make_unique<knn_estimator>(p, ctx);
        if (auto err = est->restore(in)) return err;
        return std::unique_ptr<estimator>{std::move(est)};
      });
}

} // namespace

estimator_family knn_family() {
  estimator_family f;
  f.name = family_name;
  f.max_steps = 1;
  f.takes_nan = false;
  f.native_categorical = false;
  f.make = make_knn;
  f.load = load_knn;
  return f;
}

} // namespace troupe::models
