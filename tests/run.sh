#!/usr/bin/env bash
# The project's test command (README "Test"): set-up, lint, sanity, unit, then every
# integration suite in tests/e2e/ in name order. `tests/run.sh STAGE...` runs only the
# named stages (setup lint sanity unit e2e) or e2e suites by file name (e.g. 20-serving).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

stage() { printf '\n===== %s =====\n' "$*"; }

run_setup() { stage setup; tests/setup-dev.sh; }
run_lint() {
  stage "lint: ansible-lint --profile production"
  ansible-lint --profile production --offline
  stage "lint: ruff"
  ruff check .
  ruff format --check .
}
run_sanity() { stage "ansible-test sanity"; tests/sanity.sh; }
run_unit() { stage "unit: pytest"; python -m pytest -q tests/unit; }
run_e2e_one() { stage "e2e: $1"; "$1"; }
run_e2e() {
  local f
  for f in tests/e2e/[0-9]*.sh; do
    [ -e "$f" ] || continue
    run_e2e_one "$f"
  done
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
      run_e2e_one "$f" ;;
  esac
done
stage "all requested stages passed"
