#!/usr/bin/env bash
# `troupe train` survives kill -9 of its own process: a sparse-lr job that
# checkpoints every 0.2 s is killed after its first checkpoint, and
# `troupe train --resume JOB` continues it from the journal's last
# checkpoint to the end. Its model equals, weight for weight, the model of
# the same job run without interruption: nothing before the checkpoint was
# lost and no step was trained twice. A finished job and an unknown one
# are refused (exit 2).
set -euo pipefail
fail() {
  echo "train_resume_test: $*" >&2
  exit 1
}
[[ -n ${TROUPE_BIN:-} ]] || fail "TROUPE_BIN is not set"
[[ -n ${TROUPE_SOURCE_DIR:-} ]] || fail "TROUPE_SOURCE_DIR is not set"
cp "$TROUPE_SOURCE_DIR/tests/data/spam.csv" spam.csv
cat >job.toml <<'TOML'
family = "sparse-lr"
[data]
train = "spam.csv"
target = "type"
[features]
bits = 22
crosses = [["remove", "free"]]
[model]
alpha = 0.1
l1 = 0.5
l2 = 1.0
[run]
workers = 1
shards = 2
consistency = "sync"
batch = 4
epochs = 150
checkpoint_seconds = 0.2
TOML

"$TROUPE_BIN" train --config job.toml --out out --job long >run1.txt 2>&1 &
pid=$!
for ((i = 0; i < 400; i++)); do
  grep -q "checkpoint at step" run1.txt && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
grep -q "checkpoint at step" run1.txt || fail "no checkpoint line: $(cat run1.txt)"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
! grep -q "^finished" run1.txt || fail "the job finished before it was killed"
[[ ! -e out/summary.json ]] || fail "a killed job wrote a summary"
last=$(grep -o "checkpoint at step [0-9]*" run1.txt | tail -n1 | grep -o "[0-9]*$")

rc=0
"$TROUPE_BIN" train --resume long --out out --quiet >run2.txt 2>err2.txt || rc=$?
((rc == 0)) || fail "resume exited $rc: $(cat err2.txt)"
from=$(grep -o "resumed from step [0-9]*" run2.txt | grep -o "[0-9]*$")
[[ -n $from ]] || fail "no 'resumed from step' line: $(cat run2.txt)"
((from >= last && from > 0)) || fail "resumed from step $from, the last checkpoint shown was $last"

# the same job, never interrupted
"$TROUPE_BIN" train --config job.toml --out straight --job straight --quiet >/dev/null 2>err3.txt ||
  fail "the uninterrupted job failed: $(cat err3.txt)"
python3 - out/summary.json out/model.json straight/model.json "$from" <<'PY' || fail "the resumed model differs from the uninterrupted one"
import json, sys
s = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
b = json.load(open(sys.argv[3]))
assert s["attempts"] == 2, s
assert s["resumed_from_step"] == int(sys.argv[4]), s
assert s["examples"] == 150 * s["train_rows"], s
assert a["keys"] == b["keys"] and a["weights"] == b["weights"], "weights differ"
PY

rc=0
"$TROUPE_BIN" train --resume long --out out >/dev/null 2>err4.txt || rc=$?
((rc == 2)) || fail "resuming a finished job: exit $rc, expected 2"
grep -q "finished already" err4.txt || fail "no 'finished already' in: $(cat err4.txt)"
rc=0
"$TROUPE_BIN" train --resume ghost --out out >/dev/null 2>err5.txt || rc=$?
((rc == 2)) || fail "resuming an unknown job: exit $rc, expected 2"
grep -q "no job 'ghost'" err5.txt || fail "no \"no job 'ghost'\" in: $(cat err5.txt)"
echo "train_resume_test: PASS"
