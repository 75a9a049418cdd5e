#include "actors/models/forest.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/models/errors.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

namespace {

using nlohmann::json;

caf::error refused(const std::string& what) {
  return make_error(errc::unsupported, "compiled forest: " + what);
}

/// A number XGBoost's JSON writes as a string ("5E-1") or as a number;
/// null (a NaN, see valid_model_json) is NaN.
double number(const json& j) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string()) return std::stod(j.get<std::string>());
  return j.get<double>();
}

/// Rows a block of accumulate() covers: each tree is walked for the whole
/// block while its nodes are in cache.
constexpr size_t block_rows = 64;

} // namespace

std::string valid_model_json(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool quoted = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < in.size())
        out += in[++i];
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (c == '"') {
      quoted = true;
      out += c;
      continue;
    }
    auto word = [&](std::string_view w) { return in.substr(i, w.size()) == w; };
    if (word("NaN")) {
      out += "null";
      i += 2;
    } else if (word("-Infinity")) {
      out += "null";
      i += 8;
    } else if (word("Infinity")) {
      out += "null";
      i += 7;
    } else {
      out += c;
    }
  }
  return out;
}

caf::expected<forest> forest::compile(std::string_view model_json) {
  auto doc = json::parse(valid_model_json(model_json), nullptr, false);
  if (doc.is_discarded()) return refused("the model is not valid JSON");
  forest f;
  try {
    auto& learner = doc.at("learner");
    auto& booster = learner.at("gradient_booster");
    auto kind = booster.at("name").get<std::string>();
    if (kind != "gbtree")
      return refused("the " + kind +
                     " booster is not compiled (only gbtree is)");
    auto& param = learner.at("learner_model_param");
    f.features_ = static_cast<size_t>(number(param.at("num_feature")));
    auto num_class = static_cast<size_t>(number(param.at("num_class")));
    size_t num_target = 1;
    if (param.contains("num_target"))
      num_target = static_cast<size_t>(number(param.at("num_target")));
    auto base_score = static_cast<float>(number(param.at("base_score")));
    f.objective_ = learner.at("objective").at("name").get<std::string>();
    auto& obj = f.objective_;
    // The base margin is the objective's ProbToMargin of base_score.
    float margin = base_score;
    if (obj == "reg:squarederror" || obj == "reg:linear" ||
        obj == "reg:squaredlogerror" || obj == "reg:pseudohubererror" ||
        obj == "reg:absoluteerror") {
      f.transform_ = transform::none;
    } else if (obj == "binary:logitraw") {
      f.transform_ = transform::none; // XGBoost keeps base_score as it is
    } else if (obj == "reg:logistic" || obj == "binary:logistic") {
      if (!(base_score > 0.0f && base_score < 1.0f))
        return refused("base_score " + std::to_string(base_score) +
                       " is not a probability");
      margin = -std::log(1.0f / base_score - 1.0f);
      f.transform_ = transform::sigmoid;
    } else if (obj == "count:poisson" || obj == "reg:gamma" ||
               obj == "reg:tweedie") {
      if (!(base_score > 0.0f))
        return refused("base_score " + std::to_string(base_score) +
                       " is not positive");
      margin = std::log(base_score);
      f.transform_ = transform::exp;
    } else if (obj == "multi:softprob") {
      f.transform_ = transform::softmax;
    } else {
      return refused("the objective " + obj + " is not compiled");
    }
    if (obj == "multi:softprob") {
      if (num_class < 2)
        return refused("multi:softprob with num_class " +
                       std::to_string(num_class));
      f.groups_ = num_class;
    } else {
      if (num_class > 1)
        return refused(obj + " with num_class " + std::to_string(num_class));
      f.groups_ = std::max<size_t>(num_target, 1);
    }
    f.base_.assign(f.groups_, margin);
    auto& model = booster.at("model");
    auto& trees = model.at("trees");
    auto& info = model.at("tree_info");
    if (!trees.is_array() || !info.is_array() || info.size() != trees.size())
      return refused("tree_info does not give one output per tree");
    for (size_t t = 0; t < trees.size(); ++t) {
      auto where = "tree " + std::to_string(t) + ": ";
      auto& tree = trees[t];
      auto group = info[t].get<int64_t>();
      if (group < 0 || static_cast<size_t>(group) >= f.groups_)
        return refused(where + "output " + std::to_string(group) +
                       " is out of range");
      auto& tp = tree.at("tree_param");
      if (tp.contains("size_leaf_vector") &&
          number(tp.at("size_leaf_vector")) != 0)
        return refused(where + "vector leaves are not compiled");
      auto& left = tree.at("left_children");
      auto& right = tree.at("right_children");
      auto& split = tree.at("split_indices");
      auto& cond = tree.at("split_conditions");
      auto& dleft = tree.at("default_left");
      auto n = left.size();
      if (n == 0) return refused(where + "no nodes");
      if (right.size() != n || split.size() != n || cond.size() != n ||
          dleft.size() != n)
        return refused(where + "its node arrays differ in length");
      // Categorical splits: split_type 1, their categories stored CSR-like
      // (categories_nodes[i]'s set is categories[segments[i], + sizes[i])).
      std::vector<int> split_type(n, 0);
      if (tree.contains("split_type")) {
        auto& st = tree.at("split_type");
        if (st.size() != n)
          return refused(where + "its node arrays differ in length");
        for (size_t i = 0; i < n; ++i)
          split_type[i] = st[i].get<int>();
      }
      std::vector<std::vector<uint32_t>> sets(n);
      if (tree.contains("categories_nodes")) {
        auto& cn = tree.at("categories_nodes");
        auto& seg = tree.at("categories_segments");
        auto& sz = tree.at("categories_sizes");
        auto& cats = tree.at("categories");
        if (seg.size() != cn.size() || sz.size() != cn.size())
          return refused(where + "its category arrays differ in length");
        for (size_t i = 0; i < cn.size(); ++i) {
          auto id = cn[i].get<int64_t>();
          auto beg = seg[i].get<uint64_t>();
          auto len = sz[i].get<uint64_t>();
          if (id < 0 || static_cast<size_t>(id) >= n || beg + len > cats.size())
            return refused(where + "categorical node " + std::to_string(id) +
                           " or its categories are out of range");
          for (uint64_t k = beg; k < beg + len; ++k) {
            auto c = cats[k].get<int64_t>();
            if (c < 0 || c >= (int64_t{1} << 24))
              return refused(where + "node " + std::to_string(id) +
                             " holds category " + std::to_string(c));
            sets[static_cast<size_t>(id)].push_back(static_cast<uint32_t>(c));
          }
        }
      }
      // Lay the nodes out breadth first, each split's children side by
      // side; every node reached once (a tree, not a graph).
      std::vector<bool> seen(n, false);
      std::vector<std::pair<uint32_t, size_t>> queue; // (slot, XGBoost id)
      auto root = static_cast<uint32_t>(f.nodes_.size());
      f.nodes_.push_back({});
      queue.emplace_back(root, 0);
      seen[0] = true;
      for (size_t q = 0; q < queue.size(); ++q) {
        auto [slot, id] = queue[q];
        auto l = left[id].get<int64_t>();
        auto& out = f.nodes_[slot];
        if (l == -1) {
          out = {static_cast<float>(number(cond[id])), leaf_mark, 0};
          continue;
        }
        auto r = right[id].get<int64_t>();
        for (auto c : {l, r})
          if (c <= 0 || static_cast<size_t>(c) >= n ||
              seen[static_cast<size_t>(c)])
            return refused(where + "node " + std::to_string(id) + "'s child " +
                           std::to_string(c) +
                           " is out of range or reached twice");
        auto feature = split[id].get<int64_t>();
        if (feature < 0 || static_cast<size_t>(feature) >= f.features_)
          return refused(where + "node " + std::to_string(id) +
                         " splits on feature " + std::to_string(feature) +
                         " of " + std::to_string(f.features_));
        auto& d = dleft[id];
        bool goes_left = d.is_boolean() ? d.get<bool>() : d.get<int>() != 0;
        auto first = static_cast<uint32_t>(f.nodes_.size());
        auto flags = goes_left ? default_left_bit : 0u;
        auto value = static_cast<float>(number(cond[id]));
        if (split_type[id] == 1) {
          auto& set = sets[id];
          uint32_t top = 0;
          for (auto c : set)
            top = std::max(top, c);
          auto words = set.empty() ? 0u : top / 32 + 1;
          auto offset = static_cast<uint32_t>(f.cats_.size());
          f.cats_.push_back(words);
          f.cats_.resize(f.cats_.size() + words, 0u);
          for (auto c : set)
            f.cats_[offset + 1 + c / 32] |= 1u << (c % 32);
          std::memcpy(&value, &offset, sizeof(value));
          flags |= categorical_bit;
        } else if (split_type[id] != 0) {
          return refused(where + "node " + std::to_string(id) +
                         " has split type " + std::to_string(split_type[id]));
        }
        // `out` may dangle once nodes_ grows: fill it first.
        out = {value, static_cast<uint32_t>(feature) | flags, first - root};
        f.nodes_.push_back({});
        f.nodes_.push_back({});
        seen[static_cast<size_t>(l)] = seen[static_cast<size_t>(r)] = true;
        queue.emplace_back(first, static_cast<size_t>(l));
        queue.emplace_back(first + 1, static_cast<size_t>(r));
      }
      f.roots_.push_back(root);
      f.groups_of_.push_back(static_cast<uint32_t>(group));
    }
  } catch (const std::exception& e) {
    return refused(std::string{"the model JSON lacks a field or has one of "
                               "another type: "} +
                   e.what());
  }
  if (f.features_ == 0) return refused("the model takes no features");
  if (f.features_ > feature_mask)
    return refused("the model takes " + std::to_string(f.features_) +
                   " features");
  return f;
}

bool forest::in_set(uint32_t offset, float v) const {
  // XGBoost's Decision: a negative category, or one too large to be a
  // float's exact integer, is no category; categories truncate.
  if (!(v >= 0.0f) || v >= 16777216.0f) return false;
  auto c = static_cast<uint32_t>(v);
  auto words = cats_[offset];
  if (c / 32 >= words) return false;
  return (cats_[offset + 1 + c / 32] >> (c % 32)) & 1u;
}

template <bool Categorical>
void forest::accumulate(const float* x, size_t n, float* acc) const {
  const node* nodes = nodes_.data();
  for (size_t t = 0; t < roots_.size(); ++t) {
    const node* tree = nodes + roots_[t];
    auto group = groups_of_[t];
    for (size_t r = 0; r < n; ++r) {
      const float* row = x + r * features_;
      uint32_t i = 0;
      while (tree[i].feature != leaf_mark) {
        const node& s = tree[i];
        float v = row[s.feature & feature_mask];
        uint32_t right;
        if (std::isnan(v)) {
          right = (s.feature & default_left_bit) == 0;
        } else if (Categorical && (s.feature & categorical_bit) != 0) {
          uint32_t offset;
          std::memcpy(&offset, &s.value, sizeof(offset));
          right = in_set(offset, v);
        } else {
          right = !(v < s.value);
        }
        i = s.left + right;
      }
      acc[r * groups_ + group] += tree[i].value;
    }
  }
}

std::vector<float> forest::probe_rows(size_t rows, uint64_t seed) const {
  std::vector<std::vector<float>> thresholds(features_);
  std::vector<bool> categorical(features_, false);
  for (auto& n : nodes_) {
    if (n.feature == leaf_mark) continue;
    auto k = n.feature & feature_mask;
    if ((n.feature & categorical_bit) == 0) {
      thresholds[k].push_back(n.value);
      continue;
    }
    categorical[k] = true;
    uint32_t offset;
    std::memcpy(&offset, &n.value, sizeof(offset));
    auto words = cats_[offset];
    for (uint32_t c = 0; c < 32 * words; ++c)
      if ((cats_[offset + 1 + c / 32] >> (c % 32)) & 1u)
        thresholds[k].push_back(static_cast<float>(c));
  }
  std::mt19937_64 gen{seed};
  std::vector<float> x(rows * features_, 0.0f);
  for (size_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < features_; ++k) {
      auto& t = thresholds[k];
      if (t.empty()) continue;
      auto pick = gen() % (2 * t.size() + 1);
      float& v = x[r * features_ + k];
      if (pick == 2 * t.size())
        v = NAN;
      else if (categorical[k])
        // a category of a set, or one outside every set (past the
        // largest of the sets, or negative)
        v = pick % 2 == 0
                ? t[pick / 2]
                : (pick % 4 == 1 ? *std::max_element(t.begin(), t.end()) + 1
                                 : (pick % 4 == 3 ? -1.0f : t[pick / 2]));
      else if (pick % 2 == 0)
        v = t[pick / 2];
      else
        v = std::nextafter(t[pick / 2], -INFINITY);
    }
  return x;
}

void forest::predict(const float* x, size_t rows, float* out) const {
  for (size_t r = 0; r < rows; ++r)
    std::copy(base_.begin(), base_.end(), out + r * groups_);
  for (size_t b = 0; b < rows; b += block_rows) {
    if (cats_.empty())
      accumulate<false>(x + b * features_, std::min(block_rows, rows - b),
                        out + b * groups_);
    else
      accumulate<true>(x + b * features_, std::min(block_rows, rows - b),
                       out + b * groups_);
  }
  switch (transform_) {
  case transform::none:
    break;
  case transform::sigmoid:
    // XGBoost's common::Sigmoid, operation for operation.
    for (size_t i = 0; i < rows * groups_; ++i) {
      float e = std::min(-out[i], 88.7f);
      out[i] = 1.0f / (std::exp(e) + 1.0f + 1e-16f);
    }
    break;
  case transform::exp:
    for (size_t i = 0; i < rows * groups_; ++i)
      out[i] = std::exp(out[i]);
    break;
  case transform::softmax:
    // XGBoost's common::Softmax: float exponentials, a double sum.
    for (size_t r = 0; r < rows; ++r) {
      float* p = out + r * groups_;
      float top = p[0];
      for (size_t k = 1; k < groups_; ++k)
        top = std::fmax(p[k], top);
      double sum = 0;
      for (size_t k = 0; k < groups_; ++k) {
        p[k] = std::exp(p[k] - top);
        sum += p[k];
      }
      for (size_t k = 0; k < groups_; ++k)
        p[k] /= static_cast<float>(sum);
    }
    break;
  }
}

} // namespace troupe::models
