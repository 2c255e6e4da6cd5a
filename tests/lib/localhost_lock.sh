# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced by every script that uses localhost's serving stack (ports 8000-8002, the CPU):
#   . tests/lib/localhost_lock.sh && localhost_lock "$0" "$@"
# Re-executes the script under flock on /tmp/llmserve-localhost.lock, unless it already holds
# it (LLMSERVE_LOCKED, inherited by the scripts it runs). -o: neither the script nor what it
# starts (a server, dockerd) holds the lock's descriptor, so the lock is released when the
# script ends; -w: a lock that stays taken fails after LLMSERVE_LOCK_WAIT_S (default 1800) s.
localhost_lock() {
  [ -z "${LLMSERVE_LOCKED:-}" ] || return 0
  exec env LLMSERVE_LOCKED=1 flock -o -w "${LLMSERVE_LOCK_WAIT_S:-1800}" \
    /tmp/llmserve-localhost.lock "$@"
}
