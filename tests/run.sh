#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The project's test command (README "Test"): set-up, lint, sanity, unit, then every
# integration suite in tests/e2e/ in name order. `tests/run.sh STAGE...` runs only the
# named stages (setup lint sanity unit e2e) or e2e suites by file name (e.g. 20-serving).
# Every step runs even when an earlier one failed (set-up excepted); the summary at the end
# lists the failures and the exit code is non-zero when there was any.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

stage() { printf '\n===== %s =====\n' "$*"; }
failed=()
# A step that hangs must fail on its own instead of eating CI's time limit: every step runs
# under `timeout` (SIGTERM to its process group, SIGKILL 60 s later).
STEP_TIMEOUT_S=${LLMSERVE_STEP_TIMEOUT_S:-1500}
step() {  # step NAME COMMAND... : run one check, remember a failure, go on
  local name=$1 start=$SECONDS rc=0
  shift
  stage "$name"
  timeout -k 60 "$STEP_TIMEOUT_S" "$@" || rc=$?
  # 124: timeout's TERM ended it; 137: its KILL did, unless something else killed it earlier
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $((SECONDS - start)) -ge "$STEP_TIMEOUT_S" ]; }; then
    failed+=("$name (timed out after ${STEP_TIMEOUT_S} s)")
    echo "----- FAILED: $name (timed out after $((SECONDS - start)) s)"
  elif [ "$rc" -ne 0 ]; then
    failed+=("$name (exit $rc)")
    echo "----- FAILED: $name (exit $rc, $((SECONDS - start)) s)"
  else
    echo "----- ok: $name ($((SECONDS - start)) s)"
  fi
}

run_setup() {
  local start=$SECONDS
  stage setup
  tests/setup-dev.sh
  echo "----- ok: setup ($((SECONDS - start)) s)"
}
run_lint() {
  step "lint: ansible-lint --profile production" ansible-lint --profile production --offline
  step "lint: ruff check" ruff check .
  step "lint: ruff format --check" ruff format --check .
  step "lint: antsibull-changelog lint" antsibull-changelog lint
  step "lint: shellcheck" sh -c "git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck -x"
  step "lint: license (SPDX line in every source file, galaxy.yml)" tests/lint_license.sh
}

run_sanity() { step "ansible-test sanity" tests/sanity.sh; }
run_unit() { step "unit: pytest" python -m pytest -q tests/unit; }
run_e2e() {
  local f docker_was_up=1
  tests/lib/dockerd.sh status >/dev/null 2>&1 || docker_was_up=0
  for f in tests/e2e/[0-9]*.sh; do
    [ -e "$f" ] || continue
    step "e2e: $f" "$f"
  done
  # The suites share one Docker daemon; stop it if they started it (none left running).
  [ "$docker_was_up" = 1 ] || tests/lib/dockerd.sh stop || true
}

if [ "$#" -eq 0 ]; then
  set -- setup lint sanity unit e2e
fi
for s in "$@"; do
  case "$s" in
    setup|lint|sanity|unit|e2e) "run_$s" ;;
    *)
      f=$(find tests/e2e -maxdepth 1 -name "$s*.sh" | sort | head -1)
      [ -n "$f" ] || { echo "tests/run.sh: unknown stage or suite '$s'" >&2; exit 2; }
      step "e2e: $f" "$f" ;;
  esac
done
if [ "${#failed[@]}" -gt 0 ]; then
  stage "FAILED: ${#failed[@]} step(s) in $SECONDS s"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
stage "all requested stages passed in $SECONDS s"
