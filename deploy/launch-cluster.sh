#!/usr/bin/env bash
# Starts, inspects and stops a troupe cluster over ssh.
#
#   deploy/launch-cluster.sh HOSTS_FILE start|status|stop [--dry-run]
#
# HOSTS_FILE lists one host per line: `host`, `user@host`, either with an
# optional `:sshport` (`[v6addr]` in brackets). `#` starts a comment, blank
# lines are ignored. The first host runs the head, every other line one worker
# (worker-1, worker-2, ... in line order). A host may appear on several lines:
# each node has its own remote folder, $TROUPE_REMOTE_DIR/<node name>, holding
# its secret, node.pid, node.log (and data/ for the head).
#
#   start    generate a cluster secret here, copy it to every node (over ssh
#            stdin, umask 077), start the head (--bind 0.0.0.0), read back its
#            port from head.json, start the workers (--join HEADHOST:PORT) and
#            wait until all nodes joined (`troupe shell` on the head host: the
#            gateway binds 127.0.0.1 there)
#   status   each node's pid and whether it is alive, plus `troupe status` on
#            the head (its nodes, and who holds each slot)
#   stop     SIGTERM every node (workers first), SIGKILL leftovers after
#            TROUPE_STOP_TIMEOUT seconds, remove the pid files
#   --dry-run  print every command that would run, one per line prefixed
#            with `+ `, and run none
#
# Every host needs the troupe binary at the same path and a POSIX login shell;
# pid checks use /proc (Linux).
#
# Environment (defaults in brackets):
#   TROUPE_BIN            troupe binary on every host [<repo>/build/bin/troupe]
#   TROUPE_REMOTE_DIR     remote run folder [/tmp/troupe-cluster]
#   TROUPE_HEAD_ADDR      address workers join [the head's host in HOSTS_FILE]
#   TROUPE_PORT           head's cluster port [7700]
#   TROUPE_GATEWAY_PORT   head's gateway port, bound to 127.0.0.1 [7701]
#   TROUPE_SLOTS          slots per worker [2]
#   TROUPE_LOG_LEVEL      --log-level of every node [info]
#   TROUPE_SSH_OPTS       extra ssh options, split on whitespace; they come
#                         first, so they win over the script's -o options
#   TROUPE_START_TIMEOUT  seconds to wait for the head to listen [30]
#   TROUPE_JOIN_TIMEOUT   seconds to wait for all nodes to join [30]
#   TROUPE_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL [15]
#
# Exit codes: 0 success; 1 failure (ssh failed, a node did not start or join,
# a process survived SIGKILL, the head does not answer); 2 bad usage or input
# (unknown action, missing or empty hosts file, malformed line); 3 (status)
# nothing is running; 4 (start) a node of this cluster is already running.
set -euo pipefail

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly BIN=${TROUPE_BIN:-$REPO/build/bin/troupe}
readonly REMOTE_DIR=${TROUPE_REMOTE_DIR:-/tmp/troupe-cluster}
readonly PORT=${TROUPE_PORT:-7700}
readonly GATEWAY_PORT=${TROUPE_GATEWAY_PORT:-7701}
readonly SLOTS=${TROUPE_SLOTS:-2}
readonly LOG_LEVEL=${TROUPE_LOG_LEVEL:-info}
readonly START_TIMEOUT=${TROUPE_START_TIMEOUT:-30}
readonly JOIN_TIMEOUT=${TROUPE_JOIN_TIMEOUT:-30}
readonly STOP_TIMEOUT=${TROUPE_STOP_TIMEOUT:-15}
read -r -a EXTRA_SSH_OPTS <<<"${TROUPE_SSH_OPTS:-}"
readonly EXTRA_SSH_OPTS

usage() {
  cat >&2 <<EOF
usage: $PROG HOSTS_FILE start|status|stop [--dry-run]
  HOSTS_FILE  one [user@]host[:sshport] per line, the first one runs the head
  start       start the head and one worker per other line, wait until all joined
  status      show each node's pid and liveness, the head's node table and
              who holds each slot
  stop        stop every node
  --dry-run   print the commands (prefixed with '+ ') instead of running them
EOF
  exit 2
}

bad() { echo "$PROG: $*" >&2; exit 2; }
log() { echo "$PROG: $*"; }
warn() { echo "$PROG: $*" >&2; }

# ---------------------------------------------------------------- arguments

DRY_RUN=0
positional=()
for arg in "$@"; do
  case $arg in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage ;;
    -*) bad "unknown option '$arg'" ;;
    *) positional+=("$arg") ;;
  esac
done
if ((${#positional[@]} != 2)); then
  warn "expected a hosts file and an action, got ${#positional[@]} argument(s)"
  usage
fi
readonly HOSTS_FILE=${positional[0]} ACTION=${positional[1]}
case $ACTION in
  start | status | stop) ;;
  *) bad "unknown action '$ACTION' (expected start, status or stop)" ;;
esac
[[ -e $HOSTS_FILE ]] || bad "hosts file '$HOSTS_FILE' does not exist"
[[ -f $HOSTS_FILE && -r $HOSTS_FILE ]] || bad "hosts file '$HOSTS_FILE' is not a readable file"
for v in PORT GATEWAY_PORT SLOTS START_TIMEOUT JOIN_TIMEOUT STOP_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || bad "TROUPE_$v must be a non-negative integer, not '${!v}'"
done

# --------------------------------------------------------------- hosts file

DEST=()     # ssh destination: [user@]host
SSH_PORT=() # ssh port or ''
ADDR=()     # host as written (brackets kept), used for --join
NAME=()     # head, worker-1, ...
NODE_DIR=() # remote folder of the node
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  [[ -n $line ]] || continue
  if [[ ! $line =~ ^(([^@[:space:]]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:([0-9]+))?$ ]]; then
    bad "hosts file '$HOSTS_FILE', line $lineno: '$line' is not [user@]host[:sshport]"
  fi
  user=${BASH_REMATCH[2]} host=${BASH_REMATCH[3]} sshport=${BASH_REMATCH[5]}
  i=${#DEST[@]}
  bare=${host#[}
  bare=${bare%]}
  DEST+=("${user:+$user@}$bare")
  SSH_PORT+=("$sshport")
  ADDR+=("$host")
  if ((i == 0)); then NAME+=(head); else NAME+=("worker-$i"); fi
  NODE_DIR+=("$REMOTE_DIR/${NAME[i]}")
done <"$HOSTS_FILE"
((${#DEST[@]})) || bad "hosts file '$HOSTS_FILE' lists no host (only blank or comment lines)"
readonly N=${#DEST[@]}
readonly HEAD_ADDR=${TROUPE_HEAD_ADDR:-${ADDR[0]}}

# -------------------------------------------------------------- ssh helpers

exec 3>&1 # dry-run output goes here, also from inside $(...)

# shq WORD: WORD quoted for a POSIX shell, left bare when that is safe.
shq() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# show ARGV...: the dry-run line of a command.
show() {
  local out='+' a
  for a in "$@"; do out+=" $(shq "$a")"; done
  printf '%s\n' "$out"
}

ssh_argv() {
  SSH_ARGV=(ssh "${EXTRA_SSH_OPTS[@]}" -o BatchMode=yes -o StrictHostKeyChecking=accept-new
    -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3)
  if [[ -n ${SSH_PORT[$1]} ]]; then SSH_ARGV+=(-p "${SSH_PORT[$1]}"); fi
  SSH_ARGV+=("${DEST[$1]}")
}

# rsh I CMD: runs CMD on node I's host (stdin /dev/null); in a dry run
# prints it and succeeds with no output.
rsh() {
  ssh_argv "$1"
  if ((DRY_RUN)); then
    show "${SSH_ARGV[@]}" "$2" >&3
    return 0
  fi
  "${SSH_ARGV[@]}" "$2" </dev/null
}

# rsh_secret I CMD: like rsh, CMD reads the cluster secret on stdin.
rsh_secret() {
  ssh_argv "$1"
  if ((DRY_RUN)); then
    # shellcheck disable=SC2016 # a literal $SECRET in the printed line
    printf '%s <<<"$SECRET"\n' "$(show "${SSH_ARGV[@]}" "$2")" >&3
    return 0
  fi
  "${SSH_ARGV[@]}" "$2" <<<"$SECRET"
}

where() { echo "${NAME[$1]} (${DEST[$1]}${SSH_PORT[$1]:+:${SSH_PORT[$1]}})"; }

# ------------------------------------------------------------ remote scripts
# Each is one line for a POSIX sh on the remote host.

# alive PID NAME: PID is a live, non-zombie troupe node called NAME.
# shellcheck disable=SC2016 # expanded remotely
readonly ALIVE_FN='alive() { kill -0 "$1" 2>/dev/null && { [ ! -d /proc ] || tr "\0" " " <"/proc/$1/cmdline" 2>/dev/null | grep -q -e " --name $2 "; }; }'
Q_BIN=$(shq "$BIN")
readonly Q_BIN

qdir() { shq "${NODE_DIR[$1]}"; }

# Prints "alive PID", "dead PID" or "absent".
probe_cmd() {
  # shellcheck disable=SC2016
  printf '%s; p=$(cat %s/node.pid 2>/dev/null) || { echo absent; exit 0; }; if alive "$p" %s; then echo "alive $p"; else echo "dead $p"; fi' \
    "$ALIVE_FN" "$(qdir "$1")" "${NAME[$1]}"
}

secret_cmd() {
  local d
  d=$(qdir "$1")
  printf 'umask 077 && mkdir -p %s && cat >%s/secret && chmod 600 %s/secret' "$d" "$d" "$d"
}

# start_cmd I ARGS...: starts `troupe node ARGS... --name NAME` detached.
start_cmd() {
  local i=$1 d a args=''
  shift
  d=$(qdir "$i")
  for a in "$@" --log-level "$LOG_LEVEL" --name "${NAME[i]}"; do args+=" $(shq "$a")"; done
  # A stale head.json would be taken for the new head's.
  local clean="$d/node.pid"
  if ((i == 0)); then clean+=" $d/data/head.json"; fi
  # shellcheck disable=SC2016
  printf 'set -e; umask 077; [ -x %s ] || { echo "troupe binary not found on $(uname -n): %s" >&2; exit 5; }; mkdir -p %s; rm -f %s; if [ -f %s/node.log ]; then mv -f %s/node.log %s/node.log.1; fi; nohup %s node%s </dev/null >%s/node.log 2>&1 & echo $! >%s/node.pid; echo "%s started (pid $!)"' \
    "$Q_BIN" "$Q_BIN" "$d" "$clean" "$d" "$d" "$d" "$Q_BIN" "$args" "$d" "$d" "${NAME[i]}"
}

# Waits (bounded) for the head's head.json and prints it.
readback_cmd() {
  local d
  d=$(qdir 0)
  # shellcheck disable=SC2016
  printf '%s; i=0; until [ -s %s/data/head.json ] && grep -q "}" %s/data/head.json; do p=$(cat %s/node.pid 2>/dev/null) || p=; if ! alive "$p" head; then echo "the head exited before listening" >&2; exit 3; fi; i=$((i+1)); if [ "$i" -gt %d ]; then echo "the head wrote no head.json within %ds" >&2; exit 4; fi; sleep 0.2; done; cat %s/data/head.json' \
    "$ALIVE_FN" "$d" "$d" "$d" "$((START_TIMEOUT * 5))" "$START_TIMEOUT" "$d"
}

shell_cmd() { # GATEWAY_PORT COMMANDS
  printf '%s shell 127.0.0.1:%s -c "%s"' "$Q_BIN" "$1" "$2"
}

tail_cmd() { printf 'tail -n 40 %s/node.log' "$(qdir "$1")"; }

stop_cmd() {
  local d n=${NAME[$1]}
  d=$(qdir "$1")
  # shellcheck disable=SC2016
  printf '%s; p=$(cat %s/node.pid 2>/dev/null) || { echo "%s: not running"; exit 0; }; if alive "$p" %s; then kill -TERM "$p"; i=0; while alive "$p" %s && [ "$i" -lt %d ]; do sleep 0.2; i=$((i+1)); done; if alive "$p" %s; then echo "%s (pid $p) ignored SIGTERM for %ds, sending SIGKILL" >&2; kill -KILL "$p" 2>/dev/null || true; sleep 1; fi; if alive "$p" %s; then echo "%s (pid $p) survived SIGKILL" >&2; exit 1; fi; echo "%s stopped (pid $p)"; else echo "%s: not running (stale pid $p)"; fi; rm -f %s/node.pid' \
    "$ALIVE_FN" "$d" "$n" "$n" "$n" "$((STOP_TIMEOUT * 5))" "$n" "$n" "$STOP_TIMEOUT" "$n" "$n" "$n" "$n" "$d"
}

# json_int KEY: the integer value of "KEY" in the flat JSON object on stdin.
json_int() { tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p"; }

# ------------------------------------------------------------------ actions

# Prints the tail of node I's log to stderr.
tail_log() {
  local out
  if out=$(rsh "$1" "$(tail_cmd "$1")" 2>&1) && [[ -n $out ]]; then
    warn "---- last lines of ${NODE_DIR[$1]}/node.log on ${DEST[$1]} ----"
    printf '%s\n' "$out" >&2
    warn "----"
  else
    warn "(no log from $(where "$1"))"
  fi
}

# stop_nodes I...: stops the given nodes, workers before the head.
stop_nodes() {
  local i rc=0 order=()
  for i in "$@"; do ((i == 0)) || order+=("$i"); done
  for i in "$@"; do ((i != 0)) || order+=("$i"); done
  for i in "${order[@]}"; do
    if ! rsh "$i" "$(stop_cmd "$i")"; then
      warn "could not stop $(where "$i")"
      rc=1
    fi
  done
  return "$rc"
}

STARTED=()
START_DONE=0

abort_start() {
  warn "start failed: $1"
  if [[ -n ${2:-} ]]; then tail_log "$2"; fi
  if ((${#STARTED[@]})); then
    warn "stopping the ${#STARTED[@]} node(s) started"
    stop_nodes "${STARTED[@]}" >&2 || true
  fi
  exit 1
}

on_signal() {
  trap - INT TERM
  ((START_DONE)) && exit 130
  abort_start "interrupted"
}

cmd_start() {
  local i out running=() port gw json dead rc

  if ((DRY_RUN)); then
    echo '+ head -c 32 /dev/urandom | base64'
    SECRET='(generated)'
  else
    SECRET=$(head -c 32 /dev/urandom | base64)
  fi

  # Refuse if any node of this cluster is running (and fail early on ssh).
  for ((i = 0; i < N; i++)); do
    if ! out=$(rsh "$i" "$(probe_cmd "$i")"); then
      warn "cannot check $(where "$i") over ssh; nothing was started"
      exit 1
    fi
    if [[ $out == alive* ]]; then running+=("$(where "$i") (pid ${out#alive })"); fi
  done
  if ((${#running[@]})); then
    warn "already running: ${running[*]}"
    warn "stop it first with: $0 $HOSTS_FILE stop"
    exit 4
  fi

  for ((i = 0; i < N; i++)); do
    rsh_secret "$i" "$(secret_cmd "$i")" ||
      { warn "could not copy the secret to $(where "$i"); nothing was started"; exit 1; }
  done

  trap on_signal INT TERM

  # The head.
  local hd=${NODE_DIR[0]}
  STARTED+=(0)
  rsh 0 "$(start_cmd 0 --head --port "$PORT" --bind 0.0.0.0 --gateway-port "$GATEWAY_PORT" \
    --gateway-bind 127.0.0.1 --data-dir "$hd/data" --secret-file "$hd/secret")" ||
    abort_start "could not start the head on $(where 0)" 0
  json=$(rsh 0 "$(readback_cmd)") || abort_start "the head did not come up on $(where 0)" 0
  port=$(json_int port <<<"$json")
  gw=$(json_int gateway_port <<<"$json")
  if ((DRY_RUN)); then
    port=$PORT gw=$GATEWAY_PORT
  elif [[ -z $port || -z $gw ]]; then
    abort_start "cannot read the ports from the head's head.json: $json" 0
  fi
  log "head listening on $HEAD_ADDR:$port, gateway on 127.0.0.1:$gw of ${DEST[0]}"

  # The workers.
  for ((i = 1; i < N; i++)); do
    STARTED+=("$i")
    rsh "$i" "$(start_cmd "$i" --join "$HEAD_ADDR:$port" --slots "$SLOTS" \
      --secret-file "${NODE_DIR[i]}/secret")" ||
      abort_start "could not start $(where "$i")" "$i"
  done

  # Wait until all joined.
  log "waiting up to ${JOIN_TIMEOUT}s for $N node(s) to join"
  if out=$(rsh 0 "$(shell_cmd "$gw" "wait-nodes $N $JOIN_TIMEOUT")" 2>&1); then
    rc=0
  else
    rc=$?
  fi
  if ((rc != 0)); then
    warn "\`troupe shell 127.0.0.1:$gw -c \"wait-nodes $N $JOIN_TIMEOUT\"\` on $(where 0) exited with $rc:"
    printf '%s\n' "$out" | sed 's/^/  /' >&2
    # Blame dead nodes, else those the head does not list, else the head.
    dead=()
    for ((i = 0; i < N; i++)); do
      out=$(rsh "$i" "$(probe_cmd "$i")" 2>/dev/null) || out=unknown
      [[ $out == alive* ]] || dead+=("$i")
    done
    if ((${#dead[@]} == 0)); then
      out=$(rsh 0 "$(shell_cmd "$gw" nodes)" 2>&1) || true
      warn "the head lists:"
      printf '%s\n' "$out" | sed 's/^/  /' >&2
      for ((i = 1; i < N; i++)); do
        grep -qwF -- "${NAME[i]}" <<<"$out" || dead+=("$i")
      done
    fi
    ((${#dead[@]})) || dead=(0)
    for i in "${dead[@]}"; do warn "$(where "$i") is not up"; tail_log "$i"; done
    abort_start "not all $N nodes joined within ${JOIN_TIMEOUT}s"
  fi
  START_DONE=1
  trap - INT TERM

  if ((DRY_RUN)); then
    log "dry run: nothing was run"
    return 0
  fi
  local attach=(ssh "${EXTRA_SSH_OPTS[@]}" -t)
  if [[ -n ${SSH_PORT[0]} ]]; then attach+=(-p "${SSH_PORT[0]}"); fi
  attach+=("${DEST[0]}" "$BIN" shell "127.0.0.1:$gw")
  log "cluster of $N node(s) is up (remote folders under $REMOTE_DIR)"
  echo "attach with:"
  echo "  $(show "${attach[@]}" | cut -c3-)"
}

cmd_status() {
  local i out pid state alive=0 down=0 unreachable=0 head_alive=0 json gw rc=0
  printf '%-12s %-28s %-8s %s\n' NODE HOST PID STATE
  for ((i = 0; i < N; i++)); do
    if out=$(rsh "$i" "$(probe_cmd "$i")"); then
      case $out in
        alive*) state=alive pid=${out#alive } alive=$((alive + 1)) ;;
        dead*) state=dead pid=${out#dead } down=$((down + 1)) ;;
        *) state='not started' pid=- down=$((down + 1)) ;;
      esac
    else
      state='unreachable (ssh failed)' pid='?' unreachable=$((unreachable + 1))
    fi
    ((i == 0)) && [[ $state == alive ]] && head_alive=1
    ((DRY_RUN)) || printf '%-12s %-28s %-8s %s\n' "${NAME[i]}" "${DEST[i]}${SSH_PORT[i]:+:${SSH_PORT[i]}}" "$pid" "$state"
  done
  if ((head_alive || DRY_RUN)); then
    json=$(rsh 0 "cat $(qdir 0)/data/head.json") || json=''
    gw=$(json_int gateway_port <<<"$json")
    gw=${gw:-$GATEWAY_PORT}
    echo
    if ! rsh 0 "$(printf '%s status 127.0.0.1:%s' "$Q_BIN" "$gw")"; then
      warn "the head does not answer on 127.0.0.1:$gw ($(where 0))"
      rc=1
    fi
  fi
  ((DRY_RUN)) && exit 0
  if ((alive == 0 && unreachable == 0)); then
    echo "no node is running"
    exit 3
  fi
  ((down == 0 && unreachable == 0)) || rc=1
  exit "$rc"
}

cmd_stop() {
  local all=() i
  for ((i = 0; i < N; i++)); do all+=("$i"); done
  stop_nodes "${all[@]}" || exit 1
  ((DRY_RUN)) || log "stopped"
}

case $ACTION in
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
esac
