#include "actors/training/sparse_job.hpp"

#include "actors/models/sparse_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <unordered_map>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::training {

caf::expected<sparse_data> prepare_sparse_data(const job_config& cfg) {
  // the hashing is fitted on a sample (a whole file of few rows), then
  // every row is hashed as the file streams by: only keys are held
  auto sample = tabular::sample_csv(cfg.train, fit_sample_rows, cfg.seed);
  if (!sample) return sample.error();
  auto transform = hashed_transform::fit(*sample, cfg.target, cfg.features);
  if (!transform) return transform.error();
  *sample = tabular::table{};
  auto rows = transform->transform_file(cfg.train);
  if (!rows) return rows.error();
  sparse_data out{std::move(*transform), {}, {}};
  if (!cfg.valid.empty()) {
    auto vr = out.transform.transform_file(cfg.valid);
    if (!vr) return vr.error();
    // shuffled (by the seed): files often come sorted, by time, key or
    // label, and SGD over sorted rows learns the last block's
    out.train = std::move(*rows);
    std::mt19937_64 rng{cfg.seed};
    std::shuffle(out.train.begin(), out.train.end(), rng);
    out.valid = std::move(*vr);
  } else {
    std::vector<size_t> order(rows->size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::mt19937_64 rng{cfg.seed};
    std::shuffle(order.begin(), order.end(), rng);
    auto n_valid = static_cast<size_t>(cfg.valid_fraction * order.size());
    for (size_t i = 0; i < order.size(); ++i)
      (i < n_valid ? out.valid : out.train)
          .push_back(std::move((*rows)[order[i]]));
  }
  if (out.train.empty() || out.valid.empty())
    return make_error(errc::invalid_argument,
                      cfg.train + ": " + std::to_string(out.train.size()) +
                          " training and " + std::to_string(out.valid.size()) +
                          " validation rows: both need some");
  return out;
}

nlohmann::json validate_sparse(const sparse_data& data,
                               const sparse_outcome& out) {
  std::unordered_map<uint64_t, float> by_key;
  for (size_t i = 0; i < out.keys.size(); ++i)
    by_key.emplace(out.keys[i], out.weights[i]);
  std::vector<float> y, p;
  auto weight = [&](uint64_t k) {
    auto w = by_key.find(k);
    return w == by_key.end() ? 0.f : w->second;
  };
  for (auto& r : data.valid) {
    y.push_back(r.label);
    p.push_back(predict_with(r, weight));
  }
  nlohmann::json metrics;
  for (auto name : {"logloss", "auc", "ks"}) {
    auto v = tabular::evaluate(name, y, p, 2);
    metrics[name] = v ? nlohmann::json(*v) : nlohmann::json();
  }
  return metrics;
}

caf::expected<nlohmann::json> write_sparse_results(const job_config& cfg,
                                                   const std::string& out_dir,
                                                   const sparse_data& data,
                                                   const sparse_outcome& out,
                                                   double elapsed_seconds) {
  models::sparse_model trained{data.transform, out.keys, out.weights};
  auto nonzero = trained.size();
  auto model = trained.to_json();
  if (auto err = write_json_file(out_dir + "/model.json", model)) return err;
  auto secs = out.train_seconds;
  nlohmann::json summary{
      {"family", cfg.family},
      {"config", cfg.source},
      {"train_rows", data.train.size()},
      {"valid_rows", data.valid.size()},
      {"workers", cfg.workers},
      {"shards", cfg.shards},
      {"consistency", cfg.consistency},
      {"batch", cfg.batch},
      {"epochs", cfg.epochs},
      {"optimizer", to_string(cfg.model.optimizer)},
      {"examples", out.examples},
      {"train_loss",
       out.examples ? out.loss / static_cast<double>(out.examples) : 0.0},
      {"train_seconds", secs},
      {"examples_per_second",
       secs > 0 ? static_cast<double>(out.examples - out.examples_before) / secs
                : 0.0},
      {"keys", out.keys.size()},
      {"resumed_from_step", out.start_step},
      {"attempts", out.attempts},
      {"nonzero_weights", nonzero},
      {"valid", validate_sparse(data, out)},
      {"valid_history", out.history},
      {"usage", out.usage},
      {"data_wait_share", out.data_wait_share},
      {"elapsed_seconds", elapsed_seconds},
      {"model", out_dir + "/model.json"}};
  if (auto err = write_json_file(out_dir + "/summary.json", summary))
    return err;
  return summary;
}

} // namespace troupe::training
