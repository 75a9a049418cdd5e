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
# Targets: resp (the RESP request parser).
# Needs clang++ and libFuzzer (Debian: clang, libfuzzer-14-dev;
# deploy/install-deps.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${1:?usage: fuzz.sh TARGET [SECONDS] | TARGET --replay FILE...}
shift

case $target in
  resp) sources=("$repo/actors/features/resp.cpp") ;;
  *)
    echo "fuzz.sh: unknown target '$target' (targets: resp)" >&2
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
"$cxx" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$repo" \
  "$here/${target}_fuzz.cpp" "${sources[@]}" -o "$bin"

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
