#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Idempotent developer/CI set-up: the .venv with requirements-dev.txt and the Debian
# packages the test suites need. Safe to run repeatedly; does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

want=$(hash_of requirements.txt requirements-dev.txt)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.req-hash 2>/dev/null)" != "$want" ]; then
  echo "setup-dev: installing .venv from requirements-dev.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" > .venv/.req-hash
fi

# Debian packages used by the integration suites (Docker engine for Molecule hosts,
# debootstrap for the test-host image, libb64 for perf_analyzer).
APT_PKGS=(docker.io debootstrap libb64-0d rsync shellcheck)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "setup-dev: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "setup-dev: ready ($ROOT/.venv)"
