#include "actors/models/forest.hpp"

#include <algorithm>
#include <cmath>
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

/// A number XGBoost's JSON writes as a string ("5E-1") or as a number.
double number(const json& j) {
  if (j.is_string()) return std::stod(j.get<std::string>());
  return j.get<double>();
}

/// Rows a block of accumulate() covers: each tree is walked for the whole
/// block while its nodes are in cache.
constexpr size_t block_rows = 64;

} // namespace

caf::expected<forest> forest::compile(std::string_view model_json) {
  auto doc = json::parse(model_json, nullptr, false);
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
      if (tree.contains("split_type"))
        for (auto& s : tree.at("split_type"))
          if (s.get<int>() != 0)
            return refused(where + "categorical splits are not compiled");
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
          out = {static_cast<float>(cond[id].get<double>()), leaf_mark, 0};
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
        // `out` may dangle once nodes_ grows: fill it first.
        out = {static_cast<float>(cond[id].get<double>()),
               static_cast<uint32_t>(feature) |
                   (goes_left ? default_left_bit : 0u),
               first - root};
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
  return f;
}

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
        float v = row[s.feature & ~default_left_bit];
        uint32_t right = std::isnan(v) ? (s.feature & default_left_bit) == 0
                                       : !(v < s.value);
        i = s.left + right;
      }
      acc[r * groups_ + group] += tree[i].value;
    }
  }
}

std::vector<float> forest::probe_rows(size_t rows, uint64_t seed) const {
  std::vector<std::vector<float>> thresholds(features_);
  for (auto& n : nodes_)
    if (n.feature != leaf_mark)
      thresholds[n.feature & ~default_left_bit].push_back(n.value);
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
  for (size_t b = 0; b < rows; b += block_rows)
    accumulate(x + b * features_, std::min(block_rows, rows - b),
               out + b * groups_);
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
