// A job's utilisation (issue 19): its workers' time splits, the
// data-starvation alert over them, and where both go: the job's status
// (the shell's `job ID`), the process's /metrics, the journal and
// summary.json.

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/training/job_run.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node.hpp"

namespace troupe::training {

namespace {

std::vector<time_split> splits_of(const job_state& st) {
  std::vector<time_split> out;
  for (auto& [rank, r] : st.usage)
    out.push_back(r.split);
  return out;
}

/// Gauges of the job's utilisation in the process's registry (the head's
/// /metrics).
void publish(const job_state& st, uint32_t rank) {
  auto& reg = process_metrics();
  auto& r = st.usage.at(rank);
  std::pair<const char*, double> states[] = {{"compute", r.split.compute},
                                             {"data", r.split.data},
                                             {"comm", r.split.comm},
                                             {"idle", r.split.idle}};
  for (auto& [state, secs] : states)
    if (auto g = reg.add_gauge(
            "troupe_job_worker_seconds",
            "Seconds a training job's worker spent computing, waiting for "
            "data, communicating or idle in its current placement",
            {{"job", st.init.id}, {"worker", r.worker}, {"state", state}}))
      g->set(secs);
  if (!std::isnan(r.gpu))
    if (auto g = reg.add_gauge("troupe_job_worker_gpu_utilisation",
                               "The busy share of a training job's worker's "
                               "GPU (NVML), 0 to 1",
                               {{"job", st.init.id}, {"worker", r.worker}}))
      g->set(r.gpu);
  if (auto g = reg.add_gauge("troupe_job_data_wait_share",
                             "The share of a training job's workers' time "
                             "spent waiting for data",
                             {{"job", st.init.id}}))
    g->set(data_wait_share(splits_of(st)));
  if (auto g = reg.add_gauge("troupe_job_data_starved",
                             "1 while a training job's workers wait for data "
                             "more than its data_wait_alert share",
                             {{"job", st.init.id}}))
    g->set(st.alert.empty() ? 0 : 1);
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * share);
  return buf;
}

} // namespace

void on_usage(job_self self, const envelope& report) {
  auto& st = self->state;
  auto r = worker_usage_of(report);
  if (!r) {
    st.log->warn("job {}: a usage report it cannot read: {}", st.init.id,
                 describe(r.error()));
    return;
  }
  auto attempt = r->attempt;
  auto rank = r->rank;
  if (ended(st) || attempt != st.attempt) return;
  if (st.usage_attempt != attempt) {
    st.usage.clear();
    st.usage_attempt = attempt;
  }
  st.usage[rank] = std::move(*r);
  // the rule over every worker that has reported
  auto splits = splits_of(st);
  starvation_rule rule;
  rule.threshold = st.init.cfg.data_wait_alert;
  auto share = data_wait_share(splits);
  auto change = next_alert(!st.alert.empty(), splits, rule);
  if (change == alert_change::raise) {
    st.alert = "data-starved: the workers wait for data " + percent(share) +
               " of their time (data_wait_alert " + percent(rule.threshold) +
               ")";
    st.log->warn("job {}: {}", st.init.id, st.alert);
    record(self, schema::JobEvent::Kind::ALERT, st.usage[rank].step, st.alert);
  } else if (change == alert_change::clear) {
    st.alert.clear();
    auto line = "no longer data-starved: the workers wait for data " +
                percent(share) + " of their time";
    st.log->info("job {}: {}", st.init.id, line);
    record(self, schema::JobEvent::Kind::ALERT, st.usage[rank].step, line);
  }
  publish(st, rank);
}

double data_wait_share_of(const job_state& st) {
  return st.usage.empty() ? std::nan("") : data_wait_share(splits_of(st));
}

void usage_status(const job_state& st, schema::JobStatus::Builder s) {
  auto list = s.initUsage(static_cast<unsigned>(st.usage.size()));
  unsigned i = 0;
  for (auto& [rank, r] : st.usage)
    write_usage(list[i++], r);
  s.setDataWaitShare(data_wait_share_of(st));
  s.setAlert(st.alert);
}

nlohmann::json usage_json(const job_state& st) {
  auto out = nlohmann::json::array();
  for (auto& [rank, r] : st.usage) {
    nlohmann::json w{{"worker", r.worker},   {"rank", rank},
                     {"step", r.step},       {"compute", r.split.compute},
                     {"data", r.split.data}, {"comm", r.split.comm},
                     {"idle", r.split.idle}};
    if (!std::isnan(r.gpu)) w["gpu"] = r.gpu;
    out.push_back(std::move(w));
  }
  return out;
}

void record_usage(job_self self) {
  auto& st = self->state;
  if (st.usage.empty()) return;
  uint64_t step = 0;
  for (auto& [rank, r] : st.usage)
    step = std::max(step, r.step);
  record(self, schema::JobEvent::Kind::USAGE, step, usage_json(st).dump());
}

} // namespace troupe::training
