#!/usr/bin/env bash
# The README's main command, as a newcomer runs it: deploy/quickstart.sh
# (dependencies already present, build up to date) with a short budget. It
# must print a leaderboard, save the best model with its preprocessing and
# predict with it.
set -euo pipefail
fail() {
  echo "quickstart_test: $*" >&2
  exit 1
}
[[ -n ${TROUPE_SOURCE_DIR:-} ]] || fail "TROUPE_SOURCE_DIR is not set"
out=$PWD/out
log=$PWD/quickstart.log
TROUPE_QUICKSTART_OUT=$out timeout 300 bash "$TROUPE_SOURCE_DIR/deploy/quickstart.sh" \
  --budget 8s --slots 2 >"$log" 2>&1 || {
  cat "$log" >&2
  fail "quickstart.sh failed"
}
grep -q "leaderboard (auc, higher is better)" "$log" || fail "no leaderboard in: $(cat "$log")"
grep -q "best model: " "$log" || fail "no best model line"
study_dir=$(find "$out" -mindepth 1 -maxdepth 1 -name 'pima-*' -type d | head -n 1)
[[ -n $study_dir ]] || fail "no study folder under $out"
for f in best/model.json best/preprocessor.json summary.json predictions.csv; do
  [[ -s $study_dir/$f ]] || fail "missing $study_dir/$f"
done
# the model's own files: model.ubj, or each member model.json lists
/usr/bin/env python3 - "$study_dir/best" <<'PY' || fail "a model file is missing"
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "model.json")))
files = [e["file"] for e in m.get("ensemble", [])] or ["model.ubj"]
for f in files:
    assert os.path.getsize(os.path.join(d, f)) > 0, f
PY
[[ $(head -n 1 "$study_dir/predictions.csv") == "prediction,p_pos" ]] \
  || fail "predictions header is $(head -n 1 "$study_dir/predictions.csv")"
rows=$(($(wc -l <"$study_dir/predictions.csv") - 1))
((rows == 768)) || fail "expected 768 predictions, got $rows"
# The CV score in the summary is a real AUC of a useful model.
/usr/bin/env python3 - "$study_dir/summary.json" <<'PY' || fail "summary check failed"
import json, sys
s = json.load(open(sys.argv[1]))
cv = s["best"]["cv_score"]
assert s["metric"] == "auc" and 0.75 < cv <= 1.0, cv
assert s["trials"]["complete"] >= 1, s["trials"]
PY
echo "quickstart_test: ok"
