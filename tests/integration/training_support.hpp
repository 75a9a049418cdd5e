#pragma once

// What the training-job tests share: a sparse-lr job's TOML on the shipped
// spam data, and a JobStatus as the tests look at it.

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

using view = training::job_view;

/// A JobStatus read, or the test fails.
inline view view_of(const envelope& env) {
  auto v = training::job_view_of(env);
  if (!v) FAIL("not a JobStatus: " << describe(v.error()));
  return *v;
}

} // namespace troupe::test::training_jobs
