@0x9b3fe5a86e9687d7;
# The training family's messages: parameter-server pulls and pushes (jobs,
# their specs, statuses and events come with the training-job layer).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct SparseKeys {
  # The keys a worker pulls from a parameter-server shard.
  keys @0 :List(UInt64);
}

struct SparseValues {
  # One value per key: weights pulled, gradients pushed, or a shard's dump.
  keys @0 :List(UInt64);
  values @1 :List(Float32);
}
