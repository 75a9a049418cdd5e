#!/usr/bin/python3
"""Optuna's side of the AutoML quality benchmark: tune XGBoost on a CSV file.

Two peers, chosen by --space:

- `user` (the default): the plain Optuna script an XGBoost user writes, over
  the space users write rather than troupe's: eta [1e-3, 0.3] log, max_depth
  [2, 12], min_child_weight [0.01, 20] log, subsample [0.5, 1],
  colsample_bytree [0.3, 1], lambda and alpha [1e-3, 10] log, and the
  boosting rounds [20, 600] log as a tuned parameter; tree_method hist with
  XGBoost's native categorical support (categorical columns are typed "c");
  3-fold CV, no pruner, study.optimize(n_jobs=--jobs) with --threads XGBoost
  threads per trial; the best configuration refit on the training split.
- `troupe`: troupe's own space and fidelity, described below.
- `cash`: Optuna TPE over one conditional space of estimators and their
  preprocessing (auto-sklearn's CASH): XGBoost (native categorical),
  scikit-learn's random forest, extra trees, k-nearest neighbours and a
  linear model (logistic regression or ridge, L1/L2/elastic net), each after
  a chosen imputation (mean, median), categorical encoding (one-hot,
  ordinal) and, for the linear model and k-NN, scaling (standard, none);
  3-fold CV, study.optimize(n_jobs=--jobs), one thread per trial.

Tunes XGBoost (python3-xgboost, hist trees) with Optuna 3.1's TPESampler(seed)
and MedianPruner (defaults) for a wall-clock budget, refits the best
configuration on every training row and scores it on the test file, as
`troupe automl` does, so the two can be compared on equal terms:

- Search space: troupe's default "xgboost" space (xgboost_space() in
  actors/automl/space.cpp), every parameter, range, log flag and condition:
    eta               float [0.001, 0.3], log
    max_depth         int   [2, 10]
    min_child_weight  float [0.01, 20], log
    subsample         float [0.5, 1]
    colsample_bytree  float [0.4, 1]
    lambda            float [0.001, 10], log
    alpha             float [0.001, 10], log
    booster           categorical gbtree | dart
    rate_drop         float [0, 0.3]   only when booster = dart
    skip_drop         float [0, 0.5]   only when booster = dart
- Boosting rounds are not tuned: every trial trains up to --max-rounds
  (troupe's study_spec::max_resource, 243 in actors/automl/study.hpp) and
  reports the cross-validated metric to the pruner every --every rounds and
  at the last round. A trial's value is its metric at the round it ended.
- XGBoost parameters besides the tuned ones, as troupe's xgboost_params():
  objective binary:logistic | multi:softprob (num_class) | reg:squarederror,
  tree_method hist, nthread --threads, seed (--seed mod 2^31-1), verbosity 0.
- Cross-validation: StratifiedKFold(--folds, shuffle, --seed) for
  classification, KFold for regression; the metric averaged over the folds.
- Data, as troupe's preprocessor (actors/automl/dataset.hpp): cells trimmed
  of spaces and tabs; empty, "NA" and "?" are missing (NaN). A column is
  numeric when every present training cell is a finite number, otherwise
  categorical: ordinal codes of its training categories sorted bytewise, an
  unseen or missing category NaN. Columns with no training values are
  dropped. Rows whose target is missing are dropped. Classes are sorted
  (numerically for a numeric target) and numbered 0..K-1; for binary AUC the
  second class is the positive one.
- Metrics, as actors/automl/metrics.cpp: auc (binary, higher is better),
  logloss (probabilities clipped to [1e-15, 1 - 1e-15]) and rmse (lower is
  better).

The budget counts from the start of tuning (after the data is read and the
folds are built): no trial starts after it (study.optimize(timeout=...)), and
a trial still training when it is spent stops at its next round as pruned,
as troupe cancels its running trials at the deadline. Trace times count from
the same start.

Output, one JSON object on stdout:

  {"tool": "optuna", "cv_score": S, "test_score": S, "trials": N,
   "complete": C, "pruned": P, "failed": F, "best_params": {...},
   "trace": [[seconds_since_tuning_start, best_cv_so_far], ...],
   "tuning_s": T, "refit_s": R, "elapsed_s": E, ...}

with one trace point per completed trial; elapsed_s is the script's whole
run (reading, tuning, refit, scoring). cv_score and test_score are null when
no trial completed within the budget.

Run with Debian's interpreter (python3-optuna, python3-xgboost,
python3-sklearn; `deploy/install-deps.sh --bench` installs them):

  /usr/bin/python3 tests/bench/peers/optuna_quality.py \\
      --train TRAIN.csv --test TEST.csv --target COL \\
      --task binary|multiclass|regression --metric auc|logloss|rmse \\
      --budget-s 60 --seed 0 --folds 3 --threads 2
"""

import argparse
import csv
import json
import math
import re
import sys
import time
from collections import Counter

import numpy as np
import optuna
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

MISSING = {"", "NA", "?"}
# What troupe's parse_number accepts: a finite decimal number, optional sign.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# troupe's study_spec::max_resource (actors/automl/study.hpp).
TROUPE_MAX_ROUNDS = 243


def fail(message):
    sys.exit(f"optuna_quality: {message}")


# -- data ------------------------------------------------------------------


def read_csv(path):
    """(header, rows) of a CSV file: cells trimmed, missing ones as None."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        records = [r for r in csv.reader(f) if r]
    if len(records) < 2:
        fail(f"{path}: no header or no rows")
    header = [h.strip(" \t") for h in records[0]]
    rows = []
    for line, r in enumerate(records[1:], start=2):
        if len(r) != len(header):
            fail(f"{path}: record {line} has {len(r)} fields, expected {len(header)}")
        cells = [c.strip(" \t") for c in r]
        rows.append([None if c in MISSING else c for c in cells])
    return header, rows


def as_number(text):
    """The finite float `text` holds, or None."""
    if text is None or not NUMBER.fullmatch(text):
        return None
    v = float(text)
    return v if math.isfinite(v) else None


class Encoder:
    """Troupe's preprocessor: learns encodings from the training table."""

    def __init__(self, header, rows, target):
        if target not in header:
            fail(f"no target column {target!r} (columns: {', '.join(header)})")
        self.target = target
        t = header.index(target)
        rows = [r for r in rows if r[t] is not None]
        labels = [r[t] for r in rows]
        self.target_numeric = all(as_number(v) is not None for v in labels)
        if self.target_numeric:
            self.classes = sorted({as_number(v) for v in labels})
        else:
            self.classes = sorted(set(labels))
        # Features: (name, None) for numeric, (name, {category: code}).
        self.features = []
        for j, name in enumerate(header):
            if j == t:
                continue
            present = [r[j] for r in rows if r[j] is not None]
            if not present:
                continue  # no values: dropped
            if all(as_number(v) is not None for v in present):
                self.features.append((name, None))
            else:
                cats = sorted(set(present))
                self.features.append((name, {c: i for i, c in enumerate(cats)}))

    def transform(self, header, rows, task, source):
        """(X, y) of a table; rows without a target are dropped."""
        t = header.index(self.target) if self.target in header else None
        if t is None:
            fail(f"{source}: no target column {self.target!r}")
        rows = [r for r in rows if r[t] is not None]
        X = np.full((len(rows), len(self.features)), np.nan, dtype=np.float32)
        for k, (name, codes) in enumerate(self.features):
            if name not in header:
                fail(f"{source}: no feature column {name!r}")
            j = header.index(name)
            for i, r in enumerate(rows):
                v = r[j]
                if v is None:
                    continue
                if codes is None:
                    x = as_number(v)
                    if x is None:
                        fail(f"{source}: row {i + 2}, column {name!r}: {v!r} is not a number")
                    X[i, k] = x
                elif v in codes:
                    X[i, k] = codes[v]
        if task == "regression":
            y = [as_number(r[t]) for r in rows]
            if any(v is None for v in y):
                fail(f"{source}: regression target {self.target!r} is not numeric")
            return X, np.asarray(y, dtype=np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        y = []
        for r in rows:
            key = as_number(r[t]) if self.target_numeric else r[t]
            if key not in index:
                fail(f"{source}: class {r[t]!r} was not in the training data")
            y.append(index[key])
        return X, np.asarray(y, dtype=np.float32)


# -- metrics (as actors/automl/metrics.cpp) --------------------------------


def auc(y, score):
    """ROC AUC (Mann-Whitney U, ties with half credit); NaN if one class."""
    if np.all(y == y[0]):
        return float("nan")
    return float(roc_auc_score(y, score))


def logloss(y, p):
    eps = 1e-15
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        q = np.clip(p, eps, 1 - eps)
        return float(-np.mean(np.where(y == 1, np.log(q), np.log(1 - q))))
    q = np.clip(p[np.arange(len(y)), y.astype(int)], eps, 1 - eps)
    return float(-np.mean(np.log(q)))


def rmse(y, pred):
    d = np.asarray(pred, dtype=np.float64) - y
    return float(np.sqrt(np.mean(d * d)))


METRICS = {"auc": (auc, "maximize"), "logloss": (logloss, "minimize"), "rmse": (rmse, "minimize")}


# -- tuning ----------------------------------------------------------------


def suggest(trial):
    """A configuration of troupe's default xgboost space, in its order."""
    p = {
        "eta": trial.suggest_float("eta", 1e-3, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 1e-2, 20, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1),
        "lambda": trial.suggest_float("lambda", 1e-3, 10, log=True),
        "alpha": trial.suggest_float("alpha", 1e-3, 10, log=True),
        "booster": trial.suggest_categorical("booster", ["gbtree", "dart"]),
    }
    if p["booster"] == "dart":
        p["rate_drop"] = trial.suggest_float("rate_drop", 0, 0.3)
        p["skip_drop"] = trial.suggest_float("skip_drop", 0, 0.5)
    return p


def base_params(args, n_classes):
    """XGBoost's fixed parameters, as troupe's xgboost_params()."""
    p = {"tree_method": "hist", "nthread": args.threads,
         "seed": args.seed % 2147483647, "verbosity": 0}
    if args.task == "binary":
        p["objective"] = "binary:logistic"
    elif args.task == "multiclass":
        p["objective"] = "multi:softprob"
        p["num_class"] = n_classes
    else:
        p["objective"] = "reg:squarederror"
    return p


def make_folds(args, X, y):
    """[(dtrain, dvalid, yvalid)] of the cross-validation."""
    return [(xgb.DMatrix(X[tr], label=y[tr], missing=np.nan, nthread=args.threads),
             xgb.DMatrix(X[va], label=y[va], missing=np.nan, nthread=args.threads),
             y[va])
            for tr, va in cv_splits(args, X, y)]


def suggest_user(trial):
    """A configuration of the space an XGBoost user writes (--space user)."""
    return {
        "eta": trial.suggest_float("eta", 1e-3, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 12),
        "min_child_weight": trial.suggest_float("min_child_weight", 1e-2, 20, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1),
        "lambda": trial.suggest_float("lambda", 1e-3, 10, log=True),
        "alpha": trial.suggest_float("alpha", 1e-3, 10, log=True),
        "n_rounds": trial.suggest_int("n_rounds", 20, 600, log=True),
    }


def feature_types(enc):
    """XGBoost's feature types: "c" for a categorical column, "q" otherwise."""
    return ["q" if codes is None else "c" for _, codes in enc.features]


def main():
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", required=True, choices=["binary", "multiclass", "regression"])
    parser.add_argument("--metric", required=True, choices=sorted(METRICS))
    parser.add_argument("--budget-s", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-rounds", type=int, default=TROUPE_MAX_ROUNDS,
                        help="boosting rounds of a full trial [%(default)s]")
    parser.add_argument("--every", type=int, default=10,
                        help="rounds between reports to the pruner [%(default)s]")
    parser.add_argument("--space", choices=["user", "troupe", "cash"], default="user",
                        help="which peer (see above) [%(default)s]")
    parser.add_argument("--jobs", type=int, default=1,
                        help="--space user: trials at once [%(default)s]")
    args = parser.parse_args()
    if args.metric == "auc" and args.task != "binary":
        fail("auc needs --task binary")
    if args.metric == "logloss" and args.task == "regression":
        fail("logloss needs a classification task")
    if args.metric == "rmse" and args.task != "regression":
        fail("rmse needs --task regression")
    if args.folds < 2 or args.max_rounds < 1 or args.every < 1:
        fail("--folds must be >= 2, --max-rounds and --every >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric, direction = METRICS[args.metric]

    header, rows = read_csv(args.train)
    enc = Encoder(header, rows, args.target)
    X, y = enc.transform(header, rows, args.task, args.train)
    test_header, test_rows = read_csv(args.test)
    X_test, y_test = enc.transform(test_header, test_rows, args.task, args.test)
    n_classes = len(enc.classes)
    if args.task == "binary" and n_classes != 2:
        fail(f"--task binary, but the target has {n_classes} classes")
    params = base_params(args, n_classes)
    if args.space == "user":
        return main_user(args, start, enc, X, y, X_test, y_test, params, metric,
                         direction)
    if args.space == "cash":
        return main_cash(args, start, enc, X, y, X_test, y_test, params, metric,
                         direction)
    folds = make_folds(args, X, y)

    def objective(trial):
        cfg = {**params, **suggest(trial)}
        boosters = [xgb.Booster(cfg, [dtrain]) for dtrain, _, _ in folds]
        value = float("nan")
        for r in range(1, args.max_rounds + 1):
            # The same wall-clock budget as troupe's: a trial still training
            # when it is spent ends there (troupe cancels it), unfinished.
            if time.perf_counter() - tuning_start > args.budget_s:
                raise optuna.TrialPruned()
            for b, (dtrain, _, _) in zip(boosters, folds):
                b.update(dtrain, r - 1)
            if r % args.every != 0 and r != args.max_rounds:
                continue
            value = float(np.mean([metric(yv, b.predict(dv))
                                   for b, (_, dv, yv) in zip(boosters, folds)]))
            trial.report(value, r)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    tuning_start = time.perf_counter()
    trace = []

    def record(study, trial):
        if trial.state == optuna.trial.TrialState.COMPLETE:
            trace.append([round(time.perf_counter() - tuning_start, 3), study.best_value])

    study = optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    study.optimize(objective, timeout=args.budget_s, callbacks=[record])
    tuning_s = time.perf_counter() - tuning_start

    states = Counter(t.state for t in study.trials)
    TrialState = optuna.trial.TrialState
    complete = states[TrialState.COMPLETE]
    out = {"tool": "optuna", "cv_score": None, "test_score": None,
           "trials": sum(states.values()), "complete": complete,
           "pruned": states[TrialState.PRUNED], "failed": states[TrialState.FAIL],
           "best_params": None, "trace": trace}
    refit_s = 0.0
    if complete:
        best = study.best_trial
        out["cv_score"] = best.value
        out["best_params"] = best.params
        refit_start = time.perf_counter()
        dall = xgb.DMatrix(X, label=y, missing=np.nan, nthread=args.threads)
        model = xgb.train({**params, **best.params}, dall, num_boost_round=args.max_rounds)
        pred = model.predict(xgb.DMatrix(X_test, missing=np.nan, nthread=args.threads))
        out["test_score"] = metric(y_test, pred)
        refit_s = time.perf_counter() - refit_start
    out.update({"metric": args.metric, "task": args.task, "budget_s": args.budget_s,
                "max_rounds": args.max_rounds, "every": args.every, "folds": args.folds,
                "threads": args.threads, "seed": args.seed, "train_rows": int(len(y)),
                "test_rows": int(len(y_test)), "features": len(enc.features),
                "tuning_s": round(tuning_s, 3), "refit_s": round(refit_s, 3),
                "elapsed_s": round(time.perf_counter() - start, 3),
                "optuna_version": optuna.__version__, "xgboost_version": xgb.__version__})
    json.dump(out, sys.stdout)
    print()


def cv_splits(args, X, y):
    """The cross-validation's (train, valid) row indices."""
    if args.task == "regression":
        splitter = KFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    else:
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    return list(splitter.split(X, y))


def tune_and_report(args, start, space, objective, direction, test_score_of, extra,
                    catch=()):
    """Runs the TPE study within the budget, refits its best configuration
    (test_score_of(best_params) -> test score) and prints the JSON result."""
    tuning_start = time.perf_counter()
    trace = []

    def record(study, trial):
        if trial.state == optuna.trial.TrialState.COMPLETE:
            trace.append([round(time.perf_counter() - tuning_start, 3), study.best_value])

    def timed(trial):
        # the same wall-clock budget as troupe's: a trial still training when
        # it is spent does not count
        return objective(trial, lambda: time.perf_counter() - tuning_start > args.budget_s)

    study = optuna.create_study(direction=direction,
                                sampler=optuna.samplers.TPESampler(seed=args.seed))
    study.optimize(timed, timeout=args.budget_s, n_jobs=args.jobs, callbacks=[record],
                   catch=catch)
    tuning_s = time.perf_counter() - tuning_start
    states = Counter(t.state for t in study.trials)
    TrialState = optuna.trial.TrialState
    complete = states[TrialState.COMPLETE]
    out = {"tool": "optuna", "space": space, "cv_score": None, "test_score": None,
           "trials": sum(states.values()), "complete": complete,
           "pruned": states[TrialState.PRUNED], "failed": states[TrialState.FAIL],
           "best_params": None, "trace": trace}
    refit_s = 0.0
    if complete:
        best = study.best_trial
        out["cv_score"] = best.value
        out["best_params"] = best.params
        refit_start = time.perf_counter()
        out["test_score"] = test_score_of(best.params)
        refit_s = time.perf_counter() - refit_start
    out.update({"metric": args.metric, "task": args.task, "budget_s": args.budget_s,
                "folds": args.folds, "threads": args.threads, "jobs": args.jobs,
                "seed": args.seed, **extra,
                "tuning_s": round(tuning_s, 3), "refit_s": round(refit_s, 3),
                "elapsed_s": round(time.perf_counter() - start, 3),
                "optuna_version": optuna.__version__, "xgboost_version": xgb.__version__})
    json.dump(out, sys.stdout)
    print()


def main_user(args, start, enc, X, y, X_test, y_test, params, metric, direction):
    """The plain Optuna script over the user's space (--space user)."""
    types = feature_types(enc)

    def matrix(rows, labels=None):
        return xgb.DMatrix(rows, label=labels, missing=np.nan, nthread=args.threads,
                           feature_types=types, enable_categorical=True)

    folds = [(matrix(X[tr], y[tr]), matrix(X[va]), y[va]) for tr, va in cv_splits(args, X, y)]

    def objective(trial, spent):
        cfg = suggest_user(trial)
        rounds = cfg.pop("n_rounds")
        scores = []
        for dtrain, dvalid, yvalid in folds:
            if spent():
                raise optuna.TrialPruned()
            b = xgb.train({**params, **cfg}, dtrain, num_boost_round=rounds)
            scores.append(metric(yvalid, b.predict(dvalid)))
        return float(np.mean(scores))

    def test_score_of(best):
        cfg = dict(best)
        rounds = cfg.pop("n_rounds")
        model = xgb.train({**params, **cfg}, matrix(X, y), num_boost_round=rounds)
        return metric(y_test, model.predict(matrix(X_test)))

    tune_and_report(args, start, "user", objective, direction, test_score_of,
                    {"train_rows": int(len(y)), "test_rows": int(len(y_test)),
                     "features": len(enc.features),
                     "categorical": sum(1 for t in types if t == "c")})


def main_cash(args, start, enc, X, y, X_test, y_test, params, metric, direction):
    """Optuna over a CASH space of scikit-learn and XGBoost (--space cash)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    types = feature_types(enc)
    cat = [i for i, t in enumerate(types) if t == "c"]
    num = [i for i, t in enumerate(types) if t == "q"]
    classify = args.task != "regression"

    def scores_of(model, rows):
        if not classify:
            return model.predict(rows)
        p = model.predict_proba(rows)
        return p[:, 1] if args.task == "binary" else p

    def build(trial):
        family = trial.suggest_categorical(
            "family", ["xgboost", "random_forest", "extra_trees", "knn", "linear"])
        if family == "xgboost":
            cfg = suggest_user(trial)
            rounds = cfg.pop("n_rounds")
            return ("xgboost", {**params, **cfg, "nthread": 1}, rounds)
        imputer = trial.suggest_categorical("imputer", ["mean", "median"])
        encoding = trial.suggest_categorical("encoding", ["onehot", "ordinal"])
        scale = family in ("knn", "linear") and \
            trial.suggest_categorical("scaling", ["standard", "none"]) == "standard"
        parts = []
        if num:
            steps = [("impute", SimpleImputer(strategy=imputer))]
            if scale:
                steps.append(("scale", StandardScaler()))
            parts.append(("num", Pipeline(steps), num))
        if cat:
            steps = [("impute", SimpleImputer(strategy="most_frequent"))]
            if encoding == "onehot":
                steps.append(("onehot", OneHotEncoder(handle_unknown="ignore")))
            parts.append(("cat", Pipeline(steps), cat))
        prep = ColumnTransformer(parts)
        if family in ("random_forest", "extra_trees"):
            kw = dict(n_estimators=trial.suggest_int(family + "_trees", 50, 400, log=True),
                      max_features=trial.suggest_float(family + "_max_features", 0.1, 1.0),
                      min_samples_leaf=trial.suggest_int(family + "_min_leaf", 1, 20, log=True),
                      n_jobs=1, random_state=args.seed)
            cls = {("random_forest", True): RandomForestClassifier,
                   ("random_forest", False): RandomForestRegressor,
                   ("extra_trees", True): ExtraTreesClassifier,
                   ("extra_trees", False): ExtraTreesRegressor}[(family, classify)]
            est = cls(**kw)
        elif family == "knn":
            kw = dict(n_neighbors=trial.suggest_int("knn_k", 1, 50, log=True),
                      weights=trial.suggest_categorical("knn_weights", ["uniform", "distance"]))
            est = KNeighborsClassifier(**kw) if classify else KNeighborsRegressor(**kw)
        else:
            strength = trial.suggest_float("linear_c", 1e-4, 1e3, log=True)
            if classify:
                l1 = trial.suggest_float("linear_l1_ratio", 0, 1)
                est = LogisticRegression(C=strength, penalty="elasticnet", solver="saga",
                                         l1_ratio=l1, max_iter=300)
            else:
                est = Ridge(alpha=1.0 / strength)
        return ("sklearn", Pipeline([("prep", prep), ("model", est)]), None)

    def fit_score(built, Xtr, ytr, Xva, yva):
        kind, model, rounds = built
        if kind == "xgboost":
            dtr = xgb.DMatrix(Xtr, label=ytr, missing=np.nan, nthread=1,
                              feature_types=types, enable_categorical=True)
            dva = xgb.DMatrix(Xva, missing=np.nan, nthread=1,
                              feature_types=types, enable_categorical=True)
            b = xgb.train(model, dtr, num_boost_round=rounds)
            return metric(yva, b.predict(dva))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xtr, ytr if not classify else ytr.astype(int))
        return metric(yva, scores_of(model, Xva))

    folds = cv_splits(args, X, y)

    def objective(trial, spent):
        built = build(trial)
        scores = []
        for tr, va in folds:
            if spent():
                raise optuna.TrialPruned()
            scores.append(fit_score(built, X[tr], y[tr], X[va], y[va]))
        return float(np.mean(scores))

    def test_score_of(best):
        return fit_score(build(optuna.trial.FixedTrial(best)), X, y, X_test, y_test)

    tune_and_report(args, start, "cash", objective, direction, test_score_of,
                    {"train_rows": int(len(y)), "test_rows": int(len(y_test)),
                     "features": len(enc.features)},
                    catch=(ValueError,))


if __name__ == "__main__":
    main()
