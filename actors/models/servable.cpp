#include "actors/models/servable.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>

#include "actors/models/errors.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/servable_detail.hpp"
#include "actors/models/sparse_model.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

namespace fs = std::filesystem;
using detail::bad_model;
using detail::invalid;

// -- shared helpers (servable_detail.hpp) ------------------------------------

namespace detail {

caf::error invalid(std::string msg) {
  return make_error(troupe::errc::invalid_argument, std::move(msg));
}

caf::error bad_model(std::string msg) {
  return make_error(errc::bad_model, std::move(msg));
}

std::string shortest(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i ? ", " : "") + xs[i];
  return out;
}

caf::error check_finite(const std::string& where, const std::vector<float>& s,
                        size_t outputs) {
  for (size_t i = 0; i < s.size(); ++i)
    if (!std::isfinite(s[i]))
      return invalid(where + ": row " + std::to_string(i / outputs) +
                     ": the model's output is " + shortest(s[i]) +
                     ", not a finite number");
  return caf::none;
}

std::string task_text(const preprocessor& p) {
  auto out = "the spec's task is " + tabular::to_string(p.task());
  if (tabular::is_classification(p.task()))
    out += " with " + std::to_string(p.classes().size()) + " classes (" +
           join(p.classes()) + ")";
  return out;
}

} // namespace detail

// -- servable ----------------------------------------------------------------

servable::servable(model_format format, std::string source, preprocessor prep,
                   bool allow_nan)
    : format_(format), source_(std::move(source)), prep_(std::move(prep)),
      encoder_(prep_), allow_nan_(allow_nan) {}

servable::~servable() = default;

size_t servable::outputs() const {
  return task() == task_kind::multiclass ? classes().size() : 1;
}

caf::expected<std::vector<float>> servable::predict(const float* x,
                                                    size_t rows) const {
  if (rows == 0) return std::vector<float>{};
  if (x == nullptr)
    return invalid(source_ + ": no feature values for " + std::to_string(rows) +
                   " rows");
  if (!allow_nan_)
    if (auto err = check_no_nan(prep_, x, rows))
      return invalid(source_ + ": " + describe(err));
  return run(x, rows);
}

caf::expected<std::vector<float>>
servable::encode(const std::vector<std::string>& columns,
                 const std::vector<std::vector<cell>>& rows,
                 size_t* unseen) const {
  return encoder_.encode(columns, rows, unseen);
}

caf::expected<std::vector<float>>
servable::encode_values(std::vector<float> x, size_t /*rows*/) const {
  return x;
}

caf::expected<std::vector<float>>
servable::predict(const std::vector<std::string>& columns,
                  const std::vector<std::vector<cell>>& rows) const {
  auto x = encode(columns, rows);
  if (!x) return x.error();
  return predict(x->data(), rows.size());
}

caf::expected<std::unique_ptr<servable>>
servable::load(model_format format, const std::string& artifact,
               const std::string& spec, const load_options& opts) {
  std::error_code ec;
  if (!fs::exists(artifact, ec))
    return make_error(troupe::errc::not_found, to_string(format) + " model '" +
                                                   artifact +
                                                   "' does not exist");
  switch (format) {
  case model_format::troupe: {
    // a sparse-lr job's directory
    auto sparse = sparse_model::load_dir(artifact); // read once
    if (!sparse) return detail::load_sparse(artifact, sparse.error());
    if (*sparse) return detail::load_sparse(artifact, std::move(**sparse));
    // saved_model::load checks model.json against preprocessor.json and the
    // booster's rounds; the booster is then loaded again for in-place
    // prediction.
    auto m = saved_model::load(artifact);
    if (!m) return m.error();
    if (!m->info().ensemble.empty())
      return detail::load_ensemble(artifact, m->prep(), m->info().ensemble,
                                   m->stack(), opts);
    auto file = (fs::path{artifact} / "model.ubj").string();
    return detail::load_xgboost(format, "model directory '" + artifact + "'",
                                file, m->prep(), opts);
  }
  case model_format::xgboost: {
    if (fs::is_directory(artifact, ec))
      return invalid("xgboost model '" + artifact +
                     "' is a directory; give the model file (for a troupe "
                     "model directory, the format is troupe)");
    if (!detail::xgb_extension(artifact))
      return invalid("xgboost model '" + artifact +
                     "': the file name must end in .json or .ubj (XGBoost "
                     "reads the format from it; the legacy binary format is "
                     "not accepted)");
    auto prep = detail::load_spec(format, spec);
    if (!prep) return prep.error();
    return detail::load_xgboost(format, "xgboost model '" + artifact + "'",
                                artifact, std::move(*prep), opts);
  }
  case model_format::torchscript: {
    if (fs::is_directory(artifact, ec))
      return invalid("TorchScript model '" + artifact +
                     "' is a directory; give the .pt file");
    auto prep = detail::load_spec(format, spec);
    if (!prep) return prep.error();
    return detail::load_torch(artifact, std::move(*prep), opts);
  }
  }
  return invalid("unknown model format");
}

} // namespace troupe::models
