#pragma once

// Reading a job config's TOML tables (job_config.cpp, and the graph jobs'
// sections in job_config_graph.cpp): errors that name the file and line,
// a reader that walks a table's keys, and typed values with their ranges.
// Not a public header.

#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <toml++/toml.h>

#include "runtime/errors.hpp"

namespace troupe::training {
struct job_config;
}

namespace troupe::training::detail {

inline caf::error bad(const std::string& origin, size_t line,
                      const std::string& what) {
  return make_error(errc::invalid_argument,
                    origin + ":" + std::to_string(line) + ": " + what);
}

/// Reads the keys of one table with setters; unknown keys are named.
struct reader {
  const std::string& origin;

  template <class Setter>
  caf::error each(const toml::table& t, const std::string& section,
                  const Setter& set) {
    for (auto& [key, node] : t) {
      std::string k{key.str()};
      auto line = node.source().begin.line;
      auto name = section.empty() ? k : section + "." + k;
      if (auto err = set(k, name, node, line)) return err;
    }
    return caf::none;
  }

  caf::expected<double> number(const toml::node& n, const std::string& name,
                               size_t line) {
    if (auto* i = n.as_integer()) return static_cast<double>(i->get());
    if (auto* f = n.as_floating_point()) return f->get();
    return bad(origin, line, "'" + name + "' must be a number");
  }

  caf::expected<uint64_t> count(const toml::node& n, const std::string& name,
                                size_t line, uint64_t low, uint64_t high) {
    auto* i = n.as_integer();
    if (!i || i->get() < static_cast<int64_t>(low) ||
        static_cast<uint64_t>(i->get()) > high)
      return bad(origin, line,
                 "'" + name + "' must be an integer " + std::to_string(low) +
                     ".." + std::to_string(high));
    return static_cast<uint64_t>(i->get());
  }

  caf::expected<bool> flag(const toml::node& n, const std::string& name,
                           size_t line) {
    if (auto* b = n.as_boolean()) return b->get();
    return bad(origin, line, "'" + name + "' must be true or false");
  }

  caf::expected<std::string> text(const toml::node& n, const std::string& name,
                                  size_t line) {
    if (auto* s = n.as_string()) return std::string{s->get()};
    return bad(origin, line, "'" + name + "' must be a string");
  }
};

inline caf::error unknown(const std::string& origin, size_t line,
                          const std::string& name, const std::string& known) {
  return bad(origin, line,
             "unknown key '" + name + "' (expected " + known + ")");
}

// -- family graphsage (job_config_graph.cpp) ---------------------------------

/// Reads [data] of a graphsage job: packages, nodes, edges, id, target,
/// holdout; `path_of` anchors relative paths.
caf::error
read_graph_data(reader& r, const toml::table& t, training::job_config& cfg,
                const std::function<std::string(const std::string&)>& path_of);

/// Reads [model] of a graphsage job: hidden, dims, fanouts, lr,
/// weight_decay.
caf::error read_graph_model(reader& r, const toml::table& t,
                            training::job_config& cfg);

/// The checks once every table is read: the graph named one way, fully.
caf::error check_graph_config(const training::job_config& cfg);

} // namespace troupe::training::detail
