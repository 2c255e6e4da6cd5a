#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The collection's GPU-facing paths on a REAL NVIDIA GPU host (not CI: CI has no GPU).
#   tests/device/run.sh [OUT_DIR]
# Runs tests/device/gpu_host.yml with connection local: check mode, apply, idempotent re-apply
# (changed=0), then the preflight of a model that cannot fit the host's GPUs, which must fail
# before anything is written, with the numbers. Needs ansible-core for the python3 on the
# host (ANSIBLE_PLAYBOOK overrides the command). Writes logs and the nvidia-smi output to
# OUT_DIR; tests/device/captured-h100/ is such a run's output.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=tests/lib/recap.sh
. tests/lib/recap.sh
OUT_DIR=${1:-${OUT:-/tmp/llmserve-device}}
mkdir -p "$OUT_DIR"
PY=$(command -v python3)
read -r -a PLAYBOOK <<<"${ANSIBLE_PLAYBOOK:-ansible-playbook}"
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
REPO=$(mktemp -d /tmp/llmserve-device-repo.XXXXXX)
rc_all=0

pb() { # pb NAME ARGS... -> output in OUT_DIR/NAME.log, the PLAY RECAP line printed
  local name=$1 rc=0
  shift
  "${PLAYBOOK[@]}" -i localhost, -e "ansible_python_interpreter=$PY" -e "device_repo=$REPO" \
    "$@" >"$OUT_DIR/$name.log" 2>&1 || rc=$?
  printf '%-12s rc=%s  %s\n' "$name" "$rc" "$(recap_line "$OUT_DIR/$name.log")"
  return $rc
}
check() { # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; rc_all=1; fi
}

nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version,compute_cap,pci.bus_id \
  --format=csv,noheader,nounits | tee "$OUT_DIR/nvidia-smi-query.txt"

pb check tests/device/gpu_host.yml --check
check "check mode passes and writes no repository" test -z "$(ls -A "$REPO")"
pb apply tests/device/gpu_host.yml
check "apply wrote the repository" test -s "$(find "$REPO" -name model.json | head -1)"
pb again tests/device/gpu_host.yml
check "re-apply changed nothing" test "$(recap "$OUT_DIR/again.log" changed)" = 0
grep -A4 'Show what the host reported' "$OUT_DIR/apply.log" | grep -E 'driver|GPUs|tensor' | sed 's/^ *//'

before=$(find "$REPO" -type f -exec md5sum {} + | sort)
pb toolarge tests/device/gpu_host.yml -e device_model=llama3-70b
rc=$?
check "llama3-70b on these GPUs fails in preflight" test "$rc" -ne 0
check "the failure gives the numbers" grep -q 'does not fit: needs' "$OUT_DIR/toolarge.log"
check "the repository is untouched" test "$before" = "$(find "$REPO" -type f -exec md5sum {} + | sort)"
grep -o 'does not fit: needs[^"]*' "$OUT_DIR/toolarge.log" | head -1

rm -rf "$REPO"
exit $rc_all
