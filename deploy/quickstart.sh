#!/usr/bin/env bash
# Installs the dependencies, builds troupe and runs the main job on the
# embedded single-node default: an AutoML study (XGBoost, TPE + ASHA) on the
# shipped Pima diabetes data, with a live progress bar, a leaderboard, the
# best model refitted and saved with its preprocessing, then predictions from
# the saved model.
#
#   deploy/quickstart.sh [ARGS...]   extra ARGS go to `troupe automl`
#                                    (e.g. --budget 5m --slots 4)
# Environment: TROUPE_QUICKSTART_OUT  output folder [runs/quickstart]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh" troupe
out=${TROUPE_QUICKSTART_OUT:-$root/runs/quickstart}
data=$root/deploy/examples/pima_diabetes.csv
study=pima-$(date +%Y%m%d-%H%M%S)
"$root/build/bin/troupe" automl --data "$data" --target diabetes \
  --budget 60s --out "$out" --study "$study" "$@"
"$root/build/bin/troupe" predict --model "$out/$study/best" --data "$data" \
  --out "$out/$study/predictions.csv"
echo
echo "predictions of the saved model ($out/$study/predictions.csv), first rows:"
sed -n '1,6p' "$out/$study/predictions.csv"
