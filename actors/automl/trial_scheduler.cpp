#include "actors/automl/trial_scheduler.hpp"

#include "actors/automl/asha.hpp"
#include "actors/automl/hyperband.hpp"
#include "actors/automl/median_stop.hpp"
#include "actors/automl/pbt.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

std::string to_string(action x) {
  switch (x) {
  case action::proceed:
    return "proceed";
  case action::pause:
    return "pause";
  case action::stop:
    return "stop";
  }
  return "action(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(work::kind x) {
  switch (x) {
  case work::kind::start:
    return "start";
  case work::kind::resume:
    return "resume";
  case work::kind::wait:
    return "wait";
  case work::kind::done:
    return "done";
  }
  return "work(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error validate(const budget_options& opts) {
  auto bad = [](const std::string& what) {
    return make_error(errc::invalid_argument, "scheduler: " + what);
  };
  if (opts.min_resource < 1)
    return bad("min_resource must be at least 1, got 0");
  if (opts.max_resource < opts.min_resource)
    return bad("max_resource (" + std::to_string(opts.max_resource) +
               ") must be at least min_resource (" +
               std::to_string(opts.min_resource) + ")");
  if (opts.eta < 2)
    return bad("eta (reduction factor) must be at least 2, got " +
               std::to_string(opts.eta));
  return {};
}

caf::expected<std::unique_ptr<trial_scheduler>>
make_scheduler(std::string_view name, const budget_options& opts,
               config_sources sources, uint64_t seed) {
  using ptr = std::unique_ptr<trial_scheduler>;
  if (name == "none") return ptr{new fifo_scheduler(opts.max_resource)};
  if (auto err = validate(opts)) return err;
  if (name == "asha") {
    asha::options o;
    static_cast<budget_options&>(o) = opts;
    o.mode = asha_mode::stop;
    return ptr{new asha(o)};
  }
  if (name == "hyperband") {
    hyperband::options o;
    static_cast<budget_options&>(o) = opts;
    return ptr{new hyperband(o)};
  }
  if (name == "bohb") {
    if (!sources.random || !sources.model)
      return make_error(errc::invalid_argument,
                        "scheduler: bohb needs a random and a model "
                        "configuration source");
    bohb::options o;
    static_cast<budget_options&>(o) = opts;
    o.seed = seed;
    return ptr{new bohb(o, std::move(sources))};
  }
  if (name == "pbt") {
    if (!sources.perturb)
      return make_error(errc::invalid_argument,
                        "scheduler: pbt needs a way to perturb configurations");
    pbt::options o;
    static_cast<budget_options&>(o) = opts;
    o.seed = seed;
    return ptr{new pbt(o, sources.perturb)};
  }
  if (name == "median") {
    median_stop::options o;
    o.dir = opts.dir;
    o.grace_period = opts.min_resource;
    o.max_resource = opts.max_resource;
    return ptr{new median_stop(o)};
  }
  return make_error(
      errc::invalid_argument,
      "scheduler: unknown scheduler '" + std::string{name} +
          "' (expected asha, hyperband, bohb, pbt, median or none)");
}

} // namespace troupe::automl
