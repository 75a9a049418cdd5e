#include "actors/training/sparse_job.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <caf/all.hpp>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/training/ps_shard.hpp"
#include "actors/training/ps_worker.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

using steady = std::chrono::steady_clock;

caf::error write_json(const std::string& path, const nlohmann::json& j) {
  return write_json_file(path, j);
}

} // namespace

caf::expected<nlohmann::json> run_sparse_job(caf::actor_system& sys,
                                             const job_config& cfg,
                                             const std::string& out_dir) {
  auto start = steady::now();
  auto table = tabular::read_csv(cfg.train);
  if (!table) return table.error();
  auto transform = hashed_transform::fit(*table, cfg.target, cfg.features);
  if (!transform) return transform.error();
  auto rows = transform->transform(*table);
  if (!rows) return rows.error();
  std::vector<sparse_row> train, valid;
  if (!cfg.valid.empty()) {
    auto vt = tabular::read_csv(cfg.valid);
    if (!vt) return vt.error();
    auto vr = transform->transform(*vt);
    if (!vr) return vr.error();
    train = std::move(*rows);
    valid = std::move(*vr);
  } else {
    std::vector<size_t> order(rows->size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::mt19937_64 rng{cfg.seed};
    std::shuffle(order.begin(), order.end(), rng);
    auto n_valid = static_cast<size_t>(cfg.valid_fraction * order.size());
    for (size_t i = 0; i < order.size(); ++i)
      (i < n_valid ? valid : train).push_back((*rows)[order[i]]);
  }
  if (train.empty() || valid.empty())
    return make_error(errc::invalid_argument,
                      cfg.train + ": " + std::to_string(train.size()) +
                          " training and " + std::to_string(valid.size()) +
                          " validation rows: both need some");
  // workers take turns at the training rows; shards cut the key space
  std::vector<std::vector<sparse_row>> parts(cfg.workers);
  for (size_t i = 0; i < train.size(); ++i)
    parts[i % cfg.workers].push_back(train[i]);
  std::vector<ps_shard_actor> shards;
  for (uint32_t s = 0; s < cfg.shards; ++s)
    shards.push_back(spawn_ps_shard(sys, {s, cfg.shards, cfg.model}));
  std::vector<std::string> names;
  for (uint32_t w = 0; w < cfg.workers; ++w)
    names.push_back("worker-" + std::to_string(w));
  auto gate = spawn_ps_gate(sys, names, cfg.staleness);
  std::vector<ps_worker_actor> workers;
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    ps_worker_config wc;
    wc.name = names[w];
    wc.rows =
        std::make_shared<const std::vector<sparse_row>>(std::move(parts[w]));
    wc.batch = cfg.batch;
    wc.epochs = cfg.epochs;
    wc.shards = shards;
    wc.gate = gate;
    workers.push_back(spawn_ps_worker(sys, wc));
  }
  auto trained_at = steady::now();
  caf::scoped_actor self{sys};
  caf::error failure;
  uint64_t seen = 0;
  double loss = 0;
  for (auto& w : workers)
    self->send(w, ps_train_atom::value);
  for (size_t i = 0; i < workers.size(); ++i)
    self->receive(
        [&](uint64_t n, double l) {
          seen += n;
          loss += l;
        },
        [&](caf::error& err) {
          if (!failure) failure = std::move(err);
        });
  auto train_s =
      std::chrono::duration<double>(steady::now() - trained_at).count();
  std::vector<uint64_t> keys;
  std::vector<float> weights;
  if (!failure)
    for (auto& s : shards)
      self->request(s, caf::infinite, ps_dump_atom::value)
          .receive(
              [&](const envelope& e) {
                (void)e.visit<schema::SparseValues>([&](auto r) {
                  for (unsigned i = 0; i < r.getKeys().size(); ++i) {
                    keys.push_back(r.getKeys()[i]);
                    weights.push_back(r.getValues()[i]);
                  }
                  return true;
                });
              },
              [&](caf::error& err) { failure = std::move(err); });
  for (auto& w : workers)
    self->send_exit(w, caf::exit_reason::user_shutdown);
  for (auto& s : shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  self->send_exit(gate, caf::exit_reason::user_shutdown);
  if (failure) return failure;
  // validation with the trained weights
  std::unordered_map<uint64_t, float> by_key;
  for (size_t i = 0; i < keys.size(); ++i)
    by_key.emplace(keys[i], weights[i]);
  std::vector<float> y, p;
  for (auto& r : valid) {
    double m = 0;
    if (auto b = by_key.find(bias_key); b != by_key.end()) m += b->second;
    for (auto k : r.keys)
      if (auto w = by_key.find(k); w != by_key.end()) m += w->second;
    y.push_back(r.label);
    p.push_back(static_cast<float>(1 / (1 + std::exp(-m))));
  }
  nlohmann::json metrics;
  for (auto name : {"logloss", "auc", "ks"}) {
    auto v = tabular::evaluate(name, y, p, 2);
    metrics[name] = v ? nlohmann::json(*v) : nlohmann::json();
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return make_error(errc::io_failure,
                      "cannot create '" + out_dir + "': " + ec.message());
  nlohmann::json kept_keys = nlohmann::json::array(),
                 kept_values = nlohmann::json::array();
  for (size_t i = 0; i < keys.size(); ++i)
    if (weights[i] != 0.f) {
      kept_keys.push_back(keys[i]);
      kept_values.push_back(weights[i]);
    }
  nlohmann::json model_json{{"format", "troupe.sparse_lr"},
                            {"version", 1},
                            {"transform", transform->to_json()},
                            {"keys", std::move(kept_keys)},
                            {"weights", std::move(kept_values)}};
  if (auto err = write_json(out_dir + "/model.json", model_json)) return err;
  nlohmann::json summary{
      {"family", cfg.family},
      {"config", cfg.source},
      {"train_rows", train.size()},
      {"valid_rows", valid.size()},
      {"workers", cfg.workers},
      {"shards", cfg.shards},
      {"consistency", cfg.consistency},
      {"batch", cfg.batch},
      {"epochs", cfg.epochs},
      {"optimizer", to_string(cfg.model.optimizer)},
      {"examples", seen},
      {"train_loss", seen ? loss / static_cast<double>(seen) : 0.0},
      {"train_seconds", train_s},
      {"examples_per_second", train_s > 0 ? seen / train_s : 0.0},
      {"keys", keys.size()},
      {"nonzero_weights", model_json["keys"].size()},
      {"valid", metrics},
      {"elapsed_seconds",
       std::chrono::duration<double>(steady::now() - start).count()},
      {"model", out_dir + "/model.json"}};
  if (auto err = write_json(out_dir + "/summary.json", summary)) return err;
  return summary;
}

} // namespace troupe::training
