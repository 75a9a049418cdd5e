#!/usr/bin/env bash
# Integration test of deploy/launch-cluster.sh through a real, private sshd on
# 127.0.0.1: a hosts file naming 127.0.0.1 three times (head, worker-1,
# worker-2 on one host), then start / status / stop, --dry-run (prints the
# commands, starts nothing) and bad input (exit 2).
#
# The sshd runs as the current user with its own host key, its own
# authorized_keys (a fresh ed25519 key) and its own sshd_config, all in a
# temporary folder. If it cannot be started the test FAILS: openssh-server and
# openssh-client come with deploy/install-deps.sh.
#
# Needs TROUPE_BIN (absolute path of the troupe binary). Every process it
# starts is stopped on exit, also on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAUNCH=$REPO/deploy/launch-cluster.sh
NAME=launch_cluster_test
SSHD=/usr/sbin/sshd

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
note() { echo "$NAME: $*"; }

[[ -n ${TROUPE_BIN:-} ]] || fail "TROUPE_BIN is not set"
[[ -x $TROUPE_BIN ]] || fail "TROUPE_BIN ($TROUPE_BIN) is not executable"
export TROUPE_BIN
[[ -x $SSHD ]] || fail "$SSHD not found: install openssh-server (deploy/install-deps.sh)"
for tool in ssh ssh-keygen; do
  command -v "$tool" >/dev/null || fail "$tool not found: install openssh-client (deploy/install-deps.sh)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
chmod 700 "$WORK"
SSH_DIR=$WORK/ssh
mkdir -m 700 "$SSH_DIR"
export TROUPE_REMOTE_DIR=$WORK/remote
export TROUPE_SLOTS=2 TROUPE_START_TIMEOUT=20 TROUPE_JOIN_TIMEOUT=30 TROUPE_STOP_TIMEOUT=5
SSHD_PID=''
HOSTS=$WORK/hosts

# proc_alive PID: PID exists and is not a zombie.
proc_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Pids of the nodes, from their pid files (the "remote" host is this one).
node_pids() {
  local f
  for f in "$TROUPE_REMOTE_DIR"/*/node.pid; do
    [[ -f $f ]] && head -n1 "$f"
  done 2>/dev/null || true
}

cleanup() {
  local rc=$? pid pids f
  trap - EXIT INT TERM
  pids=$(node_pids)
  if [[ -n $pids && -n $SSHD_PID ]] && proc_alive "$SSHD_PID"; then
    timeout 30 "$LAUNCH" "$HOSTS" stop >/dev/null 2>&1 || true
  fi
  for pid in $pids; do
    if proc_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if [[ -n $SSHD_PID ]] && proc_alive "$SSHD_PID"; then
    kill -TERM "$SSHD_PID" 2>/dev/null || true
    for _ in $(seq 50); do proc_alive "$SSHD_PID" || break; sleep 0.1; done
    if proc_alive "$SSHD_PID"; then kill -KILL "$SSHD_PID" 2>/dev/null || true; fi
  fi
  if ((rc != 0)); then
    for f in "$TROUPE_REMOTE_DIR"/*/node.log "$SSH_DIR/sshd.log"; do
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

# free_ports K: K distinct free ports (free on 0.0.0.0, so on 127.0.0.1 too).
free_ports() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("", 0))
print(*[s.getsockname()[1] for s in ss])' "$1"
    return
  fi
  local p found=()
  while ((${#found[@]} < $1)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ " ${found[*]} " != *" $p "* ]]; then found+=("$p"); fi
  done
  echo "${found[@]}"
}
read -r SSH_PORT TROUPE_PORT TROUPE_GATEWAY_PORT < <(free_ports 3)
export TROUPE_PORT TROUPE_GATEWAY_PORT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# run_capture VAR CMD...: runs CMD (bounded), stdout+stderr into VAR, returns its rc.
run_capture() {
  local -n _out=$1
  shift
  local _rc=0
  _out=$(timeout 80 "$@" 2>&1) || _rc=$?
  return "$_rc"
}
out=''

# ---------------------------------------------------------- a private sshd

ssh-keygen -q -t ed25519 -N '' -C "$NAME host key" -f "$SSH_DIR/host_ed25519" >/dev/null ||
  fail "ssh-keygen could not make a host key"
ssh-keygen -q -t ed25519 -N '' -C "$NAME client key" -f "$SSH_DIR/id_ed25519" >/dev/null ||
  fail "ssh-keygen could not make a client key"
cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
chmod 600 "$SSH_DIR/authorized_keys"
USER_NAME=$(id -un)
cat >"$SSH_DIR/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSH_DIR/host_ed25519
PidFile $SSH_DIR/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $USER_NAME
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
PrintMotd no
LogLevel VERBOSE
EOF
# sshd run by root insists on its privilege separation folder.
if [[ $(id -u) == 0 && ! -d /run/sshd ]]; then
  mkdir -m 755 /run/sshd || fail "cannot create /run/sshd, which sshd needs when run as root"
fi
"$SSHD" -t -f "$SSH_DIR/sshd_config" 2>"$SSH_DIR/sshd-check.log" ||
  fail "sshd rejects its test configuration: $(cat "$SSH_DIR/sshd-check.log")"
"$SSHD" -D -f "$SSH_DIR/sshd_config" -E "$SSH_DIR/sshd.log" </dev/null >/dev/null 2>&1 &
SSHD_PID=$!
for _ in $(seq 100); do
  port_open "$SSH_PORT" && break
  proc_alive "$SSHD_PID" || break
  sleep 0.1
done
if ! proc_alive "$SSHD_PID" || ! port_open "$SSH_PORT"; then
  fail "could not start sshd on 127.0.0.1:$SSH_PORT: $(tail -n 20 "$SSH_DIR/sshd.log" 2>/dev/null)"
fi

export TROUPE_SSH_OPTS="-F /dev/null -i $SSH_DIR/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=$SSH_DIR/known_hosts -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR"
# shellcheck disable=SC2086 # TROUPE_SSH_OPTS is a list of words
if ! timeout 30 ssh $TROUPE_SSH_OPTS -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
  -p "$SSH_PORT" "$USER_NAME@127.0.0.1" true </dev/null 2>"$SSH_DIR/ssh-check.log"; then
  fail "cannot log in through the test sshd: $(cat "$SSH_DIR/ssh-check.log"); sshd log: $(tail -n 20 "$SSH_DIR/sshd.log")"
fi
note "sshd on 127.0.0.1:$SSH_PORT (pid $SSHD_PID); troupe ports $TROUPE_PORT/$TROUPE_GATEWAY_PORT"

# -------------------------------------------------------------- bad input

rc=0; run_capture out "$LAUNCH" "$WORK/no-such-hosts" start || rc=$?
((rc == 2)) || fail "missing hosts file: expected exit 2, got $rc: $out"
grep -qF "$WORK/no-such-hosts" <<<"$out" || fail "missing hosts file: the message does not name it: $out"

printf '# nothing but comments\n\n   \n' >"$WORK/empty-hosts"
rc=0; run_capture out "$LAUNCH" "$WORK/empty-hosts" start || rc=$?
((rc == 2)) || fail "empty hosts file: expected exit 2, got $rc: $out"
grep -qF "$WORK/empty-hosts" <<<"$out" || fail "empty hosts file: the message does not name it: $out"

printf '127.0.0.1:%s\n' "$SSH_PORT" >"$WORK/one-host"
rc=0; run_capture out "$LAUNCH" "$WORK/one-host" restart || rc=$?
((rc == 2)) || fail "unknown action: expected exit 2, got $rc: $out"
grep -qF restart <<<"$out" || fail "unknown action: the message does not name it: $out"

# -------------------------------------------------------------- hosts file

cat >"$HOSTS" <<EOF
# troupe test cluster: three nodes on one host
127.0.0.1:$SSH_PORT

$USER_NAME@127.0.0.1:$SSH_PORT   # worker-1
  127.0.0.1:$SSH_PORT
EOF

# ---------------------------------------------------------------- dry run

rc=0; run_capture out "$LAUNCH" "$HOSTS" start --dry-run || rc=$?
echo "$out"
((rc == 0)) || fail "start --dry-run exited with $rc"
cmds=$(grep '^+ ' <<<"$out" || true)
grep -E "^\+ ssh .*-p $SSH_PORT .*127\.0\.0\.1 .*$TROUPE_BIN node --head .*--bind 0\.0\.0\.0" <<<"$cmds" >/dev/null ||
  fail "start --dry-run does not print 'ssh ... troupe node --head ... --bind 0.0.0.0'"
grep -E "^\+ ssh .*--port $TROUPE_PORT .*--gateway-port $TROUPE_GATEWAY_PORT" <<<"$cmds" >/dev/null ||
  fail "start --dry-run: the head command lacks --port/--gateway-port"
for n in 1 2; do
  grep -E "^\+ ssh .*$TROUPE_BIN node --join 127\.0\.0\.1:$TROUPE_PORT .*--name worker-$n( |'|$)" <<<"$cmds" >/dev/null ||
    fail "start --dry-run does not print 'ssh ... troupe node --join 127.0.0.1:$TROUPE_PORT ... --name worker-$n'"
done
grep -E "^\+ ssh .*$USER_NAME@127\.0\.0\.1 .*--join" <<<"$cmds" >/dev/null ||
  fail "start --dry-run: worker-1 is not started as $USER_NAME@127.0.0.1"
grep -E "^\+ ssh .*shell 127\.0\.0\.1:$TROUPE_GATEWAY_PORT -c .*wait-nodes 3" <<<"$cmds" >/dev/null ||
  fail "start --dry-run does not print the 'troupe shell ... wait-nodes 3' command"
[[ $(grep -c -- "node --join" <<<"$cmds") == 2 ]] || fail "start --dry-run: expected 2 worker commands"
if grep -v '^+ ' <<<"$out" | grep -q '^+'; then fail "odd dry-run line"; fi
[[ ! -e $TROUPE_REMOTE_DIR ]] || fail "start --dry-run created $TROUPE_REMOTE_DIR"
! port_open "$TROUPE_PORT" || fail "start --dry-run started something on port $TROUPE_PORT"
if pgrep -f -- "$TROUPE_REMOTE_DIR" >/dev/null 2>&1; then fail "start --dry-run started processes"; fi

for action in status stop; do
  rc=0; run_capture out "$LAUNCH" "$HOSTS" "$action" --dry-run || rc=$?
  ((rc == 0)) || fail "$action --dry-run exited with $rc: $out"
  grep -q '^+ ssh ' <<<"$out" || fail "$action --dry-run printed no ssh command: $out"
done
[[ ! -e $TROUPE_REMOTE_DIR ]] || fail "status/stop --dry-run created $TROUPE_REMOTE_DIR"

# --------------------------------------------------------- real start

rc=0; run_capture out "$LAUNCH" "$HOSTS" status || rc=$?
((rc == 3)) || fail "status before start: expected exit 3, got $rc: $out"

rc=0; run_capture out "$LAUNCH" "$HOSTS" start || rc=$?
echo "$out"
((rc == 0)) || fail "start exited with $rc"
declare -A pid
for n in head worker-1 worker-2; do
  f=$TROUPE_REMOTE_DIR/$n/node.pid
  [[ -f $f ]] || fail "no pid file $f"
  pid[$n]=$(head -n1 "$f")
  proc_alive "${pid[$n]}" || fail "$n (pid ${pid[$n]}) is not alive after start"
  mode=$(stat -c %a "$TROUPE_REMOTE_DIR/$n/secret")
  [[ $mode == 600 ]] || fail "$n's secret has mode $mode, not 600"
done
cmp -s "$TROUPE_REMOTE_DIR/head/secret" "$TROUPE_REMOTE_DIR/worker-2/secret" ||
  fail "the nodes got different secrets"
[[ ${pid[head]} != "${pid[worker-1]}" && ${pid[worker-1]} != "${pid[worker-2]}" ]] ||
  fail "nodes share a pid: ${pid[*]}"

# The gateway binds 127.0.0.1 on the head host, which is this one.
rc=0; run_capture out "$TROUPE_BIN" shell "127.0.0.1:$TROUPE_GATEWAY_PORT" -c nodes || rc=$?
echo "$out"
((rc == 0)) || fail "troupe shell -c nodes exited with $rc"
last=$(grep -v '^[[:space:]]*$' <<<"$out" | tail -n1)
[[ $last =~ (^|[^0-9])3\ nodes ]] || fail "nodes: last line is '$last', expected '3 nodes'"
for n in head worker-1 worker-2; do
  grep -qwF -- "$n" <<<"$out" || fail "nodes does not list $n"
done

rc=0; run_capture out "$LAUNCH" "$HOSTS" status || rc=$?
echo "$out"
((rc == 0)) || fail "status exited with $rc"
for n in head worker-1 worker-2; do
  grep -Eq "^${n}[[:space:]].*[[:space:]]${pid[$n]}[[:space:]]+alive" <<<"$out" ||
    fail "status does not show $n (pid ${pid[$n]}) alive"
done
grep -Eq '(^|[^0-9])3 nodes' <<<"$out" || fail "status does not show the head's nodes table with 3 nodes"
grep -Eq '^[0-9]+ slots, [0-9]+ free' <<<"$out" || fail "status does not show the head's slots table"
grep -Eq '^NODE[[:space:]]+SLOT[[:space:]]+HELD-BY' <<<"$out" || fail "status does not show who holds the slots"

rc=0; run_capture out "$LAUNCH" "$HOSTS" start || rc=$?
echo "$out"
((rc == 4)) || fail "a second start: expected exit 4 (already running), got $rc"
for n in head worker-1 worker-2; do
  proc_alive "${pid[$n]}" || fail "$n died after the refused start"
done

# ------------------------------------------------------------------ stop

rc=0; run_capture out "$LAUNCH" "$HOSTS" stop || rc=$?
echo "$out"
((rc == 0)) || fail "stop exited with $rc"
for n in head worker-1 worker-2; do
  ! proc_alive "${pid[$n]}" || fail "$n (pid ${pid[$n]}) is still alive after stop"
  [[ ! -e $TROUPE_REMOTE_DIR/$n/node.pid ]] || fail "$n's pid file is left after stop"
done
if pgrep -f -- "$TROUPE_REMOTE_DIR" >/dev/null 2>&1; then
  fail "processes still refer to $TROUPE_REMOTE_DIR after stop: $(pgrep -af -- "$TROUPE_REMOTE_DIR")"
fi
! port_open "$TROUPE_PORT" || fail "port $TROUPE_PORT is still open after stop"

rc=0; run_capture out "$LAUNCH" "$HOSTS" status || rc=$?
((rc == 3)) || fail "status after stop: expected exit 3, got $rc: $out"

note "PASS"
