#include "actors/models/servable.hpp"

#include "actors/models/servable_detail.hpp"
#include "runtime/errors.hpp"

// Model formats and the feature spec an XGBoost or TorchScript file needs.

namespace troupe::models {

using tabular::column_kind;
using tabular::preprocessor;
using tabular::task_kind;

using detail::invalid;

std::string to_string(model_format x) {
  switch (x) {
  case model_format::troupe:
    return "troupe";
  case model_format::xgboost:
    return "xgboost";
  case model_format::torchscript:
    return "torchscript";
  }
  return "model_format(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::expected<model_format> parse_model_format(const std::string& text) {
  for (auto f :
       {model_format::troupe, model_format::xgboost, model_format::torchscript})
    if (text == to_string(f)) return f;
  return invalid("unknown model format '" + text +
                 "' (expected troupe, xgboost or torchscript)");
}

namespace detail {

caf::expected<preprocessor> load_spec(model_format f, const std::string& spec) {
  if (spec.empty())
    return invalid(to_string(f) +
                   " model needs its feature spec (a troupe.preprocessor "
                   "JSON file); none was given");
  auto p = preprocessor::load(spec);
  if (!p) return invalid("feature spec " + describe(p.error()));
  return p;
}

} // namespace detail

} // namespace troupe::models
