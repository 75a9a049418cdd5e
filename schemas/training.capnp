@0x9b3fe5a86e9687d7;
# The training family's messages: parameter-server pulls and pushes, a
# worker's setup, and jobs (submit, status, list).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

using Datasets = import "datasets.capnp";

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
  startStep @4 :UInt64;       # steps already trained (a resumed job)
  more @5 :Bool;              # more rows follow, in WorkerSetups of which
                              # only rows and more count (ps_rows_atom)
}

struct ShardState {
  # A parameter-server shard's optimizer state, for checkpoints: per key
  # FTRL's z and n (AdaGrad: the weight and n).
  index @0 :UInt32;
  keys @1 :List(UInt64);
  z @2 :List(Float64);
  n @3 :List(Float64);
}

struct JobCheckpoint {
  # A consistent cut of a job. Parameter server: every worker has pushed
  # exactly `step` steps (or ended), and the shards hold their state after
  # them. Data-parallel XGBoost: the model after `step` boosting rounds.
  step @0 :UInt64;
  attempt @1 :UInt32;   # which placement of the job wrote it
  atMs @2 :Int64;
  shards @3 :List(ShardState);
  model @4 :Data;         # a booster's UBJSON bytes
  modelConfig @5 :Text;   # its learner configuration (JSON)
}

struct XgbPart {
  # What one data-parallel XGBoost worker trains, sent by its job.
  attempt @0 :UInt32;       # the job's placement (echoed in reports)
  task @1 :Text;            # orders the ranks: "worker-K"
  trackerHost @2 :Text;     # the job's rabit tracker (empty: the host the
                            # worker's node reaches the head at)
  trackerPort @3 :UInt16;
  world @4 :UInt32;         # workers in the job
  params @5 :List(Param);   # XGBoost parameters
  types @6 :List(Text);     # "c" or "q" per column
  rounds @7 :UInt32;        # rounds the model has at the end
  cols @8 :UInt32;
  values @9 :List(Float32); # its rows, row-major, NaN = missing
  labels @10 :List(Float32);
  startModel @11 :Data;     # continue from this model (empty: scratch)
  startConfig @12 :Text;
  checkpointSeconds @13 :Float64;  # the first worker sends the model this often
  reports @14 :Bool;        # the first worker: progress and checkpoints
  struct Param {
    name @0 :Text;
    value @1 :Text;
  }
}

struct JobEvent {
  # One line of a job's history in its journal.
  kind @0 :Kind;
  step @1 :UInt64;
  attempt @2 :UInt32;
  atMs @3 :Int64;
  message @4 :Text;
  enum Kind {
    started @0;      # an attempt's gang is placed, training from `step`
    checkpoint @1;   # a checkpoint at `step` is stored
    lost @2;         # an actor of the gang went; the job regroups
    finished @3;
    failed @4;
    stopped @5;
    restored @6;     # a lost member placed again alone (the others carried
                     # on), restored from the checkpoint at `step`
    alert @7;        # its workers wait for data more than the job's
                     # data_wait_alert share of their time (or no longer)
    usage @8;        # its workers' time split (a WorkerUsage list as JSON),
                     # at each checkpoint and at the end
  }
}

struct JobSubmit {
  # `troupe train` asks the head's training service to run a job.
  id @0 :Text;        # empty: the service picks "train-N"
  config @1 :Text;    # the job's TOML
  origin @2 :Text;    # the config file's path (messages, relative paths)
  outDir @3 :Text;    # where model.json and summary.json go (on the head)
  workers @4 :Text;   # "N" or "MIN:MAX" instead of the config's [run]
                      # workers (troupe train --workers); empty: the config's
  datasets @5 :List(JobDataset);
                      # the config's data files, uploaded to the head's
                      # dataset cache; a path not listed is read as it is
  gang @6 :List(Text);
                      # the nodes of a gang of slots its submitter leased
                      # for it (an AutoML trial run as a job), one per
                      # member: the job places its actors there and leases
                      # nothing; a member lost fails it (the submitter
                      # places it again). Empty: the job leases its own
}

struct JobDataset {
  # One data file of a job: its path as the config names it (absolute), and
  # its content in the head's dataset cache.
  path @0 :Text;
  data @1 :Datasets.DatasetRef;
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
  validLogloss @13 :Float64;   # the last validation's (a sparse-lr job's
                               # every valid_every steps, then at the end);
                               # NaN before the first
  validAuc @14 :Float64;
  validKs @15 :Float64;
  placement @16 :List(Text);   # "actor@node" of its shards and workers
  summary @17 :Text;           # summary.json's text once finished
  badInput @18 :Bool;          # it failed on its config or data
  checkpointStep @19 :UInt64;  # the step of its last checkpoint
  attempt @20 :UInt32;         # placements so far (1 + regroups)
  validStep @21 :UInt64;       # the slowest worker's step the last
                               # validation was taken at
  validMetrics @23 :Text;      # the last validation's metrics as JSON
                               # ({"logloss": ..., "accuracy": ...})
  validHistory @24 :Text;      # every validation before the end, as JSON:
                               # [{"step": N, "metrics": {...}}, ...]
  gangLost @22 :Bool;          # it failed because a member of the gang
                               # its submitter leased was lost (the
                               # submitter places it again)
  usage @25 :List(WorkerUsage);  # each worker's time split this placement
  dataWaitShare @26 :Float64;  # the share of the workers' summed time spent
                               # waiting for data (NaN before any report)
  alert @27 :Text;             # the alert in force ("" when none)
}

struct WorkerUsage {
  # How a gang member's time went since it got its part (seconds, summed;
  # worker_usage.hpp). Workers send it to their job after every epoch.
  worker @0 :Text;             # its actor's name
  rank @1 :UInt32;
  attempt @2 :UInt32;          # the job's placement (stale ones are dropped)
  computeSeconds @3 :Float64;
  dataSeconds @4 :Float64;     # waiting for its rows: fetching and reading
                               # its shard, gathering each batch
  commSeconds @5 :Float64;     # waiting for the collective: joining the
                               # group, the allreduce backward did not hide
  idleSeconds @6 :Float64;     # the rest: reports, checkpoints, waiting
  gpuUtilisation @7 :Float64;  # NVML's busy share of its GPU (0..1); NaN
                               # without one
  step @8 :UInt64;             # its steps (epochs) so far
}

struct JobList {
  jobs @0 :List(JobStatus);
}

struct MlpPart {
  # What one data-parallel MLP worker trains, sent by its job.
  attempt @0 :UInt32;       # the job's placement (echoed in reports)
  rank @1 :UInt32;
  world @2 :UInt32;
  storeHost @3 :Text;       # the job's rendezvous (empty: the host the
                            # worker's node reaches the head at)
  storePort @4 :UInt16;
  group @5 :Text;           # the process group's name (job and attempt)
  layers @6 :UInt32;
  width @7 :UInt32;
  activation @8 :Text;      # relu, gelu or tanh
  dropout @9 :Float64;
  lr @10 :Float64;
  weightDecay @11 :Float64;
  task @12 :Text;           # binary, multiclass or regression
  classes @13 :UInt32;
  seed @14 :UInt64;
  epochs @15 :UInt32;       # epochs the model has at the end
  localBatch @16 :UInt32;   # this worker's rows per step
  globalBatch @17 :UInt32;  # the group's rows per step
  steps @18 :UInt64;        # steps per epoch (the same on every worker)
  threads @19 :UInt32;
  cols @20 :UInt32;
  values @21 :Data;         # its rows: rows x cols float32, row-major
  labels @22 :Data;         # rows float32: class indices or values
  startModel @23 :Data;     # continue from this MLP (empty: fresh)
  checkpointSeconds @24 :Float64;
  reports @25 :Bool;        # the first worker: progress and checkpoints
  conv @27 :List(UInt32);   # a CNN's conv blocks' channels (empty: none)
  imageSide @28 :UInt32;    # its inputs as side x side images
  recompute @29 :Bool;      # hidden activations recomputed in backward
  validEvery @26 :UInt32;   # the first worker: its net to the job every
                            # this many epochs (but the last), which the
                            # job validates (0: none)
}

struct PipelinePart {
  # What one stage of a pipeline job trains, sent by its job: its layers
  # of the net, the schedule, and its rows (the first stage: the inputs,
  # in its shard; the last: the targets, in its shard; the others: none).
  attempt @0 :UInt32;
  stage @1 :UInt32;
  stages @2 :UInt32;
  begin @3 :UInt32;          # its chain layers: [begin, end) of layers + 1
  end @4 :UInt32;
  inputs @5 :UInt32;         # the net's columns
  outputs @6 :UInt32;        # logits: classes, or 1
  layers @7 :UInt32;         # hidden blocks
  width @8 :UInt32;
  activation @9 :Text;       # relu, gelu or tanh
  task @10 :Text;            # binary, multiclass or regression
  lr @11 :Float64;
  weightDecay @12 :Float64;
  seed @13 :UInt64;
  epochs @14 :UInt32;        # epochs the net has at the end
  batch @15 :UInt32;         # rows per minibatch
  steps @16 :UInt64;         # minibatches per epoch
  micro @17 :UInt32;         # micro-batches per minibatch
  schedule @18 :Text;        # gpipe or 1f1b
  recompute @19 :Bool;
  threads @20 :UInt32;
  center @21 :List(Float32); # the first stage standardises its inputs
  scale @22 :List(Float32);
  startEpoch @23 :UInt32;    # the epoch startState is of (0: fresh)
  startState @24 :Data;      # this stage's weights and AdamW (empty: fresh)
  checkpointEvery @25 :UInt32; # its state to the job every N epochs (0: never)
  validValues @26 :Data;     # the first stage: validation inputs (float32)
  validLabels @27 :Data;     # the last stage: validation targets (float32)
  validRows @28 :UInt32;
  classes @29 :UInt32;       # multiclass: for the metrics
}

struct PipelineTensor {
  # A stage's activations to the next stage, or the gradient of its input
  # to the one before.
  attempt @0 :UInt32;
  step @1 :UInt64;           # the minibatch (validation: the epochs)
  micro @2 :UInt32;
  kind @3 :UInt8;            # 0 activations, 1 gradients, 2 validation
  shape @4 :List(Int64);
  values @5 :Data;           # float32, row-major
}

struct PipelineState {
  # A pipeline job's net: each stage's weights and optimizer state, in
  # stage order, and where each stage's layers begin.
  stages @0 :List(Data);
  begins @1 :List(UInt32);
}

struct TensorPart {
  # What one worker of a tensor-parallel job trains, sent by its job: its
  # part of every split layer (rank of world), the group to join, and the
  # rows (every worker the same ones, in its shard).
  attempt @0 :UInt32;
  rank @1 :UInt32;
  world @2 :UInt32;
  storeHost @3 :Text;        # the job's rendezvous (empty: the head's host)
  storePort @4 :UInt16;
  group @5 :Text;            # the process group's name (job and attempt)
  inputs @6 :UInt32;
  classes @7 :UInt32;
  width @8 :UInt32;
  hidden @9 :UInt32;
  blocks @10 :UInt32;
  lr @11 :Float64;
  weightDecay @12 :Float64;
  seed @13 :UInt64;
  epochs @14 :UInt32;
  batch @15 :UInt32;
  steps @16 :UInt64;
  threads @17 :UInt32;
  center @18 :List(Float32);
  scale @19 :List(Float32);
  startEpoch @20 :UInt32;
  startState @21 :Data;      # this rank's part and AdamW (empty: fresh)
  checkpointEvery @22 :UInt32;
  validValues @23 :Data;     # every worker: the validation rows
  validLabels @24 :Data;
  validRows @25 :UInt32;
}

struct MemberStates {
  # A job's model held in parts by its gang's members (a tensor-parallel
  # job's ranks), in member order.
  states @0 :List(Data);
}

struct SagePart {
  # What one worker of a GraphSAGE job trains, sent by its job with the
  # graph's shard actors (one a partition, in order): the group to join,
  # the net, the partition map and the nodes to train on and to test.
  # Every worker gets the same lists and samples its share of each
  # minibatch through the shards; the replicas' gradients are summed.
  attempt @0 :UInt32;
  rank @1 :UInt32;
  world @2 :UInt32;
  storeHost @3 :Text;        # the job's rendezvous (empty: the head's host)
  storePort @4 :UInt16;
  group @5 :Text;            # the process group's name (job and attempt)
  inputs @6 :UInt32;         # feature columns
  hidden @7 :UInt32;
  classes @8 :UInt32;
  lr @9 :Float64;
  weightDecay @10 :Float64;
  seed @11 :UInt64;
  threads @12 :UInt32;
  fanouts @13 :List(UInt32); # neighbours sampled at each of the 2 hops
  batch @14 :UInt32;         # seeds a minibatch, over every worker
  epochs @15 :UInt32;
  partCounts @16 :List(UInt64); # partition p's nodes (the O(P) map)
  train @17 :List(UInt32);
  test @18 :List(UInt32);
  startEpoch @19 :UInt32;
  startState @20 :Data;      # the net and AdamW (empty: fresh)
  checkpointEvery @21 :UInt32;
}
