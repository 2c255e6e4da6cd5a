#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Start, stop or query a Docker daemon for the test suites on a machine without systemd.
#   tests/lib/dockerd.sh start   # idempotent: returns 0 once `docker info` answers
#   tests/lib/dockerd.sh stop    # stops the daemon only if this script started it
#   tests/lib/dockerd.sh status  # 0 if `docker info` answers, else 1
# A daemon that was already running (started by systemd or by someone else) is used as is
# and never stopped. Pidfile and log: .cache/dockerd/{dockerd.pid,dockerd.log}.
# Suites that want to clean up only what they started can test `status` before `start`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR=${LLMSERVE_DOCKERD_DIR:-$ROOT/.cache/dockerd}
PIDFILE=$STATE_DIR/dockerd.pid
LOG=$STATE_DIR/dockerd.log
WAIT_S=${LLMSERVE_DOCKERD_WAIT_S:-60}

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }

answers() { docker info >/dev/null 2>&1; }

close_inherited_fds() { # in a subshell: close every descriptor above 2
  local fd
  for fd in "/proc/$BASHPID/fd"/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

our_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -d "/proc/$pid" ] && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

ensure_tools() {
  command -v dockerd >/dev/null 2>&1 && return 0
  log "dockerd not found: installing docker.io from the distribution"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >&2
}

start() {
  mkdir -p "$STATE_DIR"
  # Several suites may call this at once: serialise the check-and-start.
  exec 9>"$STATE_DIR/lock"
  flock 9
  if answers; then
    log "docker daemon already answers"
    return 0
  fi
  ensure_tools
  if ! our_pid >/dev/null; then
    log "starting dockerd (log: $LOG)"
    # setsid: the daemon must outlive the calling shell and its process group. It must not
    # inherit any descriptor beyond stdio either: an inherited lock (a suite's flock) or pipe
    # (the CI runner's) would be held for the daemon's whole life.
    (
      close_inherited_fds
      exec setsid dockerd >>"$LOG" 2>&1 </dev/null
    ) &
    echo $! >"$PIDFILE"
  fi
  local i
  for ((i = 0; i < WAIT_S * 2; i++)); do
    if answers; then
      log "docker daemon ready (pid $(cat "$PIDFILE"))"
      return 0
    fi
    # By PID, not by our_pid: until the subshell has exec'd, its command line is bash's.
    [ -d "/proc/$(cat "$PIDFILE")" ] || break
    sleep 0.5
  done
  log "dockerd did not become ready; last log lines:"
  tail -n 30 "$LOG" >&2 || true
  return 1
}

stop() {
  local pid i
  if ! pid=$(our_pid); then
    log "no dockerd started by this script is running"
    rm -f "$PIDFILE"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for ((i = 0; i < 60; i++)); do
    [ -d "/proc/$pid" ] || break
    sleep 0.5
  done
  if [ -d "/proc/$pid" ]; then
    log "dockerd did not stop in 30 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$PIDFILE"
}

status() {
  if answers; then
    echo "running"
    return 0
  fi
  echo "stopped"
  return 1
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
