#include "actors/models/servable.hpp"

#include <cmath>
#include <unordered_map>

#include "actors/models/servable_detail.hpp"
#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"

// Raw cells to the dense float rows a model takes.

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

using detail::invalid;
using detail::join;
using detail::nan_f;
using detail::shortest;

row_encoder::row_encoder(const preprocessor& prep)
    : features_(prep.features()), codes_(features_.size()) {
  for (size_t j = 0; j < features_.size(); ++j) {
    auto& cats = features_[j].categories;
    for (size_t k = 0; k < cats.size(); ++k)
      codes_[j].emplace(cats[k], static_cast<float>(k));
  }
}

caf::expected<std::vector<float>>
row_encoder::encode(const std::vector<std::string>& columns,
                    const std::vector<std::vector<cell>>& rows,
                    size_t* unseen) const {
  // Where each feature's cells are.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < columns.size(); ++i)
    if (!index.emplace(columns[i], i).second)
      return invalid("column '" + columns[i] + "' is given twice");
  std::vector<size_t> from(features_.size());
  for (size_t j = 0; j < features_.size(); ++j) {
    auto it = index.find(features_[j].name);
    if (it == index.end())
      return make_error(troupe::errc::not_found,
                        "no column '" + features_[j].name +
                            "', which the model uses; columns given: " +
                            (columns.empty() ? "none" : join(columns)));
    from[j] = it->second;
  }
  auto n = features_.size();
  std::vector<float> out(rows.size() * n, nan_f);
  size_t missed = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    auto& row = rows[r];
    if (row.size() != columns.size())
      return invalid("row " + std::to_string(r) + " has " +
                     std::to_string(row.size()) + " cells for " +
                     std::to_string(columns.size()) + " columns");
    for (size_t j = 0; j < n; ++j) {
      auto& c = row[from[j]];
      auto& f = features_[j];
      auto& dst = out[r * n + j];
      if (c.k == cell::kind::missing ||
          (c.k == cell::kind::text && c.text.empty()))
        continue;
      if (f.kind == column_kind::numeric) {
        double v = c.number;
        if (c.k == cell::kind::text && !tabular::parse_number(c.text, v))
          return invalid("row " + std::to_string(r) + ": column '" + f.name +
                         "' holds '" + c.text +
                         "', but the model reads it as numeric");
        dst = static_cast<float>(v);
        continue;
      }
      auto it = c.k == cell::kind::text ? codes_[j].find(c.text)
                                        : codes_[j].find(shortest(c.number));
      if (it != codes_[j].end())
        dst = it->second;
      else
        ++missed;
    }
  }
  if (unseen) *unseen += missed;
  return out;
}

caf::expected<std::vector<float>>
encode_rows(const preprocessor& prep, const std::vector<std::string>& columns,
            const std::vector<std::vector<cell>>& rows, size_t* unseen) {
  return row_encoder{prep}.encode(columns, rows, unseen);
}

caf::error check_no_nan(const preprocessor& prep, const float* x, size_t rows) {
  auto n = prep.features().size();
  for (size_t i = 0; i < rows * n; ++i)
    if (std::isnan(x[i]))
      return invalid("row " + std::to_string(i / n) + ": feature '" +
                     prep.features()[i % n].name +
                     "' is NaN, which this model does not allow");
  return caf::none;
}

} // namespace troupe::models
