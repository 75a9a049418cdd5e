@0xc3022408f0b5fdcb;
# Datasets that travel with the work (runtime/dataset_cache.hpp): every node
# keeps a content-addressed cache of files, named by the SHA-256 of their
# bytes; a file moves between nodes, or from a client to the head, in
# checksummed chunks.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct DatasetRef {
  # A dataset by content: what a study or a job names instead of a path.
  hash @0 :Text;        # SHA-256 of the bytes, 64 lowercase hex digits
  size @1 :UInt64;      # bytes
  name @2 :Text;        # the file's name where it came from (for messages)
  chunkSize @3 :UInt32; # bytes per chunk (the last may be shorter)
}

struct DatasetChunk {
  # One chunk of a dataset, from a cache that holds it or from a client.
  hash @0 :Text;
  index @1 :UInt32;     # chunk number, from 0
  bytes @2 :Data;
  checksum @3 :UInt64;  # CRC-32 (zlib's) of `bytes`
}

struct DatasetCacheStats {
  # What a node's cache holds and has moved.
  node @0 :Text;
  held @1 :UInt32;           # datasets stored
  heldBytes @2 :UInt64;
  fetched @3 :UInt32;        # datasets pulled from another cache
  skipped @4 :UInt32;        # fetches and offers answered from the cache
  chunksIn @5 :UInt64;       # chunks received and stored
  chunksOut @6 :UInt64;      # chunks served to other caches
  chunksRefused @7 :UInt64;  # chunks whose checksum did not match
}
