#include "actors/features/group.hpp"

#include <cctype>
#include <cmath>
#include <set>

#include "actors/tabular/feature_columns.hpp"
#include "runtime/errors.hpp"

namespace troupe::features {

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

using FT = schema::FeatureField::Type;

FT to_capnp(field_type t) {
  switch (t) {
  case field_type::int64:
    return FT::INT64;
  case field_type::float64:
    return FT::FLOAT64;
  case field_type::text:
    return FT::TEXT;
  case field_type::timestamp:
    return FT::TIMESTAMP;
  }
  return FT::FLOAT64;
}

field_type from_capnp(FT t) {
  switch (t) {
  case FT::INT64:
    return field_type::int64;
  case FT::FLOAT64:
    return field_type::float64;
  case FT::TEXT:
    return field_type::text;
  case FT::TIMESTAMP:
    return field_type::timestamp;
  }
  return field_type::float64;
}

} // namespace

const char* to_string(field_type t) {
  switch (t) {
  case field_type::int64:
    return "int64";
  case field_type::float64:
    return "float64";
  case field_type::text:
    return "text";
  case field_type::timestamp:
    return "timestamp";
  }
  return "?";
}

caf::expected<field_type> parse_field_type(std::string_view text) {
  if (text == "int" || text == "int64") return field_type::int64;
  if (text == "float" || text == "float64" || text == "double")
    return field_type::float64;
  if (text == "text" || text == "string") return field_type::text;
  if (text == "timestamp" || text == "time") return field_type::timestamp;
  return bad("field type '" + std::string{text} +
             "' is not one of int64, float64, text, timestamp");
}

int group_spec::field_index(std::string_view n) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == n) return static_cast<int>(i);
  return -1;
}

bool group_spec::same_definition(const group_spec& o) const {
  if (name != o.name || vector_name != o.vector_name || width != o.width ||
      allow_nan != o.allow_nan || ttl_ms != o.ttl_ms ||
      fields.size() != o.fields.size())
    return false;
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name != o.fields[i].name ||
        fields[i].type != o.fields[i].type ||
        fields[i].nullable != o.fields[i].nullable)
      return false;
  return true;
}

group_spec from_schema(schema::FeatureGroup::Reader r) {
  group_spec g;
  g.name = r.getName();
  g.description = r.getDescription();
  g.vector_name = r.getVectorName();
  g.width = r.getWidth();
  for (auto f : r.getFields())
    g.fields.push_back(
        field_spec{f.getName(), from_capnp(f.getType()), f.getNullable()});
  g.allow_nan = r.getAllowNan();
  g.ttl_ms = r.getTtlMs();
  g.created_ms = r.getCreatedMs();
  g.shards = r.getShards();
  return g;
}

void to_schema(const group_spec& g, schema::FeatureGroup::Builder b) {
  b.setName(g.name);
  b.setDescription(g.description);
  b.setVectorName(g.vector_name);
  b.setWidth(g.width);
  auto fs = b.initFields(static_cast<unsigned>(g.fields.size()));
  for (unsigned i = 0; i < g.fields.size(); ++i) {
    fs[i].setName(g.fields[i].name);
    fs[i].setType(to_capnp(g.fields[i].type));
    fs[i].setNullable(g.fields[i].nullable);
  }
  b.setAllowNan(g.allow_nan);
  b.setTtlMs(g.ttl_ms);
  b.setCreatedMs(g.created_ms);
  b.setShards(g.shards);
}

caf::error validate_group(const group_spec& g) {
  if (!valid_name(g.name))
    return bad("group name '" + g.name +
               "' must be 1..64 letters, digits, '_', '-' or '.'");
  auto where = "group " + g.name + ": ";
  if (g.width > 1000000)
    return bad(where + "width " + std::to_string(g.width) +
               " is above 1,000,000");
  if (g.width > 0 && !valid_name(g.vector_name))
    return bad(where + "a vector of width " + std::to_string(g.width) +
               " needs a name (letters, digits, '_', '-', '.')");
  if (g.width == 0 && !g.vector_name.empty())
    return bad(where + "vector '" + g.vector_name + "' has width 0");
  if (g.width == 0 && g.fields.empty())
    return bad(where + "has neither a vector nor fields");
  if (g.ttl_ms < 0)
    return bad(where + "ttl " + std::to_string(g.ttl_ms) + " ms is negative");
  if (g.ttl_ms > max_ttl_ms)
    return bad(where + "ttl " + std::to_string(g.ttl_ms) +
               " ms is above 1,000 years (use 0 to keep versions forever)");
  std::set<std::string> names;
  if (g.width > 0) names.insert(g.vector_name);
  for (auto& f : g.fields) {
    if (!valid_name(f.name))
      return bad(where + "field name '" + f.name +
                 "' must be 1..64 letters, digits, '_', '-' or '.'");
    if (!names.insert(f.name).second)
      return bad(where + "the name '" + f.name + "' is used twice");
  }
  return caf::none;
}

caf::error check_entity(std::string_view entity, const std::string& where) {
  if (entity.empty()) return bad(where + ": the entity key is empty");
  if (entity.size() > max_entity_bytes)
    return bad(where + ": the entity key has " + std::to_string(entity.size()) +
               " bytes, at most " + std::to_string(max_entity_bytes) +
               " are allowed");
  return caf::none;
}

caf::error check_row(const group_spec& g, schema::FeatureRow::Reader row,
                     const std::string& where, bool partial) {
  auto here = "group " + g.name + ", " + where;
  auto entity = row.getEntity();
  if (auto err =
          check_entity(std::string_view{entity.cStr(), entity.size()}, here))
    return err;
  auto vec = row.getVector();
  if (vec.size() != g.width && !(partial && vec.size() == 0))
    return bad(here + " (entity '" + std::string{entity.cStr(), entity.size()} +
               "'): vector '" + g.vector_name + "' has " +
               std::to_string(vec.size()) + " values, the group's width is " +
               std::to_string(g.width));
  if (!g.allow_nan)
    for (unsigned i = 0; i < vec.size(); ++i)
      if (std::isnan(vec[i]))
        return bad(here + ": " + g.vector_name + "[" + std::to_string(i) +
                   "] is NaN, which group " + g.name + " does not allow");
  auto fields = row.getFields();
  if (fields.size() != g.fields.size() && !(partial && fields.size() == 0))
    return bad(here + ": " + std::to_string(fields.size()) +
               " field values, the group has " +
               std::to_string(g.fields.size()) + " fields");
  using V = schema::FeatureValue;
  for (unsigned i = 0; i < fields.size(); ++i) {
    auto& f = g.fields[i];
    auto v = fields[i];
    auto which = v.which();
    if (which == V::MISSING) {
      if (!f.nullable && !partial)
        return bad(here + ": field '" + f.name +
                   "' is missing and not nullable");
      continue;
    }
    bool ok = (f.type == field_type::int64 && which == V::INT64) ||
              (f.type == field_type::float64 && which == V::FLOAT64) ||
              (f.type == field_type::text && which == V::TEXT) ||
              (f.type == field_type::timestamp && which == V::TIMESTAMP);
    if (!ok)
      return bad(here + ": field '" + f.name + "' needs a " +
                 to_string(f.type) + " value");
    if (which == V::FLOAT64 && std::isnan(v.getFloat64()) && !g.allow_nan)
      return bad(here + ": field '" + f.name + "' is NaN, which group " +
                 g.name + " does not allow");
  }
  return caf::none;
}

std::vector<std::string> joined_columns(const group_spec& g) {
  tabular::feature_layout layout{g.name, {}, g.vector_name, g.width};
  for (auto& f : g.fields)
    layout.fields.push_back(f.name);
  return layout.columns();
}

} // namespace troupe::features
