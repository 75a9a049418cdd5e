#pragma once

// What the training-job tests share: a sparse-lr job's TOML on the shipped
// spam data, and a JobStatus as the tests look at it.

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/training/wire.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::test::training_jobs {

inline std::string job_toml(uint32_t workers, uint32_t shards, uint32_t epochs,
                            uint32_t batch = 16) {
  return "family = \"sparse-lr\"\n"
         "[data]\n"
         "train = \"" TROUPE_SOURCE_DIR "/tests/data/spam.csv\"\n"
         "target = \"type\"\n"
         "[features]\n"
         "bits = 22\n"
         "crosses = [[\"remove\", \"free\"]]\n"
         "[model]\n"
         "alpha = 0.1\n"
         "l1 = 0.5\n"
         "l2 = 1.0\n"
         "[run]\n"
         "workers = " +
         std::to_string(workers) + "\nshards = " + std::to_string(shards) +
         "\nepochs = " + std::to_string(epochs) +
         "\nbatch = " + std::to_string(batch) + "\nconsistency = \"sync\"\n";
}

struct view {
  std::string id, state, message, summary;
  uint64_t step = 0, steps = 0, examples = 0, checkpoint_step = 0;
  uint32_t attempt = 0;
  double auc = NAN;
  bool bad_input = false;
  std::vector<std::string> placement;
  bool ended() const {
    return state == "finished" || state == "failed" || state == "stopped";
  }
};

inline view view_of(const envelope& env) {
  auto v = env.visit<schema::JobStatus>([](auto s) {
    view v;
    v.id = s.getId();
    v.state = training::to_text(s.getState());
    v.message = s.getMessage();
    v.summary = s.getSummary();
    v.step = s.getStep();
    v.steps = s.getSteps();
    v.examples = s.getExamples();
    v.auc = s.getValidAuc();
    v.bad_input = s.getBadInput();
    v.checkpoint_step = s.getCheckpointStep();
    v.attempt = s.getAttempt();
    for (auto p : s.getPlacement())
      v.placement.emplace_back(p.cStr());
    return v;
  });
  if (!v) FAIL("not a JobStatus: " << describe(v.error()));
  return *v;
}

} // namespace troupe::test::training_jobs
