#include "actors/models/xgb_data.hpp"

#include "runtime/errors.hpp"

namespace troupe::models {

std::vector<std::string>
xgboost_feature_types(const tabular::preprocessor& prep) {
  std::vector<std::string> out;
  out.reserve(prep.features().size());
  for (auto& f : prep.features())
    out.emplace_back(f.kind == tabular::column_kind::categorical ? "c" : "q");
  return out;
}

bool has_categorical(const tabular::preprocessor& prep) {
  for (auto& f : prep.features())
    if (f.kind == tabular::column_kind::categorical) return true;
  return false;
}

caf::expected<xgb::dmatrix> xgboost_matrix(const tabular::matrix& m,
                                           const tabular::preprocessor& prep) {
  return xgboost_matrix(m, xgboost_feature_types(prep));
}

caf::expected<xgb::dmatrix>
xgboost_matrix(const tabular::matrix& m,
               const std::vector<std::string>& types) {
  if (!types.empty() && m.cols != types.size())
    return make_error(errc::invalid_argument,
                      "XGBoost matrix: " + std::to_string(m.cols) +
                          " columns, but the encoding gives " +
                          std::to_string(types.size()));
  auto d = xgb::dmatrix::dense(m.values.data(), m.rows, m.cols, m.labels);
  if (!d) return d.error();
  bool categorical = false;
  for (auto& t : types)
    categorical = categorical || t == "c";
  if (categorical)
    if (auto r = d->set_feature_types(types); !r) return r.error();
  return d;
}

} // namespace troupe::models
