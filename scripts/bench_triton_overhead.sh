#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Figures (not a test): Triton's overhead against plain vLLM on the same engine, model and
# machine, in one run. Deploys runtime triton_cpu (NVIDIA's Triton server + vLLM backend over
# the vLLM CPU venv), benchmarks it, deploys runtime vllm_cpu (vLLM's OpenAI server, same
# venv and model), benchmarks it with the same client and sweep, and prints per concurrency:
# output tokens/s ratio, TTFT p50 and ITL p50 differences, and the servers' own figures.
#
#   scripts/bench_triton_overhead.sh [options]
#     --backend-src DIR  NVIDIA vLLM backend sources for triton_cpu (env LLMSERVE_VLLM_BACKEND_SRC;
#                        default ../shared/vendor/vllm_backend-r26.01 beside this checkout)
#     --out DIR          results (default benchmarks/triton-overhead-<UTC time>)
#     --model NAME       model preset or path (default demo)
#     --engine E         genai-perf (default: kserve gRPC vs OpenAI completions, one client)
#                        or aiperf (Triton's HTTP generate_stream vs OpenAI completions)
#     --concurrency L    comma list (default 1,4)
#     --lengths I/O      input/output tokens (default 128/128)
#     --requests N       requests per measured run (default 16)
#     --repeats N        measured runs per point (default 2)
#     --report-only      print the table of an earlier --out without deploying anything
#     --teardown         stop serving at the end (default: vllm_cpu stays up)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
argv=("$@")

backend_src=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
out="" model=demo engine=genai-perf concurrency=1,4 lengths=128/128 requests=16 repeats=2
report_only=0 teardown=0
while [ $# -gt 0 ]; do
  case "$1" in
    --backend-src) backend_src=$2; shift ;;
    --out) out=$2; shift ;;
    --model) model=$2; shift ;;
    --engine) engine=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --lengths) lengths=$2; shift ;;
    --requests) requests=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --report-only) report_only=1 ;;
    --teardown) teardown=1 ;;
    -h | --help) sed -n '4,25p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-$ROOT/benchmarks/triton-overhead-$(date -u +%Y%m%dT%H%M%SZ)}
case "$engine" in genai-perf | aiperf) ;; *) echo "--engine is genai-perf or aiperf" >&2; exit 2 ;; esac
[[ "$concurrency" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "--concurrency: e.g. 1,4" >&2; exit 2; }
[[ "$lengths" =~ ^[0-9]+/[0-9]+$ ]] || { echo "--lengths: e.g. 128/128" >&2; exit 2; }

if [ "$report_only" = 0 ]; then
  [ -f "$backend_src/src/model.py" ] || {
    echo "no NVIDIA vLLM backend sources at $backend_src (src/model.py): pass --backend-src" \
      "or LLMSERVE_VLLM_BACKEND_SRC" >&2
    exit 2
  }
  # the serving stack uses localhost's ports and CPU: one user at a time
  # shellcheck source=tests/lib/localhost_lock.sh
  . "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$ROOT/scripts/$(basename "$0")" "${argv[@]}"
fi
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
mkdir -p "$out"

# One sweep for both runtimes: the same profile, lengths, loads, requests, seed and client.
sweep=$(python3 - "$concurrency" "$lengths" "$requests" "$repeats" <<'EOF'
import json, sys
conc, lengths, requests, repeats = sys.argv[1:]
print(json.dumps({
    "benchmark_profile": "tutorial",
    "benchmark_concurrency": [int(c) for c in conc.split(",")],
    "benchmark_lengths": [[int(x) for x in lengths.split("/")]],
    "benchmark_request_count": int(requests),
    "benchmark_num_prompts": 10,
    "benchmark_repeats": int(repeats),
    # the raw prompt on both sides: Triton's text_input has no chat template
    "benchmark_endpoint_type": "completions",
    "benchmark_rerun": True,
    "benchmark_plots": False,
}))
EOF
)

run_runtime() {
  local runtime=$1 extra=()
  [ "$runtime" = triton_cpu ] && extra=(-e "triton_vllm_backend_src=$backend_src")
  echo "== $runtime: ansible-playbook site.yml ..." >&2
  local t0=$SECONDS
  ansible-playbook site.yml -e "triton_vllm_runtime=$runtime" -e "model=$model" "${extra[@]}" \
    >"$out/site-$runtime.log" 2>&1 || {
    tail -n 30 "$out/site-$runtime.log" >&2
    echo "site.yml failed for $runtime: $out/site-$runtime.log" >&2
    return 1
  }
  echo "   served in $((SECONDS - t0)) s; ansible-playbook benchmark.yml ($engine) ..." >&2
  t0=$SECONDS
  ansible-playbook benchmark.yml -e "triton_vllm_runtime=$runtime" -e "model=$model" \
    "${extra[@]}" -e "benchmark_engine=$engine" -e "benchmark_results_dir=$out/$runtime" \
    -e "$sweep" >"$out/benchmark-$runtime.log" 2>&1 || {
    tail -n 30 "$out/benchmark-$runtime.log" >&2
    echo "benchmark.yml failed for $runtime: $out/benchmark-$runtime.log" >&2
    return 1
  }
  echo "   measured in $((SECONDS - t0)) s" >&2
}

if [ "$report_only" = 0 ]; then
  rm -rf "$out/triton_cpu" "$out/vllm_cpu"
  run_runtime triton_cpu
  run_runtime vllm_cpu
  if [ "$teardown" = 1 ]; then
    ansible-playbook teardown.yml -e confirm=yes >"$out/teardown.log" 2>&1 ||
      echo "teardown failed: $out/teardown.log" >&2
  fi
fi

python3 - "$out" "$engine" <<'EOF'
import glob, json, os, platform, sys

out, engine = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.getcwd(), ".collections"))
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as rep


def results(runtime):
    found = sorted(glob.glob(os.path.join(out, runtime, "*", "results.json")))
    if not found:
        sys.exit("no results.json under %s/%s" % (out, runtime))
    with open(found[-1]) as f:
        return json.load(f), found[-1]


(triton, tpath), (vllm, vpath) = results("triton_cpu"), results("vllm_cpu")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
print("Machine: %s, %s CPU(s) %s" % (platform.platform(), os.cpu_count(), cpu))
for name, data, path in (("triton_cpu", triton, tpath), ("vllm_cpu", vllm, vpath)):
    m = data.get("meta") or {}
    print("%-10s %s %s -> %s, %s repeat(s): %s" % (
        name, m.get("engine"), m.get("engine_version"), m.get("target"), m.get("repeats"), path))
    for f in data.get("failures") or []:
        print("  failed point %s: %s" % (f.get("id"), f.get("error")))
print()
print("\n".join(rep.overhead_table(rep.overhead(triton.get("rows") or [], vllm.get("rows") or []))))
EOF
