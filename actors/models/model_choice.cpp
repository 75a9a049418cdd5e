#include "actors/models/model_choice.hpp"

#include <algorithm>

#include "runtime/errors.hpp"

namespace troupe::models {

std::vector<std::string> family_list(const std::string& family) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(" \t");
    auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : family) {
    if (c == ',')
      flush();
    else
      cur += c;
  }
  flush();
  return out;
}

bool is_cash(const std::string& family) {
  return family_list(family).size() > 1;
}

caf::expected<model_choice> split_choice(const tabular::config& cfg,
                                         const std::string& family) {
  model_choice out;
  auto families = family_list(family);
  if (families.empty())
    return make_error(errc::invalid_argument, "no model family given");
  bool cash = families.size() > 1;
  std::string prefix;
  if (cash) {
    auto i = cfg.find(family_key);
    auto* name =
        i == cfg.end() ? nullptr : std::get_if<std::string>(&i->second);
    if (!name)
      return make_error(errc::invalid_argument,
                        "a configuration of a search over families '" + family +
                            "' has no '" + family_key + "'");
    if (std::find(families.begin(), families.end(), *name) == families.end())
      return make_error(errc::invalid_argument,
                        "the configuration's family '" + *name +
                            "' is not one of '" + family + "'");
    out.family = *name;
    prefix = *name + family_separator;
  } else {
    out.family = families.front();
  }
  for (auto& [key, value] : cfg) {
    if (cash && key == family_key) continue;
    if (key.rfind("fe.", 0) == 0) {
      out.fe.emplace(key, value);
      continue;
    }
    if (cash) {
      if (key.rfind(prefix, 0) != 0)
        return make_error(errc::invalid_argument,
                          "parameter '" + key +
                              "' does not belong to family '" + out.family +
                              "'");
      out.params.emplace(key.substr(prefix.size()), value);
    } else {
      out.params.emplace(key, value);
    }
  }
  return out;
}

} // namespace troupe::models
