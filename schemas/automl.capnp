@0xa20ad7f688171c8b;
# AutoML studies: what the study journal stores and studies exchange.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

using Common = import "common.capnp";

struct ParamValue {
  # One hyperparameter value.
  name @0 :Text;          # parameter name
  union {
    real @1 :Float64;     # a float parameter
    integer @2 :Int64;    # an int parameter
    category @3 :Text;    # a categorical parameter
  }
}

struct StudySpec {
  # Everything needed to run or resume a study.
  id @0 :Text;                       # study id (directory-safe)
  dataPath @1 :Text;                 # training CSV
  target @2 :Text;                   # target column
  testPath @3 :Text;                 # optional test CSV
  metric @4 :Text;                   # auc, logloss, accuracy, rmse, mae, ks
  maximize @5 :Bool;                 # direction of the metric
  sampler @6 :Text;                  # tpe | random
  scheduler @7 :Text;                # asha | hyperband | bohb | median | none
  budgetMs @8 :UInt64;               # wall-clock budget, 0 = none
  maxTrials @9 :UInt64;              # trial budget, 0 = none
  seed @10 :UInt64;                  # random seed
  space @11 :Text;                   # search space as JSON
  task @12 :Text;                    # binary | multiclass | regression
  createdMs @13 :Int64;              # wall-clock ms at creation
  options @14 :List(Common.KeyValue);# anything else (folds, slots, ...)
}

struct TrialEvent {
  # One state change or result of a trial, appended to the journal.
  trial @0 :UInt64;               # trial id
  kind @1 :Kind;                  # what happened
  params @2 :List(ParamValue);    # the configuration (created)
  step @3 :UInt64;                # fidelity step (reported)
  value @4 :Float64;              # objective value (reported, completed)
  node @5 :Text;                  # node that ran it (started)
  atMs @6 :Int64;                 # wall-clock ms
  message @7 :Text;               # why (failed, pruned, requeued)
  enum Kind {
    created @0;     # sampled and queued
    started @1;     # placed on a slot
    reported @2;    # intermediate result
    paused @3;      # paused by the scheduler, checkpoint kept
    completed @4;   # final value
    pruned @5;      # stopped early by the scheduler
    failed @6;      # training failed
    requeued @7;    # its node died or the study was resumed while it ran
  }
}
