#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark (not a test): wall time of a converged re-run of `ansible-playbook site.yml` on
# the embedded default (shipped inventory, localhost) against a bare fact-gathering play on
# the same host, in the same run; prints every run, both medians and their ratio. The first
# site.yml run converges the host (serves the demo model) and is not timed. A teardown stops
# the server at the end (the software stays), unless --keep.
#
#   scripts/bench_site_converged.sh [--repeats N] [--runtime R] [--backend-src DIR] [--profile]
#                                   [--keep]
#     --repeats N       timed runs of each (default 3)
#     --runtime R       triton_vllm_runtime (default: the inventory's, auto)
#     --backend-src DIR NVIDIA's vLLM backend for triton_cpu (default: ../shared/vendor copy,
#                       or LLMSERVE_VLLM_BACKEND_SRC)
#     --profile         also print the 15 slowest tasks of the last converged run
#     --keep            leave the server running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1

repeats=3 runtime="" profile=0 keep=0
backend=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;;
    --runtime) runtime=$2; shift ;;
    --backend-src) backend=$2; shift ;;
    --profile) profile=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '4,18p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
ARGS=()
[ -z "$runtime" ] || ARGS+=(-e "triton_vllm_runtime=$runtime")
[ ! -d "$backend" ] || ARGS+=(-e "triton_vllm_backend_src=$backend")

OUT=$(mktemp -d /tmp/llmserve-bench-converged.XXXXXX)
cat >"$OUT/facts.yml" <<'EOF'
---
- name: Bare fact gathering (the floor of any play on this host)
  hosts: llm_servers
  gather_facts: true
  tasks: []
EOF

timed() { # timed NAME ARGS...: seconds of one ansible-playbook run (fails the script on error)
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  ansible-playbook "$@" >"$OUT/$name.out" 2>&1 || {
    tail -n 30 "$OUT/$name.out" >&2
    echo "$name failed; output in $OUT/$name.out" >&2
    exit 1
  }
  t1=$(date +%s.%N)
  python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
}

echo "converging: ansible-playbook site.yml (not timed) ..." >&2
timed converge site.yml "${ARGS[@]}" >/dev/null
site=() facts=()
for i in $(seq 1 "$repeats"); do
  facts+=("$(timed "facts-$i" "$OUT/facts.yml")")
  if [ "$profile" = 1 ] && [ "$i" = "$repeats" ]; then
    export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=15
  fi
  site+=("$(timed "site-$i" site.yml "${ARGS[@]}")")
  grep -q 'changed=0 ' "$OUT/site-$i.out" || echo "warning: site-$i changed something (not converged)" >&2
done
# The CPU runtimes' converged fast path (roles/triton_vllm, deploy_state): taken, or why not.
fast=0
for f in "$OUT"/site-*.out; do
  if grep -A2 'TASK \[.*Describe the converged server (fast path)\]' "$f" | grep -q '^ok: '; then
    fast=$((fast + 1))
  fi
done
echo "converged fast path taken in $fast of $repeats timed site.yml run(s)"
grep -h -A4 'Report why the full path runs' "$OUT"/site-*.out | grep -o 'Not the recorded.*' | sort -u || true

python3 - "$repeats" "${facts[@]}" "${site[@]}" <<'EOF'
import platform
import statistics
import sys

n = int(sys.argv[1])
facts = [float(x) for x in sys.argv[2 : 2 + n]]
site = [float(x) for x in sys.argv[2 + n :]]
cpus = len([1 for line in open("/proc/cpuinfo") if line.startswith("processor")])
print("Machine: %s, %d CPU(s)" % (platform.platform(), cpus))
print("bare fact-gathering play, s : %s" % " ".join("%.2f" % x for x in facts))
print("converged site.yml, s       : %s" % " ".join("%.2f" % x for x in site))
mf, ms = statistics.median(facts), statistics.median(site)
print("median: site.yml %.2f s, facts %.2f s, ratio %.1f" % (ms, mf, ms / mf))
EOF
if [ "$profile" = 1 ]; then
  echo "slowest tasks of the last converged run:"
  sed -n '/^=\{20,\}/,$p' "$OUT/site-$repeats.out" | tail -n +2 | head -n 15
fi
echo "raw outputs: $OUT"
if [ "$keep" = 0 ]; then ansible-playbook teardown.yml "${ARGS[@]}" >"$OUT/teardown.out" 2>&1; fi
