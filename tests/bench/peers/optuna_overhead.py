#!/usr/bin/python3
"""Optuna's side of the trial-overhead benchmark: how fast it runs trials.

Runs --trials trials of an in-memory study (Optuna 3.1). Each trial's
objective suggests one float x in [0, 1] and returns it; with --sleep-s S it
first sleeps S seconds (a stand-in for training). --jobs J runs J trials at a
time (study.optimize(n_jobs=J), Optuna's threads); --sampler picks
RandomSampler or TPESampler (defaults), both seeded with --seed. Optuna's
per-trial INFO logging is turned off, as a benchmark run would.

The time counts study creation and study.optimize, not the interpreter's
start or the imports.

Output, one JSON object on stdout:

  {"tool": "optuna", "trials": N, "elapsed_s": T, "trials_per_s": N / T,
   "sampler": "random"|"tpe", "jobs": J, "sleep_s": S,
   "optuna_version": "3.1.0"}

Run with Debian's interpreter (python3-optuna):

  /usr/bin/python3 tests/bench/peers/optuna_overhead.py --trials 1000
  /usr/bin/python3 tests/bench/peers/optuna_overhead.py --trials 100 \\
      --sleep-s 0.01 --jobs 4 --sampler tpe
"""

import argparse
import json
import sys
import time

import optuna


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--sleep-s", type=float, default=0.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--sampler", choices=["random", "tpe"], default="random")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.trials < 1 or args.jobs < 1 or args.sleep_s < 0:
        sys.exit("optuna_overhead: --trials and --jobs must be >= 1, --sleep-s >= 0")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        if args.sleep_s > 0:
            time.sleep(args.sleep_s)
        return x

    start = time.perf_counter()
    if args.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=args.seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=args.seed)
    study = optuna.create_study(sampler=sampler)  # in-memory storage
    study.optimize(objective, n_trials=args.trials, n_jobs=args.jobs)
    elapsed = time.perf_counter() - start

    done = len(study.trials)
    json.dump({"tool": "optuna", "trials": done, "elapsed_s": round(elapsed, 6),
               "trials_per_s": round(done / elapsed, 3), "sampler": args.sampler,
               "jobs": args.jobs, "sleep_s": args.sleep_s,
               "optuna_version": optuna.__version__}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
