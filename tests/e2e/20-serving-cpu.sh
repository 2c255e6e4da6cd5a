#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# End to end on this machine: `ansible-playbook site.yml` with the shipped inventory (runtime
# auto) on a host where NVIDIA's vLLM backend cannot be downloaded (its source is pointed at a
# closed local port, as on a machine without access to github.com) falls back to plain vLLM on
# the CPU with the reason and what to set, and serves the demo model with the real vLLM CPU
# server (runtime vllm_cpu, supervised daemon), then: check mode, apply, idempotent re-run
# without restart, idempotent check mode,
# `-e model=mixtral` failing before any host change, teardown stopping every process it
# started (twice: the second changes nothing). All runs use -vvv and a canary HF token, which
# must appear nowhere except the 0600 token file.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# The localhost serving stack (ports 8000-8002, vLLM CPU server) is shared between suites.
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"

export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
PY="$ROOT/.venv/bin/python"

PORT=8000
SERVICE=llmserve-vllm-cpu
VENV=/opt/llmserve/vllm-cpu
STATE=/var/lib/llmserve/vllm-cpu
RUN_DIR=$STATE/run
LOG=/var/log/llmserve/vllm-cpu.log
HF_HOME=/var/lib/llmserve/hf
MODEL_DIR=/var/lib/llmserve/models/demo
DEMO_RECORD=/var/lib/llmserve/demo-models.list
CANARY="hf_llmserveCANARY$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
OUT=$(mktemp -d /tmp/llmserve-e2e-serving.XXXXXX)
# The canary reaches ansible through a 0600 vars file outside every scanned directory.
TOKEN_VARS=$(mktemp /tmp/llmserve-canary.XXXXXX.yml)
printf 'llmserve_hf_token: "%s"\n' "$CANARY" >"$TOKEN_VARS"
# The release archive "cannot be had": its URL points at a closed port (the checksum is the
# release's own, so only the download fails), and no Triton layout is installed where this
# run looks (an empty folder of the suite's own).
{
  printf 'triton_vllm_backend_src: http://127.0.0.1:9/vllm_backend-r26.01.tar.gz\n'
  printf 'triton_vllm_backend_checksum: %s\n' \
    "$(sed -n 's/^ *src_sha256: *//p' roles/triton_vllm/vars/triton_cpu.yml | head -1)"
  printf 'llmserve_triton_cpu_dir: %s/no-triton-layout\n' "$OUT"
} >>"$TOKEN_VARS"
TOKEN_ARGS=(-e "@$TOKEN_VARS")
FAILED=1

# shellcheck source=tests/lib/serving.sh
. "$ROOT/tests/lib/serving.sh"
# shellcheck source=tests/lib/recap.sh
. "$ROOT/tests/lib/recap.sh"
play() { # play NAME ARGS... : ansible-playbook with -vvv and the canary token, output to OUT/NAME
  local name=$1
  shift
  local t0=$SECONDS rc=0
  ansible-playbook -vvv "${TOKEN_ARGS[@]}" "$@" >"$OUT/$name.out" 2>&1 || rc=$?
  printf '  (%s: rc=%s, %ss, changed=%s failed=%s)\n' "$name" "$rc" $((SECONDS - t0)) \
    "$(recap "$OUT/$name.out" changed)" "$(recap "$OUT/$name.out" failed)"
  return $rc
}

cleanup() {
  local rc=$?
  if [ "$FAILED" = 1 ]; then
    echo "20-serving-cpu: FAILED; outputs in $OUT" >&2
    [ -f "$LOG" ] && { echo "--- server log tail" >&2; tail -n 40 "$LOG" >&2; }
  fi
  # Whatever happened, stop what this suite started.
  ansible-playbook teardown.yml >"$OUT/cleanup-teardown.out" 2>&1 || true
  rm -f "$TOKEN_VARS"
  for pid in $(marked_pids "$SERVICE"); do kill -KILL "$pid" 2>/dev/null || true; done
  [ "$FAILED" = 1 ] || rm -rf "$OUT"
  exit $rc
}
trap cleanup EXIT

say "Preconditions: port $PORT free, no leftover server (clean start: purge teardown)"
if port_open $PORT; then
  fail "port $PORT is taken by another process: $(ss -ltnp "sport = :$PORT" | tail -n +2)"
fi
# The demo models an earlier deploy generated, as it recorded them for the purge.
RECORDED=$(cat "$DEMO_RECORD" 2>/dev/null || true)
play pre-teardown teardown.yml -e triton_vllm_teardown_purge=true ||
  { show_tail "$OUT/pre-teardown.out"; fail "purge teardown"; }
[ -z "$(marked_pids "$SERVICE")" ] || fail "leftover server processes: $(marked_pids "$SERVICE")"
[ ! -e "$VENV" ] || fail "$VENV still exists after the purge teardown"
for d in $RECORDED; do [ ! -e "$d" ] || fail "the purge left the recorded demo model $d"; done
ok "clean: no server process, no venv, port $PORT closed, demo models purged: ${RECORDED:-none recorded}"

say "1. site.yml --check on the clean host (nothing installed yet)"
play check1 site.yml --check || { show_tail "$OUT/check1.out"; fail "check mode on a clean host"; }
[ ! -e "$VENV" ] || fail "check mode created $VENV"
[ -z "$(marked_pids "$SERVICE")" ] || fail "check mode started a server"
ok "check mode passed and changed nothing on the host"

say "2. site.yml: install vllm-cpu, build the demo model, start the server, smoke inference"
play apply1 site.yml || { show_tail "$OUT/apply1.out"; fail "site.yml"; }
flat "$OUT/apply1.out" | grep -q "Runtime vllm_cpu: auto: no NVIDIA GPU, and NVIDIA's vLLM backend cannot be had (download of http://127.0.0.1:9/" ||
  fail "no fallback line with its reason in the play output"
flat "$OUT/apply1.out" | grep -q "so plain vLLM on the CPU. To serve through Triton, set triton_vllm_backend_src" ||
  fail "the fallback line does not say what to set"
ok "runtime choice: $(flat "$OUT/apply1.out" | grep -o "Runtime vllm_cpu: auto: [^(]*" | head -1)"
[ "$(recap "$OUT/apply1.out" changed)" -gt 0 ] || fail "first run reported no change"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/apply1.out" || fail "no smoke-inference answer"
grep -q 'its text is meaningless' "$OUT/apply1.out" || fail "no demo-model notice"
ok "smoke inference: $(grep -o 'demo answered [0-9]* tokens' "$OUT/apply1.out" | head -1)"
grep -q 'demo: ready after' "$OUT/apply1.out" || fail "no readiness line"
grep -qx "$MODEL_DIR" "$DEMO_RECORD" || fail "$DEMO_RECORD does not list $MODEL_DIR (the purge reads it)"
ok "readiness progress: $(grep -oE 'demo: (waiting [0-9]+m[0-9]+s|ready after [0-9]+s)' "$OUT/apply1.out" | tr '\n' ';')"

PID=$(cat "$RUN_DIR/server.pid")
SUP=$(cat "$RUN_DIR/supervisor.pid")
pid_alive "$PID" || fail "server pid $PID from $RUN_DIR/server.pid is not running"
pid_alive "$SUP" || fail "supervisor pid $SUP is not running"
tr '\0' ' ' <"/proc/$PID/cmdline" | grep -q "$VENV/bin/vllm serve $MODEL_DIR --served-model-name demo --host 127.0.0.1 --port $PORT" ||
  fail "unexpected server command line: $(tr '\0' ' ' <"/proc/$PID/cmdline")"
[ "$(stat -c %U "/proc/$PID")" = llmserve ] || fail "server does not run as user llmserve"
START1=$(start_time "$PID")
ok "server pid $PID (user llmserve) under supervisor $SUP"

curl -fsS "http://127.0.0.1:$PORT/v1/models" >"$OUT/models.json"
"$PY" -c 'import json,sys; ids=[m["id"] for m in json.load(open(sys.argv[1]))["data"]]; assert ids == ["demo"], ids' "$OUT/models.json" ||
  fail "/v1/models does not list exactly demo: $(cat "$OUT/models.json")"
curl -fsS "http://127.0.0.1:$PORT/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"demo","prompt":"machine learning is","max_tokens":8,"ignore_eos":true}' >"$OUT/completion.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["usage"]["completion_tokens"] == 8 and d["choices"][0]["text"], d' "$OUT/completion.json" ||
  fail "completion: $(cat "$OUT/completion.json")"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics.prom"
grep -q '^vllm:' "$OUT/metrics.prom" || fail "/metrics has no vllm: families"
ok "/v1/models lists demo; a real completion returned 8 tokens; /metrics serves vllm:* families"

[ "$(stat -c '%a %U' "$HF_HOME/token")" = "600 llmserve" ] || fail "token file mode/owner: $(stat -c '%a %U' "$HF_HOME/token")"
[ "$(cat "$HF_HOME/token")" = "$CANARY" ] || fail "token file does not hold the token"
ok "token file $HF_HOME/token: mode 600, owner llmserve"

say "3. site.yml again: no change, same server process"
play apply2 site.yml || { show_tail "$OUT/apply2.out"; fail "second site.yml"; }
[ "$(recap "$OUT/apply2.out" changed)" = 0 ] || {
  grep -E '^changed:' -B3 "$OUT/apply2.out" | grep TASK >&2 || true
  fail "second run reported changes"
}
[ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] || fail "server pid changed: $(cat "$RUN_DIR/server.pid") != $PID"
[ "$(start_time "$PID")" = "$START1" ] || fail "server process restarted"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/apply2.out" || fail "no smoke answer on re-run"
ok "changed=0, server pid $PID unchanged (same start time), smoke inference answered"

say "4. site.yml --check on the served host: no change"
play check2 site.yml --check || { show_tail "$OUT/check2.out"; fail "check mode on the served host"; }
[ "$(recap "$OUT/check2.out" changed)" = 0 ] || fail "check mode predicts changes on a converged host"
ok "check mode: changed=0"

say "5. -e model=mixtral fails at once with the memory-fit numbers, host untouched"
if play mixtral site.yml -e model=mixtral; then fail "model=mixtral did not fail on this host"; fi
grep -q 'does not fit' "$OUT/mixtral.out" || fail "no memory-fit explanation"
grep -Eq '[0-9.]+ GB of weights' "$OUT/mixtral.out" || fail "no weight-size figure"
if grep -q 'PLAY \[Serve the model\]' "$OUT/mixtral.out"; then fail "the Serve play ran"; fi
{ [ "$(cat "$RUN_DIR/server.pid")" = "$PID" ] && pid_alive "$PID"; } || fail "the demo server was touched"
ok "$(grep -o 'does not fit[^;]*' "$OUT/mixtral.out" | head -1)"

say "6. A bad engine arg: the role fails at once with the cause and the server log"
if play badarg site.yml -e '{"triton_vllm_cpu_extra_args": ["--no-such-engine-arg", "1"]}'; then
  fail "site.yml with a bad engine arg succeeded"
fi
grep -q 'Likely cause: unknown engine arg' "$OUT/badarg.out" || fail "no likely cause in the failure"
grep -q 'unrecognized arguments: --no-such-engine-arg' "$OUT/badarg.out" || fail "no log lines in the failure"
if pid_alive "$PID"; then fail "the old server still runs after its config changed"; fi
ok "failed with: $(grep -o 'Likely cause: unknown engine arg[^.]*' "$OUT/badarg.out" | head -1)"
play recover site.yml || { show_tail "$OUT/recover.out"; fail "site.yml after the bad engine arg"; }
[ "$(recap "$OUT/recover.out" changed)" -gt 0 ] || fail "recovery run reported no change"
NEWPID=$(cat "$RUN_DIR/server.pid")
{ [ "$NEWPID" != "$PID" ] && pid_alive "$NEWPID"; } || fail "no new server after the recovery run"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/recover.out" || fail "no smoke answer after recovery"
PID=$NEWPID
SUP=$(cat "$RUN_DIR/supervisor.pid")
ok "the next good run restarted the server (pid $PID) and the smoke inference answered"

say "7. Secrets: the canary token in no process, output, log or file except the token file"
PIDS_BEFORE="$(marked_pids "$SERVICE" | tr '\n' ' ')"
for p in $PIDS_BEFORE $SUP; do
  if tr '\0' '\n' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$CANARY"; then fail "canary in argv of pid $p"; fi
  if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qF "$CANARY"; then fail "canary in environment of pid $p"; fi
done
scan_dirs=("$OUT" /var/log/llmserve /var/lib/llmserve /opt/llmserve /run "$HOME/.ansible" "$ROOT")
hits=$(grep -rlF --binary-files=text "$CANARY" "${scan_dirs[@]}" /tmp/ansible* /tmp/.ansible* \
  --exclude-dir=.git --exclude-dir=.venv --exclude-dir='.venv-*' 2>/dev/null |
  grep -vx "$HF_HOME/token" || true)
[ -z "$hits" ] || fail "canary found in: $hits"
grep -q 'no_log: true' "$OUT/apply1.out" 2>/dev/null || grep -q "censored" "$OUT/apply1.out" ||
  fail "the token task output is not censored in -vvv output"
ok "canary absent from argv/environment of ${PIDS_BEFORE:-no} processes and from ${scan_dirs[*]}"

say "8. teardown.yml stops every process it started"
ALL_PIDS="$PIDS_BEFORE $SUP"
play teardown1 teardown.yml || { show_tail "$OUT/teardown1.out"; fail "teardown"; }
for p in $ALL_PIDS; do
  if pid_alive "$p"; then fail "pid $p still running after teardown: $(tr '\0' ' ' <"/proc/$p/cmdline")"; fi
done
[ -z "$(marked_pids "$SERVICE")" ] || fail "processes with the service marker remain: $(marked_pids "$SERVICE")"
if pgrep -f "$VENV/bin/" >/dev/null; then fail "processes of $VENV remain: $(pgrep -af "$VENV/bin/")"; fi
if port_open $PORT; then fail "port $PORT still open"; fi
{ [ ! -e "$STATE" ] && [ ! -e "$LOG" ]; } || fail "service state or log remains"
[ -f "$VENV/.llmserve-install.json" ] || fail "teardown removed the venv (kept unless purge)"
[ ! -e "$HF_HOME/token" ] || fail "token file remains"
[ -f "$MODEL_DIR/config.json" ] || fail "teardown removed the model (kept unless purge)"
ok "stopped: $ALL_PIDS; port $PORT closed; state/log/token removed; venv and model kept"

play teardown2 teardown.yml || { show_tail "$OUT/teardown2.out"; fail "second teardown"; }
[ "$(recap "$OUT/teardown2.out" changed)" = 0 ] || fail "second teardown reported changes"
ok "second teardown: changed=0"

hits=$(grep -rlF --binary-files=text "$CANARY" "$OUT" /var/log/llmserve /var/lib/llmserve \
  "$HOME/.ansible" /tmp/ansible* 2>/dev/null || true)
[ -z "$hits" ] || fail "canary found after teardown in: $hits"
ok "canary absent after teardown"

FAILED=0
say "20-serving-cpu: all checks passed"
