#include "actors/models/torch_sage.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace troupe::models::torch_nn {

namespace {

torch::Tensor long_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kLong);
}

/// The mean over each frontier node's sampled neighbours of `table`'s rows
/// `rows` (one per neighbour entry), [frontier, dims]; 0 for none.
torch::Tensor mean_rows(const torch::Tensor& table,
                        const std::vector<int64_t>& rows,
                        const std::vector<uint64_t>& offsets) {
  auto frontier = static_cast<int64_t>(offsets.size()) - 1;
  auto out = torch::zeros({frontier, table.size(1)}, table.options());
  if (rows.empty()) return out;
  std::vector<int64_t> owner(rows.size());
  std::vector<float> count(static_cast<size_t>(frontier), 0);
  for (int64_t i = 0; i < frontier; ++i)
    for (auto e = offsets[i]; e < offsets[i + 1]; ++e) {
      owner[e] = i;
      count[static_cast<size_t>(i)] += 1;
    }
  out = out.index_add(0, long_tensor(owner),
                      table.index_select(0, long_tensor(rows)));
  auto n = torch::tensor(count).clamp_min(1).unsqueeze(1);
  return out / n;
}

std::vector<int64_t> as_rows(const std::vector<uint32_t>& v) {
  return {v.begin(), v.end()};
}

void check_hop(const sage_hop& h, const char* which) {
  if (h.offsets.size() != h.frontier.size() + 1 ||
      h.offsets.back() != h.neighbours.size())
    throw std::invalid_argument(std::string{"GraphSAGE: "} + which +
                                " hop's offsets do not match its frontier "
                                "and neighbours");
}

} // namespace

sage_netImpl::sage_netImpl(int64_t inputs, int64_t hidden, int64_t classes) {
  layer1 = register_module("layer1", torch::nn::Linear(2 * inputs, hidden));
  layer2 = register_module("layer2", torch::nn::Linear(2 * hidden, classes));
}

torch::Tensor sage_netImpl::forward(const torch::Tensor& x,
                                    const std::vector<sage_hop>& hops) {
  if (hops.size() != 2)
    throw std::invalid_argument("GraphSAGE: 2 hops, not " +
                                std::to_string(hops.size()));
  check_hop(hops[0], "the first");
  check_hop(hops[1], "the second");
  auto& h0 = hops[0];
  auto& h1 = hops[1];
  auto layer = [&](const torch::Tensor& table, const sage_hop& hop,
                   const std::vector<int64_t>& self_rows,
                   const std::vector<int64_t>& neighbour_rows,
                   torch::nn::Linear& lin) {
    auto self = table.index_select(0, long_tensor(self_rows));
    auto agg = mean_rows(table, neighbour_rows, hop.offsets);
    return lin->forward(torch::cat({self, agg}, 1));
  };
  // layer 1 for the seeds (their hop-0 neighbours) and for the hop-1
  // frontier (its hop-1 neighbours)
  auto seeds1 = torch::relu(
      layer(x, h0, as_rows(h0.frontier), as_rows(h0.neighbours), layer1));
  auto next1 = torch::relu(
      layer(x, h1, as_rows(h1.frontier), as_rows(h1.neighbours), layer1));
  // layer 2 for the seeds: their hop-0 neighbours are rows of next1
  std::unordered_map<uint32_t, int64_t> row_of;
  for (size_t i = 0; i < h1.frontier.size(); ++i)
    row_of.emplace(h1.frontier[i], static_cast<int64_t>(i));
  std::vector<int64_t> rows;
  rows.reserve(h0.neighbours.size());
  for (auto v : h0.neighbours) {
    auto it = row_of.find(v);
    if (it == row_of.end())
      throw std::invalid_argument(
          "GraphSAGE: node " + std::to_string(v) +
          " sampled at hop 0 is not in the second hop's frontier");
    rows.push_back(it->second);
  }
  auto agg = mean_rows(next1, rows, h0.offsets);
  return layer2->forward(torch::cat({seeds1, agg}, 1));
}

namespace {

using sage_clock = std::chrono::steady_clock;

double since(sage_clock::time_point t0) {
  return std::chrono::duration<double>(sage_clock::now() - t0).count();
}

/// The class indices of a minibatch's `seeds` (global IDs, in the order
/// of its first hop's frontier): their rows' labels when the minibatch
/// brings them, else labels[seed].
torch::Tensor seed_labels(const sage_batch& b,
                          const std::vector<uint32_t>& seeds,
                          const std::vector<uint32_t>& labels) {
  auto& frontier = b.hops.front().frontier;
  if (frontier.size() != seeds.size())
    throw std::invalid_argument(
        "GraphSAGE: a minibatch of " + std::to_string(seeds.size()) +
        " seeds has " + std::to_string(frontier.size()) + " in its first hop");
  std::vector<int64_t> y;
  y.reserve(seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    bool own = !b.labels.empty();
    auto v = own ? frontier[i] : seeds[i];
    auto& table = own ? b.labels : labels;
    if (v >= table.size())
      throw std::invalid_argument("GraphSAGE: seed " + std::to_string(v) +
                                  " has no label (" +
                                  std::to_string(table.size()) + " labels)");
    y.push_back(table[v]);
  }
  return long_tensor(y);
}

} // namespace

double sage_epoch(sage_net& net, torch::optim::Optimizer& opt,
                  const torch::Tensor& x, const std::vector<uint32_t>& labels,
                  const std::vector<uint32_t>& train,
                  const sage_sampler& sample, uint32_t batch,
                  uint64_t order_seed, const group_ptr& group,
                  sage_epoch_seconds* seconds) {
  int world = group ? group->getSize() : 1;
  int rank = group ? group->getRank() : 0;
  batch = std::max(batch, 1u);
  std::mt19937_64 rng{order_seed};
  auto order = train;
  std::shuffle(order.begin(), order.end(), rng);
  sage_epoch_seconds spent;
  double total = 0;
  size_t batches = 0;
  for (size_t b = 0; b < order.size(); b += batch) {
    auto end = std::min(order.size(), b + batch);
    auto size = end - b;
    // this worker's part of the minibatch
    auto first =
        b + size * static_cast<size_t>(rank) / static_cast<size_t>(world);
    auto last =
        b + size * static_cast<size_t>(rank + 1) / static_cast<size_t>(world);
    std::vector<uint32_t> seeds(
        order.begin() + static_cast<std::ptrdiff_t>(first),
        order.begin() + static_cast<std::ptrdiff_t>(last));
    auto round_seed = order_seed * 1000003 + batches;
    opt.zero_grad();
    torch::Tensor loss = torch::zeros({});
    if (!seeds.empty()) {
      auto t0 = sage_clock::now();
      auto mb = sample(seeds, round_seed);
      spent.sample += since(t0);
      t0 = sage_clock::now();
      auto& rows = mb.x.defined() ? mb.x : x;
      // the mean over the whole minibatch: this part's share of it
      loss = torch::nn::functional::cross_entropy(
                 net->forward(rows, mb.hops), seed_labels(mb, seeds, labels),
                 torch::nn::functional::CrossEntropyFuncOptions().reduction(
                     torch::kSum)) /
             static_cast<double>(size);
      loss.backward();
      spent.compute += since(t0);
    }
    if (world > 1) {
      auto t0 = sage_clock::now();
      std::vector<at::Tensor> grads;
      for (auto& p : net->parameters()) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
      }
      // one flat all-reduce
      auto flat = torch::cat(
          [&] {
            std::vector<torch::Tensor> v;
            for (auto& g : grads)
              v.push_back(g.reshape({-1}));
            return v;
          }(),
          0);
      auto l = loss.detach().reshape({1});
      std::vector<at::Tensor> both{torch::cat({flat, l})};
      group->allreduce(both)->wait();
      int64_t at = 0;
      for (auto& g : grads) {
        g.copy_(both[0].narrow(0, at, g.numel()).view_as(g));
        at += g.numel();
      }
      total += both[0][at].item<double>();
      spent.comm += since(t0);
    } else {
      total += loss.item<double>();
    }
    auto t0 = sage_clock::now();
    opt.step();
    spent.compute += since(t0);
    ++batches;
  }
  if (seconds) {
    seconds->sample += spent.sample;
    seconds->compute += spent.compute;
    seconds->comm += spent.comm;
  }
  return batches ? total / static_cast<double>(batches) : 0.0;
}

std::vector<double> train_sage(sage_net& net, const torch::Tensor& x,
                               const std::vector<uint32_t>& labels,
                               const std::vector<uint32_t>& train,
                               const sage_sampler& sample,
                               const sage_train_options& o,
                               const group_ptr& group) {
  torch::optim::AdamW opt(
      net->parameters(),
      torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  std::vector<double> losses;
  for (uint32_t e = 0; e < o.epochs; ++e)
    losses.push_back(sage_epoch(net, opt, x, labels, train, sample, o.batch,
                                o.seed * 1000003 + e, group));
  return losses;
}

sage_scores sage_evaluate(sage_net& net, const torch::Tensor& x,
                          const std::vector<uint32_t>& labels,
                          const std::vector<uint32_t>& nodes,
                          const sage_sampler& sample, uint32_t batch) {
  torch::NoGradGuard no_grad;
  batch = std::max(batch, 1u);
  size_t right = 0;
  double loss = 0;
  for (size_t b = 0; b < nodes.size(); b += batch) {
    std::vector<uint32_t> seeds(
        nodes.begin() + static_cast<std::ptrdiff_t>(b),
        nodes.begin() +
            static_cast<std::ptrdiff_t>(std::min(nodes.size(), b + batch)));
    auto mb = sample(seeds, 0);
    auto& rows = mb.x.defined() ? mb.x : x;
    auto logits = net->forward(rows, mb.hops);
    auto y = seed_labels(mb, seeds, labels);
    loss += torch::nn::functional::cross_entropy(
                logits, y,
                torch::nn::functional::CrossEntropyFuncOptions().reduction(
                    torch::kSum))
                .item<double>();
    right += static_cast<size_t>(logits.argmax(1).eq(y).sum().item<int64_t>());
  }
  sage_scores s;
  if (!nodes.empty()) {
    auto n = static_cast<double>(nodes.size());
    s.logloss = loss / n;
    s.accuracy = static_cast<double>(right) / n;
  }
  return s;
}

double sage_accuracy(sage_net& net, const torch::Tensor& x,
                     const std::vector<uint32_t>& labels,
                     const std::vector<uint32_t>& nodes,
                     const sage_sampler& sample, uint32_t batch) {
  return sage_evaluate(net, x, labels, nodes, sample, batch).accuracy;
}

} // namespace troupe::models::torch_nn
