// Serving a sparse logistic regression (sparse_model.hpp): raw rows go
// through the model's hashed transform. The engine batches float rows, so
// a row is encoded as one float per input column, the summed weights of
// that column's keys (its crosses' keys counted with their first column),
// and the model adds the bias and takes the sigmoid: the same sum as
// predicting the row's keys at once.

#include <cmath>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "actors/models/servable_detail.hpp"
#include "actors/models/sparse_model.hpp"
#include "actors/tabular/model_dir.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using tabular::preprocessor;

namespace {

/// The spec serving shows and checks requests against: the transform's
/// input columns, a binary task whose classes are the label's two values.
caf::expected<preprocessor> spec_of(const hashed_transform& t) {
  double x = 0;
  bool numeric = tabular::parse_number(t.positive(), x) &&
                 tabular::parse_number(t.negative(), x);
  nlohmann::json features = nlohmann::json::array();
  using how = hashed_transform::column_spec::hashing;
  for (auto& c : t.columns())
    if (c.how == how::numeric)
      features.push_back({{"name", c.name}, {"kind", "numeric"}});
    else
      features.push_back({{"name", c.name},
                          {"kind", "categorical"},
                          {"categories", nlohmann::json::array()}});
  // the transform's positive label is the larger: class 1, as serving
  // numbers sorted classes
  auto classes = std::vector<std::string>{t.negative(), t.positive()};
  if (numeric)
    for (auto& c : classes)
      c = detail::shortest(std::stod(c));
  return preprocessor::from_json({{"format", "troupe.preprocessor"},
                                  {"version", 1},
                                  {"target", t.target()},
                                  {"task", "binary"},
                                  {"target_numeric", numeric},
                                  {"classes", classes},
                                  {"features", std::move(features)}});
}

/// A cell as the transform reads CSV text: numbers in shortest round-trip
/// form, a missing cell empty.
std::string text_of(const cell& c) {
  switch (c.k) {
  case cell::kind::missing:
    return {};
  case cell::kind::number:
    return std::isnan(c.number) ? std::string{} : detail::shortest(c.number);
  case cell::kind::text:
    return c.text;
  }
  return {};
}

class sparse_servable final : public servable {
public:
  sparse_servable(std::string source, preprocessor prep, sparse_model model)
      : servable(model_format::troupe, std::move(source), std::move(prep),
                 false),
        model_(std::move(model)) {}

  std::string predictor() const override {
    return "sparse logistic regression (" + std::to_string(model_.size()) +
           " weights)";
  }

  caf::expected<std::vector<float>>
  encode(const std::vector<std::string>& columns,
         const std::vector<std::vector<cell>>& rows,
         size_t* /*unseen*/) const override {
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < columns.size(); ++i)
      if (!index.emplace(columns[i], i).second)
        return detail::invalid("column '" + columns[i] + "' is given twice");
    auto& cols = model_.transform().columns();
    std::vector<size_t> from(cols.size());
    for (size_t j = 0; j < cols.size(); ++j) {
      auto it = index.find(cols[j].name);
      if (it == index.end())
        return make_error(
            troupe::errc::not_found,
            "no column '" + cols[j].name +
                "', which the model uses; columns given: " +
                (columns.empty() ? "none" : detail::join(columns)));
      from[j] = it->second;
    }
    auto n = cols.size();
    std::vector<float> out(rows.size() * n, 0.f);
    std::vector<std::string> cells(n);
    std::vector<std::vector<uint64_t>> keys;
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].size() != columns.size())
        return detail::invalid("row " + std::to_string(r) + " has " +
                               std::to_string(rows[r].size()) + " cells for " +
                               std::to_string(columns.size()) + " columns");
      for (size_t j = 0; j < n; ++j)
        cells[j] = text_of(rows[r][from[j]]);
      model_.transform().column_keys(cells, keys);
      for (size_t j = 0; j < n; ++j) {
        double sum = 0;
        for (auto k : keys[j])
          sum += model_.weight(k);
        out[r * n + j] = static_cast<float>(sum);
      }
    }
    return out;
  }

  caf::expected<std::vector<float>> encode_values(std::vector<float> x,
                                                  size_t rows) const override {
    // numbers by column in the spec's order: each is its column's cell, as
    // the float's shortest text (the double nearest a float would fall
    // past a bucket's cut point that the float's text equals)
    auto n = features();
    std::vector<std::string> names;
    for (auto& f : prep().features())
      names.push_back(f.name);
    std::vector<std::vector<cell>> raw(rows);
    for (size_t r = 0; r < rows; ++r)
      for (size_t j = 0; j < n; ++j)
        raw[r].push_back(std::isnan(x[r * n + j])
                             ? cell::none()
                             : cell::of(tabular::shortest(x[r * n + j])));
    return encode(names, raw, nullptr);
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    auto n = features();
    double bias = model_.weight(bias_key);
    std::vector<float> out(rows);
    for (size_t r = 0; r < rows; ++r) {
      double margin = bias;
      for (size_t j = 0; j < n; ++j)
        margin += x[r * n + j];
      auto p = margin >= 0 ? 1 / (1 + std::exp(-margin))
                           : std::exp(margin) / (1 + std::exp(margin));
      out[r] = static_cast<float>(p);
    }
    return out;
  }

private:
  sparse_model model_;
};

} // namespace

namespace detail {

caf::expected<std::unique_ptr<servable>>
load_sparse(const std::string& dir, caf::expected<sparse_model> m) {
  auto where = "sparse model directory '" + dir + "'";
  if (!m) return bad_model(where + ": " + describe(m.error()));
  auto prep = spec_of(m->transform());
  if (!prep) return bad_model(where + ": " + describe(prep.error()));
  std::unique_ptr<servable> out =
      std::make_unique<sparse_servable>(where, std::move(*prep), std::move(*m));
  return out;
}

} // namespace detail

} // namespace troupe::models
