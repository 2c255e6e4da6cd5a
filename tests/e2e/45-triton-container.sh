#!/usr/bin/env bash
# The Triton container runtime of llmserve.triton.triton_vllm in a Molecule systemd test host
# with its own Docker daemon (molecule/triton_container): the real container spec, the 0600
# token file, bind addresses, the readiness loop, model switch, the failure path and
# idempotence. The serving image is a small stand-in built inside the test host.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
unset ANSIBLE_CONFIG

echo "--- Docker daemon and the test-host image"
tests/lib/dockerd.sh start
tests/images/debian12-systemd/build.sh

echo "--- molecule test -s triton_container"
log=$(mktemp /tmp/llmserve-45.XXXXXX.log)
trap 'rm -f "$log"' EXIT
# -vvv: the secrets check below then covers everything Ansible can print.
rc=0
molecule test -s triton_container -- -vvv >"$log" 2>&1 || rc=$?
grep -aE "➜|fatal:|CRITICAL|ERROR" "$log" | tail -40
if [ "$rc" != 0 ]; then
  grep -a -B2 -A30 "fatal:" "$log" | tail -80
  echo "FAIL: molecule test exited $rc" >&2
  exit "$rc"
fi

echo "--- the canary HF token of the scenario appears nowhere in the output"
canary=$(sed -n 's/^test_canary_token: *//p' molecule/triton_container/vars/test.yml)
[ -n "$canary" ] || { echo "FAIL: no canary token in the scenario vars" >&2; exit 1; }
if grep -qF "$canary" "$log"; then
  echo "FAIL: the HF token appears in the Molecule output" >&2
  exit 1
fi
echo "ok: token absent from $(wc -l <"$log") lines of output"
echo "PASS 45-triton-container"
