@0xe193258c54ecc995;
# Saved estimators of the built-in families (actors/models/*_family.cpp):
# the bytes `estimator::save` writes and each family's `load` reads back,
# holding what predicting needs and what training further needs (the
# family's parameters, the step count, the optimizer's state). A family
# reads only its own struct; `version` is 1 for every struct here and a
# reader refuses versions it does not know.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

enum EstimatorTask {
  # What an estimator predicts (tabular::task_kind).
  binary @0;      # P(class 1)
  multiclass @1;  # one probability per class
  regression @2;  # a value
}

struct LinearEstimator {
  # A linear, logistic or multinomial model with an elastic-net penalty
  # (actors/models/linear_family.cpp), trained by FISTA on standardized
  # features. Weights are on the standardized scale: output o of a row x is
  # intercepts[o] + sum_j weights[o * features + j] * (x_j - means[j]) *
  # scales[j].
  version @0 :UInt32;
  task @1 :EstimatorTask;
  classes @2 :UInt32;           # 0 for regression
  features @3 :UInt32;          # columns of the training matrix
  alpha @4 :Float64;            # penalty strength
  l1Ratio @5 :Float64;          # share of the L1 part of the penalty
  steps @6 :UInt64;             # epochs trained
  means @7 :List(Float64);      # per column: the mean subtracted
  scales @8 :List(Float64);     # per column: 1 / standard deviation (0: constant)
  targetMean @9 :Float64;       # regression: the label's mean (else 0)
  targetScale @10 :Float64;     # regression: the label's standard deviation (else 1)
  weights @11 :List(Float64);   # outputs x features, row-major: the iterate x_k
  intercepts @12 :List(Float64);      # outputs
  prevWeights @13 :List(Float64);     # FISTA: the previous iterate x_{k-1}
  prevIntercepts @14 :List(Float64);
  momentum @15 :Float64;        # FISTA: t_k
  lipschitz @16 :Float64;       # FISTA: the step's Lipschitz estimate L
}

enum KnnWeights {
  uniform @0;   # each neighbour counts once
  distance @1;  # a neighbour counts 1 / its distance
}

enum KnnMetric {
  manhattan @0;  # sum of |x_j - y_j|
  euclidean @1;  # sqrt of sum of (x_j - y_j)^2
}

struct KnnEstimator {
  # A k-nearest-neighbours model (actors/models/knn_family.cpp): its
  # parameters and the training rows it searches.
  version @0 :UInt32;
  task @1 :EstimatorTask;
  classes @2 :UInt32;           # 0 for regression
  neighbors @3 :UInt32;         # k
  weights @4 :KnnWeights;
  metric @5 :KnnMetric;
  steps @6 :UInt64;
  rows @7 :UInt64;              # training rows
  features @8 :UInt32;          # columns
  values @9 :List(List(Float32));  # rows x features row-major, in blocks of whole rows
  labels @10 :List(Float32);    # one per row: class index or value
}

struct ForestEstimator {
  # An XGBoost random forest (actors/models/rf_family.cpp): one booster per
  # step, each a forest of `treesPerStep` trees grown in a single round;
  # predictions are the boosters' averaged.
  version @0 :UInt32;
  task @1 :EstimatorTask;
  classes @2 :UInt32;           # 0 for regression
  features @3 :UInt32;
  steps @4 :UInt64;
  seed @5 :UInt64;              # the seed steps derive theirs from
  maxDepth @6 :UInt32;          # 0: unlimited (lossguide growth)
  minChildWeight @7 :Float64;
  subsample @8 :Float64;
  colsampleBynode @9 :Float64;
  lambda @10 :Float64;
  treesPerStep @11 :UInt32;
  baseScore @12 :Float64;       # binary and regression: the label mean
  featureTypes @13 :List(Text); # "q" or "c" per column; empty: all numeric
  boosters @14 :List(Data);     # one per step, UBJSON model bytes
}
