#pragma once

// Conversions between AutoML values and their Cap'n Proto form
// (schemas/automl.capnp), shared by the journal and the actors.

#include <string>
#include <variant>

#include "actors/automl/types.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

/// Writes `cfg` into a List(ParamValue) builder of size cfg.size().
template <class ListBuilder>
void write_params(ListBuilder list, const config& cfg) {
  unsigned i = 0;
  for (auto& [name, v] : cfg) {
    auto p = list[i++];
    p.setName(name);
    if (auto* d = std::get_if<double>(&v))
      p.setReal(*d);
    else if (auto* n = std::get_if<int64_t>(&v))
      p.setInteger(*n);
    else
      p.setCategory(std::get<std::string>(v));
  }
}

/// Reads a List(ParamValue).
template <class ListReader>
config read_params(ListReader list) {
  config cfg;
  for (auto p : list) {
    switch (p.which()) {
    case schema::ParamValue::REAL:
      cfg[p.getName()] = p.getReal();
      break;
    case schema::ParamValue::INTEGER:
      cfg[p.getName()] = p.getInteger();
      break;
    case schema::ParamValue::CATEGORY:
      cfg[p.getName()] = std::string{p.getCategory().cStr()};
      break;
    }
  }
  return cfg;
}

} // namespace troupe::automl
