#!/usr/bin/env bash
# Starts, inspects and stops a troupe cluster on this machine: a head and N-1
# workers, all on loopback (127.0.0.1).
#
#   deploy/launch-local.sh start N   start a head and N-1 workers (worker-1 ..
#                                    worker-(N-1)) and wait until all joined
#   deploy/launch-local.sh status    each node's pid and whether it is alive,
#                                    plus the head's `nodes` table
#   deploy/launch-local.sh stop      SIGTERM every node, SIGKILL leftovers,
#                                    remove the pid files
#
# Environment (defaults in brackets):
#   TROUPE_RUN_DIR        run folder [<repo>/run/local]: secret, <node>.log,
#                         <node>.pid, head/ (the head's data dir, head.json)
#   TROUPE_BIN            troupe binary [<repo>/build/bin/troupe]
#   TROUPE_PORT           head's cluster port [7700]
#   TROUPE_GATEWAY_PORT   head's gateway (shell) port [7701]
#   TROUPE_SLOTS          slots per worker [2]
#   TROUPE_LOG_LEVEL      --log-level of every node [info]
#   TROUPE_START_TIMEOUT  seconds to wait for the head to listen [30]
#   TROUPE_JOIN_TIMEOUT   seconds to wait for all nodes to join [30]
#   TROUPE_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL [15]
#
# Exit codes: 0 success; 1 failure (a node did not start or join, a process
# could not be killed, the head does not answer); 2 usage error; 3 (status)
# nothing is running; 4 (start) a cluster from this run folder is running.
set -euo pipefail

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly RUN_DIR=${TROUPE_RUN_DIR:-$REPO/run/local}
readonly BIN=${TROUPE_BIN:-$REPO/build/bin/troupe}
readonly PORT=${TROUPE_PORT:-7700}
readonly GATEWAY_PORT=${TROUPE_GATEWAY_PORT:-7701}
readonly SLOTS=${TROUPE_SLOTS:-2}
readonly LOG_LEVEL=${TROUPE_LOG_LEVEL:-info}
readonly START_TIMEOUT=${TROUPE_START_TIMEOUT:-30}
readonly JOIN_TIMEOUT=${TROUPE_JOIN_TIMEOUT:-30}
readonly STOP_TIMEOUT=${TROUPE_STOP_TIMEOUT:-15}
readonly HOST=127.0.0.1

usage() {
  cat >&2 <<EOF
usage: $PROG start N | status | stop
  start N   start a head and N-1 workers on $HOST and wait until all joined
  status    show each node's pid and liveness, and the head's node table
  stop      stop every node of the run folder ($RUN_DIR)
EOF
  exit 2
}

die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# deadline_passed T: bash's SECONDS counter has reached T.
deadline_passed() { (( SECONDS >= $1 )); }

# node_alive PID NAME: PID is a live (non-zombie) troupe node called NAME.
# Checking the command line guards against a recycled pid.
node_alive() {
  local pid=$1 name=$2 cmd
  is_uint "$pid" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -d /proc/$pid ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *" node "* && $cmd == *" --name $name "* ]] || return 1
  fi
  return 0
}

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }
read_pid() {
  local f
  f=$(pid_file "$1")
  if [[ -r $f ]]; then head -n1 "$f" 2>/dev/null || true; fi
}
name_alive() { node_alive "$(read_pid "$1")" "$1"; }

# Node names that have a pid file, the head first, workers in numeric order.
known_nodes() {
  local f names=()
  shopt -s nullglob
  for f in "$RUN_DIR"/*.pid; do
    f=${f##*/}
    names+=("${f%.pid}")
  done
  shopt -u nullglob
  ((${#names[@]})) || return 0
  printf '%s\n' "${names[@]}" | sort -V | awk '$0 == "head" { print; next } { rest[n++] = $0 } END { for (i = 0; i < n; i++) print rest[i] }'
}

# json_int FILE KEY: the integer value of "KEY" in a flat JSON object.
json_int() {
  [[ -r $1 ]] || return 0
  tr -d '\n' <"$1" | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p"
}

tail_log() {
  local name=$1 f
  f=$(log_file "$name")
  if [[ -s $f ]]; then
    echo "---- last lines of $f ----" >&2
    tail -n 40 "$f" >&2
    echo "----" >&2
  else
    echo "($name wrote no log at $f)" >&2
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# with_timeout SECONDS CMD...: runs CMD, killed after SECONDS where `timeout` exists.
with_timeout() {
  local s=$1; shift
  if command -v timeout >/dev/null; then timeout -k 5 "$s" "$@"; else "$@"; fi
}

# term_and_wait NAME...: SIGTERM each live node, then wait (at most
# STOP_TIMEOUT seconds) until all are gone.
term_and_wait() {
  local name pid deadline
  for name in "$@"; do
    pid=$(read_pid "$name")
    if node_alive "$pid" "$name"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT + 1))
  for name in "$@"; do
    pid=$(read_pid "$name")
    while node_alive "$pid" "$name" && ! deadline_passed "$deadline"; do sleep 0.1; done
  done
}

# stop_nodes NAME...: SIGTERM the workers, then the head, wait (bounded),
# SIGKILL leftovers and remove pid files. Returns 1 if a process survived.
stop_nodes() {
  local name pid deadline ok=0 workers=() has_head=0
  for name in "$@"; do
    if [[ $name == head ]]; then has_head=1; else workers+=("$name"); fi
  done
  if ((${#workers[@]})); then term_and_wait "${workers[@]}"; fi
  if ((has_head)); then term_and_wait head; fi
  for name in "$@"; do
    pid=$(read_pid "$name")
    if node_alive "$pid" "$name"; then
      echo "$PROG: $name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 5))
  for name in "$@"; do
    pid=$(read_pid "$name")
    while node_alive "$pid" "$name" && ! deadline_passed "$deadline"; do sleep 0.1; done
    if node_alive "$pid" "$name"; then
      echo "$PROG: $name (pid $pid) is still alive after SIGKILL" >&2
      ok=1
    else
      rm -f "$(pid_file "$name")"
    fi
  done
  return "$ok"
}

# launch NAME ARGS...: starts `troupe node ARGS... --name NAME` in the
# background, output to NAME.log, pid to NAME.pid.
launch() {
  local name=$1 log_path; shift
  log_path=$(log_file "$name")
  if [[ -f $log_path ]]; then mv -f "$log_path" "$log_path.1"; fi
  nohup "$BIN" node "$@" --log-level "$LOG_LEVEL" --name "$name" </dev/null >"$log_path" 2>&1 &
  echo "$!" >"$(pid_file "$name")"
  STARTED+=("$name")
}

STARTED=()
START_DONE=0

# Called on failure or interruption during start: stops what was started.
abort_start() {
  local msg=$1 culprit=${2:-}
  echo "$PROG: start failed: $msg" >&2
  if [[ -n $culprit ]]; then tail_log "$culprit"; fi
  if ((${#STARTED[@]})); then
    echo "$PROG: stopping the ${#STARTED[@]} node(s) started" >&2
    stop_nodes "${STARTED[@]}" >&2 || true
  fi
  exit 1
}

on_signal() {
  trap - INT TERM
  ((START_DONE)) && exit 130
  abort_start "interrupted"
}

first_dead() { # prints the first of STARTED that is not alive
  local name
  for name in "${STARTED[@]}"; do
    name_alive "$name" || { echo "$name"; return 0; }
  done
  return 1
}

cmd_start() {
  (($# == 1)) || usage
  local n=$1 name i v dead gw port deadline out spid rc
  if ! is_uint "$n" || ((10#$n < 1)); then
    echo "$PROG: start: N must be a positive integer, not '$n'" >&2
    exit 2
  fi
  n=$((10#$n))
  for v in PORT GATEWAY_PORT SLOTS START_TIMEOUT JOIN_TIMEOUT STOP_TIMEOUT; do
    is_uint "${!v}" || { echo "$PROG: TROUPE_$v must be a non-negative integer, not '${!v}'" >&2; exit 2; }
  done
  [[ -x $BIN && -f $BIN ]] || die "troupe binary not found or not executable: $BIN (build it, or set TROUPE_BIN)"

  mkdir -p "$RUN_DIR"
  chmod 700 "$RUN_DIR"

  # Refuse if a cluster from this run folder is running; forget stale pid files.
  local running=()
  while IFS= read -r name; do
    if name_alive "$name"; then running+=("$name (pid $(read_pid "$name"))"); else rm -f "$(pid_file "$name")"; fi
  done < <(known_nodes)
  if ((${#running[@]})); then
    echo "$PROG: a cluster from $RUN_DIR is already running: ${running[*]}" >&2
    echo "$PROG: stop it first with: $0 stop" >&2
    exit 4
  fi
  port_in_use "$PORT" && die "port $PORT on $HOST is already in use (set TROUPE_PORT)"
  port_in_use "$GATEWAY_PORT" && die "gateway port $GATEWAY_PORT on $HOST is already in use (set TROUPE_GATEWAY_PORT)"

  local secret=$RUN_DIR/secret
  if [[ ! -s $secret ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$secret")
    log "generated a cluster secret in $secret"
  fi
  chmod 600 "$secret"

  trap on_signal INT TERM

  # The head.
  local data_dir=$RUN_DIR/head
  mkdir -p "$data_dir"
  rm -f "$data_dir/head.json"
  launch head --head --port "$PORT" --bind "$HOST" --gateway-port "$GATEWAY_PORT" \
    --gateway-bind "$HOST" --data-dir "$data_dir" --secret-file "$secret"
  log "started head (pid $(read_pid head)), waiting for it to listen"
  deadline=$((SECONDS + START_TIMEOUT + 1))
  port='' gw=''
  while :; do
    port=$(json_int "$data_dir/head.json" port)
    gw=$(json_int "$data_dir/head.json" gateway_port)
    [[ -n $port && -n $gw ]] && break
    name_alive head || abort_start "the head exited before listening" head
    deadline_passed "$deadline" && abort_start "the head did not write $data_dir/head.json within ${START_TIMEOUT}s" head
    sleep 0.1
  done
  log "head listening on $HOST:$port (gateway $HOST:$gw)"

  # The workers.
  for ((i = 1; i < n; i++)); do
    launch "worker-$i" --join "$HOST:$port" --slots "$SLOTS" --secret-file "$secret"
    log "started worker-$i (pid $(read_pid "worker-$i"))"
  done

  # Wait until all joined, failing early if a node dies meanwhile.
  log "waiting up to ${JOIN_TIMEOUT}s for $n node(s) to join"
  out=$RUN_DIR/.wait-nodes.out
  local to=()
  if command -v timeout >/dev/null; then to=(timeout -k 5 "$((JOIN_TIMEOUT + 15))"); fi
  "${to[@]}" "$BIN" shell "$HOST:$gw" -c "wait-nodes $n $JOIN_TIMEOUT" >"$out" 2>&1 &
  spid=$!
  dead=''
  while kill -0 "$spid" 2>/dev/null; do
    if dead=$(first_dead); then
      kill "$spid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  if wait "$spid"; then rc=0; else rc=$?; fi
  [[ -n $dead ]] || dead=$(first_dead) || true
  if [[ -n $dead ]]; then
    rm -f "$out"
    abort_start "$dead exited before all nodes joined" "$dead"
  fi
  if ((rc != 0)); then
    echo "$PROG: \`troupe shell $HOST:$gw -c \"wait-nodes $n $JOIN_TIMEOUT\"\` exited with $rc:" >&2
    sed 's/^/  /' "$out" >&2 || true
    rm -f "$out"
    # Blame the workers the head does not list, else the head.
    local table blamed=0
    table=$(with_timeout 10 "$BIN" shell "$HOST:$gw" -c nodes 2>&1) || table=''
    if [[ -n $table ]]; then
      echo "$PROG: the head lists:" >&2
      printf '%s\n' "$table" | sed 's/^/  /' >&2
      for ((i = 1; i < n; i++)); do
        if ! grep -qwF -- "worker-$i" <<<"$table"; then tail_log "worker-$i"; blamed=1; fi
      done
    fi
    ((blamed)) || tail_log head
    abort_start "not all $n nodes joined within ${JOIN_TIMEOUT}s"
  fi
  rm -f "$out"
  START_DONE=1
  trap - INT TERM

  log "cluster of $n node(s) is up; run folder $RUN_DIR"
  echo "attach with:"
  echo "  $BIN shell $HOST:$gw"
}

cmd_status() {
  (($# == 0)) || usage
  local nodes=() name pid alive=0 dead=0 gw rc=0 table
  mapfile -t nodes < <(known_nodes)
  if ((${#nodes[@]} == 0)); then
    echo "no cluster running from $RUN_DIR (no pid files)"
    exit 3
  fi
  printf '%-12s %-8s %s\n' NODE PID STATE
  for name in "${nodes[@]}"; do
    pid=$(read_pid "$name")
    if node_alive "$pid" "$name"; then
      printf '%-12s %-8s %s\n' "$name" "$pid" alive
      alive=$((alive + 1))
    else
      printf '%-12s %-8s %s\n' "$name" "${pid:-?}" dead
      dead=$((dead + 1))
    fi
  done
  if ((alive == 0)); then
    echo "no node is alive (stale pid files in $RUN_DIR; \`$PROG stop\` removes them)"
    exit 3
  fi
  ((dead == 0)) || rc=1
  if name_alive head; then
    gw=$(json_int "$RUN_DIR/head/head.json" gateway_port)
    gw=${gw:-$GATEWAY_PORT}
    echo
    if table=$(with_timeout 10 "$BIN" shell "$HOST:$gw" -c nodes 2>&1); then
      echo "$table"
    else
      echo "$table"
      echo "$PROG: the head does not answer on $HOST:$gw" >&2
      rc=1
    fi
  fi
  exit "$rc"
}

cmd_stop() {
  (($# == 0)) || usage
  local nodes=()
  mapfile -t nodes < <(known_nodes)
  if ((${#nodes[@]} == 0)); then
    log "nothing to stop in $RUN_DIR"
    exit 0
  fi
  if stop_nodes "${nodes[@]}"; then
    log "stopped ${#nodes[@]} node(s)"
  else
    exit 1
  fi
}

(($# >= 1)) || usage
action=$1
shift
case $action in
  start) cmd_start "$@" ;;
  status) cmd_status "$@" ;;
  stop) cmd_stop "$@" ;;
  -h | --help | help) usage ;;
  *)
    echo "$PROG: unknown action '$action'" >&2
    usage
    ;;
esac
