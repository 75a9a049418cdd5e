#include "actors/models/mlp_family.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "actors/models/errors.hpp"
#include "actors/models/torch_plugin.hpp"
#include "runtime/errors.hpp"

// The mlp family's C++ side: its parameters, checks of the matrices it is
// given, and an estimator that holds a plugin handle and calls the
// troupe_torch_mlp_* functions (servable.hpp) through torch_plugin().

namespace troupe::models {

using detail::plugin_message;
using detail::torch_api;
using detail::torch_plugin;
using tabular::task_kind;

namespace {

constexpr const char* family_name = "mlp";

caf::error invalid(std::string msg) {
  return make_error(troupe::errc::invalid_argument, std::move(msg));
}

caf::error torch_failed(std::string msg) {
  return make_error(errc::torch_failure, std::move(msg));
}

std::string value_text(const tabular::param_value& v) {
  if (auto* s = std::get_if<std::string>(&v)) return "'" + *s + "'";
  return tabular::to_string(v);
}

/// Reads the family's parameters, each with its default, type and range;
/// errors name the parameter and its value.
class param_reader {
public:
  explicit param_reader(const tabular::config& cfg) : cfg_(cfg) {}

  caf::expected<double> real(const std::string& name, double fallback,
                             double low, double high) {
    auto* v = find(name);
    if (!v) return fallback;
    double x = 0;
    if (auto* d = std::get_if<double>(v))
      x = *d;
    else if (auto* i = std::get_if<int64_t>(v))
      x = static_cast<double>(*i);
    else
      return bad(name, *v, "a number");
    if (!(x >= low && x <= high))
      return bad(name, *v,
                 "a number in [" + tabular::to_string(low) + ", " +
                     tabular::to_string(high) + "]");
    return x;
  }

  /// An integer; a number with no fraction, and (when `text` is set) a
  /// text holding an integer, are taken too.
  caf::expected<int64_t> integer(const std::string& name, int64_t fallback,
                                 int64_t low, int64_t high, bool text = false) {
    auto* v = find(name);
    if (!v) return fallback;
    auto range =
        "an integer in " + std::to_string(low) + ".." + std::to_string(high);
    int64_t x = 0;
    if (auto* i = std::get_if<int64_t>(v)) {
      x = *i;
    } else if (auto* d = std::get_if<double>(v); d && std::isfinite(*d) &&
                                                 std::floor(*d) == *d &&
                                                 std::fabs(*d) < 1e15) {
      x = static_cast<int64_t>(*d);
    } else if (auto* s = std::get_if<std::string>(v); s && text) {
      char* end = nullptr;
      x = std::strtoll(s->c_str(), &end, 10);
      if (s->empty() || *end != '\0') return bad(name, *v, range);
    } else {
      return bad(name, *v, range);
    }
    if (x < low || x > high) return bad(name, *v, range);
    return x;
  }

  caf::expected<std::string> choice(const std::string& name,
                                    std::string fallback,
                                    const std::vector<std::string>& choices) {
    auto* v = find(name);
    if (!v) return fallback;
    auto* s = std::get_if<std::string>(v);
    for (auto& c : choices)
      if (s && *s == c) return c;
    std::string list;
    for (auto& c : choices)
      list += (list.empty() ? "" : ", ") + c;
    return bad(name, *v, "one of " + list);
  }

  /// The first parameter of the configuration that no read asked for.
  caf::error unknown() const {
    for (auto& [name, v] : cfg_)
      if (read_.count(name) == 0)
        return invalid(std::string{family_name} + ": unknown parameter '" +
                       name +
                       "' (the mlp family takes layers, width, activation, "
                       "dropout, lr, weight_decay, batch_size)");
    return caf::none;
  }

private:
  const tabular::param_value* find(const std::string& name) {
    read_.insert(name);
    auto i = cfg_.find(name);
    return i == cfg_.end() ? nullptr : &i->second;
  }

  caf::error bad(const std::string& name, const tabular::param_value& v,
                 const std::string& want) const {
    return invalid(std::string{family_name} + ": parameter '" + name + "' is " +
                   value_text(v) + "; it takes " + want);
  }

  const tabular::config& cfg_;
  std::set<std::string> read_;
};

caf::expected<troupe_torch_mlp_params> read_params(const tabular::config& cfg) {
  param_reader r{cfg};
  troupe_torch_mlp_params p{};
  auto layers = r.integer("layers", 2, 1, 16);
  if (!layers) return layers.error();
  auto width = r.integer("width", 64, 1, 4096);
  if (!width) return width.error();
  auto act = r.choice("activation", "relu", {"relu", "gelu", "tanh"});
  if (!act) return act.error();
  auto dropout = r.real("dropout", 0.1, 0, 0.95);
  if (!dropout) return dropout.error();
  auto lr = r.real("lr", 1e-3, 1e-6, 1);
  if (!lr) return lr.error();
  auto wd = r.real("weight_decay", 1e-5, 0, 1);
  if (!wd) return wd.error();
  auto batch = r.integer("batch_size", 128, 1, 65536, true);
  if (!batch) return batch.error();
  if (auto err = r.unknown()) return err;
  p.layers = static_cast<int32_t>(*layers);
  p.width = static_cast<int32_t>(*width);
  p.activation = *act == "relu" ? 0 : *act == "gelu" ? 1 : 2;
  p.batch_size = static_cast<int32_t>(*batch);
  p.dropout = *dropout;
  p.lr = *lr;
  p.weight_decay = *wd;
  return p;
}

int task_code(task_kind t) {
  switch (t) {
  case task_kind::binary:
    return 0;
  case task_kind::multiclass:
    return 1;
  case task_kind::regression:
    return 2;
  }
  return 2;
}

caf::error check_context(const estimator_context& ctx) {
  if (ctx.task == task_kind::binary && ctx.classes != 2)
    return invalid("mlp: a binary task has 2 classes, not " +
                   std::to_string(ctx.classes));
  if (ctx.task == task_kind::multiclass && ctx.classes < 3)
    return invalid("mlp: a multiclass task needs 3 or more classes, not " +
                   std::to_string(ctx.classes));
  return caf::none;
}

/// Checks `m` against the estimator: its columns, a label per row, labels
/// that are class indices (classification) or finite, no NaN feature.
caf::error check_train(const tabular::matrix& m, const estimator_context& ctx,
                       size_t cols) {
  if (m.cols != cols)
    return invalid("mlp: the training matrix has " + std::to_string(m.cols) +
                   " columns; this MLP takes " + std::to_string(cols));
  if (m.rows == 0) return invalid("mlp: the training matrix has no rows");
  if (m.labels.size() != m.rows || m.values.size() != m.rows * m.cols)
    return invalid("mlp: the training matrix has " + std::to_string(m.rows) +
                   " rows, " + std::to_string(m.labels.size()) +
                   " labels and " + std::to_string(m.values.size()) +
                   " values");
  for (size_t r = 0; r < m.rows; ++r) {
    auto y = m.labels[r];
    bool ok = std::isfinite(y);
    if (ok && ctx.task != task_kind::regression)
      ok = y >= 0 && y < static_cast<float>(ctx.classes) && std::floor(y) == y;
    if (!ok)
      return invalid("mlp: row " + std::to_string(r) + ": label " +
                     tabular::to_string(static_cast<double>(y)) +
                     (ctx.task == task_kind::regression
                          ? " is not a finite value"
                          : " is not a class index in 0.." +
                                std::to_string(ctx.classes - 1)));
  }
  for (size_t i = 0; i < m.values.size(); ++i)
    if (std::isnan(m.values[i])) {
      auto c = i % m.cols;
      auto name = c < m.feature_names.size() ? "'" + m.feature_names[c] + "'"
                                             : std::to_string(c);
      return invalid("mlp: row " + std::to_string(i / m.cols) + ", column " +
                     name +
                     " is missing (NaN); the mlp family takes no missing "
                     "values: impute them first");
    }
  return caf::none;
}

/// A torch plugin MLP as an estimator. Its net is created at the first
/// fit_step, which tells the number of input columns.
class mlp_estimator final : public estimator {
public:
  /// An MLP to create at the first fit_step.
  mlp_estimator(const torch_api* api, troupe_torch_mlp_params params,
                estimator_context ctx)
      : api_(api), ctx_(std::move(ctx)) {
    info_.params = params;
  }

  /// An MLP the plugin loaded.
  mlp_estimator(const torch_api* api, void* handle, estimator_context ctx)
      : api_(api), handle_(handle), ctx_(std::move(ctx)) {
    api_->mlp_describe(handle_, &info_);
  }

  ~mlp_estimator() override {
    if (handle_) api_->mlp_free(handle_);
  }

  mlp_estimator(const mlp_estimator&) = delete;
  mlp_estimator& operator=(const mlp_estimator&) = delete;

  const troupe_torch_mlp_info& info() const { return info_; }

  caf::error fit_step(const tabular::matrix& train) override {
    char err[1024] = "";
    if (!handle_) {
      if (auto e = check_train(train, ctx_, train.cols)) return e;
      handle_ =
          api_->mlp_create(&info_.params, train.cols, ctx_.classes,
                           task_code(ctx_.task), ctx_.seed, err, sizeof(err));
      if (!handle_)
        return torch_failed("mlp: cannot create the net: " +
                            plugin_message(err));
      api_->mlp_describe(handle_, &info_);
    } else if (auto e = check_train(train, ctx_, info_.inputs)) {
      return e;
    }
    auto rc = api_->mlp_fit_epoch(handle_, train.values.data(),
                                  train.labels.data(), train.rows, train.cols,
                                  threads(), err, sizeof(err));
    api_->mlp_describe(handle_, &info_);
    if (rc != 0)
      return torch_failed("mlp: epoch " + std::to_string(info_.epochs + 1) +
                          " failed: " + plugin_message(err));
    return caf::none;
  }

  uint64_t steps() const override { return info_.epochs; }

  caf::expected<std::vector<float>>
  predict(const tabular::matrix& m) const override {
    if (!handle_) return untrained("predict");
    if (m.cols != info_.inputs)
      return invalid("mlp: the matrix has " + std::to_string(m.cols) +
                     " columns; this MLP was trained on " +
                     std::to_string(info_.inputs));
    if (m.values.size() != m.rows * m.cols)
      return invalid("mlp: the matrix has " + std::to_string(m.rows) +
                     " rows but " + std::to_string(m.values.size()) +
                     " values");
    std::vector<float> out(m.rows * info_.outputs);
    char err[1024] = "";
    if (api_->mlp_predict(handle_, m.values.data(), m.rows, m.cols, threads(),
                          out.data(), out.size(), err, sizeof(err)) != 0)
      return torch_failed("mlp: predicting " + std::to_string(m.rows) +
                          " rows failed: " + plugin_message(err));
    return out;
  }

  caf::expected<std::vector<uint8_t>> save() const override {
    if (!handle_) return untrained("save");
    std::vector<uint8_t> bytes;
    char err[1024] = "";
    if (api_->mlp_save(handle_, &bytes, detail::append_bytes, err,
                       sizeof(err)) != 0)
      return torch_failed("mlp: saving failed: " + plugin_message(err));
    return bytes;
  }

  caf::error export_torchscript(const std::string& path) const {
    if (!handle_) return untrained("export");
    char err[1024] = "";
    if (api_->mlp_export(handle_, path.c_str(), err, sizeof(err)) != 0)
      return torch_failed("mlp: cannot write TorchScript module '" + path +
                          "': " + plugin_message(err));
    return caf::none;
  }

private:
  static caf::error untrained(const std::string& what) {
    return invalid("mlp: cannot " + what +
                   " an MLP before its first epoch (fit_step)");
  }

  int threads() const {
    return static_cast<int>(std::max<size_t>(ctx_.threads, 1));
  }

  const torch_api* api_;
  void* handle_ = nullptr;
  estimator_context ctx_;
  troupe_torch_mlp_info info_{};
};

caf::expected<std::unique_ptr<estimator>>
make_mlp(const tabular::config& cfg, const estimator_context& ctx) {
  auto params = read_params(cfg);
  if (!params) return params.error();
  if (auto err = check_context(ctx)) return err;
  auto api = torch_plugin();
  if (!api) return api.error();
  return std::unique_ptr<estimator>{
      std::make_unique<mlp_estimator>(*api, *params, ctx)};
}

caf::expected<std::unique_ptr<estimator>>
load_mlp(const std::vector<uint8_t>& bytes, const estimator_context& ctx) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  void* handle = (*api)->mlp_load(bytes.data(), bytes.size(), err, sizeof(err));
  if (!handle)
    return make_error(errc::bad_model,
                      "mlp: the saved model (" + std::to_string(bytes.size()) +
                          " bytes) does not load: " + plugin_message(err));
  auto est = std::make_unique<mlp_estimator>(*api, handle, ctx);
  auto& info = est->info();
  auto want_outputs = ctx.task == task_kind::multiclass ? ctx.classes : 1;
  if (info.task != task_code(ctx.task) || info.outputs != want_outputs)
    return make_error(
        errc::bad_model,
        "mlp: the saved model is for task " + std::to_string(info.task) +
            " with " + std::to_string(info.outputs) +
            " outputs; it is loaded for a " + tabular::to_string(ctx.task) +
            " task with " + std::to_string(want_outputs));
  return std::unique_ptr<estimator>{std::move(est)};
}

} // namespace

estimator_family mlp_family() {
  estimator_family f;
  f.name = family_name;
  f.max_steps = mlp_max_steps;
  f.takes_nan = false;
  f.native_categorical = false;
  f.make = make_mlp;
  f.load = load_mlp;
  return f;
}

caf::error export_mlp_torchscript(const estimator& est,
                                  const std::string& path) {
  auto* m = dynamic_cast<const mlp_estimator*>(&est);
  if (!m)
    return invalid("only an estimator of the mlp family exports as an MLP "
                   "TorchScript module");
  return m->export_torchscript(path);
}

caf::error export_mlp_torchscript(const std::vector<uint8_t>& bytes,
                                  const std::string& path) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  void* handle = (*api)->mlp_load(bytes.data(), bytes.size(), err, sizeof(err));
  if (!handle)
    return make_error(errc::bad_model,
                      "mlp: the saved model (" + std::to_string(bytes.size()) +
                          " bytes) does not load: " + plugin_message(err));
  int rc = (*api)->mlp_export(handle, path.c_str(), err, sizeof(err));
  (*api)->mlp_free(handle);
  if (rc != 0)
    return torch_failed("mlp: cannot write TorchScript module '" + path +
                        "': " + plugin_message(err));
  return caf::none;
}

} // namespace troupe::models
