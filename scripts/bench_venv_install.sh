#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Prints how long llmserve.triton.python_venv takes to build the venvs of the load generators
# (genai-perf with perf_analyzer's tritonclient and libcudart; AIPerf) and the Triton client,
# with uv and with pip: cold (an empty cache), warm (the venv removed, the cache kept) and
# converged (the venv holds its packages). The packages are the roles' pins (the benchmark
# role's defaults, the triton_vllm client's), from this machine's pip sources. Everything goes
# to a temporary folder (the uv binary excepted: the collection's tools venv, installed once).
#
#   scripts/bench_venv_install.sh [genai-perf|aiperf|client ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1
W=$(mktemp -d /tmp/llmserve-bench-venv.XXXXXX)
trap 'rm -rf "$W"' EXIT
[ $# -gt 0 ] || set -- genai-perf aiperf client

packages() {  # the roles' pins of one venv, as a JSON list
  python - "$1" <<'PY'
import json, sys, yaml
bench = yaml.safe_load(open("roles/benchmark/defaults/main.yml"))
tv = yaml.safe_load(open("roles/triton_vllm/defaults/main.yml"))
print(json.dumps({
    "genai-perf": ["genai-perf==%s" % bench["benchmark_genai_perf_version"],
                   "tritonclient[grpc]==%s" % bench["benchmark_tritonclient_version"],
                   bench["benchmark_cuda_runtime_package"]],
    "aiperf": ["aiperf==%s" % bench["benchmark_aiperf_version"]],
    "client": tv["triton_vllm_client_packages"],
}[sys.argv[1]]))
PY
}
UV_VERSION=$(python -c 'import yaml; print(yaml.safe_load(open("roles/llmserve/defaults/main.yml"))["llmserve_uv_version"])')

install() {  # install VENV INSTALLER CACHE PACKAGES_JSON: prints seconds and whether it changed
  local t0 out
  t0=$(date +%s.%N)
  out=$(ansible localhost -m llmserve.triton.python_venv -a "{\"path\": \"$1\", \"installer\": \"$2\",
    \"cache_dir\": \"$3\", \"packages\": $4, \"uv_version\": \"$UV_VERSION\"}" 2>&1) ||
    { echo "$out" | tail -5 >&2; echo "FAILED"; return; }
  local changed=no
  echo "$out" | grep -q '| CHANGED' && changed=yes
  awk -v a="$t0" -v b="$(date +%s.%N)" -v c="$changed" 'BEGIN { printf "%.1f s (changed: %s)\n", b - a, c }'
}

printf '%-11s %-4s %-22s %-22s %-22s\n' venv tool cold warm converged
for venv in "$@"; do
  pkgs=$(packages "$venv")
  for installer in uv pip; do
    v="$W/$venv-$installer" c="$W/cache-$venv-$installer"
    cold=$(install "$v" "$installer" "$c" "$pkgs")
    rm -rf "$v"
    warm=$(install "$v" "$installer" "$c" "$pkgs")
    conv=$(install "$v" "$installer" "$c" "$pkgs")
    printf '%-11s %-4s %-22s %-22s %-22s\n' "$venv" "$installer" "$cold" "$warm" "$conv"
  done
done
echo "($(nproc) cores; packages $(for v in "$@"; do packages "$v"; done | tr '\n' ' '))"
