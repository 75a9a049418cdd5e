#!/usr/bin/env bash
# Integration test of deploy/launch-local.sh: `start 3` on free loopback ports,
# `status`, the shell's `nodes` (3 nodes), a refused second `start`, and `stop`
# leaving no process and no pid file behind.
#
# Needs TROUPE_BIN (absolute path of the troupe binary). Every process it
# starts is stopped on exit, also on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAUNCH=$REPO/deploy/launch-local.sh
NAME=launch_local_test

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
note() { echo "$NAME: $*"; }

[[ -n ${TROUPE_BIN:-} ]] || fail "TROUPE_BIN is not set"
[[ -x $TROUPE_BIN ]] || fail "TROUPE_BIN ($TROUPE_BIN) is not executable"
export TROUPE_BIN

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
export TROUPE_RUN_DIR=$WORK/run
export TROUPE_SLOTS=2 TROUPE_START_TIMEOUT=20 TROUPE_JOIN_TIMEOUT=30 TROUPE_STOP_TIMEOUT=10

# proc_alive PID: PID exists and is not a zombie.
proc_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Pids from the pid files, for the last-resort cleanup.
run_pids() {
  local f
  for f in "$TROUPE_RUN_DIR"/*.pid; do
    [[ -f $f ]] && head -n1 "$f"
  done 2>/dev/null || true
}

cleanup() {
  local rc=$? pid pids
  trap - EXIT INT TERM
  pids=$(run_pids)
  if [[ -n $pids ]]; then
    timeout 60 "$LAUNCH" stop >/dev/null 2>&1 || true
    for pid in $pids; do if proc_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi; done
  fi
  if ((rc != 0)); then
    local f
    for f in "$TROUPE_RUN_DIR"/*.log; do
      [[ -f $f ]] || continue
      echo "---- $f ----" >&2
      tail -n 30 "$f" >&2
    done
    echo "$NAME: FAILED (rc $rc); files kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two distinct free ports on 127.0.0.1.
free_ports() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
    return
  fi
  local p found=()
  while ((${#found[@]} < 2)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ " ${found[*]} " != *" $p "* ]]; then found+=("$p"); fi
  done
  echo "${found[@]}"
}
read -r TROUPE_PORT TROUPE_GATEWAY_PORT < <(free_ports)
export TROUPE_PORT TROUPE_GATEWAY_PORT
note "run folder $TROUPE_RUN_DIR, ports $TROUPE_PORT/$TROUPE_GATEWAY_PORT"

# run_capture VAR CMD...: runs CMD (bounded), stdout+stderr into VAR, returns its rc.
run_capture() {
  local -n _out=$1
  shift
  local _rc=0
  _out=$(timeout 90 "$@" 2>&1) || _rc=$?
  return "$_rc"
}

out=''

# ---- usage errors
rc=0; run_capture out "$LAUNCH" bogus || rc=$?
((rc == 2)) || fail "unknown action: expected exit 2, got $rc: $out"
rc=0; run_capture out "$LAUNCH" start zero || rc=$?
((rc == 2)) || fail "start with a bad N: expected exit 2, got $rc: $out"

# ---- status before anything runs
rc=0; run_capture out "$LAUNCH" status || rc=$?
((rc == 3)) || fail "status with nothing running: expected exit 3, got $rc: $out"

# ---- start 3
rc=0; run_capture out "$LAUNCH" start 3 || rc=$?
echo "$out"
((rc == 0)) || fail "start 3 exited with $rc"
grep -qF "shell 127.0.0.1:$TROUPE_GATEWAY_PORT" <<<"$out" || fail "start did not print the shell command to attach"
[[ -f $TROUPE_RUN_DIR/secret ]] || fail "no secret in the run folder"
mode=$(stat -c %a "$TROUPE_RUN_DIR/secret")
[[ $mode == 600 ]] || fail "secret has mode $mode, not 600"
declare -A pid
for n in head worker-1 worker-2; do
  [[ -f $TROUPE_RUN_DIR/$n.pid ]] || fail "no pid file for $n"
  [[ -f $TROUPE_RUN_DIR/$n.log ]] || fail "no log for $n"
  pid[$n]=$(head -n1 "$TROUPE_RUN_DIR/$n.pid")
  proc_alive "${pid[$n]}" || fail "$n (pid ${pid[$n]}) is not alive after start"
done

# ---- status
rc=0; run_capture out "$LAUNCH" status || rc=$?
echo "$out"
((rc == 0)) || fail "status exited with $rc"
for n in head worker-1 worker-2; do
  grep -Eq "^${n}[[:space:]]+${pid[$n]}[[:space:]]+alive" <<<"$out" || fail "status does not show $n (pid ${pid[$n]}) alive"
done
grep -Eq '(^|[^0-9])3 nodes' <<<"$out" || fail "status does not show the head's nodes table with 3 nodes"

# ---- the shell sees 3 nodes
rc=0; run_capture out "$TROUPE_BIN" shell "127.0.0.1:$TROUPE_GATEWAY_PORT" -c nodes || rc=$?
echo "$out"
((rc == 0)) || fail "troupe shell -c nodes exited with $rc"
last=$(grep -v '^[[:space:]]*$' <<<"$out" | tail -n1)
[[ $last =~ (^|[^0-9])3\ nodes ]] || fail "nodes: last line is '$last', expected '3 nodes'"
for n in head worker-1 worker-2; do
  grep -qwF -- "$n" <<<"$out" || fail "nodes does not list $n"
done

# ---- a second start is refused and changes nothing
rc=0; run_capture out "$LAUNCH" start 3 || rc=$?
echo "$out"
((rc != 0)) || fail "a second start succeeded"
((rc == 4)) || fail "a second start: expected exit 4 (already running), got $rc"
grep -qi 'already running' <<<"$out" || fail "a second start did not say the cluster is already running"
for n in head worker-1 worker-2; do
  [[ $(head -n1 "$TROUPE_RUN_DIR/$n.pid") == "${pid[$n]}" ]] || fail "a refused start rewrote $n's pid file"
  proc_alive "${pid[$n]}" || fail "$n died after the refused start"
done

# ---- stop
rc=0; run_capture out "$LAUNCH" stop || rc=$?
echo "$out"
((rc == 0)) || fail "stop exited with $rc"
for n in head worker-1 worker-2; do
  ! proc_alive "${pid[$n]}" || fail "$n (pid ${pid[$n]}) is still alive after stop"
done
left=$(find "$TROUPE_RUN_DIR" -name '*.pid')
[[ -z $left ]] || fail "pid files left after stop: $left"
if pgrep -f -- "$TROUPE_RUN_DIR" >/dev/null 2>&1; then
  fail "processes still refer to the run folder after stop: $(pgrep -af -- "$TROUPE_RUN_DIR")"
fi

rc=0; run_capture out "$LAUNCH" status || rc=$?
((rc == 3)) || fail "status after stop: expected exit 3, got $rc: $out"

# ---- stop again is a no-op
rc=0; run_capture out "$LAUNCH" stop || rc=$?
((rc == 0)) || fail "a second stop exited with $rc: $out"

note "PASS"
