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

void write_usage(schema::WorkerUsage::Builder b, const worker_usage& u) {
  b.setWorker(u.worker);
  b.setRank(u.rank);
  b.setAttempt(u.attempt);
  b.setStep(u.step);
  b.setComputeSeconds(u.split.compute);
  b.setDataSeconds(u.split.data);
  b.setCommSeconds(u.split.comm);
  b.setIdleSeconds(u.split.idle);
  b.setGpuUtilisation(u.gpu);
}

envelope to_envelope(const worker_usage& u) {
  return make_envelope<schema::WorkerUsage>([&](auto b) { write_usage(b, u); });
}

worker_usage worker_usage_of(schema::WorkerUsage::Reader r) {
  worker_usage u;
  u.worker = r.getWorker().cStr();
  u.rank = r.getRank();
  u.attempt = r.getAttempt();
  u.step = r.getStep();
  u.split = {r.getComputeSeconds(), r.getDataSeconds(), r.getCommSeconds(),
             r.getIdleSeconds()};
  u.gpu = r.getGpuUtilisation();
  return u;
}

caf::expected<worker_usage> worker_usage_of(const envelope& e) {
  return e.visit<schema::WorkerUsage>(
      [](auto r) { return worker_usage_of(r); });
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
    for (auto u : s.getUsage())
      v.usage.push_back(worker_usage_of(u));
    v.data_wait_share = s.getDataWaitShare();
    v.alert = s.getAlert();
    return v;
  });
}

} // namespace troupe::training
