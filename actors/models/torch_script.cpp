// The torch plugin's user modules (torch_script_net.hpp): loading a user's
// TorchScript module with its loss, checking it with a probe, and the
// troupe_torch_script_create function declared at the top of servable.hpp.
// A module replica is an `mlp` handle whose `script` is set, so that the
// data-parallel functions (torch_parallel.cpp), predict, save, load, export
// and weights (torch_mlp.cpp) serve both; this file also writes and reads
// the saved form of such a replica.

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"

#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_mlp_state.hpp"
#include "actors/models/torch_script_net.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace troupe::models::torch_script {

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i)
    s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

[[noreturn]] void refuse(const std::string& msg) {
  throw std::runtime_error(msg);
}

/// The last line of a TorchScript error: the interpreter's message, after
/// its tracebacks.
std::string last_line(const char* what) {
  std::string s{what};
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  auto nl = s.rfind('\n');
  auto line = nl == std::string::npos ? s : s.substr(nl + 1);
  auto start = line.find_first_not_of(' ');
  return start == std::string::npos ? line : line.substr(start);
}

/// Whether forward() gives class scores, whose targets are class indices.
bool class_scores(const script_net& n) {
  return n.task != 2 && n.width > 1;
}

} // namespace

std::vector<torch::Tensor> script_net::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters())
    out.push_back(p);
  return out;
}

torch::Tensor script_net::forward(const torch::Tensor& x) {
  auto y = module.forward({x});
  if (!y.isTensor())
    refuse("the module's forward() gives a " + y.tagKind() + ", not a tensor");
  return y.toTensor();
}

torch::Tensor script_net::loss_of(const torch::Tensor& out,
                                  const torch::Tensor& y) {
  auto target = class_scores(*this) ? y.to(torch::kLong) : y.view_as(out);
  namespace F = torch::nn::functional;
  switch (kind) {
  case loss_kind::cross_entropy:
    return F::cross_entropy(out, target);
  case loss_kind::bce:
    return F::binary_cross_entropy(out, target);
  case loss_kind::mse:
    return F::mse_loss(out, target);
  case loss_kind::huber:
    return F::huber_loss(out, target);
  case loss_kind::l1:
    return F::l1_loss(out, target);
  case loss_kind::method:
    break;
  }
  auto l = module.get_method(loss)({out, target});
  if (!l.isTensor())
    refuse("the module's " + loss + "() gives a " + l.tagKind() +
           ", not a tensor");
  return l.toTensor();
}

torch::Tensor script_net::scores(const torch::Tensor& out) const {
  auto n = out.size(0);
  auto y = out.to(torch::kFloat32).reshape({n, width});
  if (task == 2) return y.reshape({n});
  if (width == 1) {
    auto p = y.reshape({n});
    if (n > 0 && (p.min().item<float>() < 0 || p.max().item<float>() > 1))
      refuse("the module's forward() gives " +
             std::to_string(p.min().item<float>()) + " .. " +
             std::to_string(p.max().item<float>()) +
             ", not probabilities in [0, 1]: a binary module with one output "
             "gives P(class 1) (end forward() with a sigmoid)");
    return p;
  }
  // kept when the rows are probabilities already, else a softmax of logits
  bool probs =
      n == 0 || (y.min().item<float>() >= 0 && y.max().item<float>() <= 1 &&
                 (y.sum(1) - 1).abs().max().item<float>() <= 1e-3f);
  auto p = probs ? y : torch::softmax(y, 1);
  return task == 0 ? p.select(1, 1).contiguous() : p.contiguous();
}

std::string script_net::bytes() const {
  std::ostringstream out;
  module.save(out);
  return out.str();
}

std::unique_ptr<script_net> load_script_net(const std::string& bytes,
                                            const std::string& loss,
                                            int32_t task, uint64_t inputs,
                                            uint64_t classes) {
  if (task < 0 || task > 2) refuse("unknown task " + std::to_string(task));
  if (task == 1 && classes < 3)
    refuse("a multiclass module needs 3 or more classes, not " +
           std::to_string(classes));
  if (inputs == 0) refuse("a module needs at least one input column");
  auto n = std::make_unique<script_net>();
  n->task = task;
  try {
    std::istringstream in{bytes};
    n->module = torch::jit::load(in);
  } catch (const c10::Error& e) {
    refuse(std::string{"not a TorchScript module (torch.jit.save's file): "} +
           e.what_without_backtrace());
  } catch (const std::exception& e) {
    refuse(std::string{"not a TorchScript module (torch.jit.save's file): "} +
           last_line(e.what()));
  }
  if (n->parameters().empty()) refuse("the module has no parameters to train");
  for (auto& p : n->parameters())
    if (!p.is_floating_point())
      refuse("the module has a parameter of type " +
             std::string{c10::toString(p.scalar_type())} +
             "; only floating-point parameters train");
  // the loss: the module's method, or a built-in
  static const std::pair<const char*, loss_kind> builtins[] = {
      {"cross_entropy", loss_kind::cross_entropy},
      {"bce", loss_kind::bce},
      {"mse", loss_kind::mse},
      {"huber", loss_kind::huber},
      {"l1", loss_kind::l1}};
  n->loss = loss.empty() ? "loss" : loss;
  if (!n->module.find_method(n->loss)) {
    n->kind = loss_kind::method;
    for (auto& [name, kind] : builtins)
      if (n->loss == name) n->kind = kind;
    if (n->kind == loss_kind::method && !loss.empty())
      refuse("the module has no method '" + loss + "' and '" + loss +
             "' is not a built-in loss (cross_entropy, bce, mse, huber, l1)");
  }
  // the probe: forward() on two rows of zeros, in eval mode
  n->module.eval();
  auto x = torch::zeros({2, static_cast<int64_t>(inputs)}, torch::kFloat32);
  torch::Tensor out;
  {
    torch::NoGradGuard no_grad;
    try {
      out = n->forward(x);
    } catch (const std::exception& e) {
      refuse("the module's forward() fails on [2, " + std::to_string(inputs) +
             "] float rows (the data's columns): " + last_line(e.what()));
    }
  }
  int64_t width = 0;
  if (out.dim() == 1 && out.size(0) == 2)
    width = 1;
  else if (out.dim() == 2 && out.size(0) == 2 && out.size(1) > 0)
    width = out.size(1);
  auto expected = task == 2 ? std::string{"[rows] or [rows, 1] values"}
                  : task == 0
                      ? std::string{"[rows] or [rows, 1] P(class 1), "
                                    "or [rows, 2] class scores"}
                      : "[rows, " + std::to_string(classes) + "] class scores";
  bool fits = task == 2   ? width == 1
              : task == 0 ? width == 1 || width == 2
                          : width == static_cast<int64_t>(classes);
  if (!fits)
    refuse("the module's forward() gives a tensor of shape " + shape_of(out) +
           " for 2 rows; the task needs " + expected);
  n->width = width;
  if (n->kind == loss_kind::method && loss.empty() &&
      !n->module.find_method("loss"))
    n->kind = class_scores(*n) ? loss_kind::cross_entropy
              : task == 2      ? loss_kind::mse
                               : loss_kind::bce;
  if (n->kind != loss_kind::method && loss.empty())
    n->loss = n->kind == loss_kind::cross_entropy ? "cross_entropy"
              : n->kind == loss_kind::mse         ? "mse"
                                                  : "bce";
  // the loss of the probe's output against class 0 is a scalar
  n->module.train();
  {
    torch::NoGradGuard no_grad;
    auto y = torch::zeros({2}, torch::kFloat32);
    torch::Tensor l;
    try {
      l = n->loss_of(n->forward(x), y);
    } catch (const std::exception& e) {
      refuse("the loss '" + n->loss +
             "' fails on forward()'s output: " + last_line(e.what()));
    }
    if (l.numel() != 1)
      refuse("the loss '" + n->loss + "' gives a tensor of shape " +
             shape_of(l) + "; it must give the batch's mean, a scalar");
  }
  return n;
}

} // namespace troupe::models::torch_script

namespace troupe::models::torch_mlp {

namespace {

constexpr const char* script_format = "troupe.torchscript";
constexpr int64_t script_version = 1;

c10::IValue must_read(torch::serialize::InputArchive& a,
                      const std::string& key) {
  c10::IValue v;
  if (!a.try_read(key, v))
    throw std::runtime_error("a saved module replica lacks '" + key + "'");
  return v;
}

void attach_optimizer(mlp& m) {
  m.opt = std::make_unique<torch::optim::AdamW>(
      m.script->parameters(), torch::optim::AdamWOptions(m.params.lr)
                                  .weight_decay(m.params.weight_decay));
}

} // namespace

bool is_script_archive(const std::string& format) {
  return format == script_format;
}

void write_script(const mlp& m, torch::serialize::OutputArchive& a) {
  a.write("format", c10::IValue(std::string{script_format}));
  a.write("version", c10::IValue(script_version));
  a.write("loss", c10::IValue(m.script->loss));
  a.write("lr", c10::IValue(m.params.lr));
  a.write("weight_decay", c10::IValue(m.params.weight_decay));
  a.write("task", c10::IValue(int64_t{m.task}));
  a.write("inputs", c10::IValue(static_cast<int64_t>(m.inputs)));
  a.write("classes",
          c10::IValue(static_cast<int64_t>(m.task == 1 ? m.outputs : 2)));
  a.write("seed", c10::IValue(static_cast<int64_t>(m.seed)));
  a.write("epochs", c10::IValue(static_cast<int64_t>(m.epochs)));
  auto bytes = m.script->bytes();
  a.write("module",
          torch::from_blob(bytes.data(), {static_cast<int64_t>(bytes.size())},
                           torch::kUInt8)
              .clone());
  torch::serialize::OutputArchive opt;
  m.opt->save(opt);
  a.write("optimizer", opt);
}

std::unique_ptr<mlp> read_script(torch::serialize::InputArchive& a) {
  auto version = must_read(a, "version");
  if (!version.isInt() || version.toInt() != script_version)
    throw std::runtime_error(
        "a saved module replica of another format version; this plugin "
        "reads version " +
        std::to_string(script_version));
  auto m = std::make_unique<mlp>();
  m->params.lr = must_read(a, "lr").toDouble();
  m->params.weight_decay = must_read(a, "weight_decay").toDouble();
  m->task = static_cast<int32_t>(must_read(a, "task").toInt());
  m->inputs = static_cast<uint64_t>(must_read(a, "inputs").toInt());
  auto classes = static_cast<uint64_t>(must_read(a, "classes").toInt());
  m->seed = static_cast<uint64_t>(must_read(a, "seed").toInt());
  m->epochs = static_cast<uint64_t>(must_read(a, "epochs").toInt());
  torch::Tensor t;
  a.read("module", t);
  t = t.contiguous();
  std::string bytes(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()),
                    static_cast<size_t>(t.numel()));
  m->script = torch_script::load_script_net(
      bytes, must_read(a, "loss").toStringRef(), m->task, m->inputs, classes);
  m->outputs = m->task == 1 ? classes : 1;
  attach_optimizer(*m);
  torch::serialize::InputArchive opt;
  a.read("optimizer", opt);
  m->opt->load(opt);
  return m;
}

} // namespace troupe::models::torch_mlp

using troupe::models::torch_plugin::guarded;

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_script_create(const void* module, size_t size, const char* loss,
                           double lr, double weight_decay, size_t inputs,
                           size_t classes, int task, uint64_t seed, char* err,
                           size_t err_size) {
  using troupe::models::torch_mlp::mlp;
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    if (!(lr > 0) || !std::isfinite(lr))
      throw std::runtime_error("lr must be > 0");
    if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
      throw std::runtime_error("weight_decay must be >= 0");
    auto m = std::make_unique<mlp>();
    m->params.lr = lr;
    m->params.weight_decay = weight_decay;
    m->task = task;
    m->inputs = inputs;
    m->outputs = task == 1 ? classes : 1;
    m->seed = seed;
    m->script = troupe::models::torch_script::load_script_net(
        std::string(static_cast<const char*>(module), size), loss ? loss : "",
        task, inputs, classes);
    troupe::models::torch_mlp::attach_optimizer(*m);
    return m.release();
  });
}

} // extern "C"
