#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs `ansible-test sanity` on a copy of the collection placed under
# <tmp>/ansible_collections/llmserve/triton (ansible-test requires that layout and lists
# files through git). ansible-test bootstraps pip in its managed venvs with a script it
# downloads from a host that is unreachable offline; tests/sanity_support/get_pip_offline.py
# is put in its cache in place of that download (see README, "Testing").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"

pip_version=$(python - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp tests/sanity_support/get_pip_offline.py "$cache"

work=$(mktemp -d /tmp/llmserve-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/llmserve/triton"
mkdir -p "$dest"
# Tracked and untracked-but-not-ignored files, minus the in-repo collection symlink.
git ls-files -co --exclude-standard -z | grep -zv '^\.collections/' \
  | rsync -a --from0 --files-from=- ./ "$dest/"
(
  cd "$dest"
  git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
  ansible-test sanity --python 3.11 --requirements --color no "$@"
)
