// The sections of a graphsage job's config (job_config.hpp): the graph it
// reads and the GraphSAGE net it trains. [run] is read with every family's.

#include <algorithm>
#include <cmath>

#include "actors/training/job_config.hpp"
#include "actors/training/job_config_reader.hpp"

namespace troupe::training::detail {

caf::error
read_graph_data(reader& r, const toml::table& t, job_config& cfg,
                const std::function<std::string(const std::string&)>& path_of) {
  auto& g = cfg.graph;
  return r.each(
      t, "data",
      [&](const std::string& k, const std::string& name, const toml::node& n,
          size_t line) -> caf::error {
        if (k == "packages") {
          // one file or a list of them
          g.packages.clear();
          if (auto* s = n.as_string()) {
            g.packages.push_back(path_of(std::string{s->get()}));
          } else if (auto* a = n.as_array()) {
            for (auto& el : *a) {
              auto* s = el.as_string();
              if (!s || s->get().empty())
                return bad(r.origin, line,
                           "'" + name + "' must list file names");
              g.packages.push_back(path_of(std::string{s->get()}));
            }
          }
          if (g.packages.empty())
            return bad(r.origin, line,
                       "'" + name +
                           "' must name Debian Packages files (packages = "
                           "[\"Packages\"])");
          return caf::none;
        }
        if (k == "holdout") {
          auto v = r.count(n, name, line, 2, 1000);
          if (!v) return v.error();
          g.holdout = static_cast<uint32_t>(*v);
          return caf::none;
        }
        if (k != "nodes" && k != "edges" && k != "id" && k != "target")
          return unknown(r.origin, line, name,
                         "packages, nodes, edges, id, target or holdout");
        auto v = r.text(n, name, line);
        if (!v) return v.error();
        if (v->empty()) return bad(r.origin, line, "'" + name + "' is empty");
        if (k == "nodes")
          g.nodes = path_of(*v);
        else if (k == "edges")
          g.edges = path_of(*v);
        else if (k == "id")
          g.id = *v;
        else
          cfg.target = *v;
        return caf::none;
      });
}

caf::error read_graph_model(reader& r, const toml::table& t, job_config& cfg) {
  auto& g = cfg.graph;
  return r.each(
      t, "model",
      [&](const std::string& k, const std::string& name, const toml::node& n,
          size_t line) -> caf::error {
        if (k == "hidden" || k == "dims") {
          auto v = r.count(n, name, line, 1, 1u << 16);
          if (!v) return v.error();
          (k == "hidden" ? g.hidden : g.dims) = static_cast<uint32_t>(*v);
          return caf::none;
        }
        if (k == "fanouts") {
          auto* a = n.as_array();
          std::vector<uint32_t> f;
          if (a)
            for (auto& el : *a) {
              auto v = el.value<int64_t>();
              if (!v || *v < 1 || *v > 1000) {
                f.clear();
                break;
              }
              f.push_back(static_cast<uint32_t>(*v));
            }
          if (f.size() != 2)
            return bad(r.origin, line,
                       "'" + name +
                           "' is the neighbours sampled at each of "
                           "GraphSAGE's 2 hops, each 1..1000 (fanouts = [10, "
                           "5])");
          g.fanouts = f;
          return caf::none;
        }
        if (k != "lr" && k != "weight_decay")
          return unknown(r.origin, line, name,
                         "hidden, dims, fanouts, lr or weight_decay");
        auto v = r.number(n, name, line);
        if (!v) return v.error();
        bool ok = k == "lr" ? (*v > 0 && *v <= 1) : (*v >= 0 && *v <= 1);
        if (!ok || !std::isfinite(*v))
          return bad(r.origin, line,
                     "'" + name + "' = " + std::to_string(*v) +
                         " is out of range" +
                         (k == "lr" ? " (0, 1]" : " [0, 1]"));
        (k == "lr" ? cfg.net.lr : cfg.net.weight_decay) = *v;
        return caf::none;
      });
}

caf::error check_graph_config(const job_config& cfg) {
  auto& g = cfg.graph;
  bool tables = !g.nodes.empty() || !g.edges.empty();
  if (!g.packages.empty() && tables)
    return bad(cfg.source, 1,
               "[data] packages and nodes/edges exclude each other: the graph "
               "is Debian's package index or your tables");
  if (g.packages.empty() && !tables)
    return bad(cfg.source, 1,
               "no graph: give [data] packages (Debian Packages files) or "
               "nodes and edges (CSV files)");
  if (tables && (g.nodes.empty() || g.edges.empty()))
    return bad(cfg.source, 1,
               std::string{"[data] "} + (g.nodes.empty() ? "edges" : "nodes") +
                   " without " + (g.nodes.empty() ? "nodes" : "edges") +
                   ": a graph of tables needs both");
  if (tables && cfg.target.empty())
    return bad(cfg.source, 1, "no [data] target: the nodes' column to predict");
  if (!g.packages.empty() && !cfg.target.empty())
    return bad(cfg.source, 1,
               "[data] target is for nodes tables: the package graph's label "
               "is each package's Section");
  return caf::none;
}

} // namespace troupe::training::detail
