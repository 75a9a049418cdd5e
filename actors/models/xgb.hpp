#pragma once

// XGBoost through its C API, each handle wrapped once in a move-only RAII
// class; every return code goes through one check that turns
// XGBGetLastError() into a troupe error naming the call.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::xgb {

/// A DMatrix: dense float features (NaN = missing) with optional labels.
class dmatrix {
public:
  /// Copies `rows` x `cols` row-major floats (and `labels` if not empty).
  static caf::expected<dmatrix> dense(const float* data, size_t rows,
                                      size_t cols,
                                      const std::vector<float>& labels = {});

  dmatrix(dmatrix&& other) noexcept;
  dmatrix& operator=(dmatrix&& other) noexcept;
  dmatrix(const dmatrix&) = delete;
  dmatrix& operator=(const dmatrix&) = delete;
  ~dmatrix();

  /// Declares each column's type, one per column: "c" categorical (codes
  /// 0..m-1, NaN missing: XGBoost's hist method then splits on sets of
  /// categories) or "q" numeric. Errors: a count other than cols().
  caf::expected<void> set_feature_types(const std::vector<std::string>& types);

  void* handle() const { return handle_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }

private:
  dmatrix(void* h, size_t rows, size_t cols)
      : handle_(h), rows_(rows), cols_(cols) {}
  void* handle_ = nullptr;
  size_t rows_ = 0;
  size_t cols_ = 0;
};

/// What training continues from: the model and the learner's configuration
/// (training parameters are not part of a saved model).
struct checkpoint {
  std::vector<uint8_t> model; ///< UBJSON model bytes
  std::string config;         ///< the learner's JSON configuration
};

/// A Booster. Training continues from whatever rounds it holds.
class booster {
public:
  /// A fresh booster that caches `train` (may be null).
  static caf::expected<booster> create(const dmatrix* train);

  /// Loads a booster saved by `save_bytes` (UBJSON or JSON).
  static caf::expected<booster> from_bytes(const std::vector<uint8_t>& bytes);

  /// Restores a booster from a checkpoint, ready to train further.
  static caf::expected<booster> restore(const checkpoint& cp);

  /// Loads a model file (.json or .ubj).
  static caf::expected<booster> load(const std::string& path);

  booster(booster&& other) noexcept;
  booster& operator=(booster&& other) noexcept;
  booster(const booster&) = delete;
  booster& operator=(const booster&) = delete;
  ~booster();

  caf::expected<void> set_param(const std::string& name,
                                const std::string& value);

  /// Runs one boosting round on `train`.
  caf::expected<void> update(const dmatrix& train);

  /// Rounds boosted so far.
  caf::expected<int> rounds() const;

  /// Predictions: one value per row, or rows x classes for multi:softprob;
  /// with `rounds` > 0, of the model's first `rounds` rounds only.
  caf::expected<std::vector<float>> predict(const dmatrix& data,
                                            int rounds = 0) const;

  /// Predictions for `rows` x `cols` row-major floats (NaN = missing) read
  /// in place, without a DMatrix: the fast path for small batches. Sets
  /// `groups` to the outputs per row. Safe to call from several threads at
  /// once (each call takes its own proxy matrix from a pool: a fresh proxy
  /// per call costs ~20 us in XGBoost 1.7, which reads the cgroup CPU quota
  /// for each new context).
  caf::expected<std::vector<float>>
  predict_dense(const float* x, size_t rows, size_t cols, size_t& groups) const;

  /// Features the model takes.
  caf::expected<size_t> num_features() const;

  /// The learner's JSON configuration (objective, num_class, ...). Reading
  /// it also configures the learner.
  caf::expected<std::string> config() const;

  /// Serializes the model ("ubj" or "json").
  caf::expected<std::vector<uint8_t>>
  save_bytes(const std::string& format = "ubj") const;

  /// A new booster holding the first `rounds` rounds of this one.
  caf::expected<booster> slice(int rounds) const;

  /// Model and configuration, to continue training later.
  caf::expected<checkpoint> save_checkpoint() const;

  /// Saves the model to a file; the format follows the extension.
  caf::expected<void> save(const std::string& path) const;

private:
  struct proxy_pool;
  explicit booster(void* h);
  void* handle_ = nullptr;
  std::unique_ptr<proxy_pool> proxies_;
};

/// XGBoost's collective (rabit in 1.7) joined for the life of the object:
/// the training calls made on this thread afterwards sum their histograms
/// and sketches with the other workers' (data parallelism). The
/// communicator is thread-local: create, train and destroy on one thread.
class collective {
public:
  /// Joins the job whose rabit tracker listens at host:port as one of
  /// `world` workers; `task` orders the ranks (workers are ranked by it).
  /// Errors: the tracker cannot be reached, XGBoost's own.
  static caf::expected<collective> join(const std::string& host, int port,
                                        int world, const std::string& task);

  collective(collective&& other) noexcept;
  collective& operator=(collective&& other) = delete;
  collective(const collective&) = delete;
  collective& operator=(const collective&) = delete;
  /// Leaves the job (tells the tracker this worker is done).
  ~collective();

  int rank() const { return rank_; }
  int world() const { return world_; }

private:
  collective(int rank, int world) : rank_(rank), world_(world) {}
  bool joined_ = true;
  int rank_ = 0;
  int world_ = 1;
};

/// The XGBoost library version, "major.minor.patch".
std::string version();

} // namespace troupe::xgb
