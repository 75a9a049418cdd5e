// Schema and statistics JSON. Readers check every field and name it in the
// message ("S.json: columns[2].range.min: expected a number").

#include "actors/tabular/schema.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::tabular {

namespace {

using nlohmann::json;

constexpr const char* format_name = "troupe.validation.schema";
constexpr int format_version = 1;

/// A field that is missing or has the wrong kind of value; thrown inside
/// this file only and turned into a caf::error by the readers.
struct field_error {
  std::string where;
  std::string what;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw field_error{where, what};
}

const json& field(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) fail(where + "." + key, "is missing");
  return *it;
}

double number(const json& j, const std::string& where) {
  if (!j.is_number()) fail(where, "expected a number");
  auto v = j.get<double>();
  if (!std::isfinite(v)) fail(where, "expected a finite number");
  return v;
}

double ratio(const json& j, const std::string& where) {
  auto v = number(j, where);
  if (v < 0 || v > 1) fail(where, "expected a ratio in [0, 1]");
  return v;
}

uint64_t counter(const json& j, const std::string& where) {
  if (!j.is_number_unsigned() &&
      !(j.is_number_integer() && j.get<int64_t>() >= 0))
    fail(where, "expected a non-negative integer");
  return j.get<uint64_t>();
}

std::string text(const json& j, const std::string& where) {
  if (!j.is_string()) fail(where, "expected a string");
  return j.get<std::string>();
}

bool flag(const json& j, const std::string& where) {
  if (!j.is_boolean()) fail(where, "expected true or false");
  return j.get<bool>();
}

std::vector<double> numbers(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where, "expected an array of numbers");
  std::vector<double> out;
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(number(j[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

value_type type_of(const json& j, const std::string& where) {
  value_type t;
  if (!j.is_string() || !from_string(j.get<std::string>(), t))
    fail(where, "expected one of \"unknown\", \"integer\", \"float\", "
                "\"string\"");
  return t;
}

column_stats read_stats(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  column_stats c;
  c.type = type_of(field(j, "type", where), where + ".type");
  c.missing = counter(field(j, "missing", where), where + ".missing");
  c.integers = counter(field(j, "integers", where), where + ".integers");
  c.floats = counter(field(j, "floats", where), where + ".floats");
  c.texts = counter(field(j, "texts", where), where + ".texts");
  c.count = c.integers + c.floats + c.texts;
  if (c.numeric() > 0) {
    c.min = number(field(j, "min", where), where + ".min");
    c.max = number(field(j, "max", where), where + ".max");
    c.mean = number(field(j, "mean", where), where + ".mean");
    c.stddev = number(field(j, "stddev", where), where + ".stddev");
    c.quantiles = numbers(field(j, "quantiles", where), where + ".quantiles");
    if (!std::is_sorted(c.quantiles.begin(), c.quantiles.end()))
      fail(where + ".quantiles", "must be ascending");
    auto& b = field(j, "bins", where);
    c.bins.edges =
        numbers(field(b, "edges", where + ".bins"), where + ".bins.edges");
    c.bins.fractions = numbers(field(b, "fractions", where + ".bins"),
                               where + ".bins.fractions");
    if (c.bins.fractions.size() != c.bins.edges.size() + 1)
      fail(where + ".bins.fractions", "needs one entry more than edges");
    for (size_t i = 1; i < c.bins.edges.size(); ++i)
      if (!(c.bins.edges[i - 1] < c.bins.edges[i]))
        fail(where + ".bins.edges", "must be strictly ascending");
  }
  c.high_cardinality =
      flag(field(j, "high_cardinality", where), where + ".high_cardinality");
  auto& dom = field(j, "domain", where);
  if (!dom.is_object())
    fail(where + ".domain", "expected an object of value: count");
  for (auto& [value, count] : dom.items())
    c.domain.emplace_back(value, counter(count, where + ".domain." + value));
  std::stable_sort(c.domain.begin(), c.domain.end(),
                   [](auto& a, auto& b) { return a.second > b.second; });
  return c;
}

column_schema read_column(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  column_schema c;
  c.name = text(field(j, "name", where), where + ".name");
  if (c.name.empty()) fail(where + ".name", "must not be empty");
  c.type = type_of(field(j, "type", where), where + ".type");
  c.required = flag(field(j, "required", where), where + ".required");
  c.max_missing_ratio =
      ratio(field(j, "max_missing_ratio", where), where + ".max_missing_ratio");
  if (auto it = j.find("range"); it != j.end() && !it->is_null()) {
    auto at = where + ".range";
    if (!it->is_object()) fail(at, "expected {\"min\": ..., \"max\": ...}");
    value_range r{number(field(*it, "min", at), at + ".min"),
                  number(field(*it, "max", at), at + ".max")};
    if (r.min > r.max) fail(at, "min is greater than max");
    if (!is_numeric(c.type)) fail(at, "only numeric columns have a range");
    c.range = r;
  }
  if (auto it = j.find("max_out_of_range_ratio"); it != j.end())
    c.max_out_of_range_ratio = ratio(*it, where + ".max_out_of_range_ratio");
  if (auto it = j.find("domain"); it != j.end() && !it->is_null()) {
    auto at = where + ".domain";
    if (!it->is_array()) fail(at, "expected an array of strings");
    std::vector<std::string> values;
    for (size_t i = 0; i < it->size(); ++i)
      values.push_back(text((*it)[i], at + "[" + std::to_string(i) + "]"));
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    c.domain = std::move(values);
  }
  if (auto it = j.find("max_out_of_domain_ratio"); it != j.end())
    c.max_out_of_domain_ratio = ratio(*it, where + ".max_out_of_domain_ratio");
  if (auto it = j.find("stats"); it != j.end() && !it->is_null()) {
    c.baseline = read_stats(*it, where + ".stats");
    c.baseline->name = c.name;
  }
  return c;
}

caf::error invalid(const std::string& source, const field_error& e) {
  return make_error(errc::invalid_argument,
                    source + ": " + e.where + ": " + e.what);
}

} // namespace

json to_json(const column_stats& c) {
  json j;
  j["type"] = to_string(c.type);
  j["count"] = c.count;
  j["missing"] = c.missing;
  j["integers"] = c.integers;
  j["floats"] = c.floats;
  j["texts"] = c.texts;
  if (c.numeric() > 0) {
    j["min"] = c.min;
    j["max"] = c.max;
    j["mean"] = c.mean;
    j["stddev"] = c.stddev;
    j["quantiles"] = c.quantiles;
    j["bins"] = {{"edges", c.bins.edges}, {"fractions", c.bins.fractions}};
  }
  j["high_cardinality"] = c.high_cardinality;
  auto dom = json::object();
  for (auto& [value, count] : c.domain)
    dom[value] = count;
  j["domain"] = std::move(dom);
  return j;
}

json to_json(const schema& s) {
  auto cols = json::array();
  for (auto& c : s.columns) {
    json j;
    j["name"] = c.name;
    j["type"] = to_string(c.type);
    j["required"] = c.required;
    j["max_missing_ratio"] = c.max_missing_ratio;
    if (c.range) j["range"] = {{"min", c.range->min}, {"max", c.range->max}};
    if (is_numeric(c.type))
      j["max_out_of_range_ratio"] = c.max_out_of_range_ratio;
    if (c.domain) {
      j["domain"] = *c.domain;
      j["max_out_of_domain_ratio"] = c.max_out_of_domain_ratio;
    }
    if (c.baseline) j["stats"] = to_json(*c.baseline);
    cols.push_back(std::move(j));
  }
  return {{"format", format_name},
          {"version", format_version},
          {"source", s.source},
          {"columns", std::move(cols)}};
}

caf::expected<column_stats> stats_from_json(const json& j,
                                            const std::string& where) {
  try {
    return read_stats(j, "stats");
  } catch (const field_error& e) {
    return invalid(where, e);
  }
}

caf::expected<schema> schema_from_json(const json& j,
                                       const std::string& source) {
  try {
    if (!j.is_object()) fail("(top level)", "expected a JSON object");
    auto& fmt = field(j, "format", "(top level)");
    if (!fmt.is_string() || fmt.get<std::string>() != format_name)
      fail("format", std::string{"expected \""} + format_name +
                         "\" (is this a troupe schema?)");
    auto& ver = field(j, "version", "(top level)");
    if (!ver.is_number_integer() || ver.get<int64_t>() != format_version)
      fail("version", "expected " + std::to_string(format_version));
    schema s;
    if (auto it = j.find("source"); it != j.end())
      s.source = text(*it, "source");
    auto& cols = field(j, "columns", "(top level)");
    if (!cols.is_array()) fail("columns", "expected an array");
    std::set<std::string> names;
    for (size_t i = 0; i < cols.size(); ++i) {
      auto where = "columns[" + std::to_string(i) + "]";
      auto c = read_column(cols[i], where);
      if (!names.insert(c.name).second)
        fail(where + ".name", "duplicate column '" + c.name + "'");
      s.columns.push_back(std::move(c));
    }
    return s;
  } catch (const field_error& e) {
    return invalid(source, e);
  }
}

caf::expected<schema> read_schema(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found, "cannot read schema '" + path +
                                           "': " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  json j;
  try {
    j = json::parse(buf.str());
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos)
      what.erase(0, pos + 2);
    return make_error(errc::invalid_argument,
                      path + ": not valid JSON: " + what);
  }
  return schema_from_json(j, path);
}

caf::error write_schema(const std::string& path, const schema& s) {
  return write_json_file(path, to_json(s));
}

} // namespace troupe::tabular
