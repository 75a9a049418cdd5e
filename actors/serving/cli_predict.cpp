#include "actors/serving/cli.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "actors/serving/cli_detail.hpp"
#include "actors/serving/prediction_log.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/model_dir.hpp"
#include "runtime/bridge.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/time.hpp"

// Predictions: `troupe predict --endpoint` against a serving gateway, and
// `troupe predictions export` from a head's prediction log.

namespace troupe::serving {

namespace fs = std::filesystem;

namespace cli_detail {

int run_export(cli_options& opts) {
  prediction_log_options lo;
  auto dir = (fs::path{opts.data_dir} / "serving" / "predictions").string();
  std::error_code ec;
  if (!fs::exists(fs::path{dir} / "data.mdb", ec))
    return fail("predictions export", "no prediction log in " + dir +
                                          " (give the head's --data-dir)");
  auto log = prediction_log::open(dir, lo);
  if (!log) return fail("predictions export", describe(log.error()));
  export_filter f;
  f.deployment = opts.deployment;
  if (!opts.since.empty()) {
    auto t = parse_time(opts.since, "s");
    if (!t) return fail("predictions export", describe(t.error()), 2);
    f.since_us = *t;
  }
  caf::expected<size_t> n = size_t{0};
  if (opts.out.empty()) {
    n = (*log)->export_low_confidence(opts.low_confidence, std::cout, f);
  } else {
    atomic_file out{opts.out};
    n = (*log)->export_low_confidence(opts.low_confidence, out.stream(), f);
    if (n)
      if (auto err = out.commit())
        return fail("predictions export", describe(err));
  }
  if (!n) return fail("predictions export", describe(n.error()));
  std::fprintf(stderr, "troupe predictions export: %zu rows below %g\n", *n,
               opts.low_confidence);
  return 0;
}

} // namespace cli_detail

using cli_detail::connect;
using cli_detail::fail;

int run_remote_predict(const cli_options& opts) {
  const std::string cmd = "predict";
  auto table = tabular::read_csv(opts.data);
  if (!table) return fail(cmd, describe(table.error()), 2);
  auto c = connect(opts.endpoint);
  if (!c) return fail(cmd, describe(c.error()));
  auto deployment = opts.deployment;
  if (deployment.empty()) {
    auto names = rpc_call("deployments", [&] {
      std::vector<std::string> out;
      auto list = c->client->wait(c->api.deploymentsRequest().send());
      for (auto s : list.getList().getDeployments())
        out.push_back(s.getSpec().getName());
      return out;
    });
    if (!names) return fail(cmd, describe(names.error()));
    if (names->size() != 1)
      return fail(cmd,
                  std::to_string(names->size()) +
                      " deployments there: name one with --deployment",
                  2);
    deployment = names->front();
  }
  const tabular::column* entity_col = nullptr;
  if (!opts.entities_column.empty()) {
    entity_col = table->find(opts.entities_column);
    if (!entity_col)
      return fail(cmd,
                  "no column '" + opts.entities_column + "' in " + opts.data +
                      " (columns: " + table->column_list() + ")",
                  2);
  }
  tabular::prediction_table out;
  size_t rows = table->rows();
  size_t step = std::max<size_t>(1, opts.batch_rows);
  for (size_t at = 0; at < rows; at += step) {
    auto n = std::min(step, rows - at);
    auto res = rpc_call(
        "predict rows " + std::to_string(at + 1) + ".." +
            std::to_string(at + n),
        [&] {
          auto req = c->api.predictRequest();
          auto r = req.initRequest();
          r.setDeployment(deployment);
          if (entity_col) {
            auto es = r.initEntities(static_cast<unsigned>(n));
            for (unsigned i = 0; i < n; ++i)
              es.set(i, entity_col->text[at + i]);
          } else {
            auto cols =
                r.initColumns(static_cast<unsigned>(table->columns.size()));
            for (unsigned k = 0; k < cols.size(); ++k)
              cols.set(k, table->columns[k].name);
            auto rl = r.initRows(static_cast<unsigned>(n));
            for (unsigned i = 0; i < n; ++i) {
              auto cells = rl[i].initCells(cols.size());
              for (unsigned k = 0; k < cols.size(); ++k) {
                auto& col = table->columns[k];
                if (col.is_missing(at + i)) continue;
                if (col.kind == tabular::column_kind::numeric)
                  cells[k].setNumber(col.numbers[at + i]);
                else
                  cells[k].setText(col.text[at + i]);
              }
            }
          }
          auto reply = c->client->wait(req.send());
          auto answer = reply.getResponse();
          if (answer.getPredictions().size() != n)
            throw rpc_failure("the server answered " +
                              std::to_string(answer.getPredictions().size()) +
                              " predictions for " + std::to_string(n) +
                              " rows");
          if (out.columns.empty()) {
            out.columns.push_back("prediction");
            auto classes = answer.getClasses();
            if (classes.size() == 2)
              out.columns.push_back("p_" + std::string{classes[1]});
            else if (classes.size() > 2)
              for (auto cl : classes)
                out.columns.push_back("p_" + std::string{cl});
          }
          for (auto p : answer.getPredictions()) {
            auto scores = p.getScores();
            if (p.getLabel().size() > 0) {
              out.prediction.push_back(p.getLabel());
            } else {
              // the shortest text, as local `predict` writes
              char buf[32];
              auto end = std::to_chars(buf, buf + sizeof(buf),
                                       scores.size() ? scores[0] : NAN)
                             .ptr;
              out.prediction.emplace_back(buf, end);
            }
            for (auto s : scores)
              out.scores.push_back(s);
          }
          return true;
        });
    if (!res) return fail(cmd, describe(res.error()));
  }
  if (out.columns.empty()) out.columns.push_back("prediction");
  if (opts.out.empty()) {
    tabular::write_predictions(std::cout, out);
  } else {
    atomic_file file{opts.out};
    tabular::write_predictions(file.stream(), out);
    if (auto err = file.commit()) return fail(cmd, describe(err));
  }
  return 0;
}

} // namespace troupe::serving
