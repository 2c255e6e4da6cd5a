#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Host preparation: roles nvidia_driver and docker_runtime on three systemd test hosts
# (molecule/host_prep). Steps: check mode on fresh hosts → converge → idempotence (0 changed)
# → check mode again (0 changed) → verify the real host state → destroy.
# First, check mode offline: `site.yml --check` planned as a GPU host on a fresh systemd host
# whose container has no network (llmserve-chk-offline, tests/e2e/inventories/30-check-offline.yml)
# must succeed, report what a real run would download and change nothing.
# Self-sufficient on a clean machine: installs docker.io/debootstrap if missing, starts dockerd
# (tests/lib/dockerd.sh) and builds or loads the test-host image (tests/images/...).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCENARIO=host_prep
CHK=llmserve-chk-offline
CHK_INVENTORY=tests/e2e/inventories/30-check-offline.yml
[ -x "$ROOT/.venv/bin/molecule" ] || tests/setup-dev.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 NO_COLOR=1

say() { printf '\n--- 30-host-prep: %s\n' "$*"; }

started_dockerd=false
tests/lib/dockerd.sh status >/dev/null || started_dockerd=true
cleanup() {
  local rc=$?
  say "cleanup: destroying the test hosts"
  molecule destroy -s "$SCENARIO" >/dev/null 2>&1 || true
  docker rm -f "$CHK" >/dev/null 2>&1 || true
  rm -f "${chk_log:-}"
  if $started_dockerd; then tests/lib/dockerd.sh stop || true; fi
  exit "$rc"
}
trap cleanup EXIT

say "docker daemon"
tests/lib/dockerd.sh start
say "test-host image local/debian12-systemd"
tests/images/debian12-systemd/build.sh

say "check mode offline: site.yml planned as a GPU host on a fresh host without network ($CHK)"
docker rm -f "$CHK" >/dev/null 2>&1 || true
caps=()
for c in CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE \
  NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT \
  SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE \
  AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ; do
  caps+=(--cap-add "$c")
done
# The systemd host of molecule/host_prep (see molecule/README.md), with --network none.
docker run -d --name "$CHK" --network none "${caps[@]}" --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -e container=docker \
  local/debian12-systemd /lib/systemd/systemd >/dev/null
if docker exec "$CHK" python3 -c 'import urllib.request as u; u.urlopen("https://download.docker.com/linux/debian/gpg", timeout=10)' 2>/dev/null; then
  echo "FAIL: $CHK reaches the network" >&2
  exit 1
fi
echo "ok: $CHK has no network (links: $(docker exec "$CHK" ip -o link | awk -F': ' '{print $2}' | paste -sd ' '))"

chk_log=$(mktemp)
chk_check() {  # site.yml --check on $CHK; results as JSON, one line per message
  local rc=0
  ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible-playbook --check -i "$CHK_INVENTORY" site.yml \
    >"$chk_log" 2>&1 || rc=$?
  grep -E '"msg": "Check mode|^llmserve-chk-offline +:' "$chk_log" | sed 's/^ *"msg": //' | awk '!seen[$0]++'
  [ "$rc" -eq 0 ] || {
    tail -n 40 "$chk_log" >&2
    echo "FAIL: site.yml --check failed offline (rc=$rc)" >&2
    exit 1
  }
}
chk_expect() {  # chk_expect yes|no TEXT: a "would fetch" line is (not) in the last check's output
  local found=no
  grep -qF -- "would fetch $2" "$chk_log" && found=yes
  [ "$found" = "$1" ] || {
    echo "FAIL: expected $1 line with 'would fetch $2'" >&2
    exit 1
  }
}
chk_check
chk_expect yes "Docker's repository key https://download.docker.com/linux/debian/gpg into /etc/apt/keyrings/docker.asc"
chk_expect yes "the apt lists of https://download.docker.com/linux/debian bookworm (a repository this run adds), then the packages docker-ce, docker-ce-cli, containerd.io, docker-buildx-plugin, docker-compose-plugin, python3-docker"
chk_expect yes "NVIDIA's container toolkit repository key https://nvidia.github.io/libnvidia-container/gpgkey"
chk_expect yes "the apt lists of https://nvidia.github.io/libnvidia-container/stable/deb/amd64 (a repository this run adds), then the packages nvidia-container-toolkit"
chk_expect yes "the image nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04 (not on this host) for the GPU check"
chk_expect yes "the apt lists of http://deb.debian.org/debian bookworm contrib non-free non-free-firmware (components this run enables), then the packages nvidia-driver, nvidia-smi, firmware-misc-nonfree, linux-headers-amd64"
chk_expect yes "the image nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3"
chk_expect yes "tritonclient[grpc]==2.46.0 with uv into /opt/llmserve/triton-client"
echo "ok: rc=0 offline, every download reported"

# The real state, not what Ansible reported: no key, no sources, no package, no apt lists.
docker exec "$CHK" bash -c '
  rc=0
  for f in /etc/apt/keyrings/docker.asc /etc/apt/keyrings/nvidia-container-toolkit.asc \
    /etc/apt/sources.list.d/docker.sources /etc/apt/sources.list.d/nvidia-container-toolkit.sources \
    /etc/apt/sources.list.d/llmserve-nvidia-nonfree.sources /etc/modprobe.d/llmserve-blacklist-nouveau.conf \
    /etc/docker /opt/llmserve /var/lib/llmserve; do
    [ ! -e "$f" ] || { echo "FAIL: check mode created $f" >&2; rc=1; }
  done
  pkgs=$(dpkg-query -W -f "\${db:Status-Abbrev} \${Package}\n" | awk "\$1 == \"ii\" {print \$2}" |
    grep -E "^(docker|containerd|python3-docker|nvidia|firmware-misc)" | paste -sd " ")
  [ -z "$pkgs" ] || { echo "FAIL: packages installed: $pkgs" >&2; rc=1; }
  lists=$(find /var/lib/apt/lists -name "*_Packages*" | wc -l)
  [ "$lists" -eq 0 ] || { echo "FAIL: $lists apt lists fetched" >&2; rc=1; }
  exit $rc'
echo "ok: nothing changed on $CHK (no keys, sources, packages, apt lists, /etc/docker, /opt/llmserve)"

say "check mode offline with the repository keys already there: no key download reported"
docker exec "$CHK" bash -c 'for k in docker nvidia-container-toolkit; do
  echo "placed by 30-host-prep" >/etc/apt/keyrings/$k.asc; chmod 0644 /etc/apt/keyrings/$k.asc; done'
chk_check
chk_expect no "Docker's repository key"
chk_expect no "NVIDIA's container toolkit repository key"
chk_expect yes "the apt lists of https://download.docker.com/linux/debian bookworm (a repository this run adds)"
key_results=$(grep -A1 'check the owner and mode of' "$chk_log" | grep -oE '^(ok|changed|skipping):' | sort -u | paste -sd ' ')
[ "$key_results" = "ok:" ] || {
  echo "FAIL: the owner/mode check of keys that are already right reports '$key_results', not 'ok:'" >&2
  exit 1
}
echo "ok: keys there are neither fetched nor changed"
docker rm -f "$CHK" >/dev/null
rm -f "$chk_log"

say "fresh hosts: destroy leftovers, create, prepare (deploy user, admin daemon.json, FAKE nvidia-smi on hostprep-b)"
molecule destroy -s "$SCENARIO"
molecule create -s "$SCENARIO"
molecule prepare -s "$SCENARIO"

say "check mode on the fresh hosts must succeed"
molecule check -s "$SCENARIO"

say "converge (three hosts in parallel)"
molecule converge -s "$SCENARIO"

say "idempotence: a second converge must change nothing"
molecule idempotence -s "$SCENARIO"

say "check mode on the converged hosts must report 0 changed"
log=$(mktemp)
molecule check -s "$SCENARIO" 2>&1 | tee "$log"
recap=$(grep -E 'hostprep-[a-z]+ +: ok=' "$log" || true)
rm -f "$log"
[ "$(printf '%s\n' "$recap" | grep -c .)" -eq 3 ] || {
  echo "FAIL: expected a PLAY RECAP line for each of the 3 hosts, got: $recap" >&2
  exit 1
}
if printf '%s\n' "$recap" | grep -qvE 'changed=0 '; then
  echo "FAIL: check mode reports changes on converged hosts:" >&2
  printf '%s\n' "$recap" >&2
  exit 1
fi
echo "OK: $(printf '%s\n' "$recap" | tr -s ' ' | sed 's/^[^a-z]*//' | paste -sd ';')"

say "verify the real host state (packages, daemon.json, systemd, docker group, a container runs)"
echo "(the last play breaks daemon.json on hostprep-a on purpose: 2 expected 'fatal' lines, rescued)"
molecule verify -s "$SCENARIO"

say "PASS"
