@0xc076c91692db4c92;
# The graph family's messages: what a graph shard actor (actors/graph/
# shard_actor.hpp) holds, and the neighbour samples and node features it
# serves for the nodes it owns.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct GraphShardInfo {
  # A loaded shard, as it describes itself.
  partition @0 :UInt32;
  begin @1 :UInt32;        # the global IDs it owns: [begin, end)
  end @2 :UInt32;
  halo @3 :UInt64;         # nodes of other partitions its nodes link to
  edges @4 :UInt64;        # its owned nodes' adjacency entries
  dims @5 :UInt32;         # features per node (0: none)
  bytes @6 :UInt64;        # what it holds in memory
}

struct GraphSampleRequest {
  # One hop of a neighbour sample (sampler.hpp's sample_owned): up to `k`
  # neighbours of each of `nodes`, drawn from (seed, hop, node).
  nodes @0 :List(UInt32);  # global IDs the shard owns
  k @1 :UInt32;
  seed @2 :UInt64;
  hop @3 :UInt32;
}

struct GraphSampledHop {
  # The answer: node i's sampled neighbours (global IDs) are
  # neighbours[offsets[i] .. offsets[i + 1]).
  offsets @0 :List(UInt64);
  neighbours @1 :List(UInt32);
}

struct GraphNodes {
  # Global IDs whose features are asked for.
  nodes @0 :List(UInt32);
}

struct GraphNodeFeatures {
  # The features of the nodes asked for, in their order: rows x dims
  # float32, row-major, and each node's label (its class; 0 unlabelled).
  dims @0 :UInt32;
  values @1 :Data;
  labels @2 :List(UInt32);
}
