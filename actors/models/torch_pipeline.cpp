#include "actors/models/torch_pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace troupe::models::torch_nn {

namespace {

using steady = std::chrono::steady_clock;

double since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// Tensors from one stage to its neighbour, in order. pop() gives up when
/// the pipeline is cancelled (another stage failed).
class channel {
public:
  explicit channel(std::atomic<bool>& cancelled) : cancelled_(cancelled) {}

  void push(torch::Tensor t) {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      queue_.push_back(std::move(t));
    }
    ready_.notify_one();
  }

  torch::Tensor pop() {
    std::unique_lock<std::mutex> lock{mutex_};
    while (queue_.empty()) {
      if (cancelled_) throw std::runtime_error("pipeline cancelled");
      ready_.wait_for(lock, std::chrono::milliseconds(50));
    }
    auto t = std::move(queue_.front());
    queue_.pop_front();
    return t;
  }

private:
  std::atomic<bool>& cancelled_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<torch::Tensor> queue_;
};

torch::Tensor run_layers(const std::vector<chain_layer>& layers,
                         torch::Tensor h) {
  for (auto& l : layers)
    h = l.run(h);
  return h;
}

/// A micro-batch between its forward and backward pass on one stage.
struct kept {
  torch::Tensor input;  // requires grad (stages after the first)
  torch::Tensor output; // or the weighted loss, on the last stage
};

} // namespace

double pipeline_result::idle_fraction() const {
  if (stages.empty() || seconds <= 0) return 0;
  double busy = 0;
  for (auto& s : stages)
    busy += s.busy_seconds;
  return 1.0 - busy / (static_cast<double>(stages.size()) * seconds);
}

stage_report run_stage(const std::vector<chain_layer>& layers, uint32_t k,
                       uint32_t stages, const std::vector<torch::Tensor>& xs,
                       const std::vector<torch::Tensor>& ys, int64_t rows,
                       const loss_fn& loss, const pipeline_options& options,
                       stage_links& links, double* minibatch_loss) {
  auto micro = options.micro;
  bool first = k == 0;
  bool last = k + 1 == stages;
  if ((first && xs.size() != micro) || (last && ys.size() != micro))
    throw std::invalid_argument("stage " + std::to_string(k) + " of " +
                                std::to_string(stages) + " needs " +
                                std::to_string(micro) +
                                " micro-batches of its inputs or targets");
  std::vector<torch::Tensor> params;
  for (auto& l : layers)
    params.insert(params.end(), l.params.begin(), l.params.end());
  stage_report report;
  std::map<uint32_t, kept> keep;
  for (auto& op : stage_plan(options.schedule, k, stages, micro)) {
    if (op.forward) {
      auto in =
          first ? xs[op.micro]
                : links.receive_activation(op.micro).detach().requires_grad_(
                      true);
      auto t = steady::now();
      auto out = options.recompute ? checkpointed(
                                         [&layers](const torch::Tensor& h) {
                                           return run_layers(layers, h);
                                         },
                                         in, params)
                                   : run_layers(layers, in);
      if (last) {
        auto share = static_cast<double>(ys[op.micro].size(0)) /
                     static_cast<double>(rows);
        auto l = loss(out, ys[op.micro]);
        if (minibatch_loss) *minibatch_loss += l.item<double>() * share;
        out = l * share;
      }
      report.busy_seconds += since(t);
      if (!last) links.send_activation(op.micro, out.detach());
      keep[op.micro] = {in, out};
      report.most_kept =
          std::max(report.most_kept, static_cast<uint32_t>(keep.size()));
    } else {
      auto grad = last ? torch::Tensor{} : links.receive_gradient(op.micro);
      auto t = steady::now();
      auto& m = keep.at(op.micro);
      if (last)
        m.output.backward();
      else
        m.output.backward(grad);
      auto g = first ? torch::Tensor{} : m.input.grad();
      report.busy_seconds += since(t);
      if (!first) links.send_gradient(op.micro, g);
      keep.erase(op.micro);
    }
  }
  return report;
}

namespace {

/// Stage k's links in one process: channels to its neighbours' threads.
class channel_links : public stage_links {
public:
  channel_links(std::vector<std::unique_ptr<channel>>& forward,
                std::vector<std::unique_ptr<channel>>& backward, uint32_t k)
      : forward_(forward), backward_(backward), k_(k) {}
  torch::Tensor receive_activation(uint32_t) override {
    return forward_[k_]->pop();
  }
  void send_activation(uint32_t, const torch::Tensor& t) override {
    forward_[k_ + 1]->push(t);
  }
  torch::Tensor receive_gradient(uint32_t) override {
    return backward_[k_]->pop();
  }
  void send_gradient(uint32_t, const torch::Tensor& g) override {
    backward_[k_ - 1]->push(g);
  }

private:
  std::vector<std::unique_ptr<channel>>& forward_;
  std::vector<std::unique_ptr<channel>>& backward_;
  uint32_t k_;
};

} // namespace

pipeline_result
run_pipeline(const std::vector<std::vector<chain_layer>>& stages,
             const torch::Tensor& x, const torch::Tensor& y,
             const loss_fn& loss, const pipeline_options& options) {
  auto k_stages = static_cast<uint32_t>(stages.size());
  auto rows = x.size(0);
  if (k_stages == 0) throw std::invalid_argument("a pipeline of no stage");
  if (options.micro < 1 || options.micro > rows)
    throw std::invalid_argument(std::to_string(options.micro) +
                                " micro-batches of a minibatch of " +
                                std::to_string(rows) + " rows");
  auto micro = options.micro;
  auto xs = x.tensor_split(micro, 0);
  auto ys = y.tensor_split(micro, 0);
  std::atomic<bool> cancelled{false};
  // forward[k]: into stage k; backward[k]: gradients into stage k
  std::vector<std::unique_ptr<channel>> forward, backward;
  for (uint32_t k = 0; k < k_stages; ++k) {
    forward.push_back(std::make_unique<channel>(cancelled));
    backward.push_back(std::make_unique<channel>(cancelled));
  }
  pipeline_result result;
  result.stages.resize(k_stages);
  std::vector<std::exception_ptr> errors(k_stages);
  auto t0 = steady::now();
  auto stage_main = [&](uint32_t k) {
    try {
      at::set_num_threads(std::max(options.threads, 1));
      channel_links links{forward, backward, k};
      result.stages[k] = run_stage(stages[k], k, k_stages, xs, ys, rows, loss,
                                   options, links, &result.loss);
    } catch (...) {
      errors[k] = std::current_exception();
      cancelled = true;
    }
  };
  std::vector<std::thread> threads;
  for (uint32_t k = 0; k < k_stages; ++k)
    threads.emplace_back(stage_main, k);
  for (auto& t : threads)
    t.join();
  result.seconds = since(t0);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return result;
}

std::vector<std::vector<chain_layer>>
cut_stages(const std::vector<chain_layer>& layers,
           const std::vector<size_t>& starts) {
  std::vector<std::vector<chain_layer>> out;
  for (size_t s = 0; s < starts.size(); ++s) {
    auto end = s + 1 < starts.size() ? starts[s + 1] : layers.size();
    out.emplace_back(layers.begin() + static_cast<std::ptrdiff_t>(starts[s]),
                     layers.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

std::vector<double> parameter_costs(const std::vector<chain_layer>& layers) {
  std::vector<double> costs;
  for (auto& l : layers) {
    double n = 0;
    for (auto& p : l.params)
      n += static_cast<double>(p.numel());
    costs.push_back(n);
  }
  return costs;
}

std::vector<double> measured_costs(const std::vector<chain_layer>& layers,
                                   const torch::Tensor& sample, int repeats) {
  // the measuring passes accumulate gradients: the caller's are put back
  std::vector<std::pair<torch::Tensor, torch::Tensor>> grads;
  for (auto& l : layers)
    for (auto p : l.params)
      grads.emplace_back(p, p.grad().defined() ? p.grad().clone()
                                               : torch::Tensor{});
  std::vector<std::vector<double>> times(layers.size());
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    auto h = sample;
    for (size_t i = 0; i < layers.size(); ++i) {
      auto in = h.detach().requires_grad_(true);
      auto t = steady::now();
      auto out = layers[i].run(in);
      out.backward(torch::ones_like(out));
      times[i].push_back(since(t));
      h = out.detach();
    }
  }
  std::vector<double> costs;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    costs.push_back(t[t.size() / 2]);
  }
  for (auto& [p, g] : grads)
    p.mutable_grad() = g;
  return costs;
}

} // namespace troupe::models::torch_nn
