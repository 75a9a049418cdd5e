#include "actors/models/families.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "actors/models/checkpoint.hpp"
#include "actors/models/estimator.hpp"
#include "actors/models/model_choice.hpp"
#include "runtime/errors.hpp"
#include "schemas/models.capnp.h"

namespace troupe::models {

using tabular::parse_task_kind;
using tabular::read_csv;

namespace {

double number(const config& cfg, const std::string& name) {
  auto i = cfg.find(name);
  if (i == cfg.end()) return 0;
  if (auto* d = std::get_if<double>(&i->second)) return *d;
  if (auto* n = std::get_if<int64_t>(&i->second))
    return static_cast<double>(*n);
  return 0;
}

class quadratic_trainable : public trainable {
public:
  quadratic_trainable(config cfg, double sleep_ms,
                      const std::atomic<bool>* cancel)
      : cfg_(std::move(cfg)), sleep_ms_(sleep_ms), cancel_(cancel) {}

  caf::expected<double> train_to(uint64_t budget, uint64_t every,
                                 const report_fn& report) override {
    every = std::max<uint64_t>(1, every);
    double last = std::nan("");
    while (steps_ < budget) {
      if (cancel_ && cancel_->load(std::memory_order_relaxed)) break;
      if (sleep_ms_ > 0)
        std::this_thread::sleep_for(
            std::chrono::duration<double, std::milli>{sleep_ms_});
      ++steps_;
      if (steps_ % every != 0 && steps_ != budget) continue;
      last = quadratic_value(cfg_, steps_);
      if (report && !report(steps_, last)) break;
    }
    if (std::isnan(last))
      last = quadratic_value(cfg_, std::max<uint64_t>(1, steps_));
    return last;
  }

  uint64_t steps() const override { return steps_; }

  /// A schema::QuadraticCheckpoint message. The 8-byte little-endian
  /// layout of older versions is not read: restoring one is an error.
  caf::expected<std::vector<uint8_t>> checkpoint() const override {
    capnp::MallocMessageBuilder message{16};
    message.initRoot<schema::QuadraticCheckpoint>().setSteps(steps_);
    return checkpoint_bytes(message);
  }

  caf::expected<void> restore(const std::vector<uint8_t>& bytes) override {
    return read_checkpoint<schema::QuadraticCheckpoint>(
        bytes, "quadratic checkpoint",
        [&](schema::QuadraticCheckpoint::Reader cp) -> caf::expected<void> {
          steps_ = cp.getSteps();
          return {};
        });
  }

private:
  config cfg_;
  double sleep_ms_;
  const std::atomic<bool>* cancel_;
  uint64_t steps_ = 0;
};

} // namespace

double quadratic_value(const config& cfg, uint64_t step) {
  auto x = number(cfg, "x");
  auto y = number(cfg, "y");
  return (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7) +
         1.0 / static_cast<double>(std::max<uint64_t>(step, 1));
}

caf::expected<std::shared_ptr<const dataset>>
shared_dataset(const std::string& path, const std::string& target,
               const std::string& task) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0)
    return make_error(errc::not_found, "cannot read '" + path + "'");
  using key_t =
      std::tuple<std::string, std::string, std::string, int64_t, int64_t>;
  static std::mutex mtx;
  static std::map<key_t, std::shared_ptr<const dataset>> cache;
  key_t key{path, target, task, static_cast<int64_t>(sb.st_size),
            static_cast<int64_t>(sb.st_mtime)};
  std::lock_guard<std::mutex> guard{mtx};
  if (auto i = cache.find(key); i != cache.end()) return i->second;
  auto t = read_csv(path);
  if (!t) return t.error();
  std::optional<task_kind> kind;
  if (!task.empty()) {
    auto k = parse_task_kind(task);
    if (!k) return k.error();
    kind = *k;
  }
  auto d = make_dataset(*t, target, kind);
  if (!d) return d.error();
  auto ptr = std::make_shared<const dataset>(std::move(*d));
  // One dataset per file is enough: drop older versions of the same path.
  for (auto i = cache.begin(); i != cache.end();)
    i = std::get<0>(i->first) == path ? cache.erase(i) : std::next(i);
  cache.emplace(key, ptr);
  return ptr;
}

bool family_needs_data(const std::string& family) {
  return family != "quadratic";
}

caf::expected<std::unique_ptr<trainable>>
make_trainable(const std::string& family, const train_context& ctx,
               const config& cfg, double sleep_ms) {
  if (family == "quadratic")
    return std::unique_ptr<trainable>{
        std::make_unique<quadratic_trainable>(cfg, sleep_ms, ctx.cancel)};
  auto choice = split_choice(cfg, family);
  if (!choice) return choice.error();
  if (choice->family == "xgboost") {
    if (!choice->fe.empty())
      return make_error(errc::invalid_argument,
                        "the xgboost family takes no feature pipeline "
                        "parameters (fe.*)");
    return make_xgboost_trainable(ctx, choice->params);
  }
  auto fam = find_estimator_family(choice->family);
  if (!fam) return fam.error();
  auto fe = tabular::pipeline_options::from_config(choice->fe);
  if (!fe) return fe.error();
  return make_estimator_trainable(ctx, **fam, choice->params, *fe);
}

} // namespace troupe::models
