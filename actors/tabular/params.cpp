#include "actors/tabular/params.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"

namespace troupe::tabular {

std::string to_string(const param_value& v) {
  if (auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", *d);
    return buf;
  }
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

nlohmann::json to_json(const config& cfg) {
  auto j = nlohmann::json::object();
  for (auto& [name, v] : cfg)
    std::visit([&, &name = name](const auto& x) { j[name] = x; }, v);
  return j;
}

caf::expected<config> config_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return make_error(errc::invalid_argument, "'config' is not an object");
  config out;
  for (auto& [name, v] : j.items()) {
    if (v.is_number_integer())
      out[name] = v.get<int64_t>();
    else if (v.is_number_float())
      out[name] = v.get<double>();
    else if (v.is_string())
      out[name] = v.get<std::string>();
    else
      return make_error(errc::invalid_argument,
                        "config parameter '" + name + "' holds " + v.dump() +
                            ", not a number or a string");
  }
  return out;
}

} // namespace troupe::tabular
