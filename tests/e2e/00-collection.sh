#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The collection as users get it: galaxy build + install into a temporary collections path,
# then every playbook resolves both from the checkout (root entry points) and by FQCN
# (llmserve.triton.site etc.), and every module's documentation renders with ansible-doc.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
work=$(mktemp -d /tmp/llmserve-collection.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf "[defaults]\n" > "$work/empty.cfg"

echo "--- syntax-check the root entry points from the checkout"
for p in site benchmark teardown; do
  ansible-playbook --syntax-check "$p.yml" >/dev/null
  echo "ok: $p.yml"
done

echo "--- build and install the collection, then run playbooks by FQCN"
ansible-galaxy collection build --output-path "$work" . >/dev/null
tarball=$(ls "$work"/llmserve-triton-*.tar.gz)
echo "built $(basename "$tarball")"
if tar -tzf "$tarball" | grep -qE '(^|/)(\.venv|\.collections|tests/output|benchmarks)/'; then
  echo "FAIL: build includes development-only paths" >&2
  exit 1
fi
ANSIBLE_CONFIG="$work/empty.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections" \
  ansible-galaxy collection install --offline --force -p "$work/collections" "$tarball" >/dev/null
installed="$work/collections/ansible_collections/llmserve/triton"
[ -f "$installed/MANIFEST.json" ] || { echo "FAIL: collection not installed" >&2; exit 1; }
for p in site benchmark teardown provision; do
  (cd "$work" && ANSIBLE_CONFIG="$work/empty.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections" \
    ansible-playbook -i localhost, --syntax-check "llmserve.triton.$p" >/dev/null)
  echo "ok: llmserve.triton.$p (installed collection)"
done

echo "--- ansible-doc renders every module of the installed collection"
for f in "$installed"/plugins/modules/*.py; do
  [ -e "$f" ] || continue
  m=$(basename "$f" .py)
  out=$(ANSIBLE_CONFIG="$work/empty.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-doc "llmserve.triton.$m")
  grep -q "OPTIONS" <<<"$out" || { echo "FAIL: ansible-doc llmserve.triton.$m has no OPTIONS" >&2; exit 1; }
  grep -q "RETURN VALUES" <<<"$out" || { echo "FAIL: ansible-doc llmserve.triton.$m has no RETURN VALUES" >&2; exit 1; }
  echo "ok: ansible-doc llmserve.triton.$m"
done
echo "00-collection: all checks passed"
