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
molecule test -s triton_container
echo "PASS 45-triton-container"
