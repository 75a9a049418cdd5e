#pragma once

// The NAS plugin (libtroupe_nas.so, plugin_abi.hpp) seen from troupe: found
// and dlopen()ed on first use, its networks wrapped in a move-only handle
// whose failures are caf errors. The plugin is looked up in
// $TROUPE_NAS_PLUGIN (a file), then next to the running executable, then in
// the build tree it was built in.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/nas/space.hpp"

namespace troupe::nas {

struct plugin_api;

/// The plugin, loaded once per process; errc::torch_failure names every
/// place tried when it cannot be loaded.
caf::expected<const plugin_api*> load_plugin();

/// Sets LibTorch's intra-op threads (loads the plugin).
caf::error set_torch_threads(int threads);

/// A network in the plugin. Sub-networks are given as net_arch (nullptr:
/// the whole network).
class network {
public:
  /// A network of `a`, initialized from `seed`.
  static caf::expected<network> create(const net_arch& a, uint64_t seed);

  network(network&& other) noexcept;
  network& operator=(network&& other) noexcept;
  network(const network&) = delete;
  network& operator=(const network&) = delete;
  ~network();

  const net_arch& arch() const { return arch_; }

  /// A standalone copy of the sub-network `sub`.
  caf::expected<network> extract(const net_arch& sub) const;

  /// One training step of `sub` (whole network: nullptr); the mean loss.
  caf::expected<double> train_step(const net_arch* sub, const float* x,
                                   const int64_t* y, size_t rows, double lr);

  /// rows x classes logits.
  caf::expected<std::vector<float>> forward(const net_arch* sub, const float* x,
                                            size_t rows,
                                            bool batch_stats) const;

  /// Re-estimates batch-norm statistics from rows of x.
  caf::error calibrate(const float* x, size_t rows, size_t batch);

  /// The values of the parameters `sub` uses, flattened in order.
  caf::expected<std::vector<float>> weights(const net_arch* sub) const;

  /// The number of parameters `sub` uses, as LibTorch counts them.
  caf::expected<int64_t> param_count(const net_arch* sub) const;

  /// Saves the network as TorchScript.
  caf::error save(const std::string& path) const;

private:
  network(const plugin_api* api, void* handle, net_arch a);

  const plugin_api* api_ = nullptr;
  void* handle_ = nullptr;
  net_arch arch_;
};

} // namespace troupe::nas
