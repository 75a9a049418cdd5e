#include "actors/training/job_config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "actors/models/pipeline_schedule.hpp"
#include "actors/tabular/idx.hpp"
#include "actors/training/job_config_reader.hpp"
#include "actors/training/step_clock.hpp"
#include "runtime/errors.hpp"
#include "runtime/toml_text.hpp"

namespace troupe::training {

using detail::bad;
using detail::reader;
using detail::unknown;

caf::expected<job_config> parse_job_config(const std::string& text,
                                           const std::string& origin) {
  if (auto err = check_toml_text(text, origin)) return err;
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return bad(origin, e.source().begin.line,
               "invalid TOML: " + std::string{e.description()});
  }
  job_config cfg;
  cfg.source = origin;
  reader r{origin};
  auto base = std::filesystem::path{origin}.parent_path();
  auto path_of = [&](const std::string& p) {
    return std::filesystem::path{p}.is_absolute() || base.empty()
               ? p
               : (base / p).string();
  };
  bool has_family = false;
  if (auto* f = doc.get("family")) {
    auto line = f->source().begin.line;
    auto v = r.text(*f, "family", line);
    if (!v) return v.error();
    if (*v != "sparse-lr" && *v != "xgboost" && *v != "mlp" &&
        *v != "torchscript" && *v != "pipeline" && *v != "tensor" &&
        *v != "graphsage")
      return bad(origin, line,
                 "unknown family '" + *v +
                     "' (expected sparse-lr, xgboost, mlp, torchscript, "
                     "pipeline, tensor or graphsage)");
    cfg.family = *v;
    has_family = true;
  }
  const bool boosting = cfg.family == "xgboost";
  // a user's TorchScript module trains as the mlp family's net does
  const bool script = cfg.family == "torchscript";
  // a pipeline trains the mlp family's net cut into stages
  const bool pipe = cfg.family == "pipeline";
  // a classifier whose layers are split over the workers
  const bool tensor = cfg.family == "tensor";
  const bool neural = cfg.family == "mlp" || script || pipe || tensor;
  // GraphSAGE on a graph partitioned over shard actors
  const bool graph = cfg.family == "graphsage";
  if (boosting || neural) cfg.shards = 0;
  if (graph) {
    cfg.shards = 2;
    cfg.batch = 512;
    cfg.net.lr = 0.01;
  }
  // a key of the other family is named as such
  auto not_here = [&](size_t line, const std::string& name) {
    return bad(origin, line,
               "'" + name + "' is not a setting of family " + cfg.family);
  };
  auto err = r.each(
      doc, "",
      [&](const std::string& k, const std::string& name, const toml::node& n,
          size_t line) -> caf::error {
        if (k == "family") return caf::none; // read first, above
        auto* t = n.as_table();
        if (!t &&
            (k == "data" || k == "features" || k == "model" || k == "run"))
          return bad(origin, line, "'" + k + "' must be a table");
        if (k == "data" && graph)
          return detail::read_graph_data(r, *t, cfg, path_of);
        if (k == "model" && graph) return detail::read_graph_model(r, *t, cfg);
        if (k == "features" && graph)
          return bad(origin, line,
                     "[features] is for sparse-lr; a graphsage job's "
                     "features are its nodes'");
        if (k == "data")
          return r.each(*t, k,
                        [&](const std::string& k, const std::string& name,
                            const toml::node& n, size_t line) -> caf::error {
                          if (k == "valid_fraction") {
                            auto v = r.number(n, name, line);
                            if (!v) return v.error();
                            if (!(*v > 0 && *v < 1))
                              return bad(origin, line,
                                         "'" + name + "' must be in (0, 1)");
                            cfg.valid_fraction = *v;
                            return caf::none;
                          }
                          if (k == "images") {
                            if (!neural) return not_here(line, name);
                            auto v = r.text(n, name, line);
                            if (!v) return v.error();
                            cfg.images = path_of(*v);
                            return caf::none;
                          }
                          if (k != "train" && k != "valid" && k != "target")
                            return unknown(origin, line, name,
                                           neural ? "train, valid, target, "
                                                    "valid_fraction or images"
                                                  : "train, valid, target or "
                                                    "valid_fraction");
                          auto v = r.text(n, name, line);
                          if (!v) return v.error();
                          (k == "train"   ? cfg.train
                           : k == "valid" ? cfg.valid
                                          : cfg.target) =
                              k == "target" ? *v : path_of(*v);
                          return caf::none;
                        });
        if (k == "features" && (boosting || neural))
          return bad(origin, line,
                     "[features] is for sparse-lr; family " + cfg.family +
                         " takes the columns as they are");
        if (k == "model" && neural)
          return r.each(
              *t, k,
              [&](const std::string& k, const std::string& name,
                  const toml::node& n, size_t line) -> caf::error {
                bool shared = k == "lr" || k == "weight_decay";
                if (script && (k == "module" || k == "loss")) {
                  auto v = r.text(n, name, line);
                  if (!v) return v.error();
                  if (v->empty())
                    return bad(origin, line, "'" + name + "' is empty");
                  (k == "module" ? cfg.module : cfg.loss) =
                      k == "module" ? path_of(*v) : *v;
                  return caf::none;
                }
                if (script && !shared)
                  return k == "layers" || k == "width" || k == "activation" ||
                                 k == "dropout" || k == "conv" ||
                                 k == "recompute"
                             ? not_here(line, name)
                             : unknown(origin, line, name,
                                       "module, loss, lr or weight_decay");
                if (!script && (k == "module" || k == "loss"))
                  return not_here(line, name);
                if (pipe && (k == "dropout" || k == "conv"))
                  return not_here(line, name);
                if (tensor &&
                    (k == "layers" || k == "activation" || k == "dropout" ||
                     k == "conv" || k == "recompute"))
                  return not_here(line, name);
                if (!tensor && (k == "hidden" || k == "blocks"))
                  return not_here(line, name);
                if (k == "hidden" || k == "blocks") {
                  auto v = k == "hidden" ? r.count(n, name, line, 1, 1u << 16)
                                         : r.count(n, name, line, 0, 64);
                  if (!v) return v.error();
                  (k == "hidden" ? cfg.net.hidden : cfg.net.blocks) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "activation") {
                  auto v = r.text(n, name, line);
                  if (!v) return v.error();
                  if (*v != "relu" && *v != "gelu" && *v != "tanh")
                    return bad(origin, line,
                               "'" + name + "' = '" + *v +
                                   "' (expected relu, gelu or tanh)");
                  cfg.net.activation = *v;
                  return caf::none;
                }
                if (k == "recompute") {
                  auto v = r.flag(n, name, line);
                  if (!v) return v.error();
                  cfg.net.recompute = *v;
                  return caf::none;
                }
                if (k == "conv") {
                  auto* a = n.as_array();
                  cfg.net.conv.clear();
                  if (a)
                    for (auto& el : *a) {
                      auto v = el.value<int64_t>();
                      if (!v || *v < 1 || *v > 1024) {
                        a = nullptr;
                        break;
                      }
                      cfg.net.conv.push_back(static_cast<uint32_t>(*v));
                    }
                  if (!a || cfg.net.conv.size() > 4)
                    return bad(origin, line,
                               "'" + name +
                                   "' is not a list of at most 4 channel "
                                   "counts in 1..1024 (conv = [16, 32])");
                  return caf::none;
                }
                if (k == "layers" || k == "width") {
                  auto v = k == "layers" ? r.count(n, name, line, 1, 16)
                                         : r.count(n, name, line, 1, 4096);
                  if (!v) return v.error();
                  (k == "layers" ? cfg.net.layers : cfg.net.width) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                double* slot = k == "dropout"        ? &cfg.net.dropout
                               : k == "lr"           ? &cfg.net.lr
                               : k == "weight_decay" ? &cfg.net.weight_decay
                                                     : nullptr;
                if (!slot)
                  return unknown(origin, line, name,
                                 tensor ? "width, hidden, blocks, lr or "
                                          "weight_decay"
                                        : "layers, width, activation, "
                                          "dropout, lr, weight_decay, conv "
                                          "or recompute");
                auto v = r.number(n, name, line);
                if (!v) return v.error();
                bool ok = k == "dropout" ? (*v >= 0 && *v < 0.95)
                          : k == "lr"    ? (*v > 0 && *v <= 1)
                                         : (*v >= 0 && *v <= 1);
                if (!ok || !std::isfinite(*v))
                  return bad(origin, line,
                             "'" + name + "' = " + std::to_string(*v) +
                                 " is out of range" +
                                 (k == "dropout" ? " [0, 0.95)"
                                  : k == "lr"    ? " (0, 1]"
                                                 : " [0, 1]"));
                *slot = *v;
                return caf::none;
              });
        if (k == "model" && boosting)
          return r.each(
              *t, k,
              [&](const std::string& k, const std::string& name,
                  const toml::node& n, size_t line) -> caf::error {
                if (k == "rounds") {
                  auto v = r.count(n, name, line, 1, 1000000);
                  if (!v) return v.error();
                  cfg.rounds = static_cast<uint32_t>(*v);
                  return caf::none;
                }
                static const char* known[] = {"eta",
                                              "max_depth",
                                              "min_child_weight",
                                              "subsample",
                                              "colsample_bytree",
                                              "colsample_bylevel",
                                              "lambda",
                                              "alpha",
                                              "gamma",
                                              "max_bin"};
                if (std::find(std::begin(known), std::end(known), k) ==
                    std::end(known))
                  return unknown(origin, line, name,
                                 "rounds, eta, max_depth, "
                                 "min_child_weight, subsample, "
                                 "colsample_bytree, colsample_bylevel, "
                                 "lambda, alpha, gamma or max_bin");
                auto v = r.number(n, name, line);
                if (!v) return v.error();
                bool whole = k == "max_depth" || k == "max_bin";
                bool fraction = k == "subsample" || k == "eta" ||
                                k.rfind("colsample", 0) == 0;
                if (!std::isfinite(*v) || *v < 0 ||
                    (whole && (*v != std::floor(*v) || *v > 65536 ||
                               (k == "max_bin" && *v < 2))) ||
                    (fraction && (*v <= 0 || *v > 1)))
                  return bad(origin, line,
                             "'" + name + "' = " + std::to_string(*v) +
                                 " is out of range" +
                                 (fraction ? " (0, 1]"
                                  : whole  ? " (a whole number)"
                                           : " (>= 0)"));
                cfg.boost.emplace_back(k, *v);
                return caf::none;
              });
        if (k == "features")
          return r.each(
              *t, k,
              [&](const std::string& k, const std::string& name,
                  const toml::node& n, size_t line) -> caf::error {
                if (k == "bits" || k == "buckets") {
                  auto v = k == "bits" ? r.count(n, name, line, 1, 64)
                                       : r.count(n, name, line, 2, 1024);
                  if (!v) return v.error();
                  (k == "bits" ? cfg.features.bits : cfg.features.buckets) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "text_tokens") {
                  auto v = r.number(n, name, line);
                  if (!v) return v.error();
                  cfg.features.text_tokens = *v;
                  return caf::none;
                }
                if (k != "crosses")
                  return unknown(origin, line, name,
                                 "bits, buckets, crosses or "
                                 "text_tokens");
                auto* a = n.as_array();
                if (!a)
                  return bad(origin, line, "'" + name + "' must be a list");
                for (auto& pair : *a) {
                  auto* p = pair.as_array();
                  if (!p || p->size() != 2 || !(*p)[0].as_string() ||
                      !(*p)[1].as_string())
                    return bad(origin, pair.source().begin.line,
                               "each of '" + name +
                                   "' must be a pair of column names, e.g. "
                                   "[\"a\", \"b\"]");
                  cfg.features.crosses.emplace_back((*p)[0].as_string()->get(),
                                                    (*p)[1].as_string()->get());
                }
                return caf::none;
              });
        if (k == "model")
          return r.each(*t, k,
                        [&](const std::string& k, const std::string& name,
                            const toml::node& n, size_t line) -> caf::error {
                          if (k == "optimizer") {
                            auto v = r.text(n, name, line);
                            if (!v) return v.error();
                            auto o = parse_sparse_optimizer(*v);
                            if (!o)
                              return bad(origin, line, describe(o.error()));
                            cfg.model.optimizer = *o;
                            return caf::none;
                          }
                          double* slot = k == "alpha"  ? &cfg.model.alpha
                                         : k == "beta" ? &cfg.model.beta
                                         : k == "l1"   ? &cfg.model.l1
                                         : k == "l2"   ? &cfg.model.l2
                                                       : nullptr;
                          if (!slot)
                            return unknown(origin, line, name,
                                           "optimizer, alpha, beta, l1 or l2");
                          auto v = r.number(n, name, line);
                          if (!v) return v.error();
                          *slot = *v;
                          sparse_params probe = cfg.model;
                          if (auto e = probe.check())
                            return bad(origin, line, describe(e));
                          return caf::none;
                        });
        if (k == "run")
          return r.each(
              *t, k,
              [&](const std::string& k, const std::string& name,
                  const toml::node& n, size_t line) -> caf::error {
                if (graph && (k == "consistency" || k == "validations" ||
                              k == "valid_every"))
                  return not_here(line, name);
                if (k == "consistency") {
                  auto v = r.text(n, name, line);
                  if (!v) return v.error();
                  auto s = parse_consistency(*v);
                  if (!s) return bad(origin, line, describe(s.error()));
                  cfg.consistency = *v;
                  cfg.staleness = *s;
                  return caf::none;
                }
                if ((boosting || neural) &&
                    (k == "consistency" || k == "shards" || k == "validations"))
                  return not_here(line, name);
                if (boosting && k == "valid_every") return not_here(line, name);
                if (pipe && (k == "valid_every" || k == "workers"))
                  return not_here(line, name);
                if (!pipe && (k == "stages" || k == "micro" ||
                              k == "schedule" || k == "starts"))
                  return not_here(line, name);
                if (k == "starts") {
                  // each stage's first layer, given by the user
                  auto* a = n.as_array();
                  cfg.starts.clear();
                  if (a)
                    for (auto& el : *a) {
                      auto v = el.value<int64_t>();
                      if (!v || *v < 0 || *v > 64 ||
                          (!cfg.starts.empty() && *v <= cfg.starts.back())) {
                        a = nullptr;
                        break;
                      }
                      cfg.starts.push_back(static_cast<uint32_t>(*v));
                    }
                  if (!a || cfg.starts.empty() || cfg.starts[0] != 0)
                    return bad(origin, line,
                               "'" + name +
                                   "' is not each stage's first layer: 0, "
                                   "then increasing (starts = [0, 2])");
                  return caf::none;
                }
                if (!pipe && !tensor && !graph && k == "checkpoint_epochs")
                  return not_here(line, name);
                if (tensor && k == "valid_every") return not_here(line, name);
                if (tensor && k == "workers" && n.as_string())
                  return bad(origin, line,
                             "'" + name +
                                 "': a tensor-parallel job's layers are split "
                                 "over a fixed number of workers");
                if (k == "stages" || k == "micro" || k == "checkpoint_epochs") {
                  auto v = k == "stages"  ? r.count(n, name, line, 1, 64)
                           : k == "micro" ? r.count(n, name, line, 1, 4096)
                                          : r.count(n, name, line, 0, 1u << 20);
                  if (!v) return v.error();
                  (k == "stages"  ? cfg.stages
                   : k == "micro" ? cfg.micro
                                  : cfg.checkpoint_epochs) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "schedule") {
                  auto v = r.text(n, name, line);
                  if (!v) return v.error();
                  models::pipeline_schedule ps;
                  if (!models::parse_schedule(*v, ps))
                    return bad(origin, line,
                               "'" + name + "' = '" + *v +
                                   "' (expected gpipe or 1f1b)");
                  cfg.schedule = *v;
                  return caf::none;
                }
                if (k == "valid_every") {
                  auto v = r.count(n, name, line, 0, uint64_t{1} << 40);
                  if (!v) return v.error();
                  cfg.valid_every = *v;
                  return caf::none;
                }
                if (k == "validations") {
                  auto v = r.count(n, name, line, 0, 1000000);
                  if (!v) return v.error();
                  cfg.validations = *v;
                  return caf::none;
                }
                if (boosting && (k == "batch" || k == "epochs"))
                  return not_here(line, name);
                if (!boosting && !neural && !graph && k == "threads")
                  return not_here(line, name);
                if (k == "threads") {
                  auto v = r.count(n, name, line, 1, 256);
                  if (!v) return v.error();
                  cfg.threads = static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "workers" && n.as_string()) {
                  // elastic: "MIN:MAX"
                  auto range = parse_workers(n.as_string()->get());
                  if (!range)
                    return bad(origin, line,
                               "'" + name + "': " + describe(range.error()));
                  if (!boosting && !neural && !graph &&
                      range->first != range->second)
                    return bad(origin, line,
                               "'" + name +
                                   "': elastic workers need a data-parallel "
                                   "family (xgboost, mlp, torchscript or "
                                   "graphsage)");
                  cfg.min_workers = range->first;
                  cfg.workers = range->second;
                  return caf::none;
                }
                if (k == "workers" || k == "shards") {
                  auto v = r.count(n, name, line, 1, 256);
                  if (!v) return v.error();
                  (k == "workers" ? cfg.workers : cfg.shards) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "batch" || k == "epochs") {
                  auto v = r.count(n, name, line, 1, 1u << 20);
                  if (!v) return v.error();
                  (k == "batch" ? cfg.batch : cfg.epochs) =
                      static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "checkpoint_seconds") {
                  auto v = r.number(n, name, line);
                  if (!v) return v.error();
                  if (!(*v >= 0) || !std::isfinite(*v))
                    return bad(origin, line, "'" + name + "' must be >= 0");
                  cfg.checkpoint_seconds = *v;
                  return caf::none;
                }
                if (k == "data_wait_alert") {
                  auto v = r.number(n, name, line);
                  if (!v) return v.error();
                  if (!(*v >= 0 && *v <= 1))
                    return bad(origin, line,
                               "'" + name +
                                   "' is a share of the workers' time: "
                                   "between 0 and 1");
                  cfg.data_wait_alert = *v;
                  return caf::none;
                }
                if (k == "max_attempts") {
                  auto v = r.count(n, name, line, 1, 1000);
                  if (!v) return v.error();
                  cfg.max_attempts = static_cast<uint32_t>(*v);
                  return caf::none;
                }
                if (k == "priority") {
                  auto* i = n.as_integer();
                  if (!i || i->get() < -1000000 || i->get() > 1000000)
                    return bad(origin, line,
                               "'" + name +
                                   "' must be an integer (higher runs first)");
                  cfg.priority = static_cast<int32_t>(i->get());
                  return caf::none;
                }
                if (k == "seed") {
                  auto v = r.count(n, name, line, 0, uint64_t{1} << 53);
                  if (!v) return v.error();
                  cfg.seed = *v;
                  return caf::none;
                }
                return unknown(
                    origin, line, name,
                    boosting ? "workers, threads, seed, "
                               "checkpoint_seconds, data_wait_alert, "
                               "max_attempts or priority"
                    : pipe   ? "stages, starts, micro, schedule, batch, "
                               "epochs, "
                               "threads, seed, checkpoint_epochs, "
                               "checkpoint_seconds, data_wait_alert, "
                               "max_attempts or priority"
                    : tensor ? "workers, batch, epochs, threads, seed, "
                               "checkpoint_epochs, checkpoint_seconds, "
                               "data_wait_alert, max_attempts or priority"
                    : graph  ? "workers, shards, batch, epochs, threads, "
                               "seed, checkpoint_epochs, checkpoint_seconds, "
                               "data_wait_alert, max_attempts or priority"
                    : neural ? "workers, batch, epochs, threads, seed, "
                               "valid_every, checkpoint_seconds, "
                               "data_wait_alert, max_attempts or "
                               "priority"
                             : "workers, shards, consistency, batch, "
                               "epochs, seed, valid_every, "
                               "validations, "
                               "checkpoint_seconds, data_wait_alert, "
                               "max_attempts or priority");
              });
        return unknown(origin, line, name,
                       "family, data, features, model or run");
      });
  if (err) return err;
  // a pipeline's gang is its stages
  if (pipe) cfg.workers = cfg.min_workers = cfg.stages;
  if (cfg.min_workers == 0 || cfg.min_workers > cfg.workers)
    cfg.min_workers = cfg.workers;
  if (pipe && cfg.micro > cfg.batch)
    return bad(origin, 1,
               "[run] micro = " + std::to_string(cfg.micro) +
                   " micro-batches of a minibatch of batch = " +
                   std::to_string(cfg.batch) + " rows: at most one a row");
  if (pipe && !cfg.starts.empty() &&
      (cfg.starts.size() != cfg.stages || cfg.starts.back() > cfg.net.layers))
    return bad(
        origin, 1,
        "[run] starts = " + std::to_string(cfg.starts.size()) +
            " stages' first layers for stages = " + std::to_string(cfg.stages) +
            " of a net of " + std::to_string(cfg.net.layers + 1) +
            " layers: one a stage, each below " +
            std::to_string(cfg.net.layers + 1));
  if (pipe && cfg.stages > cfg.net.layers + 1)
    return bad(origin, 1,
               "[run] stages = " + std::to_string(cfg.stages) +
                   " for a net of " + std::to_string(cfg.net.layers + 1) +
                   " layers (layers hidden ones and the head): at most one "
                   "stage a layer");
  if (!has_family)
    return bad(origin, 1,
               "no 'family' (expected family = \"sparse-lr\", \"xgboost\", "
               "\"mlp\", \"torchscript\", \"pipeline\", \"tensor\" or "
               "\"graphsage\")");
  if (graph) {
    if (auto e = detail::check_graph_config(cfg)) return e;
    return cfg;
  }
  if (script && cfg.module.empty())
    return bad(origin, 1,
               "no [model] module: family torchscript trains a TorchScript "
               "file (module = \"net.pt\", written by torch.jit.save)");
  if (neural && !cfg.images.empty()) {
    if (!cfg.train.empty() || !cfg.target.empty())
      return bad(origin, 1,
                 "[data] images and train/target exclude each other: images "
                 "names a Fashion-MNIST directory with its own labels");
    return cfg;
  }
  if (!cfg.net.conv.empty())
    return bad(origin, 1,
               "[model] conv (a CNN) reads images: give [data] images, a "
               "Fashion-MNIST directory");
  if (cfg.train.empty()) return bad(origin, 1, "no [data] train file");
  if (cfg.target.empty()) return bad(origin, 1, "no [data] target column");
  return cfg;
}

caf::expected<std::pair<uint32_t, uint32_t>>
parse_workers(const std::string& text) {
  auto colon = text.find(':');
  auto number = [](const std::string& t) -> int64_t {
    if (t.empty() || t.size() > 4 ||
        t.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    return std::stoll(t);
  };
  auto lo = number(text.substr(0, colon));
  auto hi = colon == std::string::npos ? lo : number(text.substr(colon + 1));
  if (lo < 1 || hi < lo || hi > 256)
    return make_error(errc::invalid_argument,
                      "workers '" + text +
                          "' (expected N or MIN:MAX, 1 <= MIN <= MAX <= 256)");
  return std::make_pair(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
}

caf::error override_workers(job_config& cfg, const std::string& text) {
  auto range = parse_workers(text);
  if (!range) return range.error();
  if (range->first != range->second && cfg.family == "sparse-lr")
    return make_error(errc::invalid_argument,
                      "workers '" + text +
                          "': elastic workers need a data-parallel family "
                          "(xgboost, mlp or torchscript), not sparse-lr");
  cfg.min_workers = range->first;
  cfg.workers = range->second;
  return caf::none;
}

caf::expected<job_config> read_job_config(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found, "cannot read job config '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_job_config(text.str(), path);
}

std::vector<std::string> data_files(const job_config& cfg) {
  std::vector<std::string> out;
  std::error_code ec;
  auto paths = cfg.graph.packages;
  for (auto& p :
       {cfg.train, cfg.valid, cfg.module, cfg.graph.nodes, cfg.graph.edges})
    paths.push_back(p);
  for (auto& p : paths)
    if (!p.empty() && std::filesystem::is_regular_file(p, ec)) out.push_back(p);
  if (!cfg.images.empty())
    for (auto& p : tabular::fashion_mnist_files(cfg.images))
      if (std::filesystem::is_regular_file(p, ec)) out.push_back(p);
  return out;
}

} // namespace troupe::training
