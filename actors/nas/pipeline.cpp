#include "actors/nas/pipeline.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "actors/nas/controller.hpp"
#include "actors/nas/errors.hpp"
#include "actors/nas/evolution.hpp"
#include "actors/nas/idx.hpp"
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

  // 1. The supernet, trained with a sub-network drawn for every batch.
  sampler draw{space, opts.lim, opts.seed};
  auto largest = space.largest();
  auto supernet = network::create(largest, opts.seed);
  if (!supernet) return supernet.error();
  say("supernet (" + to_string(opts.space) +
      " space): " + std::to_string(count_params(largest)) +
      " parameters at its largest; " + std::to_string(opts.supernet_epochs) +
      " epochs, one sub-network within the limits per batch");
  auto t0 = clk->now();
  train_options sup;
  sup.epochs = opts.supernet_epochs;
  sup.batch = opts.batch;
  sup.lr = opts.lr;
  sup.seed = opts.seed + 1;
  sup.on_epoch = [&](size_t e, double loss) {
    say("  supernet epoch " + std::to_string(e) + "/" +
        std::to_string(opts.supernet_epochs) + ": loss " + fixed(loss, 4) +
        " (" + fixed(seconds_since(clk, t0), 1) + " s)");
  };
  if (opts.supernet_epochs > 0) {
    auto l = train_supernet(*supernet, data->train, sup, draw);
    if (!l) return l.error();
  }
  auto supernet_s = seconds_since(clk, t0);

  // 2. The search: candidates scored with the supernet's weights.
  t0 = clk->now();
  caf::error eval_error;
  size_t evaluated = 0;
  evaluator eval = [&](const genes& g) -> double {
    if (eval_error) return 0;
    auto a = space.resolve(g);
    auto acc = accuracy(*supernet, &a, data->validation, true);
    if (!acc) {
      eval_error = acc.error();
      return 0;
    }
    ++evaluated;
    if (evaluated % 8 == 0)
      say("  search: " + std::to_string(evaluated) + "/" +
          std::to_string(opts.candidates) + " candidates scored (" +
          fixed(seconds_since(clk, t0), 1) + " s)");
    return *acc;
  };
  say("search (" + to_string(opts.strategy) +
      "): " + std::to_string(opts.candidates) + " candidates, each scored on " +
      std::to_string(data->validation.rows) +
      " validation images with the supernet's weights");
  search_result found;
  sampler search_draw{space, opts.lim, opts.seed + 2};
  if (opts.strategy == strategy_kind::evolution) {
    evolution_options eo;
    eo.budget = opts.candidates;
    eo.population =
        std::max<size_t>(4, std::min<size_t>(16, opts.candidates / 3));
    eo.parents = std::max<size_t>(2, eo.population / 4);
    found = evolve(search_draw, eval, eo);
  } else {
    controller_options co;
    co.budget = opts.candidates;
    found = search_rl(search_draw, eval, co);
  }
  if (eval_error) return eval_error;
  auto search_s = seconds_since(clk, t0);
  auto best = space.resolve(found.best.g);
  say("best: " + describe(best) + "; " + std::to_string(count_params(best)) +
      " parameters, " + fixed(count_flops(best) / 1e6, 2) +
      " MFLOPs, validation accuracy " + fixed(found.best.score, 4) +
      " with the supernet's weights");

  // 3. Extract and retrain the best sub-network.
  auto net = opts.from_scratch ? network::create(best, opts.seed + 3)
                               : supernet->extract(best);
  if (!net) return net.error();
  t0 = clk->now();
  train_options ro;
  ro.epochs = opts.epochs;
  ro.batch = opts.batch;
  ro.lr = opts.lr;
  ro.seed = opts.seed + 4;
  ro.on_epoch = [&](size_t e, double loss) {
    say("  retrain epoch " + std::to_string(e) + "/" +
        std::to_string(opts.epochs) + ": loss " + fixed(loss, 4) + " (" +
        fixed(seconds_since(clk, t0), 1) + " s)");
  };
  if (auto l = train(*net, data->train, ro); !l) return l.error();
  auto calib_rows = std::min<size_t>(data->train.rows, 4096);
  if (auto err = net->calibrate(data->train.pixels.data(), calib_rows, 256))
    return err;
  auto retrain_s = seconds_since(clk, t0);
  auto val_acc = accuracy(*net, nullptr, data->validation, false);
  if (!val_acc) return val_acc.error();
  auto test_acc = accuracy(*net, nullptr, data->test, false);
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
  auto full_images = static_cast<double>(opts.epochs * data->train.rows);
  auto search_images =
      static_cast<double>(opts.supernet_epochs * data->train.rows) +
      static_cast<double>(evaluated * data->validation.rows) / 3.0;
  nlohmann::json summary;
  summary["space"] = to_string(opts.space);
  summary["strategy"] = to_string(opts.strategy);
  summary["seed"] = opts.seed;
  summary["limits"] = {{"max_params", opts.lim.max_params},
                       {"max_flops", opts.lim.max_flops}};
  summary["data"] = {{"dir", opts.data_dir},
                     {"train", data->train.rows},
                     {"validation", data->validation.rows},
                     {"test", data->test.rows}};
  summary["supernet"] = arch_json(nullptr, nullptr, largest);
  summary["best"] = arch_json(&space, &found.best.g, best);
  summary["candidates_scored"] = found.history.size();
  summary["accuracy"] = {{"supernet_validation", found.best.score},
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
  for (auto& c : found.history) {
    auto a = space.resolve(c.g);
    history.push_back({{"score", c.score},
                       {"params", count_params(a)},
                       {"flops", count_flops(a)},
                       {"description", describe(a)}});
  }
  summary["history"] = history;

  // 5. The hand-designed baseline, same data and epochs.
  if (opts.baseline) {
    auto base_arch = lenet_baseline();
    auto base = network::create(base_arch, opts.seed + 5);
    if (!base) return base.error();
    t0 = clk->now();
    train_options bo = ro;
    bo.on_epoch = [&](size_t e, double loss) {
      say("  baseline epoch " + std::to_string(e) + "/" +
          std::to_string(opts.epochs) + ": loss " + fixed(loss, 4) + " (" +
          fixed(seconds_since(clk, t0), 1) + " s)");
    };
    if (auto l = train(*base, data->train, bo); !l) return l.error();
    if (auto err = base->calibrate(data->train.pixels.data(), calib_rows, 256))
      return err;
    auto base_s = seconds_since(clk, t0);
    auto base_test = accuracy(*base, nullptr, data->test, false);
    if (!base_test) return base_test.error();
    say("baseline (LeNet-5-like CNN, " +
        std::to_string(count_params(base_arch)) +
        " parameters): test accuracy " + fixed(*base_test, 4) + " after " +
        std::to_string(opts.epochs) + " epochs (" + fixed(base_s, 1) + " s)");
    summary["baseline"] = arch_json(nullptr, nullptr, base_arch);
    summary["baseline"]["name"] = "LeNet-5-like CNN";
    summary["baseline"]["test_accuracy"] = *base_test;
    summary["baseline"]["seconds"] = base_s;
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
