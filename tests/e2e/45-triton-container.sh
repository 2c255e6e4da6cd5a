#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The Triton container runtime of llmserve.triton.triton_vllm in a Molecule systemd test host
# with its own Docker daemon (molecule/triton_container), against NVIDIA's REAL tritonserver
# (from the nvidia-pytriton wheel, downloaded here with the dev venv's pip) with a TEST STAND-IN
# vLLM backend. Steps: check mode on the prepared host → converge → check mode again (0 changed)
# → idempotence (0 changed) → verify the real state (container spec, 0600 token file, bind
# addresses, model switch through explicit model control without a restart, a model that fails
# to load, teardown) → destroy. The whole output is -vvv and must not contain the canary token.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCENARIO=triton_container
HOST=llmserve-triton-container
[ -x "$ROOT/.venv/bin/molecule" ] || tests/setup-dev.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 NO_COLOR=1
# -vvv for every step: the secrets check below then covers everything Ansible can print.
export ANSIBLE_VERBOSITY=3
unset ANSIBLE_CONFIG

say() { printf '\n--- 45-triton-container: %s\n' "$*"; }
# The host's PLAY RECAP line of the last step, and its changed= count.
recap_line() { grep -aE "${HOST} +: ok=" "$step_log" | tail -1; }
recap_changed() { recap_line | grep -oE 'changed=[0-9]+' | cut -d= -f2; }

log=$(mktemp /tmp/llmserve-45.XXXXXX.log)
step_log=$(mktemp /tmp/llmserve-45-step.XXXXXX.log)
started_dockerd=false
tests/lib/dockerd.sh status >/dev/null 2>&1 || started_dockerd=true
cleanup() {
  local rc=$?
  say "cleanup: destroying the test host"
  molecule destroy -s "$SCENARIO" >/dev/null 2>&1 || true
  if $started_dockerd; then tests/lib/dockerd.sh stop || true; fi
  rm -f "$log" "$step_log"
  exit "$rc"
}
trap cleanup EXIT

# One Molecule step, its output appended to $log; on failure the failed tasks and the tail.
step() {
  local t0=$SECONDS rc=0
  molecule "$1" -s "$SCENARIO" >"$step_log" 2>&1 || rc=$?
  cat "$step_log" >>"$log"
  # (Molecule 26 prints a harmless "molecule/default/molecule.yml glob failed" on each call.)
  grep -aE "^(fatal|failed):|CRITICAL|ERROR" "$step_log" | grep -v "glob failed" | tail -20 || true
  if [ "$rc" != 0 ]; then
    grep -a -B2 -A40 -E "^fatal:" "$step_log" | tail -120 || tail -60 "$step_log"
    echo "FAIL: molecule $1 exited $rc" >&2
    exit "$rc"
  fi
  echo "ok: molecule $1 ($((SECONDS - t0)) s)"
}

say "docker daemon and the test-host image"
tests/lib/dockerd.sh start
tests/images/debian12-systemd/build.sh

say "fresh host: destroy leftovers, create, prepare (wheels downloaded here, the serving image built inside)"
step destroy
step create
step prepare

say "check mode on the prepared host must succeed and report the container it would create"
step check
[ "$(recap_changed)" -ge 1 ] 2>/dev/null || {
  echo "FAIL: check mode on the prepared host reports no change: $(recap_line)" >&2
  exit 1
}
echo "ok: $(recap_line | tr -s ' ')"

say "converge: the real tritonserver, smoke inference over gRPC streaming"
step converge

say "check mode on the converged host must report 0 changed"
step check
[ "$(recap_changed)" = 0 ] || {
  echo "FAIL: check mode reports changes on the converged host: $(recap_line)" >&2
  exit 1
}
echo "ok: $(recap_line | tr -s ' ')"

say "idempotence: a second converge must change nothing"
step idempotence

say "verify the real state (spec, token, sockets, switch without restart, load failures, teardown)"
echo "(the failure paths fail on purpose: 'fatal' lines followed by a rescue are expected)"
step verify

say "the canary HF token of the scenario appears nowhere in the output"
canary=$(sed -n 's/^test_canary_token: *//p' molecule/triton_container/vars/test.yml)
[ -n "$canary" ] || {
  echo "FAIL: no canary token in the scenario vars" >&2
  exit 1
}
if grep -qF "$canary" "$log"; then
  echo "FAIL: the HF token appears in the Molecule output" >&2
  exit 1
fi
echo "ok: token absent from $(wc -l <"$log") lines of output"

step destroy
say "PASS"
