#include "actors/training/wire.hpp"

namespace troupe::training {

std::string to_text(schema::JobState s) {
  switch (s) {
  case schema::JobState::WAITING:
    return "waiting";
  case schema::JobState::RUNNING:
    return "running";
  case schema::JobState::FINISHED:
    return "finished";
  case schema::JobState::FAILED:
    return "failed";
  case schema::JobState::STOPPED:
    return "stopped";
  case schema::JobState::UNKNOWN:
    break;
  }
  return "unknown";
}

caf::expected<job_view> job_view_of(const envelope& status) {
  return status.visit<schema::JobStatus>([](auto s) {
    job_view v;
    v.id = s.getId();
    v.family = s.getFamily();
    v.state = to_text(s.getState());
    v.message = s.getMessage();
    v.consistency = s.getConsistency();
    v.summary = s.getSummary();
    v.step = s.getStep();
    v.steps = s.getSteps();
    v.examples = s.getExamples();
    v.elapsed_ms = s.getElapsedMs();
    v.checkpoint_step = s.getCheckpointStep();
    v.workers = s.getWorkers();
    v.shards = s.getShards();
    v.attempt = s.getAttempt();
    v.per_second = s.getExamplesPerSecond();
    v.logloss = s.getValidLogloss();
    v.auc = s.getValidAuc();
    v.ks = s.getValidKs();
    v.bad_input = s.getBadInput();
    for (auto p : s.getPlacement())
      v.placement.emplace_back(p.cStr());
    return v;
  });
}

} // namespace troupe::training
