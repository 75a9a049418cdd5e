#!/usr/bin/env bash
# Builds and runs troupe's benchmarks (tests/bench/*.cpp), each of which
# measures troupe and its peer in the same run and prints one human line and
# one JSON line. The output of a successful run replaces
# tests/bench/results/NAME.txt (the committed result).
#
# Before building, it runs `deploy/install-deps.sh --bench` once, which
# installs any missing Debian package, the benchmarks' peers (python3-optuna,
# python3-xgboost, python3-sklearn, python3-pandas, redis-server) included;
# packages already present are skipped.
#
#   deploy/bench.sh NAME [ARGS...]   build and run one benchmark (ARGS go to
#                                    the program; e.g. bench_remote --policy
#                                    sharing)
#   deploy/bench.sh all              build and run every benchmark in turn
#   deploy/bench.sh list             print the benchmarks' names
#
# Environment (defaults in brackets):
#   TROUPE_BUILD_DIR    build folder [<repo>/build]; configured with
#                       `cmake -S . -B DIR -G Ninja` if it has no CMakeCache
#   TROUPE_BUILD_LOCK   if set, a file that serializes builds (flock)
#   TROUPE_BENCH_TIMEOUT  seconds one benchmark may run [180, or what the
#                       benchmark's source declares on a line
#                       "// bench-timeout: SECONDS"]
#   TROUPE_BENCH_NO_SAVE  if set, print only; leave results/ untouched
#   TROUPE_SKIP_DEPS    if set, do not run install-deps.sh (offline, or no
#                       root nor sudo)
#
# Exit codes: 0 success; 1 a build or a benchmark failed (or printed no
# valid JSON line); 2 usage error.
set -euo pipefail

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly BUILD_DIR=${TROUPE_BUILD_DIR:-$REPO/build}
readonly RESULTS_DIR=$REPO/tests/bench/results
readonly TIMEOUT=${TROUPE_BENCH_TIMEOUT:-180}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

die() {
  echo "$PROG: $*" >&2
  exit 1
}

benchmarks() {
  local f
  for f in "$REPO"/tests/bench/*.cpp; do
    [[ -e $f ]] || continue
    f=${f##*/}
    echo "${f%.cpp}"
  done
}

# Installs missing dependencies, the benchmarks' peers included; once per
# run of this script (the subshells of `all` inherit deps_done).
deps_done=0
install_deps() {
  [[ -z ${TROUPE_SKIP_DEPS:-} ]] && ((deps_done == 0)) || return 0
  "$REPO/deploy/install-deps.sh" --bench >&2 \
    || die "deploy/install-deps.sh --bench failed (set TROUPE_SKIP_DEPS=1 to skip)"
  deps_done=1
}

locked() {
  if [[ -n ${TROUPE_BUILD_LOCK:-} ]]; then
    flock "$TROUPE_BUILD_LOCK" "$@"
  else
    "$@"
  fi
}

build() {
  local name=$1
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    echo "$PROG: configuring $BUILD_DIR" >&2
    locked cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja >&2 \
      || die "cmake configure failed"
  fi
  locked cmake --build "$BUILD_DIR" --target "$name" >&2 \
    || die "build of $name failed"
}

# Checks that the last line of $1 is a JSON object with "bench" = $2.
valid_json() {
  local file=$1 name=$2
  local last
  last=$(tail -n 1 "$file")
  if command -v /usr/bin/python3 >/dev/null 2>&1; then
    /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, dict) and d.get("bench") == sys.argv[2]
for k in ("nproc", "cpu", "date"):
    assert k in d, k
' "$last" "$name" 2>/dev/null
  else
    [[ $last == "{\"bench\":\"$name\""* ]]
  fi
}

run_one() {
  local name=$1
  shift
  local known
  known=$(benchmarks)
  [[ $'\n'$known$'\n' == *$'\n'$name$'\n'* ]] || {
    echo "$PROG: no benchmark named '$name' (try: $PROG list)" >&2
    exit 2
  }
  # Each step checks its own status: under `all` this runs where set -e is
  # ignored.
  install_deps
  build "$name"
  local bin=$BUILD_DIR/bench/$name
  [[ -x $bin ]] || die "$bin was not built"
  tmp_out=$(mktemp) || die "mktemp failed"
  trap 'rm -f "${tmp_out:-}"' EXIT
  local out=$tmp_out
  echo "$PROG: running $name" >&2
  local rc=0
  local limit=$TIMEOUT declared
  if [[ -z ${TROUPE_BENCH_TIMEOUT:-} ]]; then
    declared=$(sed -n 's|^// bench-timeout: \([0-9][0-9]*\)$|\1|p' \
      "$REPO/tests/bench/$name.cpp" | head -n 1)
    [[ -z $declared ]] || limit=$declared
  fi
  timeout --kill-after=10 "$limit" "$bin" "$@" >"$out" || rc=$?
  cat "$out"
  ((rc == 0)) || die "$name exited with status $rc"
  valid_json "$out" "$name" || die "$name printed no valid JSON result line"
  if [[ -z ${TROUPE_BENCH_NO_SAVE:-} ]]; then
    mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
    install -m 0644 "$out" "$RESULTS_DIR/$name.txt" \
      || die "cannot write $RESULTS_DIR/$name.txt"
    echo "$PROG: wrote ${RESULTS_DIR#"$REPO"/}/$name.txt" >&2
  fi
}

main() {
  (($# >= 1)) || {
    usage >&2
    exit 2
  }
  case $1 in
    -h | --help | help)
      usage
      ;;
    list)
      benchmarks
      ;;
    all)
      (($# == 1)) || {
        echo "$PROG: 'all' takes no arguments" >&2
        exit 2
      }
      local name failed=0
      install_deps
      for name in $(benchmarks); do
        (run_one "$name") || failed=1
      done
      return $failed
      ;;
    *)
      run_one "$@"
      ;;
  esac
}

main "$@"
