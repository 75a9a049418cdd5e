@0xa20ad7f688171c8b;
# AutoML studies: what the study journal stores and studies exchange.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

using Common = import "common.capnp";
using Datasets = import "datasets.capnp";

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
  data @15 :Datasets.DatasetRef;     # the training CSV by content, uploaded
                                     # to the head's dataset cache (no hash:
                                     # read dataPath where the study runs)
  test @16 :Datasets.DatasetRef;     # the test CSV likewise
  files @17 :List(DataFile);         # a study of mlp jobs on Fashion-MNIST
                                     # (option "images", its directory):
                                     # its IDX files, uploaded likewise
}

struct DataFile {
  # A file as its submitter names it, and its content in the head's cache.
  path @0 :Text;
  data @1 :Datasets.DatasetRef;
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
  objectives @8 :List(Float64);   # a multi-objective study's secondary
                                  # objectives (StudySpec option
                                  # "objectives", minimized) at `step`
                                  # (reported) or of the final value
                                  # (completed); empty otherwise
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

# ---------------------------------------------------------------------------
# Between a study actor and the trial runners (actors/automl/service.hpp).

struct TrialAssignment {
  # A study -> a runner: run one trial on one of the runner's slots.
  study @0 :Text;                  # study id
  trial @1 :UInt64;                # trial id
  attempt @2 :UInt32;              # increases each time the trial is placed
  params @3 :List(ParamValue);     # the configuration
  budget @4 :UInt64;               # train to this step, report there
  every @5 :UInt64;                # report every this many steps
  checkpoint @6 :Data;             # state to continue from (resumed trials)
  family @7 :Text;                 # model family (families.hpp)
  dataPath @8 :Text;               # training CSV
  target @9 :Text;                 # target column
  task @10 :Text;                  # binary | multiclass | regression
  metric @11 :Text;                # validation metric
  folds @12 :UInt32;               # 0/1: holdout, >= 2: k-fold
  seed @13 :UInt64;                # validation and model seed
  threads @14 :UInt32;             # threads per slot
  slot @15 :UInt32;                # which slot of the runner
  sleepMs @16 :Float64;            # quadratic family: sleep per step
  patience @17 :UInt64;            # stop after this many steps without a
                                   # better validation metric (0 = never)
  ensemble @18 :UInt32;            # > 0: send out-of-fold predictions
                                   # with the TrialEnd of a finished trial
  maxResource @19 :UInt64;         # the study's full budget in steps, which
                                   # estimator families map to their own
  objectives @20 :List(Text);      # secondary objectives to measure with
                                   # each report and at the end (latency,
                                   # model-size); empty: the metric only
  data @21 :Datasets.DatasetRef;   # the training CSV by content: the runner
                                   # fetches it into its node's dataset
                                   # cache (no hash: read dataPath)
  gang @22 :List(Text);            # a trial run as a training job (a
                                   # study of sparse-lr, or of mlp with
                                   # workersPerTrial >= 2): the nodes of
                                   # the gang of slots leased for it, one
                                   # per slot, the runner's node first
  jobDir @23 :Text;                # such a trial's job writes its model
                                   # and summary here (on the head)
  images @24 :Text;                # such an mlp trial's Fashion-MNIST
                                   # directory instead of dataPath
  files @25 :List(DataFile);       # its IDX files in the head's cache
}

struct TrialReport {
  # A running trial -> its study: the metric at a step; answered with a
  # TrialDecision.
  study @0 :Text;
  trial @1 :UInt64;
  attempt @2 :UInt32;
  step @3 :UInt64;                 # steps trained
  value @4 :Float64;               # validation metric at `step`
  objectives @5 :List(Float64);    # the assignment's secondary objectives
                                   # at `step`, in its order
}

struct TrialDecision {
  # A study -> a running trial, answering a TrialReport.
  action @0 :Action;
  budget @1 :UInt64;               # proceed: train on to this step
  enum Action {
    proceed @0;                    # keep training up to `budget`
    pause @1;                      # checkpoint and give the slot back
    stop @2;                       # end now (pruned or study stopped)
    complete @3;                   # the trial is done; end now
  }
}

struct TrialEnd {
  # A trial runner -> the study: the trial left its slot.
  study @0 :Text;
  trial @1 :UInt64;
  attempt @2 :UInt32;
  outcome @3 :Outcome;
  steps @4 :UInt64;                # steps trained
  value @5 :Float64;               # last metric value (NaN if none)
  checkpoint @6 :Data;             # paused: the state to resume from
  message @7 :Text;                # failed: why
  node @8 :Text;                   # the node it ran on
  slot @9 :UInt32;                 # the slot it used
  oof @10 :List(Float32);          # finished, for a study that builds an
                                   # ensemble: out-of-fold predictions
                                   # (rows x groups) at step oofStep
  oofStep @11 :UInt64;
  objectives @12 :List(Float64);   # finished: the secondary objectives of
                                   # the model `value` was measured on
  job @13 :Text;                   # a trial run as a training job: its id
  lost @14 :Bool;                  # failed: its job lost a node of its
                                   # gang; the study places it again
  enum Outcome {
    finished @0;                   # completed, stopped or pruned as decided
    paused @1;                     # paused with a checkpoint
    failed @2;                     # training failed
    cancelled @3;                  # a stop message ended it
  }
}

# ---------------------------------------------------------------------------
# The "automl" service on the head, reached through the gateway's `send`
# (op names in parentheses) or from the shell.

struct StudySubmit {
  # (submit) A new study, or (resume) an existing one by spec.id.
  spec @0 :StudySpec;
  weight @1 :Float64;              # fair-share weight (default 1)
}

struct StudyRef {
  # (status) (stop) (list: empty id) names a study.
  id @0 :Text;
}

struct TrialRow {
  # One trial as the leaderboard shows it.
  id @0 :UInt64;
  state @1 :Text;                  # DEPRECATED: read trialState. Still filled
                                   # (pending running paused complete pruned
                                   # failed) for readers older than it.
  value @2 :Float64;               # final or last value (NaN if none)
  steps @3 :UInt64;                # steps trained
  params @4 :List(ParamValue);
  node @5 :Text;                   # last node it ran on
  trialState @6 :TrialState;       # its state; `unknown` from older writers
                                   # (then read `state`)
  objectives @7 :List(Float64);    # multi-objective studies: its secondary
                                   # objectives (StudyStatus.objectives)
}

enum TrialState {
  # Life cycle of a trial (actors/automl/types.hpp trial_state).
  unknown @0;                      # not set: a writer older than the enum
  pending @1;                      # queued, or re-queued after a loss
  running @2;                      # on a slot
  paused @3;                       # paused by its scheduler, checkpoint kept
  complete @4;                     # trained to the end, with a final value
  pruned @5;                       # stopped early (scheduler, stop, budget)
  failed @6;                       # training failed
}

enum StudyState {
  # Where a study is (StudyStatus.studyState).
  unknown @0;                      # not set: a writer older than the enum
  running @1;                      # placing and running trials
  stopping @2;                     # stopped; waiting for its running trials
  refitting @3;                    # refitting the best configuration
  finished @4;                     # summary written
  failed @5;                       # the refit or the summary failed
  stored @6;                       # in the journal, not loaded (list only)
}

struct StudyStatus {
  # The state of one study.
  id @0 :Text;
  state @1 :Text;                  # DEPRECATED: read studyState. Still filled
                                   # (running | stopping | refitting |
                                   # finished | failed | stored) for readers
                                   # older than it.
  metric @2 :Text;
  maximize @3 :Bool;
  elapsedMs @4 :UInt64;
  budgetMs @5 :UInt64;
  maxTrials @6 :UInt64;
  done @7 :UInt64;                 # complete
  running @8 :UInt64;
  pruned @9 :UInt64;
  failed @10 :UInt64;
  paused @11 :UInt64;
  requeued @12 :UInt64;            # re-queued after a node loss or resume
  hasBest @13 :Bool;
  bestValue @14 :Float64;
  bestTrial @15 :UInt64;
  message @16 :Text;               # why it failed, or where the model went
  modelDir @17 :Text;              # the refitted best model (finished)
  leaderboard @18 :List(TrialRow); # best first (status of one study only)
  weight @19 :Float64;
  totalTrials @20 :UInt64;
  studyState @21 :StudyState;      # its state; `unknown` from older writers
                                   # (then read `state`)
  objectives @22 :List(Text);      # secondary objectives (minimized) after
                                   # the metric; empty: single-objective
  paretoFront @23 :List(TrialRow); # multi-objective: the complete trials
                                   # no other complete trial dominates,
                                   # best metric first
}

struct StudyList {
  studies @0 :List(StudyStatus);   # without leaderboards
}
