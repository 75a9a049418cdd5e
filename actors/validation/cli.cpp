#include "actors/validation/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <CLI/CLI.hpp>

#include "actors/tabular/text.hpp"
#include "actors/validation/csv_data.hpp"
#include "actors/validation/drift.hpp"
#include "actors/validation/evolve.hpp"
#include "runtime/errors.hpp"

namespace troupe::validation {

using tabular::check_options;
using tabular::check_result;
using tabular::column_schema;
using tabular::dataset_stats;
using tabular::infer_options;
using tabular::infer_schema;
using tabular::num;
using tabular::percent;
using tabular::profile_options;
using tabular::read_schema;
using tabular::write_schema;

namespace {

int input_error(const char* cmd, const caf::error& err) {
  std::fprintf(stderr, "troupe validate %s: %s\n", cmd, describe(err).c_str());
  return 2;
}

int usage_error(const char* cmd, const std::string& what) {
  std::fprintf(stderr, "troupe validate %s: %s\n", cmd, what.c_str());
  return 2;
}

size_t name_width(const std::vector<std::string>& names, size_t least) {
  size_t w = least;
  for (auto& n : names)
    w = std::max(w, n.size());
  return w;
}

/// What infer prints for a column's range or domain.
std::string constraint_text(const column_schema& c) {
  if (c.range) return "[" + num(c.range->min) + ", " + num(c.range->max) + "]";
  if (c.domain) {
    auto text = std::to_string(c.domain->size()) + " values";
    if (c.baseline && c.baseline->count > 0) {
      auto& dom = c.baseline->domain;
      for (size_t i = 0; i < dom.size() && i < 3; ++i)
        text += (i ? ", " : ": ") + dom[i].first + " " +
                percent(double(dom[i].second) / double(c.baseline->count));
      if (dom.size() > 3) text += ", ...";
    }
    return text;
  }
  if (c.baseline && c.baseline->high_cardinality)
    return "high cardinality (no domain)";
  return "-";
}

int run_infer(const cli_options& o) {
  if (o.data.empty() || o.out.empty())
    return usage_error("infer", "give --data FILE.csv and --out SCHEMA.json");
  profile_options po;
  po.seed = o.seed;
  auto stats = profile_csv(o.data, po);
  if (!stats) return input_error("infer", stats.error());
  infer_options io;
  io.ranges = !o.no_ranges;
  auto s = infer_schema(*stats, io);
  s.source = o.data;
  if (auto err = write_schema(o.out, s)) return input_error("infer", err);
  std::printf("inferred a schema from %llu rows, %zu columns of %s -> %s\n",
              static_cast<unsigned long long>(stats->rows), s.columns.size(),
              o.data.c_str(), o.out.c_str());
  std::vector<std::string> names;
  for (auto& c : s.columns)
    names.push_back(c.name);
  auto w = static_cast<int>(name_width(names, 6));
  std::printf("  %-*s  %-7s  %8s  %8s  %s\n", w, "column", "type", "missing",
              "allowed", "range / domain");
  for (auto& c : s.columns)
    std::printf(
        "  %-*s  %-7s  %8s  %8s  %s\n", w, c.name.c_str(), to_string(c.type),
        percent(c.baseline ? c.baseline->missing_ratio() : 0).c_str(),
        percent(c.max_missing_ratio).c_str(), constraint_text(c).c_str());
  return 0;
}

void print_anomalies(const check_result& r) {
  std::vector<std::string> ids;
  for (auto& a : r.anomalies)
    ids.push_back(a.id());
  auto w = static_cast<int>(name_width(ids, 2));
  for (auto& a : r.anomalies) {
    std::printf("  %-8s  %-*s  count %llu: %s\n",
                a.blocking() ? "BLOCKING" : "warning", w, a.id().c_str(),
                static_cast<unsigned long long>(a.count),
                a.description.c_str());
    if (a.examples.empty()) continue;
    std::string ex;
    for (auto& e : a.examples)
      ex += (ex.empty() ? "" : ", ") + std::string{"line "} +
            std::to_string(e.line) + ": '" + e.value + "'";
    std::printf("  %-8s  %-*s  e.g. %s\n", "", w, "", ex.c_str());
  }
}

int run_check(const cli_options& o) {
  if (o.schema.empty() || o.data.empty())
    return usage_error("check", "give --schema SCHEMA.json and --data D.csv");
  auto s = read_schema(o.schema);
  if (!s) return input_error("check", s.error());
  check_options co;
  co.profile.seed = o.seed;
  co.significance = o.significance;
  auto r = check_csv(*s, o.data, co);
  if (!r) return input_error("check", r.error());
  auto blocking = r->blocking();
  std::printf("checked %llu rows of %s against %s: %zu anomalies "
              "(%zu blocking, %zu warnings)\n",
              static_cast<unsigned long long>(r->stats.rows), o.data.c_str(),
              o.schema.c_str(), r->anomalies.size(), blocking,
              r->anomalies.size() - blocking);
  print_anomalies(*r);
  if (o.accept.empty()) return blocking > 0 ? 1 : 0;
  auto evolved = *s;
  auto changes = accept(evolved, *r, o.accept);
  if (!changes) return input_error("check", changes.error());
  auto all =
      std::find(o.accept.begin(), o.accept.end(), "all") != o.accept.end();
  size_t left = 0;
  for (auto& a : r->anomalies)
    if (a.blocking() && !all &&
        std::find(o.accept.begin(), o.accept.end(), a.id()) == o.accept.end())
      ++left;
  if (changes->empty()) {
    std::printf("nothing to accept; schema unchanged\n");
    return left > 0 ? 1 : 0;
  }
  for (auto& c : *changes)
    std::printf("accepted %s: %s\n", c.id.c_str(), c.description.c_str());
  auto out = o.schema_out.empty() ? o.schema : o.schema_out;
  if (auto err = write_schema(out, evolved)) return input_error("check", err);
  std::printf("schema written to %s\n", out.c_str());
  if (left > 0) std::printf("%zu blocking anomalies not accepted\n", left);
  return left > 0 ? 1 : 0;
}

/// Whether `path` holds JSON (a schema) rather than CSV.
caf::expected<bool> is_json_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found,
                      "cannot open '" + path + "': " + std::strerror(errno));
  char c = 0;
  while (in.get(c))
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c == '{';
  return false;
}

/// "0.5231 (0.2)": a measure and the threshold it was held to.
std::string measure(const std::optional<double>& v,
                    const std::optional<double>& threshold) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4f (%.3g)", *v, threshold.value_or(0));
  return buf;
}

int run_drift(const cli_options& o) {
  if (o.base.empty() || o.next.empty())
    return usage_error("drift",
                       "give --base A.csv|SCHEMA.json and --new B.csv");
  for (auto [name, v] : {std::pair{"--psi", o.psi}, std::pair{"--ks", o.ks},
                         std::pair{"--linf", o.linf},
                         std::pair{"--significance", o.significance}})
    if (!(v >= 0))
      return usage_error("drift", std::string{name} + " must be >= 0");
  if (!(o.significance < 1))
    return usage_error("drift", "--significance must be below 1");
  profile_options po;
  po.seed = o.seed;
  auto json = is_json_file(o.base);
  if (!json) return input_error("drift", json.error());
  dataset_stats base;
  if (*json) {
    auto s = read_schema(o.base);
    if (!s) return input_error("drift", s.error());
    base = s->baseline();
    if (base.columns.empty())
      return usage_error("drift", o.base + ": the schema records no "
                                           "statistics (columns[].stats)");
  } else {
    auto b = profile_csv(o.base, po);
    if (!b) return input_error("drift", b.error());
    base = std::move(*b);
  }
  auto next = profile_csv(o.next, po);
  if (!next) return input_error("drift", next.error());
  drift_thresholds t;
  t.psi = o.psi;
  t.ks = o.ks;
  t.linf = o.linf;
  t.significance = o.significance;
  auto result = drift(base, *next, t);
  std::printf("drift of %s (%llu rows) against %s%s; thresholds PSI %s, "
              "KS %s, L-inf %s, raised to the chance level of small samples\n",
              o.next.c_str(), static_cast<unsigned long long>(next->rows),
              o.base.c_str(), *json ? " (recorded statistics)" : "",
              num(t.psi).c_str(), num(t.ks).c_str(), num(t.linf).c_str());
  std::vector<std::string> names;
  for (auto& d : result)
    names.push_back(d.column);
  auto w = static_cast<int>(name_width(names, 7));
  std::printf("  %-*s  %-15s  %-15s  %-15s  %s\n", w, "feature", "PSI (max)",
              "KS (max)", "L-inf (max)", "result");
  size_t drifted = 0, compared = 0;
  for (auto& d : result) {
    drifted += d.drifted ? 1 : 0;
    compared += d.method != drift_method::none ? 1 : 0;
    auto verdict = d.method == drift_method::none
                       ? "skipped"
                       : (d.drifted ? "DRIFT" : "ok");
    std::printf("  %-*s  %-15s  %-15s  %-15s  %s%s%s\n", w, d.column.c_str(),
                measure(d.psi, d.psi_threshold).c_str(),
                measure(d.ks, d.ks_threshold).c_str(),
                measure(d.linf, d.linf_threshold).c_str(), verdict,
                d.note.empty() ? "" : ": ", d.note.c_str());
  }
  std::printf("%zu of %zu compared features drifted\n", drifted, compared);
  return drifted > 0 ? 1 : 0;
}

} // namespace

CLI::App* add_command(CLI::App& app, cli_options& o) {
  auto* cmd = app.add_subcommand(
      "validate", "infer a schema, check data against it, measure drift");
  // Missing options are checked by run() (exit code 2), not by CLI11,
  // whose parse errors exit with codes above 100.
  o.validate_cmd = cmd;

  auto* infer = cmd->add_subcommand("infer", "infer a schema from a CSV file");
  infer->add_option("--data", o.data, "CSV file");
  infer->add_option("--out", o.out, "schema file to write");
  infer->add_flag("--no-ranges", o.no_ranges,
                  "no numeric ranges (as TFDV; no out_of_range checks)");
  infer->add_option("--seed", o.seed, "sampling seed")->capture_default_str();
  o.infer_cmd = infer;

  auto* check = cmd->add_subcommand(
      "check", "check a CSV file against a schema; accept anomalies");
  check->add_option("--schema", o.schema, "schema file");
  check->add_option("--data", o.data, "CSV file");
  check
      ->add_option(
          "--accept", o.accept,
          "accept anomalies COLUMN:KIND[,...] or 'all' into the schema")
      ->delimiter(',');
  check->add_option("--schema-out", o.schema_out,
                    "write the evolved schema here (default: --schema)");
  check->add_option("--seed", o.seed, "sampling seed")->capture_default_str();
  check
      ->add_option("--significance", o.significance,
                   "chance level below which out-of-range counts are noise "
                   "(0: none)")
      ->capture_default_str();
  o.check_cmd = check;

  auto* drift_cmd = cmd->add_subcommand(
      "drift", "compare two data sets feature by feature (PSI, KS, L-inf)");
  drift_cmd->add_option("--base", o.base,
                        "base CSV file, or a schema with recorded statistics");
  drift_cmd->add_option("--new", o.next, "new CSV file");
  drift_cmd->add_option("--psi", o.psi, "PSI threshold")->capture_default_str();
  drift_cmd->add_option("--ks", o.ks, "KS threshold")->capture_default_str();
  drift_cmd->add_option("--linf", o.linf, "L-inf threshold")
      ->capture_default_str();
  drift_cmd
      ->add_option("--significance", o.significance,
                   "raise thresholds to this chance level of the sample sizes "
                   "(0: thresholds as given)")
      ->capture_default_str();
  drift_cmd->add_option("--seed", o.seed, "sampling seed")
      ->capture_default_str();
  o.drift_cmd = drift_cmd;
  return cmd;
}

int run(const cli_options& o) {
  if (o.infer_cmd && o.infer_cmd->parsed()) return run_infer(o);
  if (o.check_cmd && o.check_cmd->parsed()) return run_check(o);
  if (o.drift_cmd && o.drift_cmd->parsed()) return run_drift(o);
  std::fprintf(stderr, "troupe validate: give infer, check or drift\n");
  return 2;
}

} // namespace troupe::validation
