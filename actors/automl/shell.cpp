// The shell's AutoML commands: `studies`, `study ID`, `stop-study ID`, and
// the pure functions that render the "automl" service's replies.

#include "actors/automl/shell.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <utility>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

using shell_detail::starts_with;
using shell_detail::text_of;

namespace {

/// The name the service registers under (actors/automl/service.hpp).
const std::string automl_name = "automl";

using status_reader = schema::StudyStatus::Reader;

std::string count_text(uint64_t x) {
  return std::to_string(x);
}

/// A metric value with 5 significant digits (close trials differ late);
/// "-" if there is none (NaN).
std::string metric_text(double value) {
  if (std::isnan(value)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.5g", value);
  return buf;
}

/// "name=value": floats with 4 significant digits.
std::string param_text(schema::ParamValue::Reader p) {
  std::string value;
  switch (p.which()) {
  case schema::ParamValue::REAL: {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.4g", p.getReal());
    value = buf;
    break;
  }
  case schema::ParamValue::INTEGER:
    value = std::to_string(p.getInteger());
    break;
  case schema::ParamValue::CATEGORY:
    value = text_of(p.getCategory());
    break;
  }
  return text_of(p.getName()) + "=" + value;
}

std::string config_text(capnp::List<schema::ParamValue>::Reader params) {
  std::string result;
  for (auto p : params)
    result += (result.empty() ? "" : " ") + param_text(p);
  return result;
}

/// A study that is only in the journal carries nothing but id and state.
bool is_stored(status_reader s) {
  return text_of(s.getState()) == "stored";
}

/// "auc 0.93124", or "-" without a best trial.
std::string best_cell(status_reader s) {
  if (!s.getHasBest()) return "-";
  auto metric = text_of(s.getMetric());
  return (metric.empty() ? "" : metric + " ") + metric_text(s.getBestValue());
}

/// "0.93124 (trial 12)", or "-".
std::string best_detail(status_reader s) {
  if (!s.getHasBest()) return "-";
  return metric_text(s.getBestValue()) + " (trial " +
         std::to_string(s.getBestTrial()) + ")";
}

/// "40 done, 2 running, 10 pruned, 0 failed".
std::string counts_text(status_reader s) {
  return count_text(s.getDone()) + " done, " + count_text(s.getRunning()) +
         " running, " + count_text(s.getPruned()) + " pruned, " +
         count_text(s.getFailed()) + " failed";
}

/// "10:00", "200 trials", "10:00 or 200 trials", or "none".
std::string budget_text(status_reader s) {
  std::string result;
  if (s.getBudgetMs() > 0) result = clock_text(s.getBudgetMs());
  if (s.getMaxTrials() > 0)
    result += (result.empty() ? "" : " or ") +
              std::to_string(s.getMaxTrials()) + " trials";
  return result.empty() ? "none" : result;
}

/// The leaderboard's value column is named after the metric.
std::string value_header(status_reader s) {
  auto name = text_of(s.getMetric());
  if (name.empty()) return "VALUE";
  for (auto& c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string format_number(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

} // namespace

// -- rendering ----------------------------------------------------------------

caf::expected<std::string> format_studies(const envelope& list) {
  return list.visit<schema::StudyList>([](schema::StudyList::Reader x) {
    std::vector<std::vector<std::string>> rows;
    for (auto s : x.getStudies()) {
      auto id = text_of(s.getId());
      auto state = text_of(s.getState());
      if (is_stored(s)) {
        rows.push_back({id, state, "-", "-", "-", "-", "-", "-", "-"});
        continue;
      }
      rows.push_back({id, state, count_text(s.getTotalTrials()),
                      count_text(s.getDone()), count_text(s.getRunning()),
                      count_text(s.getPruned()), count_text(s.getFailed()),
                      best_cell(s), clock_text(s.getElapsedMs())});
    }
    return format_table({"ID", "STATE", "TRIALS", "DONE", "RUNNING", "PRUNED",
                         "FAILED", "BEST", "ELAPSED"},
                        rows) +
           std::to_string(rows.size()) + " studies\n";
  });
}

caf::expected<std::string> format_study(const envelope& status) {
  return status.visit<schema::StudyStatus>([](status_reader s) {
    auto metric = text_of(s.getMetric());
    std::vector<std::vector<std::string>> fields{
        {"study", text_of(s.getId())},
        {"state", text_of(s.getState())},
        {"metric", (metric.empty() ? std::string{"-"} : metric) + " (" +
                       (s.getMaximize() ? "higher" : "lower") + " is better)"},
        {"best", best_detail(s)},
        {"trials", count_text(s.getTotalTrials()) + ": " + counts_text(s) +
                       ", " + count_text(s.getPaused()) + " paused"},
        {"requeued", count_text(s.getRequeued())},
        {"elapsed", clock_text(s.getElapsedMs())},
        {"budget", budget_text(s)},
    };
    if (s.getObjectives().size() > 0) {
      std::string names = metric.empty() ? std::string{"-"} : metric;
      for (auto o : s.getObjectives())
        names += ", " + text_of(o) + " (lower is better)";
      fields.push_back({"objectives", names});
    }
    if (s.getWeight() > 0)
      fields.push_back({"weight", format_number(s.getWeight())});
    if (s.hasModelDir() && s.getModelDir().size() > 0)
      fields.push_back({"model dir", text_of(s.getModelDir())});
    if (s.hasMessage() && s.getMessage().size() > 0)
      fields.push_back({"message", text_of(s.getMessage())});
    auto result = format_table({}, fields);
    auto board = s.getLeaderboard();
    if (board.size() == 0) return result + "no trial has a result yet\n";
    std::vector<std::vector<std::string>> rows;
    size_t rank = 0;
    for (auto t : board) {
      auto node = text_of(t.getNode());
      rows.push_back({std::to_string(++rank), std::to_string(t.getId()),
                      text_of(t.getState()), metric_text(t.getValue()),
                      std::to_string(t.getSteps()),
                      node.empty() ? std::string{"-"} : node,
                      config_text(t.getParams())});
    }
    result += "\n" + format_table({"RANK", "TRIAL", "STATE", value_header(s),
                                   "STEPS", "NODE", "CONFIG"},
                                  rows);
    if (s.getObjectives().size() == 0) return result;
    // a multi-objective study's result: its Pareto front
    std::vector<std::string> header{"TRIAL", value_header(s)};
    for (auto o : s.getObjectives()) {
      auto name = text_of(o);
      for (auto& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      header.push_back(name);
    }
    header.push_back("STEPS");
    header.push_back("CONFIG");
    std::vector<std::vector<std::string>> front;
    for (auto t : s.getParetoFront()) {
      std::vector<std::string> row{std::to_string(t.getId()),
                                   metric_text(t.getValue())};
      for (auto v : t.getObjectives())
        row.push_back(format_number(v));
      row.resize(header.size() - 2);
      row.push_back(std::to_string(t.getSteps()));
      row.push_back(config_text(t.getParams()));
      front.push_back(std::move(row));
    }
    return result + "\npareto front\n" + format_table(header, front);
  });
}

caf::expected<std::string> format_study_line(const envelope& status) {
  return status.visit<schema::StudyStatus>([](status_reader s) {
    auto line = "study " + text_of(s.getId()) + ": " + text_of(s.getState());
    if (is_stored(s)) return line + '\n';
    line += ", " + count_text(s.getTotalTrials()) + " trials (" +
            counts_text(s) + ")";
    if (s.getHasBest())
      line += ", best " + best_cell(s) + " (trial " +
              std::to_string(s.getBestTrial()) + ")";
    return line + ", elapsed " + clock_text(s.getElapsedMs()) + '\n';
  });
}

caf::expected<std::vector<std::string>> study_ids(const envelope& list) {
  return list.visit<schema::StudyList>([](schema::StudyList::Reader x) {
    std::vector<std::string> ids;
    for (auto s : x.getStudies())
      ids.push_back(text_of(s.getId()));
    return ids;
  });
}

// -- commands -----------------------------------------------------------------

namespace {

/// Sends (op, StudyRef{id}) to the "automl" service; errors are worded for
/// people (the service is not running, or the service's message).
caf::expected<envelope> ask_automl(shell_backend& backend,
                                   const std::string& op,
                                   const std::string& id) {
  auto ref = make_envelope<schema::StudyRef>([&](auto r) { r.setId(id); });
  auto reply = backend.send(automl_name, ref, op);
  if (reply) return reply;
  auto text = describe(reply.error());
  if (text.find("no actor named '" + automl_name + "'") != std::string::npos)
    return make_error(errc::not_found,
                      "the AutoML service is not running: no actor named '" +
                          automl_name + "' is registered (the head starts it)");
  // The client and the gateway say where the error came from; the service's
  // own message is what a user can act on.
  for (auto prefix : {"send to " + automl_name + ": ",
                      "actor '" + automl_name + "' answered "})
    if (starts_with(text, prefix)) text.erase(0, prefix.size());
  auto code = reply.error().category() == error_category
                  ? static_cast<errc>(reply.error().code())
                  : errc::invalid_argument;
  return make_error(code, std::move(text));
}

/// Runs `op` on study `id` and prints the reply as `render` writes it.
template <class Render>
shell_outcome show(shell& sh, shell_backend& backend, const std::string& op,
                   const std::string& id, Render&& render) {
  auto reply = ask_automl(backend, op, id);
  if (!reply) return sh.fail(reply.error());
  auto text = render(*reply);
  if (!text) return sh.fail(text.error());
  sh.out() << *text;
  return shell_outcome::ok;
}

} // namespace

std::vector<shell_command> shell_commands(shell_backend& backend) {
  using args = std::vector<std::string>;
  // The study ids offered for completion, shared by the commands.
  auto ids = std::make_shared<completion_list>();
  auto complete_id = [&backend, ids](shell& sh, const args& positional) {
    if (!positional.empty()) return std::vector<std::string>{};
    ids->refresh(sh.now(), [&]() -> caf::expected<std::vector<std::string>> {
      auto reply = ask_automl(backend, "list", "");
      if (!reply) return reply.error();
      return study_ids(*reply);
    });
    return ids->names;
  };
  std::vector<shell_command> out;
  out.push_back({{"studies", "studies", "list the AutoML studies"},
                 [&backend, ids](shell& sh, const args& a) {
                   if (!a.empty()) return sh.usage("studies");
                   auto reply = ask_automl(backend, "list", "");
                   if (!reply) return sh.fail(reply.error());
                   auto text = format_studies(*reply);
                   if (!text) return sh.fail(text.error());
                   ids->keep(study_ids(*reply), sh.now());
                   sh.out() << *text;
                   return shell_outcome::ok;
                 },
                 nullptr});
  out.push_back({{"study", "study ID", "a study's status and leaderboard"},
                 [&backend](shell& sh, const args& a) {
                   if (a.size() != 1 || a[0].empty()) return sh.usage("study");
                   return show(sh, backend, "status", a[0],
                               [](auto& r) { return format_study(r); });
                 },
                 complete_id});
  out.push_back(
      {{"stop-study", "stop-study ID", "stop a study; it then refits its best"},
       [&backend](shell& sh, const args& a) {
         if (a.size() != 1 || a[0].empty()) return sh.usage("stop-study");
         return show(sh, backend, "stop", a[0],
                     [](auto& r) { return format_study_line(r); });
       },
       complete_id});
  return out;
}

} // namespace troupe::automl
