@0x9b3fe5a86e9687d7;
# The training family's messages: parameter-server pulls and pushes, a
# worker's setup, and jobs (submit, status, list).

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

struct SparseRow {
  # One example for a sparse model: its hashed keys and its label (0 or 1).
  keys @0 :List(UInt64);
  label @1 :Float32;
}

struct WorkerSetup {
  # What a parameter-server worker trains on, sent by its job.
  name @0 :Text;              # the worker's name in the job's step gate
  batch @1 :UInt32;           # rows per minibatch
  epochs @2 :UInt32;          # passes over its rows
  rows @3 :List(SparseRow);   # its share of the training rows
}

struct JobSubmit {
  # `troupe train` asks the head's training service to run a job.
  id @0 :Text;        # empty: the service picks "train-N"
  config @1 :Text;    # the job's TOML
  origin @2 :Text;    # the config file's path (messages, relative paths)
  outDir @3 :Text;    # where model.json and summary.json go (on the head)
}

struct JobRef {
  id @0 :Text;
}

enum JobState {
  unknown @0;
  waiting @1;    # for its gang of slots
  running @2;
  finished @3;
  failed @4;
  stopped @5;
}

struct JobStatus {
  id @0 :Text;
  family @1 :Text;
  state @2 :JobState;
  message @3 :Text;         # why it failed, or where its results are
  workers @4 :UInt32;
  shards @5 :UInt32;
  consistency @6 :Text;
  epochs @7 :UInt32;
  step @8 :UInt64;          # the slowest worker's steps
  steps @9 :UInt64;         # steps per worker in the whole job
  examples @10 :UInt64;     # examples trained so far
  elapsedMs @11 :UInt64;
  examplesPerSecond @12 :Float64;
  validLogloss @13 :Float64;   # NaN until the job ends
  validAuc @14 :Float64;
  validKs @15 :Float64;
  placement @16 :List(Text);   # "actor@node" of its shards and workers
  summary @17 :Text;           # summary.json's text once finished
  badInput @18 :Bool;          # it failed on its config or data
}

struct JobList {
  jobs @0 :List(JobStatus);
}
