#pragma once

// Feature groups as plain C++: the definition of a group, its conversion to
// and from the FeatureGroup schema, the checks a definition and a row must
// pass, and event-time parsing. No CAF actors here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/time.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

/// The type of a scalar field.
enum class field_type { int64, float64, text, timestamp };

/// "int64", "float64", "text", "timestamp".
const char* to_string(field_type t);

/// Parses a type name ("int"/"int64", "float"/"float64"/"double",
/// "text"/"string", "timestamp"/"time").
caf::expected<field_type> parse_field_type(std::string_view text);

/// One scalar field of a group.
struct field_spec {
  std::string name;
  field_type type = field_type::float64;
  bool nullable = true;
};

/// A feature group: a fixed-width float32 vector and/or scalar fields.
struct group_spec {
  std::string name;
  std::string description;
  std::string vector_name; ///< "" when width is 0
  uint32_t width = 0;
  std::vector<field_spec> fields;
  bool allow_nan = false;
  int64_t ttl_ms = 0; ///< 0: versions never expire
  int64_t created_ms = 0;
  uint32_t shards = 0;

  /// The field named `name`, or -1.
  int field_index(std::string_view name) const;
  /// True if definitions match (ignoring created_ms and shards).
  bool same_definition(const group_spec& other) const;
};

/// Longest entity key, in bytes.
inline constexpr size_t max_entity_bytes = 255;

/// Longest retention: 1,000 years (0 keeps versions forever).
inline constexpr int64_t max_ttl_ms = int64_t{1000} * 366 * 86400 * 1000;

/// Most keys of one Lookup.
inline constexpr size_t max_lookup_keys = 10000;

group_spec from_schema(schema::FeatureGroup::Reader r);

/// The column names a group's values take in a training set
/// (tabular::feature_layout::columns).
std::vector<std::string> joined_columns(const group_spec& g);
void to_schema(const group_spec& g, schema::FeatureGroup::Builder b);

/// Checks a definition: a valid name (letters, digits, '_', '-', '.'; at most
/// 64 bytes), distinct field names, a vector name iff width > 0, width at
/// most 1,000,000, 0 <= ttl <= max_ttl_ms, something to store.
caf::error validate_group(const group_spec& g);

/// Checks that `entity` is a usable key (1..255 bytes). `where` names the
/// place in messages ("row 17").
caf::error check_entity(std::string_view entity, const std::string& where);

/// Checks a row against its group: entity, width (an empty vector is allowed
/// when `partial`), NaN where not allowed, field count and types, missing
/// values only in nullable fields (or anywhere when `partial`). Messages name
/// the group, `where` and the field.
caf::error check_row(const group_spec& g, schema::FeatureRow::Reader row,
                     const std::string& where, bool partial);

/// Event times (runtime/time.hpp).
using troupe::format_time;
using troupe::parse_time;

} // namespace troupe::features
