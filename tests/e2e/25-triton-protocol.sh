#!/usr/bin/env bash
# Triton's protocol for real, in CI: the Triton protocol stand-in (tests/fixtures/triton_standin,
# a test fixture, never installed by the roles) over the REAL vLLM CPU engine serving the demo
# model, driven by the collection's triton_infer (tritonclient gRPC streaming, as `triton infer`)
# and wait_for_inference_server modules, plus NVIDIA's genai-perf/perf_analyzer when present.
#
# The vLLM server: reused when one already answers on 127.0.0.1:8000 (the triton_vllm role's
# vllm_cpu runtime, left running by an earlier suite or by hand); otherwise brought up with
# `ansible-playbook site.yml` (default inventory: vllm_cpu + demo model) and torn down at the end
# with teardown.yml. The stand-in listens on 18000 (HTTP), 18001 (gRPC), 18002 (metrics).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

# Ports 8000-8002 and the CPU are shared with the other serving suites.
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"

UPSTREAM=${LLMSERVE_UPSTREAM:-http://127.0.0.1:8000}
HTTP_PORT=18000
GRPC_PORT=18001
METRICS_PORT=18002
work=$(mktemp -d /tmp/llmserve-25.XXXXXX)
pidfile=$work/standin.pid
log=$work/standin.log
started_server=0
standin_pid=

cleanup() {
  local rc=$?
  if [ -n "$standin_pid" ] && kill -0 "$standin_pid" 2>/dev/null; then
    kill "$standin_pid" 2>/dev/null || true
    wait "$standin_pid" 2>/dev/null || true
  fi
  if [ "$started_server" = 1 ]; then
    echo "--- teardown: stop the vLLM server this suite started"
    ansible-playbook teardown.yml >"$work/teardown.log" 2>&1 ||
      { echo "teardown failed:"; tail -30 "$work/teardown.log"; }
  fi
  [ "$rc" = 0 ] || { echo "--- stand-in log:"; tail -30 "$log" 2>/dev/null || true; }
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

models() { curl -sf -m 5 "$UPSTREAM/v1/models" 2>/dev/null; }

echo "--- the real engine: a vLLM OpenAI server at $UPSTREAM"
if models >/dev/null; then
  echo "reusing the server that already answers"
else
  echo "none answers: ansible-playbook site.yml (vllm_cpu runtime, demo model)"
  started_server=1
  if ! ansible-playbook site.yml >"$work/site.log" 2>&1; then
    tail -60 "$work/site.log"
    echo "FAIL: site.yml did not bring the vLLM server up" >&2
    exit 1
  fi
  models >/dev/null || { echo "FAIL: no server at $UPSTREAM after site.yml" >&2; exit 1; }
fi
upstream_model=$(models | python -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
model_name=$upstream_model
echo "upstream serves: $upstream_model"

echo "--- start the Triton protocol stand-in (gRPC $GRPC_PORT, HTTP $HTTP_PORT, metrics $METRICS_PORT)"
python tests/fixtures/triton_standin/standin.py --upstream "$UPSTREAM" --model-name "$model_name" \
  --http-port "$HTTP_PORT" --grpc-port "$GRPC_PORT" --metrics-port "$METRICS_PORT" \
  --pidfile "$pidfile" >"$log" 2>&1 &
standin_pid=$!

bare_python=""
if ! /usr/bin/python3 -c 'import tritonclient.grpc' 2>/dev/null; then
  bare_python=/usr/bin/python3
fi

echo "--- modules against the stand-in: readiness, smoke inference, failures"
ansible-playbook tests/e2e/playbooks/25-triton-protocol.yml \
  -e "standin_http_port=$HTTP_PORT standin_grpc_port=$GRPC_PORT" \
  -e "standin_pidfile=$pidfile standin_log=$log" \
  -e "model_name=$model_name upstream_url=$UPSTREAM upstream_model=$upstream_model" \
  -e "bare_python=$bare_python"

echo "--- the triton runtime's client venv: check mode, install, idempotent re-run, smoke inference"
# shellcheck source=tests/lib/recap.sh
. "$ROOT/tests/lib/recap.sh"
client_play() {
  ansible-playbook tests/e2e/playbooks/25-client-venv.yml "$@" \
    -e "client_venv=$work/client-venv standin_grpc_port=$GRPC_PORT model_name=$model_name"
}
client_play --check >"$work/client-check.log" 2>&1 || { tail -30 "$work/client-check.log"; exit 1; }
[ ! -e "$work/client-venv" ] || { echo "FAIL: check mode created the venv" >&2; exit 1; }
client_play >"$work/client-1.log" 2>&1 || { tail -30 "$work/client-1.log"; exit 1; }
[ "$(recap "$work/client-1.log" changed)" -ge 1 ] || { echo "FAIL: first install changed nothing" >&2; exit 1; }
"$work/client-venv/bin/python" -c 'import tritonclient.grpc' ||
  { echo "FAIL: tritonclient.grpc not importable from the client venv" >&2; exit 1; }
client_play >"$work/client-2.log" 2>&1 || { tail -30 "$work/client-2.log"; exit 1; }
[ "$(recap "$work/client-2.log" changed)" = 0 ] ||
  { echo "FAIL: the second client venv run changed something" >&2; grep -E "changed:" "$work/client-2.log"; exit 1; }
echo "ok: client venv installed, idempotent, smoke inference through it answered"

echo "--- metrics endpoint: Triton counters and the engine's vllm:* families"
metrics=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics")
echo "$metrics" | grep -E "^nv_inference_request_success\{model=\"$model_name\"" ||
  { echo "FAIL: no nv_inference_request_success for $model_name" >&2; exit 1; }
n=$(echo "$metrics" | grep -c '^vllm:' || true)
[ "$n" -gt 0 ] || { echo "FAIL: no vllm:* samples passed through" >&2; exit 1; }
echo "ok: $n vllm:* samples"

echo "--- server gone: the readiness wait fails with the process state, triton_infer says why"
kill "$standin_pid"
wait "$standin_pid" 2>/dev/null || true
standin_pid=
set +e
out=$(ansible localhost -e "ansible_python_interpreter=$ROOT/.venv/bin/python" \
  -m llmserve.triton.triton_infer \
  -a "url=127.0.0.1:$GRPC_PORT model=$model_name protocol=triton timeout=5" 2>&1)
rc=$?
set -e
echo "$out" | tail -4
if [ "$rc" = 0 ] || ! echo "$out" | grep -q "cannot query Triton at 127.0.0.1:$GRPC_PORT"; then
  echo "FAIL: triton_infer against a stopped server did not fail clearly" >&2
  exit 1
fi

# NVIDIA's load generator against the stand-in, when the benchmark tooling is installed (the
# benchmark suite installs it; it is not needed for the checks above).
GP=${LLMSERVE_GENAI_PERF:-}
if [ -n "$GP" ] && [ -x "$GP" ]; then
  echo "--- genai-perf ($GP) against the stand-in"
  python tests/fixtures/triton_standin/standin.py --upstream "$UPSTREAM" --model-name "$model_name" \
    --http-port "$HTTP_PORT" --grpc-port "$GRPC_PORT" --metrics-port "$METRICS_PORT" \
    --pidfile "$pidfile" >"$log" 2>&1 &
  standin_pid=$!
  sleep 3
  tok=$(models | python -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["root"])')
  gp_bin=$(dirname "$GP")
  cudart=$("$gp_bin/python" -c 'import nvidia.cuda_runtime as m, os; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null || true)
  (cd "$work" && PATH="$gp_bin:$PATH" LD_LIBRARY_PATH="$cudart${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$GP" profile -m "$model_name" --endpoint-type kserve --backend vllm --streaming \
    -u "127.0.0.1:$GRPC_PORT" --tokenizer "$tok" --synthetic-input-tokens-mean 32 \
    --output-tokens-mean 16 --request-count 16 --concurrency 2 --artifact-dir "$work/gp" \
    >"$work/gp.log" 2>&1) || { tail -30 "$work/gp.log"; echo "FAIL: genai-perf" >&2; exit 1; }
  grep -h "Time To First Token" -A1 "$work/gp.log" | head -3 || true
  f=$(find "$work/gp" -name profile_export_genai_perf.json | head -1)
  python - "$f" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["request_throughput"]["avg"] > 0, d["request_throughput"]
assert d["output_sequence_length"]["avg"] > 0, d["output_sequence_length"]
print("ok: genai-perf requests/s %.2f, output tokens avg %.1f, TTFT avg %.2f ms" % (
    d["request_throughput"]["avg"], d["output_sequence_length"]["avg"],
    d["time_to_first_token"]["avg"]))
EOF
else
  echo "--- genai-perf: skipped (set LLMSERVE_GENAI_PERF to a genai-perf 0.0.16 executable)"
fi

echo "PASS 25-triton-protocol"
