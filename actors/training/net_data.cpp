#include "actors/training/net_data.hpp"

#include <cmath>
#include <numeric>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/idx.hpp"
#include "runtime/errors.hpp"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

caf::error read_table(const job_config& cfg, net_data& d) {
  auto table = tabular::read_csv(cfg.train);
  if (!table) return table.error();
  auto ds = tabular::make_dataset(*table, cfg.target);
  if (!ds) return ds.error();
  d.task = ds->task;
  d.classes = ds->classes.size();
  d.train = std::move(ds->X);
  d.prep = ds->prep;
  if (!cfg.valid.empty()) {
    auto vt = tabular::read_csv(cfg.valid);
    if (!vt) return vt.error();
    std::vector<std::string> warnings;
    auto v = ds->prep.transform_labeled(*vt, warnings);
    if (!v) return v.error();
    d.valid = std::move(*v);
  } else {
    auto split = tabular::train_test_split(d.train.labels, d.task, cfg.seed,
                                           cfg.valid_fraction);
    if (!split) return split.error();
    d.valid = tabular::take_rows(d.train, split->test);
    d.train = tabular::take_rows(d.train, split->train);
  }
  // a net takes numbers: a missing cell is named, not guessed
  for (auto* m : {&d.train, &d.valid})
    for (size_t r = 0; r < m->rows; ++r)
      for (size_t c = 0; c < m->cols; ++c)
        if (std::isnan(m->at(r, c)))
          return invalid((m == &d.train       ? cfg.train
                          : cfg.valid.empty() ? cfg.train
                                              : cfg.valid) +
                         ": column '" + m->feature_names[c] +
                         "' has a missing (or unseen categorical) value; a "
                         "net takes complete rows (family " +
                         cfg.family + ")");
  return caf::none;
}

caf::error read_images(const job_config& cfg, net_data& d) {
  tabular::image_set tr, te;
  if (auto err = tabular::read_fashion_mnist(cfg.images, tr, te)) return err;
  auto to_matrix = [](const tabular::image_set& s) {
    tabular::matrix m;
    m.rows = s.rows;
    m.cols = s.features();
    m.values = s.pixels;
    m.labels.reserve(s.rows);
    for (auto l : s.labels)
      m.labels.push_back(static_cast<float>(l));
    for (size_t c = 0; c < m.cols; ++c)
      m.feature_names.push_back("pixel" + std::to_string(c));
    return m;
  };
  d.train = to_matrix(tr);
  d.valid = to_matrix(te);
  if (tr.height != tr.width && !cfg.net.conv.empty())
    return invalid(cfg.source + ": [model] conv needs square images, not " +
                   std::to_string(tr.height) + " x " +
                   std::to_string(tr.width));
  d.side = tr.height;
  d.task = tabular::task_kind::multiclass;
  d.classes = tabular::fashion_classes().size();
  return caf::none;
}

} // namespace

caf::error read_net_data(const job_config& cfg, net_data& out) {
  if (auto err =
          cfg.images.empty() ? read_table(cfg, out) : read_images(cfg, out))
    return err;
  // deal shuffled rows: a file sorted by label would give each worker one
  // class
  out.train =
      tabular::take_rows(out.train, deal_order(out.train.rows, cfg.seed));
  return caf::none;
}

void column_scaling(const tabular::matrix& m, std::vector<float>& center,
                    std::vector<float>& scale) {
  center.assign(m.cols, 0.f);
  scale.assign(m.cols, 1.f);
  if (m.rows == 0) return;
  for (size_t c = 0; c < m.cols; ++c) {
    double sum = 0, sq = 0;
    for (size_t r = 0; r < m.rows; ++r) {
      double v = m.at(r, c);
      sum += v;
      sq += v * v;
    }
    double mean = sum / static_cast<double>(m.rows);
    double var = sq / static_cast<double>(m.rows) - mean * mean;
    center[c] = static_cast<float>(mean);
    scale[c] = static_cast<float>(var > 1e-12 ? std::sqrt(var) : 1.0);
  }
}

std::vector<size_t> deal_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  uint64_t state = seed;
  for (size_t i = n; i-- > 1;) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::swap(order[i], order[z % (i + 1)]);
  }
  return order;
}

} // namespace troupe::training
