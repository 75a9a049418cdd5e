#!/usr/bin/env bash
# `troupe train` as a user runs it: a sparse-lr job (parameter-server
# logistic regression over hashed features) on the shipped spam data, two
# workers and two shards, writes a model and a summary whose validation AUC
# shows it learnt; a data-parallel XGBoost job (two workers) on the Boston
# housing data writes a model directory that `troupe predict` loads; a
# data-parallel MLP job (two workers) on the shipped Fashion-MNIST subset
# writes a TorchScript model, and so do jobs of a user's TorchScript module
# (a CNN on the images, a net on a table); a pipeline job (three stage
# actors, GPipe) and a tensor-parallel one (two workers) learn the images
# too; a GraphSAGE job (two workers, two graph shards) beats the majority
# class on the package graph's sample; bad configs are refused with exit
# 2, naming the file, the line and the key.
set -euo pipefail
fail() {
  echo "train_cli_test: $*" >&2
  exit 1
}
[[ -n ${TROUPE_BIN:-} ]] || fail "TROUPE_BIN is not set"
[[ -n ${TROUPE_SOURCE_DIR:-} ]] || fail "TROUPE_SOURCE_DIR is not set"
data=$TROUPE_SOURCE_DIR/tests/data/spam.csv
[[ -r $data ]] || fail "no dataset at $data"
# train_ok WHAT ARGS...: `troupe train ARGS` exits 0 (output in out.txt,
# err.txt), or the test fails naming WHAT
train_ok() {
  local what=$1 rc=0
  shift
  "$TROUPE_BIN" train "$@" >out.txt 2>err.txt || rc=$?
  ((rc == 0)) || fail "$what exited $rc: $(cat err.txt)"
}

cp "$data" spam.csv
cat >job.toml <<'TOML'
family = "sparse-lr"
[data]
train = "spam.csv"   # relative to this file
target = "type"
valid_fraction = 0.25
[features]
bits = 22
buckets = 16
crosses = [["remove", "free"], ["hp", "george"]]
[model]
optimizer = "ftrl"
alpha = 0.1
l1 = 0.5
l2 = 1.0
[run]
workers = 2
shards = 2
consistency = "ssp:2"
batch = 16
epochs = 3
valid_every = 40
TOML
train_ok "troupe train" --config job.toml --out out
grep -q "validation: logloss" out.txt || fail "no validation line in: $(cat out.txt)"
[[ -s out/model.json && -s out/summary.json ]] || fail "no model.json or summary.json in out/"
python3 - out/summary.json out/model.json <<'PY' || fail "the summary does not show a trained model"
import json, sys
s = json.load(open(sys.argv[1]))
m = json.load(open(sys.argv[2]))
assert s["workers"] == 2 and s["shards"] == 2, s
assert s["train_rows"] + s["valid_rows"] == 4601, s
assert s["examples"] == 3 * s["train_rows"], s
assert s["valid"]["auc"] > 0.95, s["valid"]
assert s["valid"]["logloss"] < 0.3, s["valid"]
assert m["format"] == "troupe.sparse_lr" and len(m["keys"]) == len(m["weights"]) > 50
assert m["transform"]["target"] == "type"
h = s["valid_history"]  # every 40 steps of the slowest worker
assert len(h) >= 2, h
assert all(a["step"] < b["step"] and a["seconds"] <= b["seconds"]
           for a, b in zip(h, h[1:])), h
assert all(x["step"] >= 40 * (i + 1) for i, x in enumerate(h)), h
assert h[-1]["auc"] > 0.9, h
PY

# bad configs: exit 2, file:line: and the key
expect_refused() {
  local what=$1 want=$2
  rc=0
  "$TROUPE_BIN" train --config bad.toml --out bad >out.txt 2>err.txt || rc=$?
  ((rc == 2)) || fail "$what: exit $rc, expected 2: $(cat err.txt)"
  grep -qF -- "$want" err.txt || fail "$what: expected '$want' in: $(cat err.txt)"
}
printf 'family = "sparse-lr"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[run]\nwrkers = 2\n' >bad.toml
expect_refused "a misspelt key" "bad.toml:6: unknown key 'run.wrkers'"
printf 'family = "sparse-lr"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[run]\ndata_wait_alert = 1.5\n' >bad.toml
expect_refused "a share above 1" "bad.toml:6: 'run.data_wait_alert' is a share of the workers' time"
printf 'family = "deep-forest"\n' >bad.toml
expect_refused "an unknown family" "bad.toml:1: unknown family 'deep-forest'"
printf 'family = "sparse-lr"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[run]\nconsistency = "eventual"\n' >bad.toml
expect_refused "a bad consistency" "bad.toml:6: consistency 'eventual'"
printf 'family = "sparse-lr"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[model]\nalpha = -1\n' >bad.toml
expect_refused "a negative alpha" "bad.toml:6: alpha"
printf 'family = "sparse-lr"\n[data]\ntrain = "spam.csv"\ntarget = "nope"\n' >bad.toml
expect_refused "an unknown target" "no target column 'nope'"
printf 'family = "xgboost"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[features]\nbits = 20\n' >bad.toml
expect_refused "hashing for xgboost" "bad.toml:5: [features] is for sparse-lr"
printf 'family = "xgboost"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[model]\neta = 2\n' >bad.toml
expect_refused "an eta above 1" "bad.toml:6: 'model.eta' = 2.000000 is out of range (0, 1]"
printf 'family = "xgboost"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[model]\ndepth = 3\n' >bad.toml
expect_refused "a misspelt XGBoost key" "bad.toml:6: unknown key 'model.depth' (expected rounds, eta, max_depth"
printf 'family = "mlp"\n[data]\nimages = "fm"\n[model]\nactivation = "sigmoid"\n' >bad.toml
expect_refused "an unknown activation" "bad.toml:5: 'model.activation' = 'sigmoid' (expected relu, gelu or tanh)"
printf 'family = "xgboost"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[run]\nvalid_every = 10\n' >bad.toml
expect_refused "valid_every for xgboost" "bad.toml:6: 'run.valid_every' is not a setting of family xgboost"
printf 'family = "mlp"\n[data]\nimages = "fm"\n[run]\nshards = 2\n' >bad.toml
expect_refused "shards for an mlp" "bad.toml:5: 'run.shards' is not a setting of family mlp"
printf 'family = "mlp"\n[data]\ntrain = "spam.csv"\ntarget = "type"\n[model]\nconv = [8]\n' >bad.toml
expect_refused "a CNN of a table" "bad.toml:1: [model] conv (a CNN) reads images"
printf 'family = "mlp"\n[data]\nimages = "fm"\n[model]\nconv = [8, 0]\n' >bad.toml
expect_refused "a conv layer of no channel" "bad.toml:5: 'model.conv' is not a list of at most 4 channel counts"
printf 'family = "mlp"\n[data]\nimages = "fm"\n[model]\nrecompute = 1\n' >bad.toml
expect_refused "a recompute that is not a flag" "bad.toml:5: 'model.recompute' must be true or false"
printf 'family = "torchscript"\n[data]\nimages = "fm"\n[model]\nlayers = 2\n' >bad.toml
expect_refused "layers of a user's module" "bad.toml:5: 'model.layers' is not a setting of family torchscript"
printf 'family = "torchscript"\n[data]\nimages = "fm"\n' >bad.toml
expect_refused "a torchscript job without its module" "bad.toml:1: no [model] module"
printf 'family = "mlp"\n[data]\nimages = "fm"\n[model]\nmodule = "net.pt"\n' >bad.toml
expect_refused "a module for an mlp" "bad.toml:5: 'model.module' is not a setting of family mlp"
[[ ! -e bad/model.json ]] || fail "a refused job wrote a model"

# data-parallel XGBoost: a regression on Boston housing, two workers
cp "$TROUPE_SOURCE_DIR/tests/data/boston_housing.csv" boston.csv
cat >boost.toml <<'TOML'
family = "xgboost"
[data]
train = "boston.csv"
target = "cmedv"   # the median house value
valid_fraction = 0.2
[model]
rounds = 120
eta = 0.1
max_depth = 4
[run]
workers = 2
checkpoint_seconds = 0.01
TOML
train_ok "troupe train (xgboost)" --config boost.toml --out boost
grep -q "xgboost, 2 worker(s) x 1 thread(s), 120 rounds" out.txt || fail "no job line in: $(cat out.txt)"
grep -q "validation: RMSE" out.txt || fail "no RMSE in: $(cat out.txt)"
[[ -s boost/model/model.ubj && -s boost/model/preprocessor.json ]] || fail "no model directory in boost/"
python3 - boost/summary.json <<'PY' || fail "the xgboost summary does not show a trained model"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "xgboost" and s["workers"] == 2 and s["rounds"] == 120, s
assert s["train_rows"] + s["valid_rows"] == 506, s
assert s["valid"]["rmse"] < 5.0, s["valid"]
PY
"$TROUPE_BIN" predict --model boost/model --data boston.csv --out pred.csv 2>err.txt || fail "troupe predict refused the job's model: $(cat err.txt)"
(($(wc -l <pred.csv) == 507)) || fail "troupe predict wrote $(wc -l <pred.csv) lines, expected 507"

# elastic: 1 to 4 workers on a node of 2 slots trains on 2
train_ok "troupe train --workers 1:4" --config boost.toml --out elastic --workers 1:4 --slots 2
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["workers"] == 2, s' elastic/summary.json || fail "the elastic job did not train on the 2 slots there are"
rc=0
"$TROUPE_BIN" train --config boost.toml --out bad --workers 3:2 >out.txt 2>err.txt || rc=$?
((rc == 2)) && grep -qF "workers '3:2'" err.txt || fail "--workers 3:2: exit $rc: $(cat err.txt)"
rc=0
"$TROUPE_BIN" train --config job.toml --out bad --workers 1:2 >out.txt 2>err.txt || rc=$?
((rc == 2)) && grep -qF "elastic workers need a data-parallel family" err.txt || fail "an elastic sparse-lr job: exit $rc: $(cat err.txt)"

# data-parallel MLP: Fashion-MNIST (the shipped 1,000 + 500 images), two workers
cat >net.toml <<TOML
family = "mlp"
[data]
images = "$TROUPE_SOURCE_DIR/tests/data/fashion-mnist-small"
[model]
layers = 4
width = 32
lr = 0.002
recompute = true
[run]
workers = 2
batch = 64
epochs = 4
# any wait for data alerts: the line must show
data_wait_alert = 0
TOML
train_ok "troupe train (mlp)" --config net.toml --out net
grep -q "mlp, 2 worker(s) x 1 thread(s), global batch 64, 4 epochs" out.txt || fail "no job line in: $(cat out.txt)"
grep -q "validation: logloss .*accuracy" out.txt || fail "no accuracy in: $(cat out.txt)"
grep -q "ALERT data-starved: the workers wait for data" out.txt || fail "no data-starvation alert in: $(cat out.txt)"
grep -q "workers' time: compute [0-9]*%, data [0-9]*%, comm [0-9]*%, idle [0-9]*% (2 worker(s)" out.txt || fail "no time split in: $(cat out.txt)"
[[ -s net/model.pt && -s net/model.mlp ]] || fail "no model.pt or model.mlp in net/"
python3 - net/summary.json <<'PY' || fail "the mlp summary does not show a trained net"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "mlp" and s["workers"] == 2 and s["epochs"] == 4, s
assert s["layers"] == 4 and s["recompute"] is True, s
assert s["train_rows"] == 1000 and s["valid_rows"] == 500, s
assert s["valid"]["accuracy"] > 0.7, s["valid"]
assert [u["rank"] for u in s["usage"]] == [0, 1], s["usage"]
assert all(u["step"] == 4 and u["compute"] > 0 and u["comm"] > 0
           for u in s["usage"]), s["usage"]
assert 0 < s["data_wait_share"] < 1, s
PY

# a pipeline: the net cut into three stage actors, 8 micro-batches a
# minibatch under GPipe, every stage recomputing its activations
cat >pipe.toml <<TOML
family = "pipeline"
[data]
images = "$TROUPE_SOURCE_DIR/tests/data/fashion-mnist-small"
[model]
layers = 4
width = 48
lr = 0.002
recompute = true
[run]
stages = 3
micro = 8
schedule = "gpipe"
batch = 64
epochs = 4
TOML
train_ok "troupe train (pipeline)" --config pipe.toml --out pipe
grep -q "pipeline, 3 stage(s) x 1 thread(s), batch 64 in 8 micro-batches (gpipe), 4 epochs" out.txt || fail "no pipeline job line in: $(cat out.txt)"
grep -q "validation: logloss .*accuracy" out.txt || fail "no pipeline accuracy in: $(cat out.txt)"
[[ -s pipe/model.pipeline ]] || fail "no model.pipeline in pipe/"
python3 - pipe/summary.json <<'PY' || fail "the pipeline summary does not show a trained net"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "pipeline" and s["schedule"] == "gpipe", s
assert [st["layers"] for st in s["stages"]][0][0] == 0, s["stages"]
assert s["stages"][-1]["layers"][1] == 5, s["stages"]
assert all(a["layers"][1] == b["layers"][0]
           for a, b in zip(s["stages"], s["stages"][1:])), s["stages"]
assert s["valid"]["accuracy"] > 0.7, s["valid"]
assert [u["rank"] for u in s["usage"]] == [0, 1, 2], s["usage"]
PY
printf 'family = "pipeline"\n[data]\nimages = "fm"\n[run]\nschedule = "zigzag"\n' >bad.toml
expect_refused "an unknown schedule" "bad.toml:5: 'run.schedule' = 'zigzag' (expected gpipe or 1f1b)"

# tensor parallelism: every layer of a classifier split over two workers
cat >tensor.toml <<TOML
family = "tensor"
[data]
images = "$TROUPE_SOURCE_DIR/tests/data/fashion-mnist-small"
[model]
width = 64
hidden = 128
blocks = 2
lr = 0.002
[run]
workers = 2
batch = 50
epochs = 4
TOML
train_ok "troupe train (tensor)" --config tensor.toml --out tensor
grep -q "tensor, every layer split over 2 worker(s) x 1 thread(s), batch 50, 4 epochs" out.txt || fail "no tensor job line in: $(cat out.txt)"
[[ -s tensor/model.tensor ]] || fail "no model.tensor in tensor/"
python3 - tensor/summary.json <<'PY' || fail "the tensor summary does not show a trained net"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "tensor" and s["workers"] == 2 and s["classes"] == 10, s
assert [r["rank"] for r in s["ranks"]] == [0, 1], s["ranks"]
assert s["valid"]["accuracy"] > 0.7, s["valid"]
PY

# GraphSAGE on the shipped sample of Debian's package index: two workers
# sampling through two graph shards
cat >graph.toml <<TOML
family = "graphsage"
[data]
packages = "$TROUPE_SOURCE_DIR/tests/data/graph/Packages.sample"
[model]
hidden = 32
dims = 64
[run]
workers = 2
shards = 2
batch = 48
epochs = 8
TOML
train_ok "troupe train (graphsage)" --config graph.toml --out graph
grep -q "graphsage, 2 worker(s) x 1 thread(s) sampling through 2 graph shard(s), batch 48, fanouts 10 x 5, 8 epochs" out.txt || fail "no graphsage job line in: $(cat out.txt)"
grep -q "held-out nodes; the majority class: accuracy" out.txt || fail "no majority baseline in: $(cat out.txt)"
[[ -s graph/model.sage ]] || fail "no model.sage in graph/"
python3 - graph/summary.json <<'PY' || fail "the graphsage summary does not show a trained net"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "graphsage" and s["workers"] == 2 and s["shards"] == 2, s
assert s["nodes"] == 466 and len(s["usage"]) == 2, s
assert s["valid"]["accuracy"] > s["majority_accuracy"] + 0.08, s["valid"]
PY

# a small CNN on the same images, validated each epoch
cat >cnn.toml <<TOML
family = "mlp"
[data]
images = "$TROUPE_SOURCE_DIR/tests/data/fashion-mnist-small"
[model]
conv = [8, 16]
layers = 1
width = 32
lr = 0.002
[run]
workers = 2
batch = 50
epochs = 3
valid_every = 1
TOML
train_ok "troupe train (cnn)" --config cnn.toml --out cnn
[[ -s cnn/model.pt && -s cnn/model.mlp ]] || fail "no model.pt or model.mlp in cnn/"
python3 - cnn/summary.json <<'PY' || fail "the cnn summary does not show a trained CNN"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["conv"] == [8, 16] and s["workers"] == 2 and s["epochs"] == 3, s
assert [h["step"] for h in s["valid_history"]] == [1, 2], s["valid_history"]
assert all("accuracy" in h for h in s["valid_history"]), s["valid_history"]
assert s["valid"]["accuracy"] > 0.7, s["valid"]
PY

# a user's TorchScript module (written by PyTorch: tests/data/torchscript)
# with its own loss method, on the same images
modules=$TROUPE_SOURCE_DIR/tests/data/torchscript
cat >script.toml <<TOML
family = "torchscript"
[data]
images = "$TROUPE_SOURCE_DIR/tests/data/fashion-mnist-small"
[model]
module = "$modules/fashion_cnn.pt"
lr = 0.003
[run]
workers = 2
batch = 50
epochs = 3
valid_every = 1
TOML
train_ok "troupe train (torchscript)" --config script.toml --out script
grep -q "torchscript, 2 worker(s) x 1 thread(s), global batch 50, 3 epochs" out.txt || fail "no job line in: $(cat out.txt)"
[[ -s script/model.pt && -s script/model.state ]] || fail "no model.pt or model.state in script/"
python3 - script/summary.json <<'PY' || fail "the torchscript summary does not show a trained module"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["family"] == "torchscript" and s["loss"] == "loss", s
assert s["workers"] == 2 and s["epochs"] == 3, s
assert [h["step"] for h in s["valid_history"]] == [1, 2], s["valid_history"]
assert s["valid"]["accuracy"] > 0.6, s["valid"]
PY
# a table, a module without a loss method and a built-in loss by name;
# the job writes the table's spec for `troupe serve --torchscript`
python3 - <<'PY'
import random
random.seed(3)
with open("rows.csv", "w") as f:
    f.write(",".join("f%d" % i for i in range(8)) + ",y\n")
    for r in range(600):
        x = [random.gauss(0, 1) for _ in range(8)]
        y = sum((0.5 if i % 2 else -0.3) * v for i, v in enumerate(x))
        f.write(",".join("%.4f" % v for v in x) + ",%.4f\n" % (y + random.gauss(0, 0.1)))
PY
cat >table.toml <<TOML
family = "torchscript"
[data]
train = "rows.csv"
target = "y"
[model]
module = "$modules/regression_net.pt"
loss = "huber"
lr = 0.01
[run]
workers = 2
batch = 32
epochs = 5
TOML
train_ok "troupe train (torchscript, table)" --config table.toml --out table
[[ -s table/model.pt && -s table/spec.json ]] || fail "no model.pt or spec.json in table/"
python3 - table/summary.json <<'PY' || fail "the table module did not learn"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["loss"] == "huber" and s["columns"] == 8, s
assert s["valid"]["rmse"] < 0.5, s["valid"]  # the target's spread is ~1.1
PY
# a module whose columns are not the data's fails its job, naming both
cp "$modules/regression_net.pt" .
sed -e "s|$modules/regression_net.pt|regression_net.pt|" -e 's/rows.csv/spam.csv/' -e 's/"y"/"type"/' table.toml >wrong.toml
rc=0
"$TROUPE_BIN" train --config wrong.toml --out wrong >out.txt 2>err.txt || rc=$?
((rc == 2)) || fail "a module of 8 columns on 57: exit $rc: $(cat err.txt)"
grep -qF "wrong.toml: [model] module 'regression_net.pt': TorchScript module: the module's forward() fails on [2, 57] float rows" err.txt || fail "a module of 8 columns on 57: $(cat err.txt)"
echo "train_cli_test: PASS"
