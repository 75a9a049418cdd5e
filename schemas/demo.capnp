@0x8102f6f6c4650b7d;
# The demo job's work items (the main job until AutoML lands).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct PrimeRange {
  # Count the primes in [lo, hi).
  lo @0 :UInt64;  # first number, inclusive
  hi @1 :UInt64;  # last number, exclusive
}

struct PrimeCount {
  # The answer to a PrimeRange.
  lo @0 :UInt64;      # echo of the range
  hi @1 :UInt64;      # echo of the range
  count @2 :UInt64;   # primes found
  node @3 :Text;      # node that computed it
  actor @4 :Text;     # actor that computed it
  micros @5 :UInt64;  # compute time
}
