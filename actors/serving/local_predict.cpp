#include "actors/serving/local_predict.hpp"

#include <iostream>

#include "actors/models/saved_model.hpp"
#include "actors/models/servable.hpp"
#include "actors/models/sparse_model.hpp"
#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::serving {

using models::saved_model;
using tabular::read_csv;
using tabular::write_predictions;

namespace {

/// The predictions of the model in `dir` loaded for serving (a sparse
/// model), as `troupe predict --endpoint` writes a server's answers.
caf::expected<tabular::prediction_table>
predict_served(const std::string& dir, const tabular::table& t) {
  auto model = models::servable::load(models::model_format::troupe, dir);
  if (!model) return model.error();
  auto& m = **model;
  std::vector<std::string> columns;
  for (auto& c : t.columns)
    columns.push_back(c.name);
  // each cell as the file has it: the job hashed the text of its CSV
  // ("02134" is not 2134 to a categorical column)
  std::vector<std::vector<models::cell>> rows(t.rows());
  for (size_t r = 0; r < t.rows(); ++r)
    for (auto& c : t.columns)
      rows[r].push_back(c.is_missing(r) ? models::cell::none()
                                        : models::cell::of(c.text[r]));
  auto scores = m.predict(columns, rows);
  if (!scores) return scores.error();
  tabular::prediction_table out;
  out.columns.push_back("prediction");
  auto& classes = m.classes();
  if (classes.size() == 2)
    out.columns.push_back("p_" + classes[1]);
  else
    for (auto& c : classes)
      out.columns.push_back("p_" + c);
  auto decided =
      models::decide(m.task(), m.outputs(), scores->data(), t.rows());
  for (auto& d : decided)
    out.prediction.push_back(d.label >= 0 ? classes[d.label]
                                          : tabular::shortest(d.value));
  out.scores = std::move(*scores);
  return out;
}

} // namespace

int run_predict(const predict_options& opts, std::ostream& out,
                std::ostream& err) {
  auto fail = [&](const std::string& msg) {
    err << "troupe predict: " << msg << '\n';
    return 1;
  };
  auto warn = [&](const std::vector<std::string>& ws) {
    for (auto& w : ws)
      err << "troupe predict: warning: " << w << '\n';
  };
  if (opts.model_dir.empty())
    return fail("no model directory given (--model DIR)");
  if (opts.data_path.empty()) return fail("no data given (--data FILE)");
  // a sparse-lr job's directory predicts through its servable
  auto sparse = models::sparse_model::is_sparse_dir(opts.model_dir);
  caf::expected<saved_model> model = caf::error{};
  if (!sparse) {
    model = saved_model::load(opts.model_dir);
    if (!model) return fail(describe(model.error()));
  }
  auto t = read_csv(opts.data_path);
  if (!t) return fail(describe(t.error()));
  warn(t->warnings);
  auto p = sparse ? predict_served(opts.model_dir, *t) : model->predict(*t);
  if (!p) return fail(describe(p.error()));
  warn(p->warnings);
  if (opts.out_path.empty()) {
    write_predictions(out, *p);
    out.flush();
    if (!out) return fail("cannot write the predictions to stdout");
    return 0;
  }
  atomic_file file{opts.out_path};
  write_predictions(file.stream(), *p);
  if (auto err = file.commit()) return fail(describe(err));
  return 0;
}

int run_predict(const predict_options& opts) {
  return run_predict(opts, std::cout, std::cerr);
}

} // namespace troupe::serving
