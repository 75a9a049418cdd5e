@0xfa7c933586fd7ffb;
# Binary records of the shared model layer (actors/models): the checkpoints a
# trainable writes when its trial pauses and reads when the trial resumes.
# A checkpoint lives only as long as a study's paused trial; the hand-rolled
# little-endian layouts used before these structs are not read (restoring one
# fails with an error naming the checkpoint, never a crash).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct QuadraticCheckpoint {
  # The state of the quadratic test family (actors/models/families.cpp).
  steps @0 :UInt64;  # training steps done
}

struct XgbFoldCheckpoint {
  # One cross-validation fold's booster, enough to train it further.
  model @0 :Data;   # the booster's UBJSON model bytes
  config @1 :Text;  # the learner's JSON configuration (training parameters)
}

struct XgbCheckpoint {
  # The state of an XGBoost trainable (actors/models/xgb_trainable.cpp).
  steps @0 :UInt64;                    # boosting rounds done
  folds @1 :List(XgbFoldCheckpoint);  # one per fold, in fold order
}

struct EstimatorCheckpoint {
  # A trial of an estimator family (models/estimator.hpp).
  steps @0 :UInt64;        # study steps (resource units) done
  familySteps @1 :UInt64;  # the family's own steps done
  family @2 :Text;         # the family's name
  folds @3 :List(Data);    # each fold's estimator bytes, in fold order
}
