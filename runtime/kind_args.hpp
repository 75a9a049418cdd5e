#pragma once

#include <string>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// What every spawned actor kind receives: the name it is registered under,
/// its node, the configuration text given at spawn, and the node's data
/// directory (where node-local stores live; empty when the node has none).
struct kind_args {
  std::string name;
  std::string node;
  std::string config;
  std::string data_dir;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kind_args& x) {
  return f(caf::meta::type_name("troupe::kind_args"), x.name, x.node, x.config,
           x.data_dir);
}

} // namespace troupe
