#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or load from cache) the Molecule test-host image `local/debian12-systemd`:
# Debian 12 from debootstrap with systemd as PID 1, python3 and python3-apt, made with
# `docker import` because no container registry is reachable here.
#   tests/images/debian12-systemd/build.sh          # ensure the image exists (idempotent)
#   tests/images/debian12-systemd/build.sh --force  # rebuild from scratch
# Cache: .cache/images/debian12-systemd-<recipe>.tar (docker save). The image carries the label
# llmserve.recipe=<recipe>, a hash of RECIPE_VERSION, the packages and the mirror: a changed
# recipe rebuilds instead of reusing. Bump RECIPE_VERSION when a change alters the image.
# Needs root, debootstrap and a running docker daemon (tests/lib/dockerd.sh start).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
IMAGE=${LLMSERVE_TEST_IMAGE:-local/debian12-systemd}
MIRROR=${LLMSERVE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=$ROOT/.cache/images
RECIPE_VERSION=1
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps
PACKAGES=$PACKAGES,curl,gnupg,kmod
RECIPE=$(printf '%s %s %s' "$RECIPE_VERSION" "$PACKAGES" "$MIRROR" | sha256sum | cut -c1-12)
TARBALL=$CACHE_DIR/debian12-systemd-$RECIPE.tar

log() { printf 'build.sh: %s\n' "$*" >&2; }

image_recipe() {
  docker image inspect --format '{{ index .Config.Labels "llmserve.recipe" }}' "$IMAGE" 2>/dev/null
}

if [ "${1:-}" != "--force" ]; then
  if [ "$(image_recipe || true)" = "$RECIPE" ]; then
    log "$IMAGE (recipe $RECIPE) already present"
    exit 0
  fi
  if [ -s "$TARBALL" ]; then
    log "loading $IMAGE from $TARBALL"
    docker load -i "$TARBALL" >&2
    exit 0
  fi
fi

command -v debootstrap >/dev/null 2>&1 || {
  log "installing debootstrap"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
}
mkdir -p "$CACHE_DIR"
WORK=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
cleanup() {
  # debootstrap may leave /proc and /sys mounted in the rootfs on failure.
  for m in proc sys dev/pts dev; do
    if mountpoint -q "$WORK/rootfs/$m" 2>/dev/null; then umount -l "$WORK/rootfs/$m" || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
ROOTFS=$WORK/rootfs

log "debootstrap bookworm into $ROOTFS (includes: $PACKAGES)"
# --include resolves the extra packages in the same pass: one chroot-free step.
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR" \
  >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 40 "$WORK/debootstrap.log" >&2
  exit 1
}

# Apt inside the test host uses the same mirrors and settings as this machine.
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
  for f in /etc/apt/sources.list.d/*.sources; do
    grep -q 'debian' "$f" && cp "$f" "$ROOTFS/etc/apt/sources.list.d/"
  done
  rm -f "$ROOTFS/etc/apt/sources.list"
fi
for f in /etc/apt/apt.conf.d/*; do
  # Proxy and validity settings only (e.g. snapshot mirrors with expired Release files).
  grep -qE '^[[:space:]]*Acquire::(http|https|Check-Valid-Until|Check-Date)' "$f" 2>/dev/null &&
    cp "$f" "$ROOTFS/etc/apt/apt.conf.d/"
done

# A container has no console to getty on and no hardware to wait for.
for unit in getty.target console-getty.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-firstboot.service; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/$unit"
done
: >"$ROOTFS/etc/machine-id"
rm -f "$ROOTFS/var/lib/dbus/machine-id"
rm -rf "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb
rm -rf "$ROOTFS"/var/lib/apt/lists/*
# An empty but recent lists/ folder makes apt's cache_valid_time skip the first update.
touch -d 2000-01-01 "$ROOTFS/var/lib/apt/lists"

log "importing $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV container=docker' \
  --change "LABEL llmserve.recipe=$RECIPE" \
  --change 'CMD ["/lib/systemd/systemd"]' - "$IMAGE" >&2
rm -f "$CACHE_DIR"/debian12-systemd-*.tar
docker save -o "$TARBALL.tmp" "$IMAGE"
mv "$TARBALL.tmp" "$TARBALL"
log "built $IMAGE; cached as $TARBALL"
