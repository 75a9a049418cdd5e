// The MLP part of the plugin libtroupe_torch.so: the troupe_torch_mlp_*
// functions declared at the top of servable.hpp, which mlp_family.cpp calls
// through dlsym. The net is torch_mlp_net.hpp's; this file adds AdamW,
// epochs of shuffled mini-batches, scoring, the serialized form and the
// TorchScript export. Every exception is caught here and turned into a
// message; nothing throws across the C boundary.
//
// Determinism: the initial weights come from a generator seeded with the
// seed, and epoch e's shuffle and dropout masks from one seeded with (seed,
// e), never from torch's global generator; so a seed and a thread count fix
// a run, and an MLP loaded after e epochs trains on exactly as the one that
// was saved.

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"

#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_mlp_net.hpp"
#include "actors/models/torch_mlp_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace {

using troupe::models::torch_mlp::is_script_archive;
using troupe::models::torch_mlp::make_gen;
using troupe::models::torch_mlp::mix;
using troupe::models::torch_mlp::mlp;
using troupe::models::torch_mlp::read_script;
using troupe::models::torch_mlp::write_script;
using troupe::models::torch_nn::mlp_activation;
using troupe::models::torch_nn::mlp_net;
using troupe::models::torch_nn::mlp_net_options;
using troupe::models::torch_nn::mlp_task;
using troupe::models::torch_plugin::guarded;
using troupe::models::torch_plugin::put_error;
using troupe::models::torch_plugin::use_threads;

/// The format name and version written into saved MLPs.
constexpr const char* format_name = "troupe.mlp";
constexpr int64_t format_version = 1;

/// Rows scored per forward() call when predicting, to bound memory.
constexpr int64_t predict_chunk = 8192;

/// Why `p` (for `task` with `classes` classes and `inputs` columns) cannot
/// make an MLP; empty when it can.
std::string check(const troupe_torch_mlp_params& p, size_t inputs,
                  size_t classes, int task) {
  if (task < 0 || task > 2) return "unknown task " + std::to_string(task);
  if (task == 1 && classes < 3)
    return "a multiclass MLP needs 3 or more classes, not " +
           std::to_string(classes);
  if (inputs == 0) return "an MLP needs at least one input column";
  if (p.layers < 1) return "layers must be >= 1";
  if (p.width < 1) return "width must be >= 1";
  if (p.activation < 0 || p.activation > 2)
    return "unknown activation " + std::to_string(p.activation);
  if (p.batch_size < 1) return "batch_size must be >= 1";
  if (p.recompute != 0 && p.recompute != 1)
    return "recompute must be 0 or 1, not " + std::to_string(p.recompute);
  if (!(p.dropout >= 0 && p.dropout < 1)) return "dropout must be in [0, 1)";
  if (!(p.lr > 0) || !std::isfinite(p.lr)) return "lr must be > 0";
  if (!(p.weight_decay >= 0) || !std::isfinite(p.weight_decay))
    return "weight_decay must be >= 0";
  if (p.conv_layers < 0 || p.conv_layers > 4)
    return "conv layers must be 0..4, not " + std::to_string(p.conv_layers);
  if (p.conv_layers > 0) {
    auto side = static_cast<size_t>(p.image_side);
    if (p.image_side < 1 || side * side != inputs)
      return "a CNN reads square images: " + std::to_string(inputs) +
             " inputs are not " + std::to_string(p.image_side) + " x " +
             std::to_string(p.image_side);
    if ((side >> p.conv_layers) == 0)
      return std::to_string(p.conv_layers) +
             " pooled conv layers leave no "
             "pixel of a " +
             std::to_string(side) + " x " + std::to_string(side) + " image";
    for (int i = 0; i < p.conv_layers; ++i)
      if (p.conv[i] < 1 || p.conv[i] > 1024)
        return "conv layer " + std::to_string(i) + " has " +
               std::to_string(p.conv[i]) + " channels (1..1024)";
  }
  return {};
}

/// An MLP of these parameters with fresh weights drawn from `seed`.
std::unique_ptr<mlp> build(const troupe_torch_mlp_params& p, uint64_t inputs,
                           uint64_t outputs, int32_t task, uint64_t seed) {
  auto m = std::make_unique<mlp>();
  m->params = p;
  m->task = task;
  m->inputs = inputs;
  m->outputs = outputs;
  m->seed = seed;
  mlp_net_options o;
  o.inputs = static_cast<int64_t>(inputs);
  o.outputs = static_cast<int64_t>(outputs);
  o.layers = p.layers;
  o.width = p.width;
  o.activation = static_cast<mlp_activation>(p.activation);
  o.dropout = p.dropout;
  o.recompute = p.recompute != 0;
  o.task = static_cast<mlp_task>(task);
  for (int i = 0; i < p.conv_layers; ++i)
    o.conv.push_back(p.conv[i]);
  o.side = p.image_side;
  m->net = mlp_net{o};
  m->net->init_weights(make_gen(seed));
  m->opt = std::make_unique<torch::optim::AdamW>(
      m->net->parameters(),
      torch::optim::AdamWOptions(p.lr).weight_decay(p.weight_decay));
  return m;
}

torch::Tensor rows_of(const float* x, size_t rows, size_t cols) {
  return torch::from_blob(
      const_cast<float*>(x),
      {static_cast<int64_t>(rows), static_cast<int64_t>(cols)},
      torch::kFloat32);
}

bool check_cols(const mlp& m, size_t cols, char* err, size_t err_size) {
  if (cols == m.inputs) return true;
  put_error(err, err_size,
            "the MLP takes " + std::to_string(m.inputs) + " columns, not " +
                std::to_string(cols));
  return false;
}

/// Reads `key` of `a` as an IValue.
c10::IValue read_value(torch::serialize::InputArchive& a,
                       const std::string& key) {
  c10::IValue v;
  if (!a.try_read(key, v))
    throw std::runtime_error("a saved MLP lacks '" + key + "'");
  return v;
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key) {
  auto v = read_value(a, key);
  if (!v.isInt())
    throw std::runtime_error("a saved MLP's '" + key + "' is not an integer");
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& a, const std::string& key) {
  auto v = read_value(a, key);
  if (!v.isDouble())
    throw std::runtime_error("a saved MLP's '" + key + "' is not a number");
  return v.toDouble();
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_mlp_create(const troupe_torch_mlp_params* params, size_t inputs,
                        size_t classes, int task, uint64_t seed, char* err,
                        size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    if (auto why = check(*params, inputs, classes, task); !why.empty()) {
      put_error(err, err_size, why);
      return nullptr;
    }
    auto outputs = task == 1 ? classes : 1;
    return build(*params, inputs, outputs, task, seed).release();
  });
}

__attribute__((visibility("default"))) int
troupe_torch_mlp_fit_epoch(void* handle, const float* x, const float* y,
                           size_t rows, size_t cols, int threads, char* err,
                           size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(handle);
    if (m.script) {
      put_error(err, err_size,
                "a TorchScript module trains through "
                "troupe_torch_mlp_fit_group");
      return -1;
    }
    if (!check_cols(m, cols, err, err_size)) return -1;
    if (rows == 0) {
      put_error(err, err_size, "no rows to train on");
      return -1;
    }
    use_threads(threads);
    auto X = rows_of(x, rows, cols);
    auto Y = torch::from_blob(const_cast<float*>(y),
                              {static_cast<int64_t>(rows)}, torch::kFloat32);
    if (m.epochs == 0) m.net->fit_scaling(X, Y);
    auto gen = make_gen(mix(m.seed ^ mix(m.epochs + 1)));
    auto n = static_cast<int64_t>(rows);
    auto perm = torch::randperm(n, gen, torch::kLong);
    auto bs = static_cast<int64_t>(m.params.batch_size);
    double last = 0;
    for (int64_t start = 0; start < n; start += bs) {
      auto idx = perm.slice(0, start, std::min(start + bs, n));
      auto xb = X.index_select(0, idx);
      auto yb = Y.index_select(0, idx);
      m.opt->zero_grad();
      auto loss = m.net->loss(m.net->forward(xb, gen), yb);
      loss.backward();
      m.opt->step();
      last = loss.item<double>();
    }
    if (!std::isfinite(last)) {
      put_error(err, err_size,
                "training diverged in epoch " + std::to_string(m.epochs + 1) +
                    " (the loss is " + std::to_string(last) +
                    "); a smaller lr may help");
      return -1;
    }
    ++m.epochs;
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_mlp_predict(const void* handle, const float* x, size_t rows,
                         size_t cols, int threads, float* out, size_t out_size,
                         char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(const_cast<void*>(handle));
    if (!check_cols(m, cols, err, err_size)) return -1;
    if (out_size < rows * m.outputs) {
      put_error(err, err_size,
                "the output buffer holds " + std::to_string(out_size) +
                    " floats, not " + std::to_string(rows * m.outputs));
      return -1;
    }
    if (rows == 0) return 0;
    use_threads(threads);
    c10::InferenceMode guard;
    auto X = rows_of(x, rows, cols);
    auto n = static_cast<int64_t>(rows);
    if (m.script) m.script->module.eval();
    for (int64_t start = 0; start < n; start += predict_chunk) {
      auto end = std::min(start + predict_chunk, n);
      auto chunk = X.slice(0, start, end);
      auto s = m.script ? m.script->scores(m.script->forward(chunk))
                        : m.net->scores(m.net->forward(chunk)).contiguous();
      std::memcpy(out + start * m.outputs, s.data_ptr<float>(),
                  static_cast<size_t>(s.numel()) * sizeof(float));
    }
    return 0;
  });
}

__attribute__((visibility("default"))) void
troupe_torch_mlp_describe(const void* handle, troupe_torch_mlp_info* info) {
  auto& m = *static_cast<const mlp*>(handle);
  info->params = m.params;
  info->inputs = m.inputs;
  info->outputs = m.outputs;
  info->task = m.task;
  info->seed = m.seed;
  info->epochs = m.epochs;
  put_error(info->loss, sizeof(info->loss), m.script ? m.script->loss : "");
}

__attribute__((visibility("default"))) int
troupe_torch_mlp_save(const void* handle, void* sink,
                      void (*write)(void* sink, const void* data, size_t size),
                      char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(const_cast<void*>(handle));
    torch::serialize::OutputArchive a;
    if (m.script) {
      write_script(m, a);
      a.save_to([&](const void* data, size_t size) -> size_t {
        write(sink, data, size);
        return size;
      });
      return 0;
    }
    a.write("format", c10::IValue(std::string{format_name}));
    a.write("version", c10::IValue(format_version));
    a.write("layers", c10::IValue(int64_t{m.params.layers}));
    a.write("width", c10::IValue(int64_t{m.params.width}));
    a.write("activation", c10::IValue(int64_t{m.params.activation}));
    a.write("batch_size", c10::IValue(int64_t{m.params.batch_size}));
    a.write("dropout", c10::IValue(m.params.dropout));
    a.write("lr", c10::IValue(m.params.lr));
    a.write("weight_decay", c10::IValue(m.params.weight_decay));
    a.write("conv_layers", c10::IValue(int64_t{m.params.conv_layers}));
    for (int i = 0; i < m.params.conv_layers; ++i)
      a.write("conv" + std::to_string(i),
              c10::IValue(int64_t{m.params.conv[i]}));
    a.write("image_side", c10::IValue(int64_t{m.params.image_side}));
    // a training setting, kept so that a job resumed or regrouped from a
    // checkpoint goes on recomputing
    a.write("recompute", c10::IValue(int64_t{m.params.recompute}));
    a.write("task", c10::IValue(int64_t{m.task}));
    a.write("inputs", c10::IValue(static_cast<int64_t>(m.inputs)));
    a.write("outputs", c10::IValue(static_cast<int64_t>(m.outputs)));
    a.write("seed", c10::IValue(static_cast<int64_t>(m.seed)));
    a.write("epochs", c10::IValue(static_cast<int64_t>(m.epochs)));
    torch::serialize::OutputArchive net;
    m.net->save(net);
    a.write("net", net);
    torch::serialize::OutputArchive opt;
    m.opt->save(opt);
    a.write("optimizer", opt);
    a.save_to([&](const void* data, size_t size) -> size_t {
      write(sink, data, size);
      return size;
    });
    return 0;
  });
}

__attribute__((visibility("default"))) void*
troupe_torch_mlp_load(const void* bytes, size_t size, char* err,
                      size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    torch::serialize::InputArchive a;
    a.load_from(static_cast<const char*>(bytes), size);
    auto format = read_value(a, "format");
    if (format.isString() && is_script_archive(format.toStringRef()))
      return read_script(a).release();
    if (!format.isString() || format.toStringRef() != format_name) {
      put_error(err, err_size,
                "not a saved troupe MLP (nor a TorchScript module replica)");
      return nullptr;
    }
    if (auto v = read_int(a, "version"); v != format_version) {
      put_error(err, err_size,
                "a saved MLP of format version " + std::to_string(v) +
                    "; this plugin reads version " +
                    std::to_string(format_version));
      return nullptr;
    }
    troupe_torch_mlp_params p{};
    p.layers = static_cast<int32_t>(read_int(a, "layers"));
    p.width = static_cast<int32_t>(read_int(a, "width"));
    p.activation = static_cast<int32_t>(read_int(a, "activation"));
    p.batch_size = static_cast<int32_t>(read_int(a, "batch_size"));
    p.dropout = read_double(a, "dropout");
    p.lr = read_double(a, "lr");
    p.weight_decay = read_double(a, "weight_decay");
    // a CNN's (an MLP saved before CNNs has none)
    c10::IValue conv;
    if (a.try_read("conv_layers", conv) && conv.isInt()) {
      p.conv_layers = static_cast<int32_t>(conv.toInt());
      if (p.conv_layers < 0 || p.conv_layers > 4) {
        put_error(err, err_size,
                  "a saved MLP with " + std::to_string(p.conv_layers) +
                      " conv layers (0..4)");
        return nullptr;
      }
      for (int i = 0; i < p.conv_layers; ++i)
        p.conv[i] =
            static_cast<int32_t>(read_int(a, "conv" + std::to_string(i)));
      p.image_side = static_cast<int32_t>(read_int(a, "image_side"));
    }
    // (an MLP saved before recomputation has none: 0)
    c10::IValue recompute;
    if (a.try_read("recompute", recompute) && recompute.isInt())
      p.recompute = static_cast<int32_t>(recompute.toInt());
    auto task = static_cast<int32_t>(read_int(a, "task"));
    auto inputs = static_cast<uint64_t>(read_int(a, "inputs"));
    auto outputs = static_cast<uint64_t>(read_int(a, "outputs"));
    auto classes = task == 1 ? outputs : task == 0 ? 2 : 0;
    if (auto why = check(p, inputs, classes, task); !why.empty()) {
      put_error(err, err_size, "a saved MLP with bad parameters: " + why);
      return nullptr;
    }
    if (outputs != (task == 1 ? classes : 1)) {
      put_error(err, err_size, "a saved MLP with bad outputs");
      return nullptr;
    }
    auto seed = static_cast<uint64_t>(read_int(a, "seed"));
    auto m = build(p, inputs, outputs, task, seed);
    m->epochs = static_cast<uint64_t>(read_int(a, "epochs"));
    torch::serialize::InputArchive net;
    a.read("net", net);
    m->net->load(net);
    torch::serialize::InputArchive opt;
    a.read("optimizer", opt);
    m->opt->load(opt);
    return m.release();
  });
}

__attribute__((visibility("default"))) int
troupe_torch_mlp_export(const void* handle, const char* path, char* err,
                        size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(const_cast<void*>(handle));
    if (m.script) {
      // served as trained, in eval mode (dropout off)
      m.script->module.eval();
      m.script->module.save(path);
      return 0;
    }
    m.net->to_torchscript().save(path);
    return 0;
  });
}

__attribute__((visibility("default"))) void
troupe_torch_mlp_free(void* handle) {
  delete static_cast<mlp*>(handle);
}

} // extern "C"
