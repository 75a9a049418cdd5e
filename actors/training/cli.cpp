#include "actors/training/cli.hpp"

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/training/ps_shard.hpp"
#include "actors/training/sparse_job.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"

namespace troupe::training {

CLI::App* add_train_command(CLI::App& app, train_options& o) {
  auto* cmd = app.add_subcommand(
      "train", "run a training job (sparse-lr: a parameter-server logistic "
               "regression over hashed features)");
  cmd->add_option("--config", o.config, "the job's TOML file")->required();
  cmd->add_option("--out", o.out, "where model.json and summary.json go")
      ->capture_default_str();
  return cmd;
}

int run_train_command(const train_options& o) {
  auto cfg = read_job_config(o.config);
  if (!cfg) {
    std::cerr << "troupe train: " << describe(cfg.error()) << '\n';
    return 2;
  }
  caf::actor_system_config sys_cfg;
  register_types(sys_cfg);
  register_training_schemas();
  caf::actor_system sys{sys_cfg};
  std::cout << "troupe train: " << cfg->family << " on " << cfg->train << ", "
            << cfg->workers << " worker(s), " << cfg->shards << " shard(s), "
            << cfg->consistency << ", " << cfg->epochs << " epoch(s)\n";
  auto summary = run_sparse_job(sys, *cfg, o.out);
  if (!summary) {
    std::cerr << "troupe train: " << describe(summary.error()) << '\n';
    return summary.error().code() ==
                   static_cast<uint8_t>(errc::invalid_argument)
               ? 2
               : 1;
  }
  auto& s = *summary;
  auto fmt = [](const nlohmann::json& v) {
    return v.is_number() ? std::to_string(v.get<double>()) : std::string{"-"};
  };
  std::cout << "trained " << s["examples"] << " examples in "
            << fmt(s["train_seconds"]) << " s ("
            << fmt(s["examples_per_second"]) << " examples/s), " << s["keys"]
            << " keys\n"
            << "validation: logloss " << fmt(s["valid"]["logloss"]) << ", AUC "
            << fmt(s["valid"]["auc"]) << ", KS " << fmt(s["valid"]["ks"])
            << '\n'
            << "model: " << s["model"].get<std::string>()
            << "; summary: " << o.out << "/summary.json\n";
  return 0;
}

} // namespace troupe::training
