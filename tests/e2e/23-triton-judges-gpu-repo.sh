#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The real Triton judges the model repository the collection writes for GPU hosts.
#
# The model_repo role writes the tutorial's entries for the GPU runtime `triton`: llama3-70b on
# an A6000x4 (tensor_parallel_size 4, instance_group KIND_MODEL) and mixtral on an H100x8
# (GPTQ, float16, tensor_parallel_size 8). Both are loaded, through Triton's repository API,
# into NVIDIA's real tritonserver 2.51 with NVIDIA's vLLM backend r26.01 over vLLM CPU 0.32 (the
# triton_cpu layout the suite 22 leaves installed). The only line the test adds to the GPU
# files is EXECUTION_ENV_PATH, so that the backend can import vLLM on this CPU-only machine.
#
# The check ("accepted, then only the engine start fails"): Triton parses and validates each
# config.pbtxt, creates the model instance (its log line TRITONBACKEND_ModelInstanceInitialize:
# <model>_0 ...), the backend's initialize runs, and the model ends UNAVAILABLE with a reason
# raised inside vLLM's engine start (a traceback through the vllm package: the weights cannot
# be had offline on a CPU machine) - never a Triton config error. A negative control, a
# config that asks for a GPU instance (KIND_GPU) on this GPU-less host, must fail in Triton's
# own validation without any instance being created, so the check can tell the two apart.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# CPU: one vLLM engine at a time on this machine (and suite 22 leaves the layout this uses).
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1
PY="$ROOT/.venv/bin/python"

BACKEND=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
TDIR=/opt/llmserve/triton-cpu
TRITON=$TDIR/server/pytriton/tritonserver
STUB_ENV=$TDIR/stub-env
PORT=18000
WORK=$(mktemp -d /tmp/llmserve-e2e-judge.XXXXXX)
pgid=
FAILED=1

ok() { printf '  ok: %s\n' "$*"; }
fail() {
  printf '  FAIL: %s\n' "$*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  if [ -n "$pgid" ]; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 40); do pgrep -g "$pgid" >/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  [ "$FAILED" = 0 ] && rm -rf "$WORK" || echo "23-triton-judges-gpu-repo: FAILED; files in $WORK" >&2
  exit $rc
}
trap cleanup EXIT

echo "--- the triton_cpu layout (left by suite 22; laid out here if missing)"
if [ ! -x "$TRITON/bin/tritonserver" ] || [ ! -d "$STUB_ENV" ]; then
  [ -f "$BACKEND/src/model.py" ] || fail "NVIDIA's vLLM backend not found at $BACKEND (LLMSERVE_VLLM_BACKEND_SRC)"
  ansible-playbook site.yml -e triton_vllm_runtime=triton_cpu -e "triton_vllm_backend_src=$BACKEND" \
    >"$WORK/site.log" 2>&1 || { tail -30 "$WORK/site.log"; fail "site.yml (triton_cpu)"; }
  ansible-playbook teardown.yml -e triton_vllm_runtime=triton_cpu >"$WORK/teardown.log" 2>&1 ||
    { tail -30 "$WORK/teardown.log"; fail "teardown"; }
fi
ok "$TRITON/bin/tritonserver and $STUB_ENV"

echo "--- the GPU repository entries, written by the model_repo role (runtime triton)"
entry() { # entry MODEL MACHINE: the role writes <WORK>/gpu-MODEL/MODEL
  ansible-playbook tests/e2e/playbooks/model_repo_apply.yml -i localhost, -c local \
    -e "ansible_python_interpreter=$PY" -e model_repo_runtime=triton -e llmserve_triton_release=24.05 \
    -e "model=$1" -e "model_repo_machine_type=$2" -e "model_repo_repository=$WORK/gpu-$1" \
    >"$WORK/repo-$1.log" 2>&1 || { tail -30 "$WORK/repo-$1.log"; fail "model_repo for $1 on $2"; }
}
entry llama3-70b A6000x4
entry mixtral H100x8
mkdir -p "$WORK/repo"
for m in llama3-70b mixtral; do
  cp -r "$WORK/gpu-$m/$m" "$WORK/repo/$m"
  printf '\nparameters: {\n  key: "EXECUTION_ENV_PATH"\n  value: {\n    string_value: "%s"\n  }\n}\n' \
    "$STUB_ENV" >>"$WORK/repo/$m/config.pbtxt"
done
grep -q '"tensor_parallel_size": 4' "$WORK/repo/llama3-70b/1/model.json" || fail "llama3-70b is not TP 4"
grep -q '"tensor_parallel_size": 8' "$WORK/repo/mixtral/1/model.json" || fail "mixtral is not TP 8"
grep -q 'kind: KIND_MODEL' "$WORK/repo/mixtral/config.pbtxt" || fail "mixtral has no KIND_MODEL group"
# Negative control: a GPU instance group on a GPU-less host.
mkdir -p "$WORK/repo/control-kind-gpu/1"
sed -e 's/^name: .*/name: "control-kind-gpu"/' -e 's/KIND_MODEL/KIND_GPU/' \
  "$WORK/repo/llama3-70b/config.pbtxt" >"$WORK/repo/control-kind-gpu/config.pbtxt"
cp "$WORK/repo/llama3-70b/1/model.json" "$WORK/repo/control-kind-gpu/1/"
ok "llama3-70b (A6000x4, TP 4), mixtral (H100x8, TP 8, gptq/float16), control-kind-gpu"

echo "--- a real tritonserver (explicit model control) on 127.0.0.1:$PORT"
mkdir -p "$WORK/home" "$WORK/tmp"
setsid env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$WORK/home" TMPDIR="$WORK/tmp" HF_HOME="$WORK/home/hf" \
  HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=1 XDG_CACHE_HOME="$WORK/home/cache" \
  "$TRITON/bin/tritonserver" --model-repository="$WORK/repo" --backend-directory="$TRITON/backends" \
  --model-control-mode=explicit --http-address=127.0.0.1 --http-port=$PORT \
  --grpc-address=127.0.0.1 --grpc-port=$((PORT + 1)) --metrics-address=127.0.0.1 \
  --metrics-port=$((PORT + 2)) >"$WORK/triton.log" 2>&1 &
pgid=$!
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/v2/health/live" >/dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$PORT/v2/health/live" >/dev/null || { tail -20 "$WORK/triton.log"; fail "tritonserver did not start"; }

load() { # load MODEL: POST the load; prints the HTTP status
  curl -s -o "$WORK/load-$1.json" -w '%{http_code}' -X POST -d '{}' \
    "http://127.0.0.1:$PORT/v2/repository/models/$1/load"
}
reason() { curl -sf -X POST "http://127.0.0.1:$PORT/v2/repository/index" |
  "$PY" -c 'import json,sys; d={m["name"]: m for m in json.load(sys.stdin)}; e=d.get(sys.argv[1], {}); print(e.get("state", "absent")); print(e.get("reason", ""))' "$1"; }

for m in llama3-70b mixtral; do
  code=$(load "$m")
  [ "$code" = 400 ] || fail "$m: load answered HTTP $code (expected a failed engine start): $(cat "$WORK/load-$m.json")"
  reason "$m" >"$WORK/reason-$m.txt"
  [ "$(head -1 "$WORK/reason-$m.txt")" = UNAVAILABLE ] || fail "$m: state $(head -1 "$WORK/reason-$m.txt")"
  grep -q "TRITONBACKEND_ModelInstanceInitialize: ${m}_0" "$WORK/triton.log" ||
    fail "$m: Triton created no model instance (config not accepted?): $(tail -3 "$WORK/reason-$m.txt")"
  grep -q "site-packages/vllm/" "$WORK/reason-$m.txt" ||
    fail "$m: the failure is not raised inside vLLM: $(head -c 600 "$WORK/reason-$m.txt")"
  if grep -qiE "model config|ModelConfig|pbtxt|instance group" "$WORK/reason-$m.txt"; then
    fail "$m: the failure mentions Triton's configuration: $(head -c 600 "$WORK/reason-$m.txt")"
  fi
  ok "$m: config accepted, instance created, engine start failed inside vLLM: $(sed -n 2p "$WORK/reason-$m.txt" | cut -c1-140)"
done

code=$(load control-kind-gpu)
[ "$code" = 400 ] || fail "control: load answered HTTP $code"
reason control-kind-gpu >"$WORK/reason-control.txt"
if grep -q "TRITONBACKEND_ModelInstanceInitialize: control-kind-gpu_0" "$WORK/triton.log"; then
  fail "control: Triton created an instance of a KIND_GPU model on a GPU-less host"
fi
if grep -q "site-packages/vllm/" "$WORK/reason-control.txt"; then fail "control: the failure reached vLLM"; fi
ok "negative control refused by Triton itself: $(sed -n 2p "$WORK/reason-control.txt" | cut -c1-140)"

FAILED=0
echo "PASS 23-triton-judges-gpu-repo"
