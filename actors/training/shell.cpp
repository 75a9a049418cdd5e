// The shell's training commands: `jobs`, `job ID`, `stop-job ID`.

#include "actors/training/shell.hpp"

#include <cmath>
#include <cstdio>

#include "actors/training/service.hpp"
#include "actors/training/wire.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

std::string number(double x, const char* fmt = "%.4g") {
  if (std::isnan(x)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, x);
  return buf;
}

std::string step_text(schema::JobStatus::Reader s) {
  return std::to_string(s.getStep()) + "/" + std::to_string(s.getSteps());
}

caf::expected<envelope> ask(shell_backend& backend, const std::string& op,
                            const std::string& id) {
  auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
  auto reply = backend.send(service_name, ref, op);
  if (reply) return reply;
  auto text = describe(reply.error());
  if (text.find("no actor named '" + std::string{service_name} + "'") !=
      std::string::npos)
    return make_error(errc::not_found,
                      "the training service is not running: no actor named "
                      "'training' is registered (the head starts it)");
  return reply.error();
}

/// Each worker's time split as shares of its time, and the whole gang's
/// wait for data; "" before any report.
std::string usage_table(schema::JobStatus::Reader s) {
  if (s.getUsage().size() == 0) return "";
  auto pct = [](double part, double total) {
    return total > 0 ? number(100 * part / total, "%.0f%%") : std::string{"-"};
  };
  std::vector<std::vector<std::string>> rows;
  for (auto u : s.getUsage()) {
    auto total = u.getComputeSeconds() + u.getDataSeconds() +
                 u.getCommSeconds() + u.getIdleSeconds();
    rows.push_back({u.getWorker().cStr(), std::to_string(u.getStep()),
                    pct(u.getComputeSeconds(), total),
                    pct(u.getDataSeconds(), total),
                    pct(u.getCommSeconds(), total),
                    pct(u.getIdleSeconds(), total), number(total, "%.1fs"),
                    std::isnan(u.getGpuUtilisation())
                        ? std::string{"-"}
                        : number(100 * u.getGpuUtilisation(), "%.0f%%")});
  }
  return "usage       data wait " +
         number(100 * s.getDataWaitShare(), "%.1f%%") +
         " of the workers' time\n" +
         format_table({"WORKER", "STEP", "COMPUTE", "DATA", "COMM", "IDLE",
                       "TIME", "GPU"},
                      rows);
}

} // namespace

caf::expected<std::string> format_jobs(const envelope& list) {
  return list.visit<schema::JobList>([](auto l) {
    std::vector<std::vector<std::string>> rows;
    for (auto s : l.getJobs())
      rows.push_back(
          {s.getId().cStr(), s.getFamily().cStr(), to_text(s.getState()),
           step_text(s), std::to_string(s.getExamples()),
           number(s.getExamplesPerSecond(), "%.0f"), number(s.getValidAuc())});
    return format_table(
               {"ID", "FAMILY", "STATE", "STEP", "EXAMPLES", "EX/S", "AUC"},
               rows) +
           std::to_string(rows.size()) + " jobs\n";
  });
}

caf::expected<std::string> format_job(const envelope& status) {
  return status.visit<schema::JobStatus>([](auto s) {
    std::vector<std::pair<std::string, std::string>> kv{
        {"id", s.getId().cStr()},
        {"family", s.getFamily().cStr()},
        {"state", to_text(s.getState())},
        {"message", s.getMessage().cStr()},
        {"gang", std::to_string(s.getWorkers()) + " worker(s), " +
                     std::to_string(s.getShards()) + " shard(s), " +
                     s.getConsistency().cStr()},
        {"step", step_text(s)},
        {"examples", std::to_string(s.getExamples())},
        {"examples/s", number(s.getExamplesPerSecond(), "%.0f")},
        {"elapsed", number(s.getElapsedMs() / 1000.0, "%.1fs")},
        {"valid", "logloss " + number(s.getValidLogloss()) + ", AUC " +
                      number(s.getValidAuc()) + ", KS " +
                      number(s.getValidKs())}};
    std::string placement;
    for (auto p : s.getPlacement())
      placement += (placement.empty() ? "" : " ") + std::string{p.cStr()};
    kv.emplace_back("placement", placement.empty() ? "-" : placement);
    if (s.getAlert().size() > 0) kv.emplace_back("ALERT", s.getAlert().cStr());
    std::string out;
    for (auto& [k, v] : kv) {
      if (v.empty()) continue;
      out +=
          k + std::string(12 - std::min<size_t>(11, k.size()), ' ') + v + "\n";
    }
    return out + usage_table(s);
  });
}

std::vector<shell_command> shell_commands(shell_backend& backend) {
  using args = std::vector<std::string>;
  auto show = [&backend](shell& sh, const std::string& op,
                         const std::string& id, bool list) {
    auto reply = ask(backend, op, id);
    if (!reply) return sh.fail(reply.error());
    auto text = list ? format_jobs(*reply) : format_job(*reply);
    if (!text) return sh.fail(text.error());
    sh.out() << *text;
    return shell_outcome::ok;
  };
  std::vector<shell_command> out;
  out.push_back({{"jobs", "jobs", "list the training jobs"},
                 [show](shell& sh, const args& a) {
                   if (!a.empty()) return sh.usage("jobs");
                   return show(sh, "list", "", true);
                 },
                 nullptr});
  out.push_back({{"job", "job ID", "a training job's status and placement"},
                 [show](shell& sh, const args& a) {
                   if (a.size() != 1 || a[0].empty()) return sh.usage("job");
                   return show(sh, "status", a[0], false);
                 },
                 nullptr});
  out.push_back(
      {{"stop-job", "stop-job ID", "stop a training job; its slots go back"},
       [show](shell& sh, const args& a) {
         if (a.size() != 1 || a[0].empty()) return sh.usage("stop-job");
         return show(sh, "stop", a[0], false);
       },
       nullptr});
  return out;
}

} // namespace troupe::training
