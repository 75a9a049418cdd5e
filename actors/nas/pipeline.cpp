#include "actors/nas/pipeline.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "actors/nas/controller.hpp"
#include "actors/nas/errors.hpp"
#include "actors/nas/evolution.hpp"

#include "actors/nas/model_export.hpp"
#include "actors/nas/plugin.hpp"
#include "actors/nas/trainer.hpp"

namespace troupe::nas {

namespace {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

double seconds_since(const clock_ptr& clk, clock::time_point t0) {
  return std::chrono::duration<double>(clk->now() - t0).count();
}

/// The first `n` rows of `s` (all when n is 0 or more than it has).
image_set first(image_set s, size_t n) {
  if (n == 0 || n >= s.rows) return s;
  s.rows = n;
  s.pixels.resize(n * s.features());
  s.labels.resize(n);
  return s;
}

/// The data the search uses.
struct data_parts {
  image_set train, validation, test;
};

caf::expected<data_parts> load_data(const nas_options& opts) {
  image_set all_train, test;
  if (auto err = read_fashion_mnist(opts.data_dir, all_train, test)) return err;
  all_train = first(std::move(all_train), opts.train_images);
  test = first(std::move(test), opts.test_images);
  if (all_train.height != 28 || all_train.width != 28)
    return make_error(errc::bad_data, opts.data_dir + ": images are " +
                                          std::to_string(all_train.height) +
                                          "x" +
                                          std::to_string(all_train.width) +
                                          "; the search spaces take 28x28");
  if (opts.validation < 2 || opts.validation + 2 > all_train.rows)
    return make_error(troupe::errc::invalid_argument,
                      "cannot hold out " + std::to_string(opts.validation) +
                          " validation images from " +
                          std::to_string(all_train.rows) +
                          " training images (at least 2 of each are needed)");
  data_parts d;
  split(all_train, opts.validation, opts.seed, d.train, d.validation);
  d.test = std::move(test);
  return d;
}

nlohmann::json arch_json(const search_space* space, const genes* g,
                         const net_arch& a) {
  nlohmann::json j;
  if (space && g) j["choices"] = space->choices_json(*g);
  j["description"] = describe(a);
  j["layout"] = nlohmann::json::parse(layout_json(a));
  j["params"] = count_params(a);
  j["flops"] = count_flops(a);
  return j;
}

/// One run's inputs, shared by its steps.
struct run_context {
  const nas_options& opts;
  const clock_ptr& clk;
  const std::function<void(const std::string&)>& say;
  search_space space;
  data_parts data;

  /// The options of a training of `epochs` epochs, reporting each epoch as
  /// "  WHAT epoch E/N: loss L (T s)" with T counted from `t0`.
  train_options training(size_t epochs, uint64_t seed, const std::string& what,
                         const clock::time_point& t0) const {
    train_options o;
    o.epochs = epochs;
    o.batch = opts.batch;
    o.lr = opts.lr;
    o.seed = seed;
    o.on_epoch = [this, what, epochs, &t0](size_t e, double loss) {
      say("  " + what + " epoch " + std::to_string(e) + "/" +
          std::to_string(epochs) + ": loss " + fixed(loss, 4) + " (" +
          fixed(seconds_since(clk, t0), 1) + " s)");
    };
    return o;
  }
};

/// Step 1: the supernet, trained with a sub-network within the limits drawn
/// for every batch.
caf::expected<network> train_supernet_step(const run_context& rc,
                                           double& seconds) {
  auto& opts = rc.opts;
  sampler draw{rc.space, opts.lim, opts.seed};
  auto largest = rc.space.largest();
  auto supernet = network::create(largest, opts.seed);
  if (!supernet) return supernet.error();
  rc.say("supernet (" + to_string(opts.space) +
         " space): " + std::to_string(count_params(largest)) +
         " parameters at its largest; " + std::to_string(opts.supernet_epochs) +
         " epochs, one sub-network within the limits per batch");
  auto t0 = rc.clk->now();
  if (opts.supernet_epochs > 0) {
    auto l = train_supernet(
        *supernet, rc.data.train,
        rc.training(opts.supernet_epochs, opts.seed + 1, "supernet", t0), draw);
    if (!l) return l.error();
  }
  seconds = seconds_since(rc.clk, t0);
  return supernet;
}

/// Step 2: the search, each candidate scored on the validation images with
/// the supernet's weights.
caf::expected<search_result>
search_step(const run_context& rc, const network& supernet, double& seconds) {
  auto& opts = rc.opts;
  auto t0 = rc.clk->now();
  caf::error eval_error;
  size_t evaluated = 0;
  evaluator eval = [&](const genes& g) -> double {
    if (eval_error) return 0;
    auto a = rc.space.resolve(g);
    auto acc = accuracy(supernet, &a, rc.data.validation, true);
    if (!acc) {
      eval_error = acc.error();
      return 0;
    }
    ++evaluated;
    if (evaluated % 8 == 0)
      rc.say("  search: " + std::to_string(evaluated) + "/" +
             std::to_string(opts.candidates) + " candidates scored (" +
             fixed(seconds_since(rc.clk, t0), 1) + " s)");
    return *acc;
  };
  rc.say("search (" + to_string(opts.strategy) + "): " +
         std::to_string(opts.candidates) + " candidates, each scored on " +
         std::to_string(rc.data.validation.rows) +
         " validation images with the supernet's weights");
  search_result found;
  sampler draw{rc.space, opts.lim, opts.seed + 2};
  if (opts.strategy == strategy_kind::evolution) {
    evolution_options eo;
    eo.budget = opts.candidates;
    eo.population =
        std::max<size_t>(4, std::min<size_t>(16, opts.candidates / 3));
    eo.parents = std::max<size_t>(2, eo.population / 4);
    found = evolve(draw, eval, eo);
  } else {
    controller_options co;
    co.budget = opts.candidates;
    found = search_rl(draw, eval, co);
  }
  if (eval_error) return eval_error;
  seconds = seconds_since(rc.clk, t0);
  return found;
}

/// Trains a whole network for opts.epochs epochs and re-estimates its
/// batch-norm statistics.
caf::error train_whole(const run_context& rc, network& net, uint64_t seed,
                       const std::string& what, double& seconds) {
  auto t0 = rc.clk->now();
  if (auto l = train(net, rc.data.train,
                     rc.training(rc.opts.epochs, seed, what, t0));
      !l)
    return l.error();
  auto rows = std::min<size_t>(rc.data.train.rows, 4096);
  if (auto err = net.calibrate(rc.data.train.pixels.data(), rows, 256))
    return err;
  seconds = seconds_since(rc.clk, t0);
  return caf::none;
}

/// Step 5: the hand-designed baseline, same data and epochs; its summary.
caf::expected<nlohmann::json> baseline_step(const run_context& rc) {
  auto base_arch = lenet_baseline();
  auto base = network::create(base_arch, rc.opts.seed + 5);
  if (!base) return base.error();
  double secs = 0;
  if (auto err = train_whole(rc, *base, rc.opts.seed + 4, "baseline", secs))
    return err;
  auto test = accuracy(*base, nullptr, rc.data.test, false);
  if (!test) return test.error();
  rc.say("baseline (LeNet-5-like CNN, " +
         std::to_string(count_params(base_arch)) +
         " parameters): test accuracy " + fixed(*test, 4) + " after " +
         std::to_string(rc.opts.epochs) + " epochs (" + fixed(secs, 1) + " s)");
  auto j = arch_json(nullptr, nullptr, base_arch);
  j["name"] = "LeNet-5-like CNN";
  j["test_accuracy"] = *test;
  j["seconds"] = secs;
  return j;
}

} // namespace

caf::expected<nlohmann::json>
run_nas(const nas_options& opts, const clock_ptr& clk,
        const std::function<void(const std::string&)>& say) {
  auto space = search_space::of(opts.space);
  if (auto err = check_feasible(space, opts.lim)) return err;
  auto data = load_data(opts);
  if (!data) return data.error();
  if (auto err = set_torch_threads(opts.threads)) return err;
  say("data: " + std::to_string(data->train.rows) + " training, " +
      std::to_string(data->validation.rows) + " validation, " +
      std::to_string(data->test.rows) + " test images from " + opts.data_dir);
  run_context rc{opts, clk, say, space, std::move(*data)};

  // 1. The supernet; 2. the search.
  double supernet_s = 0, search_s = 0, retrain_s = 0;
  auto supernet = train_supernet_step(rc, supernet_s);
  if (!supernet) return supernet.error();
  auto found = search_step(rc, *supernet, search_s);
  if (!found) return found.error();
  auto best = space.resolve(found->best.g);
  say("best: " + describe(best) + "; " + std::to_string(count_params(best)) +
      " parameters, " + fixed(static_cast<double>(count_flops(best)) / 1e6, 2) +
      " MFLOPs, validation accuracy " + fixed(found->best.score, 4) +
      " with the supernet's weights");

  // 3. Extract and retrain the best sub-network.
  auto net = opts.from_scratch ? network::create(best, opts.seed + 3)
                               : supernet->extract(best);
  if (!net) return net.error();
  if (auto err = train_whole(rc, *net, opts.seed + 4, "retrain", retrain_s))
    return err;
  auto val_acc = accuracy(*net, nullptr, rc.data.validation, false);
  if (!val_acc) return val_acc.error();
  auto test_acc = accuracy(*net, nullptr, rc.data.test, false);
  if (!test_acc) return test_acc.error();
  say("searched network: validation accuracy " + fixed(*val_acc, 4) +
      ", test accuracy " + fixed(*test_acc, 4) + " after " +
      std::to_string(opts.epochs) + " epochs (" + fixed(retrain_s, 1) + " s)");

  // 4. Export.
  auto model_dir = opts.out + "/model";
  if (auto err = write_model_dir(*net, model_dir)) return err;

  // What the search cost, in full trainings of the final network: wall
  // clock, and image passes (a scoring pass counted as 1/3 of a training
  // pass: forward only, against forward and backward).
  auto train_rows = rc.data.train.rows;
  auto full_images = static_cast<double>(opts.epochs * train_rows);
  auto search_images =
      static_cast<double>(opts.supernet_epochs * train_rows) +
      static_cast<double>(found->history.size() * rc.data.validation.rows) /
          3.0;
  nlohmann::json summary;
  summary["space"] = to_string(opts.space);
  summary["strategy"] = to_string(opts.strategy);
  summary["seed"] = opts.seed;
  summary["limits"] = {{"max_params", opts.lim.max_params},
                       {"max_flops", opts.lim.max_flops}};
  summary["data"] = {{"dir", opts.data_dir},
                     {"train", train_rows},
                     {"validation", rc.data.validation.rows},
                     {"test", rc.data.test.rows}};
  summary["supernet"] = arch_json(nullptr, nullptr, space.largest());
  summary["best"] = arch_json(&space, &found->best.g, best);
  summary["candidates_scored"] = found->history.size();
  summary["accuracy"] = {{"supernet_validation", found->best.score},
                         {"validation", *val_acc},
                         {"test", *test_acc}};
  summary["epochs"] = opts.epochs;
  summary["supernet_epochs"] = opts.supernet_epochs;
  summary["retrained_from"] = opts.from_scratch ? "scratch" : "supernet";
  summary["seconds"] = {
      {"supernet", supernet_s}, {"search", search_s}, {"retrain", retrain_s}};
  summary["search_cost_full_trainings"] = {
      {"wall_clock", retrain_s > 0 ? (supernet_s + search_s) / retrain_s : 0},
      {"image_passes", full_images > 0 ? search_images / full_images : 0}};
  summary["model"] = {{"torchscript", model_dir + "/model.pt"},
                      {"spec", model_dir + "/spec.json"},
                      {"serve", "troupe serve --torchscript " + model_dir +
                                    "/model.pt --spec " + model_dir +
                                    "/spec.json"}};
  nlohmann::json history = nlohmann::json::array();
  for (auto& c : found->history) {
    auto a = space.resolve(c.g);
    history.push_back({{"score", c.score},
                       {"params", count_params(a)},
                       {"flops", count_flops(a)},
                       {"description", describe(a)}});
  }
  summary["history"] = history;

  // 5. The hand-designed baseline, same data and epochs.
  if (opts.baseline) {
    auto base = baseline_step(rc);
    if (!base) return base.error();
    summary["baseline"] = std::move(*base);
  }

  auto path = opts.out + "/summary.json";
  std::ofstream f{path};
  f << summary.dump(2) << "\n";
  if (!f)
    return make_error(troupe::errc::io_failure, "cannot write '" + path + "'");
  say("wrote " + path + " and " + model_dir +
      "/ (serve it: " + summary["model"]["serve"].get<std::string>() + ")");
  return summary;
}

} // namespace troupe::nas
