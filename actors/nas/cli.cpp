#include "actors/nas/cli.hpp"

#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "runtime/allocator.hpp"
#include "runtime/errors.hpp"

namespace troupe::nas {

CLI::App* add_nas_command(CLI::App& app, cli_options& o) {
  auto& r = o.run;
  auto* cmd = app.add_subcommand(
      "nas", "neural architecture search on Fashion-MNIST (one-shot "
             "supernet, evolution or RL), exports the best as TorchScript");
  cmd->add_option("--data", r.data_dir,
                  "Fashion-MNIST IDX directory (e.g. "
                  "/usr/share/datasets/fashion-mnist)");
  cmd->add_option("--out", r.out, "output directory (summary.json, model/)");
  cmd->add_option("--space", o.space, "mobilenet|resnet")
      ->capture_default_str();
  cmd->add_option("--strategy", o.strategy, "evolution|rl")
      ->capture_default_str();
  cmd->add_option("--max-params", r.lim.max_params,
                  "parameter limit of a sub-network (0: none)")
      ->capture_default_str();
  cmd->add_option("--max-mflops", o.max_mflops,
                  "FLOP limit of a sub-network in millions of "
                  "multiply-accumulates (0: none)")
      ->capture_default_str();
  cmd->add_option("--supernet-epochs", r.supernet_epochs,
                  "epochs of supernet training")
      ->capture_default_str();
  cmd->add_option("--epochs", r.epochs,
                  "epochs of the searched network's retraining (and the "
                  "baseline's)")
      ->capture_default_str();
  cmd->add_option("--candidates", r.candidates,
                  "sub-networks the search scores")
      ->capture_default_str();
  cmd->add_option("--validation", r.validation,
                  "training images held out to score candidates")
      ->capture_default_str();
  cmd->add_option("--train-images", r.train_images,
                  "use the first N training images (0: all)")
      ->capture_default_str();
  cmd->add_option("--test-images", r.test_images,
                  "use the first N test images (0: all)")
      ->capture_default_str();
  cmd->add_option("--batch", r.batch, "mini-batch size")->capture_default_str();
  cmd->add_option("--lr", r.lr, "Adam's initial learning rate (cosine decay)")
      ->capture_default_str();
  cmd->add_option("--seed", r.seed, "random seed")->capture_default_str();
  cmd->add_option("--threads", r.threads, "LibTorch intra-op threads")
      ->capture_default_str();
  cmd->add_flag("--from-scratch", r.from_scratch,
                "retrain the best network from fresh weights, not the "
                "supernet's");
  cmd->add_flag("--baseline", r.baseline,
                "also train the hand-designed LeNet-5-like CNN for the same "
                "epochs");
  cmd->add_flag("--quiet", o.quiet, "no progress lines");
  return cmd;
}

int run_nas_command(cli_options o) {
  auto fail = [](const std::string& msg, int code) {
    std::fprintf(stderr, "troupe nas: %s\n", msg.c_str());
    return code;
  };
  auto& r = o.run;
  if (r.data_dir.empty()) return fail("--data DIR is required", 2);
  if (r.out.empty()) return fail("--out DIR is required", 2);
  auto space = parse_space_kind(o.space);
  if (!space) return fail(troupe::describe(space.error()), 2);
  auto strategy = parse_strategy_kind(o.strategy);
  if (!strategy) return fail(troupe::describe(strategy.error()), 2);
  if (r.lim.max_params < 0) return fail("--max-params must be >= 0", 2);
  if (!(o.max_mflops >= 0)) return fail("--max-mflops must be >= 0", 2);
  if (r.epochs == 0) return fail("--epochs must be at least 1", 2);
  if (r.candidates == 0) return fail("--candidates must be at least 1", 2);
  if (r.batch < 2) return fail("--batch must be at least 2", 2);
  if (!(r.lr > 0)) return fail("--lr must be positive", 2);
  if (r.threads < 1) return fail("--threads must be at least 1", 2);
  r.space = *space;
  r.strategy = *strategy;
  r.lim.max_flops = static_cast<int64_t>(std::llround(o.max_mflops * 1e6));
  // a search is one short-lived process: holding its peak memory costs
  // nothing (on the 1,000-image subset, sys time 6 s -> 0.7 s)
  troupe::freed_pages_kept keep;
  auto quiet = o.quiet;
  auto summary = run_nas(r, real_clock(), [quiet](const std::string& line) {
    if (quiet) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!summary) return fail(troupe::describe(summary.error()), 1);
  return 0;
}

} // namespace troupe::nas
