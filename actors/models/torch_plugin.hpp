#pragma once

// Finding and loading the torch plugin libtroupe_torch.so (see the C
// interface at the top of servable.hpp): shared by the TorchScript servable
// (torch_plugin.cpp) and the "mlp" estimator family (mlp_family.cpp).
// Internal to actors/models; includes no torch header.

#include <cstddef>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/servable.hpp"

namespace troupe::models::detail {

/// The plugin's functions, resolved once.
struct torch_api {
  decltype(&troupe_torch_abi_version) abi_version = nullptr;
  decltype(&troupe_torch_load) load = nullptr;
  decltype(&troupe_torch_free) free = nullptr;
  decltype(&troupe_torch_forward) forward = nullptr;
  decltype(&troupe_torch_write_linear) write_linear = nullptr;
  decltype(&troupe_torch_mlp_create) mlp_create = nullptr;
  decltype(&troupe_torch_mlp_fit_epoch) mlp_fit_epoch = nullptr;
  decltype(&troupe_torch_mlp_predict) mlp_predict = nullptr;
  decltype(&troupe_torch_mlp_describe) mlp_describe = nullptr;
  decltype(&troupe_torch_mlp_save) mlp_save = nullptr;
  decltype(&troupe_torch_mlp_load) mlp_load = nullptr;
  decltype(&troupe_torch_mlp_export) mlp_export = nullptr;
  decltype(&troupe_torch_mlp_free) mlp_free = nullptr;
  decltype(&troupe_torch_store_serve) store_serve = nullptr;
  decltype(&troupe_torch_store_free) store_free = nullptr;
  decltype(&troupe_torch_group_join) group_join = nullptr;
  decltype(&troupe_torch_group_free) group_free = nullptr;
  decltype(&troupe_torch_mlp_fit_group) mlp_fit_group = nullptr;
  decltype(&troupe_torch_mlp_weights) mlp_weights = nullptr;
  decltype(&troupe_torch_script_create) script_create = nullptr;
  decltype(&troupe_torch_stage_create) stage_create = nullptr;
  decltype(&troupe_torch_stage_step) stage_step = nullptr;
  decltype(&troupe_torch_stage_forward) stage_forward = nullptr;
  decltype(&troupe_torch_stage_save) stage_save = nullptr;
  decltype(&troupe_torch_stage_load) stage_load = nullptr;
  decltype(&troupe_torch_stage_free) stage_free = nullptr;
  decltype(&troupe_torch_tp_create) tp_create = nullptr;
  decltype(&troupe_torch_tp_fit_epoch) tp_fit_epoch = nullptr;
  decltype(&troupe_torch_tp_evaluate) tp_evaluate = nullptr;
  decltype(&troupe_torch_tp_save) tp_save = nullptr;
  decltype(&troupe_torch_tp_load) tp_load = nullptr;
  decltype(&troupe_torch_tp_parameter_bytes) tp_parameter_bytes = nullptr;
  decltype(&troupe_torch_tp_free) tp_free = nullptr;
  decltype(&troupe_torch_sage_create) sage_create = nullptr;
  decltype(&troupe_torch_sage_fit_epoch) sage_fit_epoch = nullptr;
  decltype(&troupe_torch_sage_evaluate) sage_evaluate = nullptr;
  decltype(&troupe_torch_sage_save) sage_save = nullptr;
  decltype(&troupe_torch_sage_load) sage_load = nullptr;
  decltype(&troupe_torch_sage_free) sage_free = nullptr;
};

/// The plugin, dlopen()ed on first use and kept for the process's life. It
/// is looked up in $TROUPE_TORCH_PLUGIN (a file), then next to the running
/// executable, then in the build tree it was built in; the error (not
/// found) lists what was tried and why each failed.
caf::expected<const torch_api*> torch_plugin();

/// A message the plugin wrote into `err`, or "unknown error" when empty.
std::string plugin_message(const char* err);

/// The size of the buffer a call gives the plugin for its message.
inline constexpr size_t err_size = 1024;

/// The plugin's failure (its message in `err`): errc::torch_failure.
caf::error plugin_failure(const char* err);

/// Copies `text`, cut to fit and NUL-terminated, into err[0..size): what a
/// callback the plugin calls writes when it fails.
void put_message(char* err, size_t size, const std::string& text);

/// Appends `size` bytes at `data` to the std::vector<uint8_t> at `sink`:
/// the write() the plugin's *_save functions call.
void append_bytes(void* sink, const void* data, size_t size);

} // namespace troupe::models::detail
