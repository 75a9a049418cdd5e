#pragma once

// A training job's config file (`troupe train --config job.toml`). Its
// families: "sparse-lr", Prophet's logistic regression over hashed
// features trained by parameter-server workers; "xgboost", one booster
// trained by data-parallel workers (each holds a block of the rows); and
// "mlp" (troupe's net) and "torchscript" (a user's module), LibTorch nets
// trained data-parallel.
//
//   family = "sparse-lr"
//   [data]     train = "train.csv"   valid = "valid.csv" (or valid_fraction)
//              target = "label"
//   [features] bits = 24   buckets = 16   crosses = [["a", "b"]]
//   [model]    optimizer = "ftrl"   alpha   beta   l1   l2
//   [run]      workers = 2   shards = 2   consistency = "sync"
//              batch = 64   epochs = 3   seed = 0   valid_every = 0
//              validations = 0 (instead of valid_every: this many, evenly)
//              checkpoint_seconds = 10   max_attempts = 5   priority = 0
//
//   family = "xgboost"
//   [data]     as above
//   [model]    rounds = 100   eta   max_depth   min_child_weight   subsample
//              colsample_bytree   colsample_bylevel   lambda   alpha
//              gamma   max_bin
//   [run]      workers = 2 (or "MIN:MAX": elastic)   threads = 1 (per
//              worker)   seed
//              checkpoint_seconds   max_attempts   priority
//
//   family = "mlp"
//   [data]     train, target, valid / valid_fraction as above, or
//              images = "DIR" (Fashion-MNIST's IDX files: the train set
//              trains, the t10k set validates)
//   [model]    layers = 2   width = 64   activation = "relu"   dropout = 0
//              lr = 1e-3   weight_decay = 1e-5   conv = [] (images only: a
//              CNN, e.g. [16, 32]: 3x3 convolutions, each with a 2x2
//              max-pool, before the hidden layers)   recompute = false
//              (true: the hidden layers' activations are recomputed in
//              the backward pass, about sqrt(layers) of them kept)
//   [run]      workers   batch = 64 (the global batch, over every worker)
//              epochs   threads (per worker)   seed   valid_every = 0
//              (epochs: the net validated every N epochs, besides the end)
//              checkpoint_seconds   max_attempts   priority
//
//   family = "pipeline"   (the mlp family's net cut into stages on slots)
//   [data]     as for mlp
//   [model]    layers   width   activation   lr   weight_decay   recompute
//              (each stage recomputes its activations in backward)
//   [run]      stages = 2 (actors, one a slot; layers split by parameter
//              count, or as starts = [0, 2] gives each stage's first
//              layer)   micro = 4 (micro-batches a minibatch)
//              schedule = "1f1b" (or "gpipe")   batch   epochs   threads
//              (per stage)   seed   checkpoint_epochs = 1 (every stage's
//              state every N epochs, while checkpoint_seconds > 0)
//              checkpoint_seconds   max_attempts   priority
//
//   family = "tensor"   (a classifier whose layers are split over workers)
//   [data]     as for mlp (a classification task)
//   [model]    width = 64 (the blocks' input and output)   hidden = 256 (the
//              blocks' inner width)   blocks = 1   lr   weight_decay
//   [run]      workers = 2 (each holds 1/workers of every split layer and
//              of the classes)   batch   epochs   threads   seed
//              checkpoint_epochs = 1   checkpoint_seconds   max_attempts
//              priority
//
//   family = "graphsage"   (node classification on a graph, data-parallel
//                           workers sampling through graph shard actors)
//   [data]     packages = ["Packages"] (Debian Packages files: the package
//              graph, each name's hashed trigrams as features, the Section
//              as label), or nodes = "nodes.csv" (an id column, the target,
//              numeric features) and edges = "edges.csv" (two ids a row)
//              id = "id"   target   holdout = 5 (one node in 5 tested)
//   [model]    hidden = 128   dims = 256 (hashed name trigrams: packages)
//              fanouts = [10, 5]   lr = 0.01   weight_decay = 1e-5
//   [run]      workers = 1 (or "MIN:MAX")   shards = 2 (graph partitions,
//              METIS; each a shard actor on a worker's node)   batch = 512
//              (seeds a minibatch, over every worker)   epochs   threads
//              seed   checkpoint_epochs = 1   checkpoint_seconds
//              data_wait_alert   max_attempts   priority
//
//   family = "torchscript"   (a user's TorchScript module, trained as mlp)
//   [data]     as for mlp: a CSV or images; forward() takes the raw rows
//   [model]    module = "net.pt" (torch.jit.save's file)   loss = a method
//              of the module, loss(output, target) -> the batch's mean, or
//              cross_entropy, bce, mse, huber, l1 (default: the module's
//              `loss`, else the task's)   lr = 1e-3   weight_decay = 1e-5
//   [run]      as for mlp
//
// A key of another family is an error that names it. Relative paths are
// relative to the config file. Errors name the file, the line and the key.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/hashed_features.hpp"
#include "actors/training/sparse_table.hpp"

namespace troupe::training {

using models::hashed_transform;
using models::hashing_options;

struct job_config {
  std::string family = "sparse-lr";
  std::string source; ///< the config file, for messages
  // [data]
  std::string train;
  std::string valid;
  std::string target;
  double valid_fraction = 0.2;
  // [features]
  hashing_options features;
  // [model]
  sparse_params model;
  /// mlp: a Fashion-MNIST directory instead of train/target.
  std::string images;
  // [model], mlp
  struct net_params {
    uint32_t layers = 2;
    uint32_t width = 64;
    std::string activation = "relu";
    double dropout = 0;
    double lr = 1e-3;
    double weight_decay = 1e-5;
    /// A small CNN before the hidden layers (images only): the channels of
    /// each 3x3 convolution block (with a 2x2 max-pool); empty: none.
    std::vector<uint32_t> conv;
    /// Recompute the hidden layers' activations in the backward pass
    /// instead of keeping them (checkpointed segments, cut automatically).
    bool recompute = false;
    /// tensor: the residual blocks' inner width (split over the workers)
    /// and their number.
    uint32_t hidden = 256;
    uint32_t blocks = 1;
  } net;
  // graphsage
  struct graph_params {
    /// [data] Debian Packages files (the package graph: names hashed into
    /// features, the Section as label), or a node table and an edge list:
    /// `nodes` (a CSV: the `id` column, the target, numeric feature
    /// columns) and `edges` (a CSV whose first two columns name each
    /// edge's ends by id).
    std::vector<std::string> packages;
    std::string nodes, edges;
    std::string id = "id";
    /// [data] One node in `holdout` held out to test.
    uint32_t holdout = 5;
    /// [model] Hashed name trigrams (packages), the hidden layer's width,
    /// neighbours sampled at each of the 2 hops.
    uint32_t dims = 256;
    uint32_t hidden = 128;
    std::vector<uint32_t> fanouts{10, 5};
  } graph;
  // [model], torchscript (lr and weight_decay are net's)
  /// The module file (torch.jit.save's), and its loss as named (empty: the
  /// module's `loss` method, else the task's built-in).
  std::string module;
  std::string loss;
  // [model], xgboost
  uint32_t rounds = 100;
  /// XGBoost parameters as given (name, value), checked for range.
  std::vector<std::pair<std::string, double>> boost;
  // [run]
  /// Workers: the most a gang has, and the fewest (elastic, for xgboost
  /// and mlp: `workers = "MIN:MAX"`; a lost node regroups the job on the
  /// slots left when MIN of them are free). 0: as many as `workers`.
  uint32_t workers = 1;
  uint32_t min_workers = 0;
  /// xgboost: XGBoost threads per worker.
  uint32_t threads = 1;
  uint32_t shards = 1;
  std::string consistency = "sync";
  std::optional<uint64_t> staleness = 0;
  uint32_t batch = 64;
  uint32_t epochs = 3;
  uint64_t seed = 0;
  /// sparse-lr: validation (logloss, AUC, KS) each time the slowest worker
  /// has trained this many more steps, besides the one at the end (0: only
  /// that one); mlp: every this many epochs (its steps).
  uint64_t valid_every = 0;
  /// sparse-lr: validation this many times, evenly over the job's steps
  /// (the last at the end); sets valid_every once the data is read (0:
  /// valid_every as given). An AutoML trial run as a job reports each.
  uint64_t validations = 0;
  /// A checkpoint this often while training (0: none).
  double checkpoint_seconds = 10;
  /// The alert rule: the job is data-starved while its workers wait for
  /// data more than this share of their time (worker_usage.hpp; 1: never).
  double data_wait_alert = 0.3;
  /// Placements a job may try (a lost node regroups it) before it fails.
  uint32_t max_attempts = 5;
  /// pipeline: stage actors, micro-batches a minibatch, the schedule
  /// (gpipe or 1f1b); pipeline and tensor: a checkpoint every this many
  /// epochs.
  uint32_t stages = 2;
  /// Each stage's first layer as the user cut the net (empty: balanced by
  /// parameter count).
  std::vector<uint32_t> starts;
  uint32_t micro = 4;
  std::string schedule = "1f1b";
  uint32_t checkpoint_epochs = 1;
  /// Priority among the cluster's work: a job of higher priority than a
  /// preemptible study takes that study's slots back when it needs them.
  int32_t priority = 0;
};

/// Reads and checks a job config from TOML text; `origin` names it and
/// anchors relative paths.
caf::expected<job_config> parse_job_config(const std::string& text,
                                           const std::string& origin);

/// The files a job reads: [data] train and valid, the Fashion-MNIST files
/// of images, a torchscript job's module, a graphsage job's packages or
/// nodes and edges; those that do not exist are left out
/// (the job names them when it reads its data).
std::vector<std::string> data_files(const job_config& cfg);

/// "N" or "MIN:MAX" workers.
caf::expected<std::pair<uint32_t, uint32_t>>
parse_workers(const std::string& text);

/// Sets the workers from "N" or "MIN:MAX" (troupe train --workers).
/// Errors: bad text, an elastic range for sparse-lr.
caf::error override_workers(job_config& cfg, const std::string& text);

/// Reads the file at `path`.
caf::expected<job_config> read_job_config(const std::string& path);

} // namespace troupe::training
