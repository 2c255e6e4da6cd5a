# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced by the serving suites (20, 22): output helpers and the process checks they share.
# Process checks read /proc (by PID and parent PID, never by process name).
say() { printf '\n--- %s\n' "$*"; }
ok() { printf '  ok: %s\n' "$*"; }
fail() {
  printf '  FAIL: %s\n' "$*" >&2
  exit 1
}
# The last lines of an output, to stderr.
show_tail() { tail -n 60 "$1" >&2 || true; }
# An ansible output with its YAML line wrapping and quote doubling undone, for matching messages.
flat() { tr -s ' \n' ' ' <"$1" | sed "s/''/'/g"; }
pid_alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null; }
start_time() { awk '{print $22}' "/proc/$1/stat"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
marked_pids() { # marked_pids SERVICE: live processes carrying LLMSERVE_SERVICE=SERVICE
  local d
  for d in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qx "LLMSERVE_SERVICE=$1"; then
      pid_alive "${d#/proc/}" && echo "${d#/proc/}"
    fi
  done
  return 0
}
descendants() { # every live descendant of the given PIDs (by parent PID)
  local table
  table=$(ps -eo pid=,ppid=)
  awk -v roots=" $* " 'BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
    { parent[$1] = $2 }
    END { do { added = 0; for (p in parent) if ((parent[p] in want) && !(p in want)) { want[p] = 1; added = 1; print p } } while (added) }' <<<"$table"
}
