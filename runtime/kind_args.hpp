#pragma once

#include <string>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// What every spawned actor kind receives: the name it is registered under,
/// its node, the configuration text given at spawn, and the node's data
/// directory (where node-local stores live; empty when the node has none),
/// and the host this node reaches the head at (a worker's --join host; on
/// the head, its --bind address, or 127.0.0.1 when it binds every one).
struct kind_args {
  std::string name;
  std::string node;
  std::string config;
  std::string data_dir;
  std::string head_host = "127.0.0.1";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kind_args& x) {
  return f(caf::meta::type_name("troupe::kind_args"), x.name, x.node, x.config,
           x.data_dir, x.head_host);
}

} // namespace troupe
