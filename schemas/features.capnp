@0xc3f1a9d2b6e4a871;
# The feature store: feature groups, rows versioned by event time, online
# lookups, writes, point-in-time lookups, and the `FeatureStore` RPC
# interface the head's gateway serves (Cluster.service("features")).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct FeatureField {
  # One typed scalar feature of a group.
  name @0 :Text;       # column name (letters, digits, '_', '.', '-')
  type @1 :Type;       # its type
  nullable @2 :Bool;   # whether a row may leave it missing
  enum Type {
    int64 @0;          # a 64-bit integer
    float64 @1;        # a double
    text @2;           # a UTF-8 string
    timestamp @3;      # microseconds since the Unix epoch (UTC)
  }
}

struct FeatureGroup {
  # A named, schema'd group of features: a fixed-width float32 vector and/or
  # typed scalar fields, stored per entity and versioned by event time.
  name @0 :Text;                  # group name
  description @1 :Text;           # free text
  vectorName @2 :Text;            # name of the vector ("" when width is 0)
  width @3 :UInt32;               # float32 values per row (0: no vector)
  fields @4 :List(FeatureField);  # scalar fields, in row order
  allowNan @5 :Bool;              # whether vector and float fields may hold NaN
  ttlMs @6 :Int64;                # retention: versions whose event time is
                                  # older than now - ttl expire (0: never)
  createdMs @7 :Int64;            # wall-clock ms it was created
  shards @8 :UInt32;              # shards of the store when it was created
}

struct FeatureValue {
  # One scalar value of a row.
  union {
    missing @0 :Void;    # no value (a nullable field)
    int64 @1 :Int64;     # int64 fields
    float64 @2 :Float64; # float64 fields
    text @3 :Text;       # text fields
    timestamp @4 :Int64; # timestamp fields, microseconds since the epoch
  }
}

struct FeatureRow {
  # One version of one entity's features in one group.
  entity @0 :Text;                 # the entity key (1..255 bytes)
  eventTime @1 :Int64;             # microseconds since the epoch (UTC)
  vector @2 :List(Float32);        # `width` values
  fields @3 :List(FeatureValue);   # one per group field, in order
  found @4 :Bool = true;           # false: no version for this key (lookups)
}

struct FeatureGroupList {
  # Every registered group.
  groups @0 :List(FeatureGroup);   # sorted by name
}

struct GroupName {
  # Names one group.
  name @0 :Text;  # the group
}

struct FeatureWrite {
  # A batch of rows for one group. Each row is one version; writing the same
  # entity and event time again replaces that version (idempotent).
  group @0 :Text;                 # the group
  rows @1 :List(FeatureRow);      # the rows
  upsert @2 :Bool;                # true: missing fields of a row take the
                                  # values of the version as of its time
}

struct WriteResult {
  # What a write did.
  written @0 :UInt64;   # rows stored
  batches @1 :UInt32;   # shard transactions committed
}

struct LookupKey {
  # One entity, read as of a time.
  entity @0 :Text;                         # the entity key
  asOf @1 :Int64 = 9223372036854775807;    # microseconds; the default reads
                                           # the latest version
}

struct Lookup {
  # A batch read: every key in every group.
  groups @0 :List(Text);      # groups to read
  keys @1 :List(LookupKey);   # up to 10,000 keys
}

struct LookupResult {
  # Rows of a Lookup, group-major: groups[g].rows[k] answers keys[k].
  groups @0 :List(GroupRows);  # one per requested group, in request order
}

struct GroupRows {
  # One group's answers to a Lookup.
  group @0 :Text;              # the group
  rows @1 :List(FeatureRow);   # one per key; found = false when missing
  next @2 :Text;               # scans only: the entity to continue after
                               # ("" when the scan reached the end)
}

struct ShardStats {
  # What one shard holds of one group (or of all groups: group "").
  shard @0 :UInt32;      # shard index
  node @1 :Text;         # node it runs on
  actor @2 :Text;        # its registered name
  group @3 :Text;        # the group
  entities @4 :UInt64;   # distinct entities
  versions @5 :UInt64;   # stored versions (rows)
  bytes @6 :UInt64;      # bytes of the group's database pages
  up @7 :Bool;           # false: the shard is not running (node away)
}

struct GroupStats {
  # A group and where its data lives.
  group @0 :FeatureGroup;          # its definition
  shards @1 :List(ShardStats);     # per shard
}

struct ShardPlacement {
  # Where a shard of the store runs.
  index @0 :UInt32;   # shard index (routing bucket)
  node @1 :Text;      # node it runs on
  actor @2 :Text;     # its registered actor name
}

struct StoreLayout {
  # The store's shards and groups: what routers cache.
  shards @0 :List(ShardPlacement);  # by index
  groups @1 :List(FeatureGroup);    # every group
  version @2 :UInt64;               # changes when groups or shards change
}

struct ValidationRequest {
  # Validates a group's latest rows against a schema (JSON as written by
  # `troupe validate infer`), or infers one when schema is empty.
  group @0 :Text;       # the group
  schema @1 :Text;      # schema JSON; "" = infer
  sample @2 :UInt64;    # rows to read at most (0: all)
}

struct ValidationReport {
  # The outcome of a ValidationRequest.
  group @0 :Text;       # the group
  rows @1 :UInt64;      # rows read
  schema @2 :Text;      # the (inferred) schema JSON
  anomalies @3 :Text;   # anomalies as JSON (an array; empty when clean)
  blocking @4 :UInt32;  # how many anomalies are blocking
}

interface FeatureStore {
  # Online API of the feature store. Errors (an unknown group, a wrong
  # width, NaN where not allowed, a bad row) come back as exceptions whose
  # message names the group, the row and the field; an unknown entity is not
  # an error: its row has found = false.
  createGroup @0 (group :FeatureGroup) -> (group :FeatureGroup);
  # Registers a group (the same definition again is accepted; a different one
  # under an existing name is refused).
  groups @1 () -> (groups :List(FeatureGroup));   # every group
  group @2 (name :Text) -> (stats :GroupStats);   # a group and its shards
  get @3 (group :Text, entity :Text) -> (row :FeatureRow);
  # The latest version of one entity.
  getAsOf @4 (group :Text, entity :Text, asOf :Int64) -> (row :FeatureRow);
  # The version in force at `asOf` (the latest with eventTime <= asOf).
  lookup @5 (request :Lookup) -> (result :LookupResult);
  # A batch get across groups (latest or as of per key).
  write @6 (batch :FeatureWrite) -> (result :WriteResult);
  # Puts or upserts a batch; each shard's part is one transaction.
  validate @7 (request :ValidationRequest) -> (report :ValidationReport);
  # Runs data validation over a group's latest rows on the shards.
  flush @8 () -> ();
  # Forces every shard's committed writes to disk.
}
