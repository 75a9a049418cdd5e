// The torch plugin's pipeline stages (servable.hpp's troupe_torch_stage_*):
// one stage of a sequential MLP, its layers built from the seed and their
// index alone, trained by run_stage (torch_pipeline.hpp) over links whose
// tensors the caller carries (a stage actor's messages), and its AdamW
// stepped after each minibatch.

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"
#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_pipeline.hpp"
#include "actors/models/torch_state.hpp"

namespace {

using namespace troupe::models::torch_plugin;
namespace nn = troupe::models::torch_nn;
using steady = std::chrono::steady_clock;

constexpr const char* format_name = "troupe-pipeline-stage";

double since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

struct stage {
  troupe_torch_stage_params params{};
  std::vector<torch::nn::Linear> linears;
  std::vector<nn::chain_layer> layers;
  std::vector<torch::Tensor> all;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  torch::Tensor center, scale;
  nn::pipeline_options options;
  bool first() const { return params.stage == 0; }
  bool last() const { return params.stage + 1 == params.stages; }
};

torch::Tensor activate(int32_t kind, const torch::Tensor& h) {
  if (kind == 1) return torch::gelu(h);
  if (kind == 2) return torch::tanh(h);
  return torch::relu(h);
}

/// Chain layer `index` of the net (a hidden block, or the head), drawn from
/// a generator of its own: PyTorch's Linear default, U(-1/sqrt(in),
/// 1/sqrt(in)) for weights and biases.
torch::nn::Linear make_linear(const troupe_torch_stage_params& p,
                              int32_t index) {
  int64_t in = index == 0 ? p.inputs : p.width;
  int64_t out = index == p.layers ? p.outputs : p.width;
  torch::nn::Linear l{in, out};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(
      p.seed * 1000003ULL + static_cast<uint64_t>(index) + 1);
  auto bound = 1.0 / std::sqrt(static_cast<double>(in));
  torch::NoGradGuard off;
  l->weight.uniform_(-bound, bound, gen);
  l->bias.uniform_(-bound, bound, gen);
  return l;
}

/// The stage's inputs as a tensor: the first stage's rows, standardised.
torch::Tensor inputs_of(const stage& s, const float* x, size_t rows) {
  auto t = torch::from_blob(const_cast<float*>(x),
                            {static_cast<int64_t>(rows), s.params.inputs},
                            torch::kFloat32)
               .clone();
  if (s.center.defined()) t = (t - s.center) / s.scale;
  return t;
}

torch::Tensor targets_of(const stage& s, const float* y, size_t rows) {
  auto t = torch::from_blob(const_cast<float*>(y), {static_cast<int64_t>(rows)},
                            torch::kFloat32)
               .clone();
  if (s.params.task == 1) return t.to(torch::kLong);
  return t;
}

torch::Tensor loss_of(int32_t task, const torch::Tensor& out,
                      const torch::Tensor& y) {
  if (task == 1) return torch::nn::functional::cross_entropy(out, y);
  if (task == 0)
    return torch::nn::functional::binary_cross_entropy_with_logits(
        out.squeeze(1), y);
  return torch::nn::functional::mse_loss(out.squeeze(1), y);
}

/// The caller's links as run_stage's: tensors copied out of and into the
/// caller's buffers; the time spent in receive() counted as waiting.
class c_links : public nn::stage_links {
public:
  explicit c_links(const troupe_torch_stage_links& l) : l_(l) {}

  torch::Tensor receive_activation(uint32_t micro) override {
    return receive(0, micro);
  }
  void send_activation(uint32_t micro, const torch::Tensor& t) override {
    send(0, micro, t);
  }
  torch::Tensor receive_gradient(uint32_t micro) override {
    return receive(1, micro);
  }
  void send_gradient(uint32_t micro, const torch::Tensor& g) override {
    send(1, micro, g);
  }

  double waited = 0;

private:
  torch::Tensor receive(int kind, uint32_t micro) {
    auto t = steady::now();
    const float* data = nullptr;
    const int64_t* shape = nullptr;
    int ndim = 0;
    char err[512] = "";
    if (l_.receive(l_.ctx, kind, micro, &data, &shape, &ndim, err,
                   sizeof err) != 0)
      throw std::runtime_error(err);
    std::vector<int64_t> dims(shape, shape + ndim);
    auto out = torch::from_blob(const_cast<float*>(data), dims, torch::kFloat32)
                   .clone();
    waited += since(t);
    return out;
  }

  void send(int kind, uint32_t micro, const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat32);
    std::vector<int64_t> dims(c.sizes().begin(), c.sizes().end());
    char err[512] = "";
    if (l_.send(l_.ctx, kind, micro, c.data_ptr<float>(), dims.data(),
                static_cast<int>(dims.size()), err, sizeof err) != 0)
      throw std::runtime_error(err);
  }

  troupe_torch_stage_links l_;
};

void check(const troupe_torch_stage_params& p) {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (p.stages < 1 || p.stage < 0 || p.stage >= p.stages)
    bad("stage " + std::to_string(p.stage) + " of " + std::to_string(p.stages));
  if (p.layers < 1 || p.width < 1 || p.inputs < 1 || p.outputs < 1)
    bad("a stage's net needs inputs, outputs, layers and width >= 1");
  if (p.begin < 0 || p.end <= p.begin || p.end > p.layers + 1)
    bad("stage " + std::to_string(p.stage) + ": layers [" +
        std::to_string(p.begin) + ", " + std::to_string(p.end) +
        ") of a net of " + std::to_string(p.layers + 1));
  if ((p.stage == 0) != (p.begin == 0) ||
      (p.stage + 1 == p.stages) != (p.end == p.layers + 1))
    bad("stage " + std::to_string(p.stage) + " of " + std::to_string(p.stages) +
        " cannot hold layers [" + std::to_string(p.begin) + ", " +
        std::to_string(p.end) + ")");
  if (p.micro < 1) bad("a pipeline needs at least one micro-batch");
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_stage_create(const troupe_torch_stage_params* params, char* err,
                          size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    check(*params);
    auto s = std::make_unique<stage>();
    s->params = *params;
    s->params.center = nullptr;
    s->params.scale = nullptr;
    auto& p = s->params;
    for (int32_t i = p.begin; i < p.end; ++i) {
      auto l = make_linear(p, i);
      s->linears.push_back(l);
      bool head = i == p.layers;
      auto act = p.activation;
      nn::chain_layer c;
      c.run = [l, head, act](const torch::Tensor& h) mutable {
        auto o = l->forward(h);
        return head ? o : activate(act, o);
      };
      c.params = {l->weight, l->bias};
      s->all.insert(s->all.end(), c.params.begin(), c.params.end());
      s->layers.push_back(std::move(c));
    }
    if (s->first() && params->center && params->scale) {
      s->center = torch::from_blob(const_cast<float*>(params->center),
                                   {p.inputs}, torch::kFloat32)
                      .clone();
      s->scale = torch::from_blob(const_cast<float*>(params->scale), {p.inputs},
                                  torch::kFloat32)
                     .clone()
                     .clamp_min(1e-6f);
    }
    s->optimizer = std::make_unique<torch::optim::AdamW>(
        s->all, torch::optim::AdamWOptions(p.lr).weight_decay(p.weight_decay));
    s->options.micro = static_cast<uint32_t>(p.micro);
    s->options.schedule = p.schedule == 0
                              ? troupe::models::pipeline_schedule::gpipe
                              : troupe::models::pipeline_schedule::one_f_one_b;
    s->options.recompute = p.recompute != 0;
    s->options.threads = std::max(1, p.threads);
    return s.release();
  });
}

__attribute__((visibility("default"))) int
troupe_torch_stage_step(void* handle, const float* x, const float* y,
                        size_t rows, const troupe_torch_stage_links* links,
                        double* loss, double* seconds, char* err,
                        size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& s = *static_cast<stage*>(handle);
    use_threads(s.options.threads);
    if (rows < static_cast<size_t>(s.params.micro))
      throw std::invalid_argument(std::to_string(rows) + " rows make no " +
                                  std::to_string(s.params.micro) +
                                  " micro-batches");
    if ((s.first() && !x) || (s.last() && !y))
      throw std::invalid_argument("stage " + std::to_string(s.params.stage) +
                                  " needs its rows' " +
                                  (s.first() ? "inputs" : "targets"));
    auto t = steady::now();
    std::vector<torch::Tensor> xs, ys;
    if (s.first()) xs = inputs_of(s, x, rows).chunk(s.params.micro, 0);
    if (s.last()) ys = targets_of(s, y, rows).chunk(s.params.micro, 0);
    c_links l{*links};
    double total = 0;
    s.optimizer->zero_grad();
    nn::run_stage(
        s.layers, static_cast<uint32_t>(s.params.stage),
        static_cast<uint32_t>(s.params.stages), xs, ys,
        static_cast<int64_t>(rows),
        [&s](const torch::Tensor& out, const torch::Tensor& y) {
          return loss_of(s.params.task, out, y);
        },
        s.options, l, &total);
    s.optimizer->step();
    if (loss) *loss = s.last() ? total : std::nan("");
    if (seconds) {
      seconds[0] = std::max(0.0, since(t) - l.waited);
      seconds[1] = l.waited;
    }
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_stage_forward(void* handle, const float* x, size_t rows,
                           const troupe_torch_stage_links* links, float* out,
                           char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& s = *static_cast<stage*>(handle);
    use_threads(s.options.threads);
    if (rows == 0) return 0;
    if ((s.first() && !x) || (s.last() && !out))
      throw std::invalid_argument("stage " + std::to_string(s.params.stage) +
                                  " needs its rows' " +
                                  (s.first() ? "inputs" : "outputs"));
    torch::NoGradGuard off;
    auto micro = std::min<int64_t>(s.params.micro, static_cast<int64_t>(rows));
    std::vector<torch::Tensor> xs;
    if (s.first()) xs = inputs_of(s, x, rows).chunk(micro, 0);
    c_links l{*links};
    int64_t done = 0;
    // chunk() may give fewer pieces than asked: the first stage's count
    // goes first, so the others know how many come
    for (int64_t m = 0;; ++m) {
      torch::Tensor h;
      if (s.first()) {
        if (m >= static_cast<int64_t>(xs.size())) break;
        h = xs[m];
      } else {
        if (done >= static_cast<int64_t>(rows)) break;
        h = l.receive_activation(static_cast<uint32_t>(m));
      }
      for (auto& layer : s.layers)
        h = layer.run(h);
      if (!s.last()) {
        l.send_activation(static_cast<uint32_t>(m), h);
        done += h.size(0);
        continue;
      }
      torch::Tensor p;
      if (s.params.task == 1)
        p = torch::softmax(h, 1);
      else if (s.params.task == 0)
        p = torch::sigmoid(h.squeeze(1));
      else
        p = h.squeeze(1);
      p = p.contiguous();
      std::memcpy(out + done * (s.params.task == 1 ? s.params.outputs : 1),
                  p.data_ptr<float>(), p.numel() * sizeof(float));
      done += h.size(0);
    }
    return 0;
  });
}

__attribute__((visibility("default"))) int troupe_torch_stage_save(
    const void* handle, void* sink,
    void (*write)(void* sink, const void* data, size_t size), char* err,
    size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& s = *static_cast<stage*>(const_cast<void*>(handle));
    save_part(format_name, {{"begin", s.params.begin}, {"end", s.params.end}},
              s.all, *s.optimizer, sink, write);
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_stage_load(void* handle, const void* bytes, size_t size, char* err,
                        size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& s = *static_cast<stage*>(handle);
    load_part(format_name, "a pipeline stage's state",
              {{"begin", s.params.begin}, {"end", s.params.end}}, s.all,
              *s.optimizer, bytes, size);
    return 0;
  });
}

__attribute__((visibility("default"))) void troupe_torch_stage_free(void* h) {
  delete static_cast<stage*>(h);
}

} // extern "C"
