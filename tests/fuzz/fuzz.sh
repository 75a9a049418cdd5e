#!/usr/bin/env bash
# Builds one fuzz target with clang's libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs it for a fixed time from its corpus
# (tests/fuzz/corpus/TARGET, read only: new inputs go to a scratch copy).
# A crash fails the run; the input that crashed is kept in
# tests/fuzz/crashes/ so that it can be replayed (fuzz.sh TARGET --replay
# FILE) and committed with its fix.
#
#   tests/fuzz/fuzz.sh TARGET [SECONDS]   (default 30)
#   tests/fuzz/fuzz.sh TARGET --replay FILE...
#
# Targets: resp (the RESP request parser), csv (the CSV reader) -- both run
# by the test suite for 30 s -- and job_config (a training job's TOML). The
# last is not in the suite: within a minute it reaches undefined behaviour
# inside toml++ 3.3 (Debian's), whose unicode tables send some non-ASCII
# characters to __builtin_unreachable() while it scans a malformed value.
# troupe refuses non-ASCII text outside strings and comments before toml++
# sees it (runtime/toml_text.hpp), which covers every well-formed file and
# the simple cases; the inputs kept in crashes/job_config-* are the rest,
# for the day toml++ is fixed or replaced.
# Needs clang++ and libFuzzer (Debian: clang, libfuzzer-14-dev;
# deploy/install-deps.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${1:?usage: fuzz.sh TARGET [SECONDS] | TARGET --replay FILE...}
shift

libs=()
case $target in
  resp) sources=("$repo/actors/features/resp.cpp") ;;
  csv)
    sources=("$repo/actors/tabular/csv.cpp" "$repo/actors/tabular/csv_stream.cpp"
      "$repo/runtime/errors.cpp")
    libs=(-lcaf_core)
    ;;
  job_config)
    sources=("$repo/actors/training/job_config.cpp"
      "$repo/actors/training/job_config_graph.cpp"
      "$repo/actors/training/sparse_table.cpp"
      "$repo/actors/training/step_clock.cpp"
      "$repo/actors/models/pipeline_schedule.cpp"
      "$repo/actors/tabular/idx.cpp" "$repo/runtime/toml_text.cpp"
      "$repo/runtime/errors.cpp")
    libs=(-lcaf_core -lz)
    ;;
  *)
    echo "fuzz.sh: unknown target '$target' (targets: resp, csv, job_config)" >&2
    exit 2
    ;;
esac

cxx=${CLANGXX:-clang++}
command -v "$cxx" >/dev/null || {
  echo "fuzz.sh: $cxx not found (install clang and libfuzzer-14-dev)" >&2
  exit 1
}
work=${TROUPE_FUZZ_DIR:-$(mktemp -d /tmp/troupe-fuzz.XXXXXX)}
mkdir -p "$work"
bin=$work/${target}_fuzz
# -DNDEBUG as troupe's own build: library asserts that a release build
# compiles out (toml++ has some) would otherwise stop the run
"$cxx" -std=c++17 -O1 -g -DNDEBUG -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$repo" \
  "$here/${target}_fuzz.cpp" "${sources[@]}" "${libs[@]}" -o "$bin"

if [[ ${1:-} == --replay ]]; then
  shift
  exec "$bin" "$@"
fi
seconds=${1:-30}
mkdir -p "$work/corpus" "$here/crashes"
# the crashes found before are replayed first, with the corpus
cp "$here/crashes/${target}"-* "$work/corpus/" 2>/dev/null || true
rc=0
"$bin" "$work/corpus" "$here/corpus/$target" -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$here/crashes/${target}-" >"$work/log" 2>&1 || rc=$?
tail -n 12 "$work/log"
if ((rc != 0)); then
  echo "fuzz.sh: $target failed (exit $rc); the input is in $here/crashes/" >&2
  grep -E "ERROR|resp_fuzz:|SUMMARY" "$work/log" | head -20 >&2 || true
  exit 1
fi
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo 0)
if ((runs < 1000)); then
  echo "fuzz.sh: $target ran only $runs inputs in ${seconds} s" >&2
  exit 1
fi
echo "fuzz.sh: $target: $runs inputs in ${seconds} s, no failure"
[[ -n ${TROUPE_FUZZ_DIR:-} ]] || rm -rf "$work"
