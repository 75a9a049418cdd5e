@0xd47e2b19a8c36f05;
# Model serving: the model registry's records, deployments (replicas,
# batching, autoscaling, traffic split between versions), predictions, and
# the `Predictor` RPC interface the head's gateway serves
# (Cluster.service("serving")).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct ModelFile {
  # One file of a registered model's artifact.
  name @0 :Text;        # file name inside the artifact directory
  size @1 :UInt64;      # bytes
  checksum @2 :UInt64;  # 64-bit hash of the content
  content @3 :Data;     # the bytes, when a file travels (registration,
                        # a replica fetching its model); empty otherwise
}

enum ModelFormat {
  # What kind of artifact holds a model.
  unknown @0;      # not given: read the deprecated text field beside it
  troupe @1;       # a model directory saved by `troupe automl`
  xgboost @2;      # an XGBoost model file plus a spec file
  torchscript @3;  # a TorchScript file plus a spec file
}

enum ReplicaState {
  # Where a replica of a deployment is in its life.
  unknown @0;      # not given: read the deprecated text field beside it
  starting @1;     # spawned or loading its model
  ready @2;        # takes requests
  draining @3;     # answers what it holds, then stops
}

struct ModelVersion {
  # One registered version of a model.
  name @0 :Text;                 # the model's name
  version @1 :UInt32;            # 1, 2, 3, ... per name
  format @2 :Text;               # DEPRECATED (read formatKind): "troupe" |
                                 # "xgboost" | "torchscript"; still written
                                 # for readers that predate formatKind
  stages @3 :List(Text);         # labels held: staging, production, canary
  registeredBy @4 :Text;         # who registered it
  registeredAt @5 :Int64;        # microseconds since the epoch (UTC)
  description @6 :Text;
  source @7 :Text;               # where it was registered from
  task @8 :Text;                 # "binary" | "multiclass" | "regression"
  classes @9 :List(Text);        # class names (classification)
  features @10 :List(Text);      # the training-set schema: feature names
  featureKinds @11 :List(Text);  # "numeric" | "categorical", per feature
  allowNan @12 :Bool;            # whether a missing (NaN) feature is allowed
  metrics @13 :List(Metric);     # e.g. the study's cv score
  files @14 :List(ModelFile);    # the artifact's files (without content)
  formatKind @15 :ModelFormat;   # the format (unknown: read `format`)
}

struct Metric {
  name @0 :Text;
  value @1 :Float64;
}

struct Registration {
  # Registers a model whose files travel with the request.
  name @0 :Text;
  format @1 :Text;               # "troupe" | "xgboost" | "torchscript"
  files @2 :List(ModelFile);     # troupe: the model directory's files;
                                 # otherwise the model file, then spec.json
  registeredBy @3 :Text;
  description @4 :Text;
  source @5 :Text;
  metrics @6 :List(Metric);
  stages @7 :List(Text);         # labels to give the new version
  allowNan @8 :Bool = true;
}

struct ModelList {
  versions @0 :List(ModelVersion);
}

struct VersionWeight {
  # A version's share of a deployment's traffic.
  version @0 :UInt32;
  weight @1 :UInt32;
}

struct DeploymentSpec {
  # What a deployment serves and how.
  name @0 :Text;                 # the deployment's name (default: model's)
  model @1 :Text;                # registered model name
  version @2 :Text;              # "3", "latest" or a stage label
  minReplicas @3 :UInt32 = 1;
  maxReplicas @4 :UInt32 = 1;
  maxBatchRows @5 :UInt32 = 32;  # 1: batching off
  maxQueueDelayUs @6 :UInt32 = 2000;
  queueBoundRows @7 :UInt32 = 4096;  # per replica; past it: "overloaded"
  targetInFlight @8 :UInt32 = 16;    # autoscaler: rows per replica
  upscaleDelayMs @9 :UInt32 = 3000;
  downscaleDelayMs @10 :UInt32 = 30000;
  featureGroups @11 :List(Text); # entity requests: groups to look up
  logInputs @12 :Text = "values";    # prediction log: "values" | "hash"
  threadsPerReplica @13 :UInt32 = 1;
  targetP99Ms @14 :UInt32 = 0;   # autoscaler: more replicas while the p99
                                 # latency is above it (0: latency ignored)
}

struct ReplicaStatus {
  name @0 :Text;                 # the replica actor's name
  node @1 :Text;
  version @2 :UInt32;
  inFlight @3 :UInt32;           # rows sent to it and not answered
  state @4 :Text;                # DEPRECATED (read stateKind): "starting" |
                                 # "ready" | "draining"; still written for
                                 # readers that predate stateKind
  served @5 :UInt64;             # rows answered
  stateKind @6 :ReplicaState;    # the state (unknown: read `state`)
}

struct DeploymentStatus {
  spec @0 :DeploymentSpec;
  traffic @1 :List(VersionWeight);
  replicas @2 :List(ReplicaStatus);
  desiredReplicas @3 :UInt32;
  requests @4 :UInt64;           # requests answered
  rows @5 :UInt64;               # rows predicted
  errors @6 :UInt64;             # requests failed
  shed @7 :UInt64;               # requests refused as overloaded
  retries @8 :UInt64;            # requests re-sent after a replica was lost
  queuedRows @9 :UInt32;         # rows waiting in the router
  p50Us @10 :Float64;            # recent latency
  p99Us @11 :Float64;
  stableVersion @12 :UInt32;     # what `rollback` returns to
  previousVersion @13 :UInt32;   # the stable version before the last
                                 # promotion (0: none)
}

struct DeploymentList {
  deployments @0 :List(DeploymentStatus);
}

struct Cell {
  # One raw input value, named by PredictRequest.columns.
  union {
    missing @0 :Void;
    number @1 :Float64;
    text @2 :Text;
  }
}

struct InputRow {
  # One row to predict: either encoded values in the model's feature order
  # (NaN = missing), or raw cells by column name, preprocessed by the server
  # exactly as at training.
  values @0 :List(Float32);
  cells @1 :List(Cell);
}

struct PredictRequest {
  deployment @0 :Text;
  requestId @1 :Text;            # empty: the server assigns one
  columns @2 :List(Text);        # names of the cells of every row
  rows @3 :List(InputRow);
  entities @4 :List(Text);       # or: entity ids, their features looked up
                                 # in the deployment's feature groups
  version @5 :UInt32;            # 0: by traffic split; else this version
}

struct Prediction {
  scores @0 :List(Float32);      # binary: p(class 1); multiclass: one per
                                 # class; regression: the value
  label @1 :Text;                # the predicted class ("" for regression)
  confidence @2 :Float32;        # the predicted class's probability
}

struct PredictResponse {
  requestId @0 :Text;
  model @1 :Text;
  version @2 :UInt32;
  classes @3 :List(Text);
  predictions @4 :List(Prediction);
  replica @5 :Text;              # which replica answered
  batchRows @6 :UInt32;          # rows of the batch it was predicted in
}

interface Predictor {
  # Online predictions and the management of models and deployments. Errors
  # (an unknown deployment, a wrong feature count, NaN where the model does
  # not allow it, "overloaded") come back as exceptions naming the request,
  # the row and the feature.
  predict @0 (request :PredictRequest) -> (response :PredictResponse);
  register @1 (registration :Registration) -> (version :ModelVersion);
  models @2 (name :Text) -> (list :ModelList);
  # Every version of `name`, or of every model when it is empty.
  setStage @3 (name :Text, version :UInt32, stage :Text, on :Bool)
      -> (version :ModelVersion);
  deploy @4 (spec :DeploymentSpec) -> (status :DeploymentStatus);
  # Creates a deployment, or rolls an existing one to the given version.
  deployments @5 () -> (list :DeploymentList);
  deployment @6 (name :Text) -> (status :DeploymentStatus);
  scale @7 (name :Text, minReplicas :UInt32, maxReplicas :UInt32)
      -> (status :DeploymentStatus);
  setTraffic @8 (name :Text, weights :List(VersionWeight))
      -> (status :DeploymentStatus);
  # Splits traffic between versions (each must be registered); a version
  # new to the deployment gets its own replicas.
  promote @9 (name :Text, version :UInt32) -> (status :DeploymentStatus);
  # Sends all traffic to `version` and makes it the stable one.
  rollback @10 (name :Text) -> (status :DeploymentStatus);
  # Sends all traffic back to the stable version.
  undeploy @11 (name :Text) -> ();
}
