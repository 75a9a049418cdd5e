#include "actors/nas/torch_net.hpp"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace troupe::nas::plugin {

layout parse_layout(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::invalid_argument("layout is not a JSON object");
  auto num = [](const nlohmann::json& o, const char* key) {
    if (!o.contains(key) || !o[key].is_number_integer() ||
        o[key].get<int>() < 1)
      throw std::invalid_argument(std::string{"layout: '"} + key +
                                  "' must be a positive integer");
    return o[key].get<int>();
  };
  layout l;
  if (!j.contains("kind") || !j["kind"].is_string())
    throw std::invalid_argument("layout: 'kind' missing");
  l.kind = j["kind"].get<std::string>();
  if (l.kind != "mobilenet" && l.kind != "resnet" && l.kind != "lenet")
    throw std::invalid_argument("layout: unknown kind '" + l.kind + "'");
  l.image = num(j, "image");
  l.in = num(j, "in");
  l.classes = num(j, "classes");
  l.stem = num(j, "stem");
  if (!j.contains("stages") || !j["stages"].is_array())
    throw std::invalid_argument("layout: 'stages' missing");
  for (auto& js : j["stages"]) {
    layout::stage st;
    st.stride = num(js, "stride");
    st.width = num(js, "width");
    for (auto& jb : js.at("blocks")) {
      layout::block b;
      b.kernel = num(jb, "kernel");
      b.hidden = num(jb, "hidden");
      if (b.kernel % 2 == 0)
        throw std::invalid_argument("layout: kernel sizes must be odd");
      st.blocks.push_back(b);
    }
    if (st.blocks.empty())
      throw std::invalid_argument("layout: a stage without blocks");
    l.stages.push_back(std::move(st));
  }
  if (l.kind == "lenet" &&
      (l.stages.size() != 1 || l.stages[0].blocks.size() != 1))
    throw std::invalid_argument("layout: lenet takes one stage of one block");
  return l;
}

torch::Tensor slice(const torch::Tensor& full, at::IntArrayRef sizes) {
  auto t = full;
  for (int64_t d = 0; d < full.dim(); ++d) {
    auto off = d >= 2 ? (full.size(d) - sizes[d]) / 2 : 0;
    if (sizes[d] != full.size(d)) t = t.narrow(d, off, sizes[d]);
  }
  return t;
}

namespace {

std::string shape_text(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string block_name(size_t s, size_t b) {
  return "s" + std::to_string(s) + ".b" + std::to_string(b);
}

/// Whether a residual block's shortcut needs a 1x1 projection.
bool projects(int stride, int in, int out) {
  return stride != 1 || in != out;
}

} // namespace

/// One forward pass of a (sub-)network: looks the parameters up, slices
/// them, records the slices.
struct net::walker {
  net& n;
  const layout& a;
  bn_mode mode;
  std::vector<use>* uses;
  double momentum = 0.1;

  torch::Tensor get(const std::string& name, std::vector<int64_t> sizes,
                    bool buffer = false) {
    auto it = n.params_.find(name);
    if (it == n.params_.end())
      throw std::invalid_argument("the sub-network needs " + name +
                                  ", which the network does not have");
    auto& full = it->second;
    bool fits = static_cast<int64_t>(sizes.size()) == full.dim();
    for (size_t d = 0; fits && d < sizes.size(); ++d)
      fits = sizes[d] >= 1 && sizes[d] <= full.size(static_cast<int64_t>(d));
    if (!fits)
      throw std::invalid_argument("the sub-network needs " + name + " of " +
                                  shape_text(sizes) + ", the network's is " +
                                  shape_text(full.sizes()));
    auto t = slice(full, sizes);
    if (uses) uses->push_back({name, t, buffer});
    return t;
  }

  torch::Tensor conv(const torch::Tensor& x, const std::string& name,
                     int64_t out, int64_t in, int64_t k, int64_t stride,
                     int64_t groups = 1) {
    auto w = get(name + ".w", {out, in / groups, k, k});
    return torch::conv2d(x, w, {}, stride, k / 2, 1, groups);
  }

  torch::Tensor bn(const torch::Tensor& x, const std::string& name, int64_t c) {
    auto g = get(name + ".g", {c});
    auto b = get(name + ".b", {c});
    torch::Tensor m, v;
    if (mode != bn_mode::batch) {
      m = get(name + ".m", {c}, true);
      v = get(name + ".v", {c}, true);
    }
    return torch::batch_norm(x, g, b, m, v, mode != bn_mode::running, momentum,
                             1e-5, false);
  }

  torch::Tensor linear(const torch::Tensor& x, const std::string& name,
                       int64_t out, int64_t in) {
    return torch::linear(x, get(name + ".w", {out, in}),
                         get(name + ".b", {out}));
  }

  torch::Tensor lenet(torch::Tensor h) {
    auto& st = a.stages[0];
    auto& b = st.blocks[0];
    h = torch::relu(
        bn(conv(h, "c1", a.stem, a.in, b.kernel, 1), "c1.bn", a.stem));
    h = torch::max_pool2d(h, 2);
    h = torch::relu(
        bn(conv(h, "c2", st.width, a.stem, b.kernel, 1), "c2.bn", st.width));
    h = torch::max_pool2d(h, 2).flatten(1);
    h = torch::relu(linear(h, "f1", b.hidden, h.size(1)));
    return linear(h, "f2", a.classes, b.hidden);
  }

  torch::Tensor run(const torch::Tensor& x) {
    auto& s = n.shape_;
    if (a.kind != s.kind || a.image != s.image || a.in != s.in ||
        a.classes != s.classes)
      throw std::invalid_argument("the sub-network's kind, image size, "
                                  "channels or classes differ from the "
                                  "network's");
    if (x.dim() != 2 || x.size(1) != int64_t{a.in} * a.image * a.image)
      throw std::invalid_argument("input must be [rows, " +
                                  std::to_string(a.in * a.image * a.image) +
                                  "], not " + shape_text(x.sizes()));
    auto h = x.view({-1, a.in, a.image, a.image});
    h = (h / 255.0 - pixel_mean) / pixel_std;
    if (a.kind == "lenet") return lenet(h);
    // Channels-last: oneDNN's depthwise convolutions train ~3x faster so.
    h = h.contiguous(torch::MemoryFormat::ChannelsLast);
    h = torch::relu(bn(conv(h, "stem", a.stem, a.in, 3, 1), "stem.bn", a.stem));
    int64_t c = a.stem;
    for (size_t si = 0; si < a.stages.size(); ++si) {
      auto& st = a.stages[si];
      for (size_t bi = 0; bi < st.blocks.size(); ++bi) {
        auto& b = st.blocks[bi];
        auto p = block_name(si, bi);
        int64_t stride = bi == 0 ? st.stride : 1;
        int64_t o = st.width;
        if (a.kind == "mobilenet") {
          auto y = torch::relu(bn(conv(h, p + ".ex", b.hidden, c, 1, 1),
                                  p + ".ex.bn", b.hidden));
          y = torch::relu(bn(conv(y, p + ".dw", b.hidden, b.hidden, b.kernel,
                                  stride, b.hidden),
                             p + ".dw.bn", b.hidden));
          y = bn(conv(y, p + ".pw", o, b.hidden, 1, 1), p + ".pw.bn", o);
          h = stride == 1 && c == o ? y + h : y;
        } else {
          auto y =
              torch::relu(bn(conv(h, p + ".c1", b.hidden, c, b.kernel, stride),
                             p + ".c1.bn", b.hidden));
          y = bn(conv(y, p + ".c2", o, b.hidden, b.kernel, 1), p + ".c2.bn", o);
          auto sc =
              projects(static_cast<int>(stride), static_cast<int>(c),
                       static_cast<int>(o))
                  ? bn(conv(h, p + ".sc", o, c, 1, stride), p + ".sc.bn", o)
                  : h;
          h = torch::relu(y + sc);
        }
        c = o;
      }
    }
    h = h.mean({2, 3});
    return linear(h, "head", a.classes, c);
  }
};

torch::Tensor& net::add(const std::string& name, torch::Tensor t, bool buffer) {
  if (!buffer) {
    t.set_requires_grad(true);
    trainable_.push_back(t);
  }
  order_.emplace_back(name, t);
  return params_[name] = t;
}

void net::add_bn(const std::string& name, int64_t channels) {
  add(name + ".g", torch::ones({channels}));
  add(name + ".b", torch::zeros({channels}));
  add(name + ".m", torch::zeros({channels}), true);
  add(name + ".v", torch::ones({channels}), true);
}

void net::add_conv(const std::string& name, int64_t out, int64_t in,
                   int64_t k) {
  auto w = torch::empty({out, in, k, k});
  torch::nn::init::kaiming_normal_(w, 0, torch::kFanIn, torch::kReLU);
  add(name + ".w", w);
}

net::net(layout shape, uint64_t seed) : shape_(std::move(shape)) {
  torch::manual_seed(seed);
  auto& s = shape_;
  auto add_linear = [&](const std::string& name, int64_t out, int64_t in) {
    auto bound = 1.0 / std::sqrt(static_cast<double>(in));
    add(name + ".w", torch::empty({out, in}).uniform_(-bound, bound));
    add(name + ".b", torch::empty({out}).uniform_(-bound, bound));
  };
  if (s.kind == "lenet") {
    auto& st = s.stages[0];
    auto& b = st.blocks[0];
    add_conv("c1", s.stem, s.in, b.kernel);
    add_bn("c1.bn", s.stem);
    add_conv("c2", st.width, s.stem, b.kernel);
    add_bn("c2.bn", st.width);
    int64_t side = s.image / 4;
    add_linear("f1", b.hidden, int64_t{st.width} * side * side);
    add_linear("f2", s.classes, b.hidden);
  } else {
    add_conv("stem", s.stem, s.in, 3);
    add_bn("stem.bn", s.stem);
    int c = s.stem;
    for (size_t si = 0; si < s.stages.size(); ++si) {
      auto& st = s.stages[si];
      for (size_t bi = 0; bi < st.blocks.size(); ++bi) {
        auto& b = st.blocks[bi];
        auto p = block_name(si, bi);
        int stride = bi == 0 ? st.stride : 1;
        if (s.kind == "mobilenet") {
          add_conv(p + ".ex", b.hidden, c, 1);
          add_bn(p + ".ex.bn", b.hidden);
          add_conv(p + ".dw", b.hidden, 1, b.kernel);
          add_bn(p + ".dw.bn", b.hidden);
          add_conv(p + ".pw", st.width, b.hidden, 1);
          add_bn(p + ".pw.bn", st.width);
        } else {
          add_conv(p + ".c1", b.hidden, c, b.kernel);
          add_bn(p + ".c1.bn", b.hidden);
          add_conv(p + ".c2", st.width, b.hidden, b.kernel);
          add_bn(p + ".c2.bn", st.width);
          if (projects(stride, c, st.width)) {
            add_conv(p + ".sc", st.width, c, 1);
            add_bn(p + ".sc.bn", st.width);
          }
        }
        c = st.width;
      }
    }
    add_linear("head", s.classes, c);
  }
  opt_ = std::make_unique<torch::optim::Adam>(trainable_,
                                              torch::optim::AdamOptions(1e-3));
}

torch::Tensor net::forward(const layout* a, const torch::Tensor& x,
                           bn_mode mode, std::vector<use>* uses) {
  walker w{*this, a ? *a : shape_, mode, uses};
  return w.run(x);
}

std::vector<net::use> net::slices(const layout* a) {
  torch::NoGradGuard no_grad;
  std::vector<use> out;
  auto& l = a ? *a : shape_;
  auto x = torch::zeros({2, int64_t{l.in} * l.image * l.image});
  forward(a, x, bn_mode::running, &out);
  return out;
}

void net::copy_from(net& from, const layout& a) {
  torch::NoGradGuard no_grad;
  for (auto& u : from.slices(&a)) {
    auto it = params_.find(u.name);
    if (it == params_.end())
      throw std::invalid_argument("the extracted network has no " + u.name);
    if (it->second.sizes() != u.value.sizes())
      throw std::invalid_argument(u.name + " is " +
                                  shape_text(it->second.sizes()) +
                                  " in the extracted network, the slice " +
                                  shape_text(u.value.sizes()));
    it->second.copy_(u.value);
  }
}

double net::train_step(const layout* a, const torch::Tensor& x,
                       const torch::Tensor& y, double lr) {
  for (auto& p : trainable_)
    p.mutable_grad() = torch::Tensor();
  auto logits = forward(a, x, a ? bn_mode::batch : bn_mode::batch_track);
  auto loss = torch::nn::functional::cross_entropy(logits, y);
  loss.backward();
  for (auto& g : opt_->param_groups())
    static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
  opt_->step();
  return loss.item<double>();
}

void net::calibrate(const torch::Tensor& x, int64_t batch) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : order_) {
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ".m") == 0)
      t.zero_();
    else if (name.size() > 2 && name.compare(name.size() - 2, 2, ".v") == 0)
      t.fill_(1);
  }
  int64_t rows = x.size(0);
  batch = std::max<int64_t>(batch, 2);
  int64_t i = 0;
  for (int64_t at = 0; at + 1 < rows; at += batch, ++i) {
    auto part = x.narrow(0, at, std::min(batch, rows - at));
    walker w{*this, shape_, bn_mode::batch_track, nullptr};
    w.momentum = 1.0 / static_cast<double>(i + 1); // a running average
    w.run(part);
  }
}

} // namespace troupe::nas::plugin
