#pragma once

// How a feature group's values are named as columns of a training set: the
// contract between `troupe features join`, which writes them, and serving,
// which looks features up for a model trained on them.

#include <cstdint>
#include <string>
#include <vector>

#include "schemas/features.capnp.h"

namespace troupe::tabular {

/// The shape of one feature group's values in a row: its typed fields, then
/// its vector of `width` floats.
struct feature_layout {
  std::string group;
  std::vector<std::string> fields;
  std::string vector_name;
  uint32_t width = 0;

  /// The columns in row order: each field as GROUP.FIELD, then the vector as
  /// GROUP.VECTOR_0 .. GROUP.VECTOR_{width-1}.
  std::vector<std::string> columns() const;

  /// Values in a row: fields.size() + width.
  size_t size() const { return fields.size() + width; }
};

/// The layout of a group definition (schemas/features.capnp).
feature_layout layout_of(schema::FeatureGroup::Reader group);

} // namespace troupe::tabular
