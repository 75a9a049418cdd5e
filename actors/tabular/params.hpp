#pragma once

// Hyperparameter values and configurations, as models record them and
// search algorithms propose them, and their JSON form. Plain C++, no CAF.

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

namespace troupe::tabular {

/// One hyperparameter value: a float, an integer or a category.
using param_value = std::variant<double, int64_t, std::string>;

/// A configuration: parameter name -> value. Inactive conditional
/// parameters are absent.
using config = std::map<std::string, param_value>;

/// Renders a value for logs and leaderboards ("0.1", "7", "gbtree").
std::string to_string(const param_value& v);

/// A configuration as JSON, each value keeping its type ({"eta": 0.1,
/// "max_depth": 6, "booster": "gbtree"}), and back.
nlohmann::json to_json(const config& cfg);
caf::expected<config> config_from_json(const nlohmann::json& j);

} // namespace troupe::tabular
