#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark (not a test): wall time of a converged re-run of the host-preparation roles
# (nvidia_driver + docker_runtime) versus a bare fact-gathering play on the same host; prints
# both medians and their ratio (the roles' overhead when there is nothing to do).
#   scripts/bench_host_roles.sh [REPEATS]
# Default target: a local systemd test host (local/debian12-systemd, docker.io source), started
# and removed by this script. For real hosts: BENCH_INVENTORY=inventory.yml BENCH_LIMIT=gpu1
# (then the roles run with their defaults; the first, converging run is not timed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPEATS=${1:-5}
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
export ANSIBLE_REMOTE_TMP=/tmp/.ansible-remote ANSIBLE_NOCOLOR=1
WORK=$(mktemp -d)
CONTAINER=llmserve-bench-hostprep
started_dockerd=false
cleanup() {
  if [ -z "${BENCH_INVENTORY:-}" ]; then docker rm -f "$CONTAINER" >/dev/null 2>&1 || true; fi
  if $started_dockerd; then tests/lib/dockerd.sh stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${BENCH_INVENTORY:-}" ]; then
  INV=$BENCH_INVENTORY
  LIMIT=${BENCH_LIMIT:-all}
else
  tests/lib/dockerd.sh status >/dev/null || started_dockerd=true
  tests/lib/dockerd.sh start
  tests/images/debian12-systemd/build.sh
  caps=()
  for c in CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP \
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER \
    SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME \
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG \
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ; do
    caps+=(--cap-add "$c")
  done
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  docker run -d --name "$CONTAINER" --cap-drop ALL "${caps[@]}" \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    --tmpfs /var/lib/docker:exec,dev,suid -e container=docker \
    local/debian12-systemd /lib/systemd/systemd >/dev/null
  docker exec "$CONTAINER" useradd -m deploy
  INV=$WORK/inventory.yml
  cat >"$INV" <<INVENTORY
all:
  hosts:
    $CONTAINER:
      ansible_connection: community.docker.docker
      ansible_python_interpreter: /usr/bin/python3
      docker_runtime_source: distribution
      docker_runtime_users: [deploy]
INVENTORY
  LIMIT=$CONTAINER
fi

cat >"$WORK/facts.yml" <<'PLAY'
- name: Bare fact gathering
  hosts: all
  gather_facts: true
  tasks: []
PLAY
cat >"$WORK/roles.yml" <<'PLAY'
- name: Host preparation roles
  hosts: all
  gather_facts: true
  roles:
    - role: llmserve.triton.nvidia_driver
    - role: llmserve.triton.docker_runtime
PLAY

play() { ansible-playbook -i "$INV" -l "$LIMIT" "$@"; }
seconds() {
  local start end
  start=$(date +%s.%N)
  play "$1" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; return 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "converging once (not timed) ..."
play "$WORK/roles.yml" >"$WORK/converge.log" 2>&1 || { tail -40 "$WORK/converge.log" >&2; exit 1; }
play "$WORK/roles.yml" >"$WORK/check.log" 2>&1
grep -qE 'changed=0 ' "$WORK/check.log" || {
  echo "the second run still changes things; not a converged re-run:" >&2
  grep -E ': ok=' "$WORK/check.log" >&2
  exit 1
}

facts=() roles=()
for ((i = 1; i <= REPEATS; i++)); do
  facts+=("$(seconds "$WORK/facts.yml")")
  roles+=("$(seconds "$WORK/roles.yml")")
  printf 'run %d/%d: facts %.2f s, roles %.2f s\n' "$i" "$REPEATS" "${facts[-1]}" "${roles[-1]}"
done
mf=$(printf '%s\n' "${facts[@]}" | median)
mr=$(printf '%s\n' "${roles[@]}" | median)
tasks=$(grep -E ': ok=' "$WORK/last.log" | sed -E 's/.*ok=([0-9]+).*skipped=([0-9]+).*/\1 ok, \2 skipped/')
printf '\nhost: %s (%s)\n' "$LIMIT" "$([ -n "${BENCH_INVENTORY:-}" ] && echo "$INV" || echo 'local systemd test host')"
printf 'bare fact gathering      median %.2f s over %d runs\n' "$mf" "$REPEATS"
printf 'converged roles re-run   median %.2f s over %d runs (%s)\n' "$mr" "$REPEATS" "$tasks"
printf 'ratio roles / facts      %.2f\n' "$(awk -v r="$mr" -v f="$mf" 'BEGIN { print r / f }')"
