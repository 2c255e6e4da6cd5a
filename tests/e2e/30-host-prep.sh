#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Host preparation: roles nvidia_driver and docker_runtime on three systemd test hosts
# (molecule/host_prep). Steps: check mode on fresh hosts → converge → idempotence (0 changed)
# → check mode again (0 changed) → verify the real host state → destroy.
# Self-sufficient on a clean machine: installs docker.io/debootstrap if missing, starts dockerd
# (tests/lib/dockerd.sh) and builds or loads the test-host image (tests/images/...).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCENARIO=host_prep
[ -x "$ROOT/.venv/bin/molecule" ] || tests/setup-dev.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 NO_COLOR=1

say() { printf '\n--- 30-host-prep: %s\n' "$*"; }

started_dockerd=false
tests/lib/dockerd.sh status >/dev/null || started_dockerd=true
cleanup() {
  local rc=$?
  say "cleanup: destroying the test hosts"
  molecule destroy -s "$SCENARIO" >/dev/null 2>&1 || true
  if $started_dockerd; then tests/lib/dockerd.sh stop || true; fi
  exit "$rc"
}
trap cleanup EXIT

say "docker daemon"
tests/lib/dockerd.sh start
say "test-host image local/debian12-systemd"
tests/images/debian12-systemd/build.sh

say "fresh hosts: destroy leftovers, create, prepare (deploy user, admin daemon.json, FAKE nvidia-smi on hostprep-b)"
molecule destroy -s "$SCENARIO"
molecule create -s "$SCENARIO"
molecule prepare -s "$SCENARIO"

say "check mode on the fresh hosts must succeed"
molecule check -s "$SCENARIO"

say "converge (three hosts in parallel)"
molecule converge -s "$SCENARIO"

say "idempotence: a second converge must change nothing"
molecule idempotence -s "$SCENARIO"

say "check mode on the converged hosts must report 0 changed"
log=$(mktemp)
molecule check -s "$SCENARIO" 2>&1 | tee "$log"
recap=$(grep -E 'hostprep-[a-z]+ +: ok=' "$log" || true)
rm -f "$log"
[ "$(printf '%s\n' "$recap" | grep -c .)" -eq 3 ] || {
  echo "FAIL: expected a PLAY RECAP line for each of the 3 hosts, got: $recap" >&2
  exit 1
}
if printf '%s\n' "$recap" | grep -qvE 'changed=0 '; then
  echo "FAIL: check mode reports changes on converged hosts:" >&2
  printf '%s\n' "$recap" >&2
  exit 1
fi
echo "OK: $(printf '%s\n' "$recap" | tr -s ' ' | sed 's/^[^a-z]*//' | paste -sd ';')"

say "verify the real host state (packages, daemon.json, systemd, docker group, a container runs)"
echo "(the last play breaks daemon.json on hostprep-a on purpose: 2 expected 'fatal' lines, rescued)"
molecule verify -s "$SCENARIO"

say "PASS"
