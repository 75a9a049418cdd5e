#include "actors/models/estimator_support.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <thread>

#include "actors/models/errors.hpp"
#include "runtime/errors.hpp"

namespace troupe::models::detail {

namespace {

std::string number(double x) {
  std::ostringstream out;
  out.precision(17);
  out << x;
  return out.str();
}

} // namespace

param_reader::param_reader(const tabular::config& cfg, std::string family)
    : cfg_(cfg), family_(std::move(family)) {}

caf::error param_reader::bad(const std::string& name,
                             const std::string& why) const {
  auto it = cfg_.find(name);
  auto shown =
      it == cfg_.end() ? std::string{"?"} : tabular::to_string(it->second);
  return make_error(troupe::errc::invalid_argument, family_ + ": parameter '" +
                                                        name + "' = " + shown +
                                                        " " + why);
}

caf::expected<double> param_reader::real(const std::string& name,
                                         double fallback, double low,
                                         double high) {
  known_.insert(name);
  auto it = cfg_.find(name);
  if (it == cfg_.end()) return fallback;
  double x;
  if (auto* d = std::get_if<double>(&it->second))
    x = *d;
  else if (auto* i = std::get_if<int64_t>(&it->second))
    x = static_cast<double>(*i);
  else
    return bad(name, "is not a number");
  if (!(x >= low && x <= high))
    return bad(
        name, "is out of range [" + number(low) + ", " +
                  (std::isinf(high) ? std::string{"inf"} : number(high)) + "]");
  return x;
}

caf::expected<int64_t> param_reader::integer(const std::string& name,
                                             int64_t fallback, int64_t low,
                                             int64_t high) {
  known_.insert(name);
  auto it = cfg_.find(name);
  if (it == cfg_.end()) return fallback;
  int64_t x;
  if (auto* i = std::get_if<int64_t>(&it->second)) {
    x = *i;
  } else if (auto* d = std::get_if<double>(&it->second)) {
    if (!(std::floor(*d) == *d) || std::abs(*d) > 9.0e15)
      return bad(name, "is not an integer");
    x = static_cast<int64_t>(*d);
  } else {
    return bad(name, "is not an integer");
  }
  if (x < low || x > high)
    return bad(name, "is out of range [" + std::to_string(low) + ", " +
                         std::to_string(high) + "]");
  return x;
}

caf::expected<std::string>
param_reader::choice(const std::string& name, std::string fallback,
                     const std::vector<std::string>& choices) {
  known_.insert(name);
  auto it = cfg_.find(name);
  if (it == cfg_.end()) return fallback;
  auto* s = std::get_if<std::string>(&it->second);
  if (s && std::find(choices.begin(), choices.end(), *s) != choices.end())
    return *s;
  std::string list;
  for (auto& c : choices)
    list += (list.empty() ? "" : ", ") + c;
  return bad(name, "is not one of " + list);
}

caf::error param_reader::unknown() const {
  for (auto& [name, value] : cfg_) {
    if (known_.count(name) > 0) continue;
    std::string list;
    for (auto& k : known_)
      list += (list.empty() ? "" : ", ") + k;
    return make_error(troupe::errc::invalid_argument,
                      family_ + ": unknown parameter '" + name +
                          "' (the family's parameters: " + list + ")");
  }
  return caf::none;
}

caf::error check_context(const estimator_context& ctx,
                         const std::string& family) {
  using tabular::task_kind;
  if (ctx.task == task_kind::binary && ctx.classes != 2)
    return make_error(troupe::errc::invalid_argument,
                      family + ": a binary task has 2 classes, not " +
                          std::to_string(ctx.classes));
  if (ctx.task == task_kind::multiclass && ctx.classes < 2)
    return make_error(troupe::errc::invalid_argument,
                      family +
                          ": a multiclass task needs at least 2 "
                          "classes, not " +
                          std::to_string(ctx.classes));
  return caf::none;
}

caf::error check_train(const tabular::matrix& m, const estimator_context& ctx,
                       const std::string& family) {
  if (m.rows == 0 || m.cols == 0)
    return make_error(troupe::errc::invalid_argument,
                      family + ": the training matrix is empty (" +
                          std::to_string(m.rows) + " rows, " +
                          std::to_string(m.cols) + " columns)");
  if (m.values.size() != m.rows * m.cols)
    return make_error(troupe::errc::invalid_argument,
                      family + ": the training matrix holds " +
                          std::to_string(m.values.size()) + " values for " +
                          std::to_string(m.rows) + " x " +
                          std::to_string(m.cols));
  if (m.labels.size() != m.rows)
    return make_error(troupe::errc::invalid_argument,
                      family + ": the training matrix has " +
                          std::to_string(m.labels.size()) + " labels for " +
                          std::to_string(m.rows) + " rows");
  auto classes = static_cast<float>(ctx.classes);
  for (size_t i = 0; i < m.rows; ++i) {
    auto y = m.labels[i];
    bool ok = std::isfinite(y);
    if (ok && tabular::is_classification(ctx.task))
      ok = y >= 0 && y < classes && std::floor(y) == y;
    if (!ok)
      return make_error(
          troupe::errc::invalid_argument,
          family + ": the label of training row " + std::to_string(i) + " is " +
              number(y) +
              (tabular::is_classification(ctx.task)
                   ? ", not a class index below " + std::to_string(ctx.classes)
                   : ", not a finite value"));
  }
  return caf::none;
}

caf::error check_columns(const tabular::matrix& m, size_t cols,
                         const std::string& family) {
  if (m.cols != cols)
    return make_error(troupe::errc::invalid_argument,
                      family + ": the matrix has " + std::to_string(m.cols) +
                          " columns, the model was trained on " +
                          std::to_string(cols));
  if (m.values.size() != m.rows * m.cols)
    return make_error(troupe::errc::invalid_argument,
                      family + ": the matrix holds " +
                          std::to_string(m.values.size()) + " values for " +
                          std::to_string(m.rows) + " x " +
                          std::to_string(m.cols));
  return caf::none;
}

void parallel_blocks(size_t blocks, size_t threads,
                     const std::function<void(size_t)>& f) {
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(1, blocks));
  if (threads == 1) {
    for (size_t b = 0; b < blocks; ++b)
      f(b);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (auto b = next.fetch_add(1); b < blocks; b = next.fetch_add(1))
      f(b);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t i = 1; i < threads; ++i)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
}

schema::EstimatorTask to_schema(tabular::task_kind task) {
  switch (task) {
  case tabular::task_kind::binary:
    return schema::EstimatorTask::BINARY;
  case tabular::task_kind::multiclass:
    return schema::EstimatorTask::MULTICLASS;
  case tabular::task_kind::regression:
    break;
  }
  return schema::EstimatorTask::REGRESSION;
}

tabular::task_kind from_schema(schema::EstimatorTask task) {
  switch (task) {
  case schema::EstimatorTask::BINARY:
    return tabular::task_kind::binary;
  case schema::EstimatorTask::MULTICLASS:
    return tabular::task_kind::multiclass;
  case schema::EstimatorTask::REGRESSION:
    break;
  }
  return tabular::task_kind::regression;
}

caf::error check_loaded(tabular::task_kind task, size_t classes,
                        const estimator_context& ctx, const std::string& what) {
  auto ctx_classes = tabular::is_classification(ctx.task) ? ctx.classes : 0;
  if (task != ctx.task || classes != ctx_classes)
    return make_error(models::errc::bad_model,
                      what + " was trained for a " + tabular::to_string(task) +
                          " task with " + std::to_string(classes) +
                          " classes, not the " + tabular::to_string(ctx.task) +
                          " task with " + std::to_string(ctx_classes) +
                          " classes it is loaded for");
  return caf::none;
}

caf::error bad_saved(const std::string& what, const std::string& why) {
  return make_error(models::errc::bad_model, what + ": " + why);
}

caf::error check_header(uint32_t saved_version, uint32_t version, uint16_t task,
                        uint32_t classes, const estimator_context& ctx,
                        const std::string& what) {
  if (saved_version != version)
    return bad_saved(what, "version " + std::to_string(saved_version) +
                               " (this troupe reads version " +
                               std::to_string(version) + ")");
  if (task > 2) return bad_saved(what, "unknown task");
  return check_loaded(from_schema(static_cast<schema::EstimatorTask>(task)),
                      classes, ctx, what);
}

} // namespace troupe::models::detail
