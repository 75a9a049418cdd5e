#!/usr/bin/env bash
# `troupe validate` as a user runs it on the shipped Pima data: infer a schema
# on one half, check the other half (clean: exit 0), check a corrupted copy
# (exit 1, the anomalies named with their lines), accept the anomalies into a
# new schema and re-check (exit 0), measure drift of a shifted copy (exit 1)
# and of the clean half (exit 0), and refuse bad input (exit 2, naming the
# file).
set -euo pipefail
fail() {
  echo "validate_cli_test: $*" >&2
  exit 1
}
[[ -n ${TROUPE_BIN:-} ]] || fail "TROUPE_BIN is not set"
[[ -n ${TROUPE_SOURCE_DIR:-} ]] || fail "TROUPE_SOURCE_DIR is not set"
data=$TROUPE_SOURCE_DIR/tests/data/pima_diabetes.csv
[[ -r $data ]] || fail "no dataset at $data"

# Runs troupe validate with the given arguments; sets $rc and leaves stdout
# and stderr in out.txt and err.txt.
validate() {
  rc=0
  "$TROUPE_BIN" validate "$@" >out.txt 2>err.txt || rc=$?
}
expect_rc() {
  local want=$1 what=$2
  ((rc == want)) || fail "$what: exit $rc, expected $want; stdout: $(cat out.txt) stderr: $(cat err.txt)"
}
expect_out() {
  grep -qF -- "$1" out.txt || fail "expected '$1' in: $(cat out.txt)"
}
expect_err() {
  grep -qF -- "$1" err.txt || fail "expected '$1' on stderr: $(cat err.txt)"
}

# Halves by line parity (header kept in both); columns of Pima:
# pregnant,glucose,pressure,triceps,insulin,mass,pedigree,age,diabetes
awk 'NR == 1 || NR % 2 == 0' "$data" >train.csv
awk 'NR == 1 || NR % 2 == 1' "$data" >held.csv
((($(wc -l <train.csv) - 1) == 384)) || fail "train.csv has $(wc -l <train.csv) lines"

validate infer --data train.csv --out schema.json
expect_rc 0 "infer"
[[ -s schema.json ]] || fail "infer wrote no schema.json"
expect_out "inferred a schema from 384 rows, 9 columns"
expect_out "diabetes"
grep -q '"format": "troupe.validation.schema"' schema.json || fail "schema.json has no format"

validate check --schema schema.json --data held.csv
expect_rc 0 "check of the clean half"
expect_out "checked 384 rows of held.csv"
expect_out "(0 blocking"

# A corrupted copy of the held-out half: on file lines 5, 9 and 13 age
# becomes text; on every 10th line glucose is 10x; on every 7th diabetes is
# "maybe"; the pressure column is dropped.
awk -F, -v OFS=, '
  NR > 1 && (NR == 5 || NR == 9 || NR == 13) { $8 = "unknown" }
  NR > 1 && NR % 10 == 0 && $2 != "" { $2 = $2 * 10 }
  NR > 1 && NR % 7 == 0 { $9 = "maybe" }
  { print $1, $2, $4, $5, $6, $7, $8, $9 }' held.csv >bad.csv
head -n 1 bad.csv | grep -q '^pregnant,glucose,triceps,' || fail "bad.csv header: $(head -n 1 bad.csv)"
validate check --schema schema.json --data bad.csv
expect_rc 1 "check of the corrupted copy"
expect_out "BLOCKING  pressure:missing_column"
expect_out "BLOCKING  age:type_mismatch"
expect_out "count 3: 3 values"
expect_out "e.g. line 5: 'unknown', line 9: 'unknown', line 13: 'unknown'"
expect_out "BLOCKING  glucose:out_of_range"
expect_out "line 10: '"
expect_out "BLOCKING  diabetes:out_of_domain"
expect_out "line 7: 'maybe', line 14: 'maybe', line 21: 'maybe'"

# Accepting only part of it: the schema is written, the rest still blocks.
cp schema.json schema.orig.json
validate check --schema schema.json --data bad.csv \
  --accept glucose:out_of_range,pressure:missing_column --schema-out partial.json
expect_rc 1 "partial accept"
expect_out "accepted glucose:out_of_range: range ["
expect_out "accepted pressure:missing_column: now optional"
expect_out "2 blocking anomalies not accepted"
cmp -s schema.json schema.orig.json || fail "--schema-out changed schema.json"

# Accepting everything, then checking again.
validate check --schema schema.json --data bad.csv --accept all --schema-out evolved.json
expect_rc 0 "accept all"
expect_out "schema written to evolved.json"
expect_out "accepted diabetes:out_of_domain: domain += 'maybe'"
expect_out "accepted age:type_mismatch: type integer -> string"
validate check --schema evolved.json --data bad.csv
expect_rc 0 "re-check against the evolved schema"
expect_out "(0 blocking"
# Without --schema-out the schema itself is evolved.
cp schema.json inplace.json
validate check --schema inplace.json --data bad.csv --accept all
expect_rc 0 "accept all in place"
validate check --schema inplace.json --data bad.csv
expect_rc 0 "re-check in place"
validate check --schema schema.json --data bad.csv --accept glucose:no_such_kind
expect_rc 2 "accepting an unknown anomaly"
expect_err "no anomaly 'glucose:no_such_kind' to accept"

# Drift: glucose 1.5x in the held-out half.
awk -F, -v OFS=, 'NR > 1 && $2 != "" { $2 = $2 * 1.5 } { print }' held.csv >shifted.csv
validate drift --base train.csv --new shifted.csv
expect_rc 1 "drift of the shifted copy"
grep -E '^  glucose +[0-9.]+ \([0-9.]+\) +[0-9.]+ \([0-9.]+\) +- +DRIFT' out.txt >/dev/null \
  || fail "no DRIFT line for glucose in: $(cat out.txt)"
expect_out "1 of 9 compared features drifted"
validate drift --base schema.json --new shifted.csv
expect_rc 1 "drift of the shifted copy against the schema's statistics"
expect_out "(recorded statistics)"
grep -qE '^  glucose .*DRIFT' out.txt || fail "no DRIFT for glucose against the schema: $(cat out.txt)"
validate drift --base train.csv --new held.csv
expect_rc 0 "drift of the clean half"
expect_out "0 of 9 compared features drifted"
# Thresholds are options; without the noise floor, zero thresholds flag the
# sampling noise between the halves.
validate drift --base train.csv --new held.csv --psi 0 --ks 0 --linf 0 --significance 0
expect_rc 1 "drift with zero thresholds"
expect_out "thresholds PSI 0, KS 0, L-inf 0"
validate drift --base train.csv --new held.csv --psi -1
expect_rc 2 "a negative threshold"
expect_err "--psi must be >= 0"

# Bad input: exit 2 and the file named.
validate check --schema schema.json --data missing.csv
expect_rc 2 "check of a missing file"
expect_err "missing.csv"
printf '{"format": "troupe.validation.schema", "version": 1, "columns": [{"name": "a"}]}' >broken.json
validate check --schema broken.json --data held.csv
expect_rc 2 "check with a broken schema"
expect_err "broken.json: columns[0].type: is missing"
printf '{"columns": [' >notjson.json
validate check --schema notjson.json --data held.csv
expect_rc 2 "check with a schema that is not JSON"
expect_err "notjson.json: not valid JSON"
validate drift --base nowhere.csv --new held.csv
expect_rc 2 "drift from a missing base"
expect_err "nowhere.csv"
validate infer --data held.csv
expect_rc 2 "infer without --out"
expect_err "--out"

echo "validate_cli_test: ok"
