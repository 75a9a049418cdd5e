#include "actors/serving/local_predict.hpp"

#include <iostream>

#include "actors/models/saved_model.hpp"
#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::serving {

using models::saved_model;
using tabular::read_csv;
using tabular::write_predictions;

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
  auto model = saved_model::load(opts.model_dir);
  if (!model) return fail(describe(model.error()));
  auto t = read_csv(opts.data_path);
  if (!t) return fail(describe(t.error()));
  warn(t->warnings);
  auto p = model->predict(*t);
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
