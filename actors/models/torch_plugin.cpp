#include "actors/models/servable.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "actors/models/errors.hpp"
#include "actors/models/servable_detail.hpp"
#include "actors/models/torch_plugin.hpp"
#include "runtime/errors.hpp"
#include "runtime/plugin.hpp"

// TorchScript models through the plugin libtroupe_torch.so: finding and
// loading it (torch_plugin.hpp; mlp_family.cpp calls it too), the servable
// that calls it, and writing linear test models.

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

using detail::bad_model;
using detail::check_finite;
using detail::invalid;
using detail::plugin_message;
using detail::probe_rows;
using detail::shortest;
using detail::task_text;
using detail::torch_api;
using detail::torch_plugin;

namespace {

std::string shape_text(const int64_t* shape, size_t ndim) {
  std::string out = "[";
  for (size_t i = 0; i < ndim; ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

/// Rescales a row of K scores to probabilities: kept when they already are
/// (each in [0, 1], summing to 1 within 1e-3), a softmax otherwise (logits).
void to_probabilities(float* row, size_t k) {
  float sum = 0;
  bool probs = true;
  for (size_t c = 0; c < k; ++c) {
    probs = probs && row[c] >= 0 && row[c] <= 1;
    sum += row[c];
  }
  if (probs && std::fabs(sum - 1) <= 1e-3f) return;
  auto top = *std::max_element(row, row + k);
  double total = 0;
  for (size_t c = 0; c < k; ++c)
    total += std::exp(static_cast<double>(row[c]) - top);
  for (size_t c = 0; c < k; ++c)
    row[c] =
        static_cast<float>(std::exp(static_cast<double>(row[c]) - top) / total);
}

constexpr const char* plugin_name = "libtroupe_torch.so";

class torch_servable : public servable {
public:
  torch_servable(std::string source, preprocessor prep, bool allow_nan,
                 const torch_api* api, void* model)
      : servable(model_format::torchscript, std::move(source), std::move(prep),
                 allow_nan),
        api_(api), model_(model) {}

  ~torch_servable() override { api_->free(model_); }

  std::string predictor() const override { return "TorchScript"; }

  /// Runs forward(), checking that the output is [rows] or [rows, width]
  /// (width 0: learn it, for the probe at load).
  caf::expected<std::vector<float>> forward(const float* x, size_t rows,
                                            size_t& width) const {
    auto cap = rows * std::max<size_t>(width, 1);
    std::vector<float> out(cap);
    int64_t shape[8];
    size_t ndim = 0;
    char err[1024] = "";
    if (api_->forward(model_, x, rows, features(), out.data(), out.size(),
                      shape, &ndim, err, sizeof(err)) != 0)
      return invalid(source() + ": forward() on " + std::to_string(rows) +
                     " rows of " + std::to_string(features()) +
                     " features failed: " + plugin_message(err));
    auto r = static_cast<int64_t>(rows);
    size_t got = 0;
    if (ndim == 1 && shape[0] == r)
      got = 1;
    else if (ndim == 2 && shape[0] == r && shape[1] > 0)
      got = static_cast<size_t>(shape[1]);
    if (got == 0 || (width != 0 && got != width)) {
      auto expected = width <= 1 ? "[" + std::to_string(rows) + "] or [" +
                                       std::to_string(rows) + ", 1]"
                                 : "[" + std::to_string(rows) + ", " +
                                       std::to_string(width) + "]";
      return invalid(source() + ": forward() on " + std::to_string(rows) +
                     " rows gave a tensor of shape " + shape_text(shape, ndim) +
                     "; expected " + expected);
    }
    if (width == 0) {
      width = got;
      out.resize(rows * got);
      if (got > 1) // the probe's buffer was too small: run again
        return forward(x, rows, width);
    }
    return out;
  }

  /// Scores as predict gives them from forward()'s output.
  caf::expected<std::vector<float>> finish(std::vector<float> y,
                                           size_t rows) const {
    if (auto err = check_finite(source(), y, width_)) return err;
    switch (task()) {
    case task_kind::regression:
      return y;
    case task_kind::binary:
      if (width_ == 1) {
        for (size_t r = 0; r < rows; ++r)
          if (y[r] < 0 || y[r] > 1)
            return invalid(source() + ": row " + std::to_string(r) +
                           ": the model's output " + shortest(y[r]) +
                           " is not a probability in [0, 1]; a binary "
                           "TorchScript model must give the probability of "
                           "class 1 (end forward() with a sigmoid)");
        return y;
      } else {
        std::vector<float> p(rows);
        for (size_t r = 0; r < rows; ++r) {
          to_probabilities(y.data() + r * 2, 2);
          p[r] = y[r * 2 + 1];
        }
        return p;
      }
    case task_kind::multiclass:
      for (size_t r = 0; r < rows; ++r)
        to_probabilities(y.data() + r * width_, width_);
      return y;
    }
    return y;
  }

  /// Learns the output width from a probe and checks it against the task.
  caf::error probe() {
    std::vector<float> zeros(probe_rows * features(), 0.0f);
    size_t width = 0;
    auto y = forward(zeros.data(), probe_rows, width);
    if (!y) return y.error();
    auto k = classes().size();
    bool fits = task() == task_kind::regression ? width == 1
                : task() == task_kind::binary   ? width == 1 || width == 2
                                                : width == k;
    if (!fits)
      return invalid(source() + ": the model gives " + std::to_string(width) +
                     " outputs per row, but " + task_text(prep()) +
                     (task() == task_kind::binary
                          ? "; a binary model gives the probability of class "
                            "1 ([rows] or [rows, 1]) or two class scores"
                      : task() == task_kind::multiclass
                          ? "; a multiclass model gives one score per "
                            "class ([rows, " +
                                std::to_string(k) + "])"
                          : "; a regression model gives one value per "
                            "row ([rows] or [rows, 1])"));
    width_ = width;
    auto s = finish(std::move(*y), probe_rows);
    if (!s) return s.error();
    return caf::none;
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    auto width = width_;
    auto y = forward(x, rows, width);
    if (!y) return y;
    return finish(std::move(*y), rows);
  }

private:
  const torch_api* api_;
  void* model_;
  size_t width_ = 0; ///< forward()'s values per row
};

} // namespace

namespace detail {

caf::expected<const torch_api*> torch_plugin() {
  static std::mutex mtx;
  static std::unique_ptr<torch_api> api;
  std::lock_guard<std::mutex> guard{mtx};
  if (api) return api.get();
#ifdef TROUPE_TORCH_PLUGIN_BUILD_PATH
  std::string build_path = TROUPE_TORCH_PLUGIN_BUILD_PATH;
#else
  std::string build_path;
#endif
  std::string tried;
  auto bind = [&](void* lib) -> std::string {
    auto a = std::make_unique<torch_api>();
    if (!plugin_symbol(lib, a->abi_version, "troupe_torch_abi_version") ||
        !plugin_symbol(lib, a->load, "troupe_torch_load") ||
        !plugin_symbol(lib, a->free, "troupe_torch_free") ||
        !plugin_symbol(lib, a->forward, "troupe_torch_forward") ||
        !plugin_symbol(lib, a->write_linear, "troupe_torch_write_linear") ||
        !plugin_symbol(lib, a->mlp_create, "troupe_torch_mlp_create") ||
        !plugin_symbol(lib, a->mlp_fit_epoch, "troupe_torch_mlp_fit_epoch") ||
        !plugin_symbol(lib, a->mlp_predict, "troupe_torch_mlp_predict") ||
        !plugin_symbol(lib, a->mlp_describe, "troupe_torch_mlp_describe") ||
        !plugin_symbol(lib, a->mlp_save, "troupe_torch_mlp_save") ||
        !plugin_symbol(lib, a->mlp_load, "troupe_torch_mlp_load") ||
        !plugin_symbol(lib, a->mlp_export, "troupe_torch_mlp_export") ||
        !plugin_symbol(lib, a->mlp_free, "troupe_torch_mlp_free") ||
        !plugin_symbol(lib, a->store_serve, "troupe_torch_store_serve") ||
        !plugin_symbol(lib, a->store_free, "troupe_torch_store_free") ||
        !plugin_symbol(lib, a->group_join, "troupe_torch_group_join") ||
        !plugin_symbol(lib, a->group_free, "troupe_torch_group_free") ||
        !plugin_symbol(lib, a->mlp_fit_group, "troupe_torch_mlp_fit_group") ||
        !plugin_symbol(lib, a->mlp_weights, "troupe_torch_mlp_weights") ||
        !plugin_symbol(lib, a->script_create, "troupe_torch_script_create") ||
        !plugin_symbol(lib, a->stage_create, "troupe_torch_stage_create") ||
        !plugin_symbol(lib, a->stage_step, "troupe_torch_stage_step") ||
        !plugin_symbol(lib, a->stage_forward, "troupe_torch_stage_forward") ||
        !plugin_symbol(lib, a->stage_save, "troupe_torch_stage_save") ||
        !plugin_symbol(lib, a->stage_load, "troupe_torch_stage_load") ||
        !plugin_symbol(lib, a->stage_free, "troupe_torch_stage_free") ||
        !plugin_symbol(lib, a->tp_create, "troupe_torch_tp_create") ||
        !plugin_symbol(lib, a->tp_fit_epoch, "troupe_torch_tp_fit_epoch") ||
        !plugin_symbol(lib, a->tp_evaluate, "troupe_torch_tp_evaluate") ||
        !plugin_symbol(lib, a->tp_save, "troupe_torch_tp_save") ||
        !plugin_symbol(lib, a->tp_load, "troupe_torch_tp_load") ||
        !plugin_symbol(lib, a->tp_parameter_bytes,
                       "troupe_torch_tp_parameter_bytes") ||
        !plugin_symbol(lib, a->tp_free, "troupe_torch_tp_free") ||
        !plugin_symbol(lib, a->sage_create, "troupe_torch_sage_create") ||
        !plugin_symbol(lib, a->sage_fit_epoch, "troupe_torch_sage_fit_epoch") ||
        !plugin_symbol(lib, a->sage_evaluate, "troupe_torch_sage_evaluate") ||
        !plugin_symbol(lib, a->sage_save, "troupe_torch_sage_save") ||
        !plugin_symbol(lib, a->sage_load, "troupe_torch_sage_load") ||
        !plugin_symbol(lib, a->sage_free, "troupe_torch_sage_free"))
      return "not a troupe torch plugin (symbols missing)";
    if (a->abi_version() != TROUPE_TORCH_ABI_VERSION)
      return "plugin interface " + std::to_string(a->abi_version()) +
             ", this troupe needs " + std::to_string(TROUPE_TORCH_ABI_VERSION);
    api = std::move(a);
    return {};
  };
  if (open_plugin(
          plugin_candidates("TROUPE_TORCH_PLUGIN", plugin_name, build_path),
          bind, tried))
    return api.get();
  return make_error(
      troupe::errc::not_found,
      std::string{"LibTorch support (TorchScript models, the mlp family) "
                  "is not available: "} +
          plugin_name +
          " (built by the troupe_torch target) was not found "
          "or did not load; set TROUPE_TORCH_PLUGIN to its "
          "path. Tried:" +
          tried);
}

std::string plugin_message(const char* err) {
  return err[0] ? std::string{err} : std::string{"unknown error"};
}

caf::error plugin_failure(const char* err) {
  return make_error(errc::torch_failure, plugin_message(err));
}

void put_message(char* err, size_t size, const std::string& text) {
  if (err == nullptr || size == 0) return;
  auto n = std::min(text.size(), size - 1);
  text.copy(err, n);
  err[n] = '\0';
}

void append_bytes(void* sink, const void* data, size_t size) {
  auto* out = static_cast<std::vector<uint8_t>*>(sink);
  auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

caf::expected<std::unique_ptr<servable>> load_torch(const std::string& where,
                                                    preprocessor prep,
                                                    const load_options& opts) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  void* model = (*api)->load(
      where.c_str(), static_cast<int>(std::max<size_t>(opts.threads, 1)), err,
      sizeof(err));
  if (!model)
    return bad_model("TorchScript model '" + where +
                     "' does not load: " + plugin_message(err));
  auto s = std::make_unique<torch_servable>(where, std::move(prep),
                                            opts.allow_nan, *api, model);
  if (auto e = s->probe()) return e;
  return std::unique_ptr<servable>{std::move(s)};
}

} // namespace detail

caf::error write_torch_linear(const std::string& path,
                              const std::vector<float>& w, size_t outputs,
                              const std::vector<float>& b,
                              const std::string& activation, bool squeeze) {
  if (outputs == 0 || w.size() % outputs != 0 || b.size() != outputs)
    return invalid("linear model: " + std::to_string(w.size()) +
                   " weights and " + std::to_string(b.size()) +
                   " biases do not make " + std::to_string(outputs) +
                   " outputs");
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  if ((*api)->write_linear(path.c_str(), w.data(), outputs, w.size() / outputs,
                           b.data(), activation.c_str(), squeeze ? 1 : 0, err,
                           sizeof(err)) != 0)
    return invalid("cannot write TorchScript model '" + path +
                   "': " + plugin_message(err));
  return caf::none;
}

} // namespace troupe::models
