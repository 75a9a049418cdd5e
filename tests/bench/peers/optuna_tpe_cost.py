#!/usr/bin/python3
"""Optuna's side of bench_tpe: the cost of one TPE suggestion given a history.

For each case of the input file, builds an in-memory study holding the case's
first `n` trials (COMPLETE, with the case's objective values and its first
`params` parameters), made with optuna.trial.create_trial and added with
study.add_trials, and a TPESampler(seed=SEED) with Optuna's defaults. One
suggestion is `study.ask()` followed by one suggest_float / suggest_int per
parameter, in the space's order; it is timed `reps` times (after `warmup`
untimed ones) and the asked trial is then told FAIL outside the timing, so
the history the sampler sees stays the same (TPE ignores failed trials).

Input (written by tests/bench/bench_tpe.cpp, which runs this script):

  {"seed": S,
   "warmup": W,
   "space":  [{"name": "x00", "type": "float"|"int", "low": L, "high": H,
               "log": bool}, ...],
   "trials": [{"x00": v, ...}, ...],          # every parameter of the space
   "cases":  [{"n": N, "params": P, "reps": R, "values": [y0, ...]}, ...]}

Output, one JSON object on stdout:

  {"tool": "optuna", "optuna_version": "3.1.0",
   "cases": [{"n": N, "params": P, "reps": R,
              "us": [one suggestion's microseconds, ...]}, ...]}

Run with Debian's interpreter, which has python3-optuna:

  /usr/bin/python3 tests/bench/peers/optuna_tpe_cost.py --input CASES.json
"""

import argparse
import json
import sys
import time

import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState


def distribution(p):
    """The Optuna distribution of one parameter of the input's space."""
    if p["type"] == "float":
        return FloatDistribution(p["low"], p["high"], log=p["log"])
    if p["type"] == "int":
        return IntDistribution(int(p["low"]), int(p["high"]), log=p["log"])
    raise ValueError(f"parameter {p['name']}: unknown type {p['type']!r}")


def suggest(trial, p):
    """Asks `trial` for parameter `p`, as an objective function would."""
    if p["type"] == "float":
        return trial.suggest_float(p["name"], p["low"], p["high"], log=p["log"])
    return trial.suggest_int(p["name"], int(p["low"]), int(p["high"]), log=p["log"])


def measure(spec, case):
    """Microseconds of each of the case's timed suggestions."""
    space = spec["space"][: case["params"]]
    dists = {p["name"]: distribution(p) for p in space}
    trials = []
    for row, value in zip(spec["trials"][: case["n"]], case["values"]):
        params = {}
        for p in space:
            v = row[p["name"]]
            params[p["name"]] = int(v) if p["type"] == "int" else float(v)
        trials.append(
            optuna.trial.create_trial(params=params, distributions=dists, value=value)
        )
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=spec["seed"])
    )
    study.add_trials(trials)

    times = []
    for i in range(spec["warmup"] + case["reps"]):
        start = time.perf_counter()
        trial = study.ask()
        for p in space:
            suggest(trial, p)
        elapsed = time.perf_counter() - start
        study.tell(trial, state=TrialState.FAIL)
        if i >= spec["warmup"]:
            times.append(elapsed * 1e6)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="cases file (JSON)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with open(args.input) as f:
        spec = json.load(f)
    out = {"tool": "optuna", "optuna_version": optuna.__version__, "cases": []}
    for case in spec["cases"]:
        if len(case["values"]) != case["n"] or case["n"] > len(spec["trials"]):
            sys.exit(f"optuna_tpe_cost: case n={case['n']}: bad values or trials")
        out["cases"].append(
            {
                "n": case["n"],
                "params": case["params"],
                "reps": case["reps"],
                "us": measure(spec, case),
            }
        )
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
