// The graph family's declaration: its shard actors' kind.

#include "actors/graph/family.hpp"

#include "actors/graph/shard_actor.hpp"

namespace troupe::graph {

family declare_family() {
  family f;
  f.name = "graph";
  f.kinds = register_graph_kinds;
  return f;
}

} // namespace troupe::graph
