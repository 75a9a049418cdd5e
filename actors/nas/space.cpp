#include "actors/nas/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"

namespace troupe::nas {

std::string to_string(space_kind x) {
  switch (x) {
  case space_kind::mobilenet:
    return "mobilenet";
  case space_kind::resnet:
    return "resnet";
  case space_kind::lenet:
    return "lenet";
  }
  return "?";
}

caf::expected<space_kind> parse_space_kind(const std::string& text) {
  if (text == "mobilenet") return space_kind::mobilenet;
  if (text == "resnet") return space_kind::resnet;
  return make_error(troupe::errc::invalid_argument,
                    "unknown search space '" + text +
                        "' (known: mobilenet, resnet)");
}

namespace {

/// Output size of a convolution of kernel k, padding k/2, stride s.
int out_size(int in, int k, int stride) {
  return (in + 2 * (k / 2) - k) / stride + 1;
}

int64_t conv_flops(int out_hw, int cin_per_group, int cout, int k) {
  return static_cast<int64_t>(out_hw) * out_hw * cout * cin_per_group * k * k;
}

/// Parameters and FLOPs, walked once.
struct cost {
  int64_t params = 0;
  int64_t flops = 0;
};

cost lenet_cost(const net_arch& a) {
  cost c;
  auto c1 = a.stem;
  auto c2 = a.stages.at(0).width;
  auto& b = a.stages.at(0).blocks.at(0);
  auto k = b.kernel;
  auto h1 = a.image / 2;
  auto h2 = h1 / 2;
  c.params += int64_t{a.in_channels} * c1 * k * k + 2 * c1;
  c.flops += conv_flops(a.image, a.in_channels, c1, k);
  c.params += int64_t{c1} * c2 * k * k + 2 * c2;
  c.flops += conv_flops(h1, c1, c2, k);
  int64_t flat = int64_t{c2} * h2 * h2;
  c.params += flat * b.hidden + b.hidden;
  c.flops += flat * b.hidden;
  c.params += int64_t{b.hidden} * a.classes + a.classes;
  c.flops += int64_t{b.hidden} * a.classes;
  return c;
}

cost walk(const net_arch& a) {
  if (a.kind == space_kind::lenet) return lenet_cost(a);
  cost c;
  int hw = a.image;
  c.params += int64_t{a.in_channels} * a.stem * 9 + 2 * a.stem;
  c.flops += conv_flops(hw, a.in_channels, a.stem, 3);
  int in = a.stem;
  for (auto& st : a.stages) {
    for (size_t i = 0; i < st.blocks.size(); ++i) {
      auto& b = st.blocks[i];
      int stride = i == 0 ? st.stride : 1;
      int out = st.width;
      int ohw = out_size(hw, b.kernel, stride);
      int k = b.kernel;
      if (a.kind == space_kind::mobilenet) {
        // 1x1 expand, kxk depthwise, 1x1 project, each with batch norm.
        c.params += int64_t{in} * b.hidden + 2 * b.hidden;
        c.flops += conv_flops(hw, in, b.hidden, 1);
        c.params += int64_t{b.hidden} * k * k + 2 * b.hidden;
        c.flops += conv_flops(ohw, 1, b.hidden, k);
        c.params += int64_t{b.hidden} * out + 2 * out;
        c.flops += conv_flops(ohw, b.hidden, out, 1);
      } else {
        // kxk in -> hidden, kxk hidden -> out, 1x1 projection shortcut when
        // the shape changes.
        c.params += int64_t{in} * b.hidden * k * k + 2 * b.hidden;
        c.flops += conv_flops(ohw, in, b.hidden, k);
        c.params += int64_t{b.hidden} * out * k * k + 2 * out;
        c.flops += conv_flops(ohw, b.hidden, out, k);
        if (stride != 1 || in != out) {
          c.params += int64_t{in} * out + 2 * out;
          c.flops += conv_flops(ohw, in, out, 1);
        }
      }
      in = out;
      hw = ohw;
    }
  }
  c.params += int64_t{in} * a.classes + a.classes;
  c.flops += int64_t{in} * a.classes;
  return c;
}

} // namespace

int64_t count_params(const net_arch& a) {
  return walk(a).params;
}

int64_t count_flops(const net_arch& a) {
  return walk(a).flops;
}

std::string layout_json(const net_arch& a) {
  nlohmann::json j;
  j["kind"] = to_string(a.kind);
  j["image"] = a.image;
  j["in"] = a.in_channels;
  j["classes"] = a.classes;
  j["stem"] = a.stem;
  auto stages = nlohmann::json::array();
  for (auto& st : a.stages) {
    auto blocks = nlohmann::json::array();
    for (auto& b : st.blocks)
      blocks.push_back({{"kernel", b.kernel}, {"hidden", b.hidden}});
    stages.push_back(
        {{"stride", st.stride}, {"width", st.width}, {"blocks", blocks}});
  }
  j["stages"] = stages;
  return j.dump();
}

std::string describe(const net_arch& a) {
  std::string out = to_string(a.kind) + ": stem " + std::to_string(a.stem);
  for (auto& st : a.stages) {
    out += " | s" + std::to_string(st.stride) + " w" +
           std::to_string(st.width) + ":";
    for (auto& b : st.blocks)
      out += " k" + std::to_string(b.kernel) + "h" + std::to_string(b.hidden);
  }
  return out;
}

search_space search_space::mobilenet() {
  search_space s;
  s.kind_ = space_kind::mobilenet;
  s.stems_ = {8, 12, 16};
  s.stages_ = {{2, {1, 2}, {16, 24}},
               {2, {1, 2, 3}, {24, 32, 40}},
               {2, {1, 2, 3}, {40, 48, 64}}};
  s.kernels_ = {3, 5, 7};
  s.ratios_ = {2, 3, 4, 6};
  s.options_.push_back(s.stems_.size());
  for (auto& st : s.stages_) {
    s.options_.push_back(st.depths.size());
    s.options_.push_back(st.widths.size());
    for (int i = 0; i < st.depths.back(); ++i) {
      s.options_.push_back(s.kernels_.size());
      s.options_.push_back(s.ratios_.size());
    }
  }
  return s;
}

search_space search_space::resnet() {
  search_space s;
  s.kind_ = space_kind::resnet;
  s.stems_ = {8, 12, 16};
  s.stages_ = {{2, {1, 2}, {16, 24, 32}},
               {2, {1, 2}, {24, 32, 48}},
               {2, {1, 2}, {32, 48, 64}}};
  s.kernels_ = {3, 5};
  s.ratios_ = {0.5, 0.75, 1.0};
  s.options_.push_back(s.stems_.size());
  for (auto& st : s.stages_) {
    s.options_.push_back(st.depths.size());
    s.options_.push_back(st.widths.size());
    for (int i = 0; i < st.depths.back(); ++i) {
      s.options_.push_back(s.kernels_.size());
      s.options_.push_back(s.ratios_.size());
    }
  }
  return s;
}

search_space search_space::of(space_kind kind) {
  return kind == space_kind::resnet ? resnet() : mobilenet();
}

int search_space::hidden(int in, int out, double ratio) const {
  auto base = kind_ == space_kind::mobilenet ? in : out;
  return std::max(1, static_cast<int>(std::lround(base * ratio)));
}

bool search_space::valid(const genes& g) const {
  if (g.size() != options_.size()) return false;
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i] < 0 || static_cast<size_t>(g[i]) >= options_[i]) return false;
  return true;
}

bool search_space::active(const genes& g, size_t i) const {
  size_t pos = 1;
  if (i == 0) return true;
  for (auto& st : stages_) {
    auto slots = static_cast<size_t>(st.depths.back());
    auto end = pos + 2 + 2 * slots;
    if (i < end) {
      if (i < pos + 2) return true;
      auto slot = (i - pos - 2) / 2;
      return static_cast<int>(slot) < st.depths[g[pos]];
    }
    pos = end;
  }
  return false;
}

net_arch search_space::resolve(const genes& g) const {
  net_arch a;
  a.kind = kind_;
  size_t pos = 0;
  a.stem = stems_[g[pos++]];
  int in = a.stem;
  for (auto& st : stages_) {
    stage_arch sa;
    sa.stride = st.stride;
    auto depth = st.depths[g[pos++]];
    sa.width = st.widths[g[pos++]];
    for (int i = 0; i < st.depths.back(); ++i) {
      auto k = kernels_[g[pos++]];
      auto r = ratios_[g[pos++]];
      if (i < depth) {
        sa.blocks.push_back({k, hidden(in, sa.width, r)});
        in = sa.width;
      }
    }
    a.stages.push_back(std::move(sa));
  }
  return a;
}

genes search_space::smallest() const {
  return genes(options_.size(), 0);
}

net_arch search_space::largest() const {
  net_arch a;
  a.kind = kind_;
  a.stem = stems_.back();
  int in = a.stem;
  for (auto& st : stages_) {
    stage_arch sa;
    sa.stride = st.stride;
    sa.width = st.widths.back();
    for (int i = 0; i < st.depths.back(); ++i) {
      sa.blocks.push_back(
          {kernels_.back(), hidden(in, sa.width, ratios_.back())});
      in = sa.width;
    }
    a.stages.push_back(std::move(sa));
  }
  return a;
}

nlohmann::json search_space::choices_json(const genes& g) const {
  nlohmann::json j;
  size_t pos = 0;
  j["stem"] = stems_[g[pos++]];
  auto stages = nlohmann::json::array();
  for (auto& st : stages_) {
    auto depth = st.depths[g[pos++]];
    auto width = st.widths[g[pos++]];
    auto blocks = nlohmann::json::array();
    for (int i = 0; i < st.depths.back(); ++i) {
      auto k = kernels_[g[pos++]];
      auto r = ratios_[g[pos++]];
      if (i < depth) blocks.push_back({{"kernel", k}, {"ratio", r}});
    }
    stages.push_back({{"depth", depth}, {"width", width}, {"blocks", blocks}});
  }
  j["stages"] = stages;
  return j;
}

net_arch lenet_baseline() {
  net_arch a;
  a.kind = space_kind::lenet;
  a.stem = 20;
  a.stages = {{1, 40, {{5, 40}}}};
  return a;
}

} // namespace troupe::nas
