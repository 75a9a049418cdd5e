#pragma once

// Data-parallel MLPs from plain C++ (no torch header): the rendezvous a
// job's coordinator serves (c10d's TCPStore), the process group each worker
// joins (c10d's gloo backend) and an MLP replica (the mlp family's net,
// torch_mlp_net.hpp) that trains an epoch at a time with its gradients
// averaged over the group. Everything runs in the torch plugin
// (torch_parallel.cpp), dlopen()ed on first use; errors are
// models::errc::torch_failure with the plugin's message, or
// troupe::errc::invalid_argument for bad input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/servable.hpp"
#include "actors/tabular/dataset.hpp"

namespace troupe::models {

/// The rendezvous of one group: c10d's TCPStore served on host:0.
class torch_rendezvous {
public:
  static caf::expected<torch_rendezvous> serve(const std::string& host,
                                               int world, double timeout_s);
  torch_rendezvous(torch_rendezvous&& other) noexcept;
  torch_rendezvous& operator=(torch_rendezvous&& other) noexcept;
  torch_rendezvous(const torch_rendezvous&) = delete;
  torch_rendezvous& operator=(const torch_rendezvous&) = delete;
  ~torch_rendezvous();

  uint16_t port() const { return port_; }

private:
  torch_rendezvous(void* h, uint16_t port) : handle_(h), port_(port) {}
  void* handle_ = nullptr;
  uint16_t port_ = 0;
};

/// A worker's membership of a group (gloo), joined through a rendezvous.
class torch_group {
public:
  /// Joins group `prefix` as `rank` of `world`; gloo's links go over
  /// `self_host`, this worker's address. Blocks until every worker has
  /// joined or timeout_s passed.
  static caf::expected<torch_group>
  join(const std::string& store_host, uint16_t store_port,
       const std::string& prefix, int rank, int world,
       const std::string& self_host, double timeout_s);
  torch_group(torch_group&& other) noexcept;
  torch_group& operator=(torch_group&& other) noexcept;
  torch_group(const torch_group&) = delete;
  torch_group& operator=(const torch_group&) = delete;
  ~torch_group();

  void* handle() const { return handle_; }
  int rank() const { return rank_; }
  int world() const { return world_; }

private:
  torch_group(void* h, int rank, int world)
      : handle_(h), rank_(rank), world_(world) {}
  void* handle_ = nullptr;
  int rank_ = 0;
  int world_ = 1;
};

/// One step's shape: each worker's rows per step, the group's, the steps.
struct parallel_epoch {
  size_t local_batch = 0;
  size_t global_batch = 0;
  size_t steps = 0;
  bool shuffle = true;
  /// Gradients travel in buckets of about this many bytes.
  size_t bucket_bytes = 1 << 20;
  int threads = 1;
};

/// Seconds of an epoch by phase (troupe_torch_mlp_fit_group's `seconds`).
struct epoch_times {
  /// Gathering each step's batch from the rows (and the first epoch's
  /// scaling).
  double data = 0;
  /// Forward, backward and the optimizer's step.
  double compute = 0;
  /// Waiting for the group: the allreduce backward did not hide, the
  /// loss's sum.
  double comm = 0;
};

/// An MLP replica, or a replica of a user's TorchScript module trained the
/// same way (create_script).
class mlp_replica {
public:
  /// A fresh net with weights drawn from `seed` (every replica of a group
  /// starts from the same seed, hence the same weights). Errors: bad
  /// parameters, named.
  static caf::expected<mlp_replica>
  create(const troupe_torch_mlp_params& params, size_t inputs, size_t classes,
         tabular::task_kind task, uint64_t seed);
  /// A replica of a user's TorchScript module: `module` holds the bytes
  /// torch.jit.save wrote; forward() takes [rows, inputs] float rows as they
  /// are (no scaling) and gives the task's scores ([rows] values or P(class
  /// 1), [rows, 2] or [rows, classes] class scores). `loss` names a method
  /// of the module, loss(output, target) -> the batch's mean, or a built-in
  /// (cross_entropy, bce, mse, huber, l1); empty: the module's `loss`
  /// method, else the task's. AdamW trains its parameters. Errors name what
  /// the module must give (invalid_argument).
  static caf::expected<mlp_replica>
  create_script(const std::vector<uint8_t>& module, const std::string& loss,
                double lr, double weight_decay, size_t inputs, size_t classes,
                tabular::task_kind task, uint64_t seed);
  /// From save()'s bytes (either kind), ready to train on where it stopped.
  static caf::expected<mlp_replica> load(const std::vector<uint8_t>& bytes);

  mlp_replica(mlp_replica&& other) noexcept;
  mlp_replica& operator=(mlp_replica&& other) noexcept;
  mlp_replica(const mlp_replica&) = delete;
  mlp_replica& operator=(const mlp_replica&) = delete;
  ~mlp_replica();

  /// One epoch of `e.steps` steps on this worker's rows (x: rows x cols,
  /// y: labels), gradients averaged over `group` (null: alone); returns
  /// the group's mean weighted loss. `times`, when given, gets the epoch's
  /// seconds by phase.
  caf::expected<double> fit_epoch(const torch_group* group, const float* x,
                                  const float* y, size_t rows, size_t cols,
                                  const parallel_epoch& e,
                                  epoch_times* times = nullptr);
  /// Scores: rows x outputs.
  caf::expected<std::vector<float>> predict(const float* x, size_t rows,
                                            size_t cols, int threads) const;
  /// Every weight, flattened.
  caf::expected<std::vector<float>> weights() const;
  caf::expected<std::vector<uint8_t>> save() const;
  /// A TorchScript module that `troupe serve` loads (a user's module: that
  /// module, trained).
  caf::error export_torchscript(const std::string& path) const;
  uint64_t epochs() const;
  /// A module replica's loss (its method or the built-in taken); empty for
  /// an MLP.
  std::string loss() const;
  size_t outputs() const;

private:
  explicit mlp_replica(void* h) : handle_(h) {}
  void* handle_ = nullptr;
};

} // namespace troupe::models
