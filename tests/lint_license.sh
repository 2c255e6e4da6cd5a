#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# One license for the collection: galaxy.yml declares GPL-3.0-or-later, COPYING holds its
# text, and every tracked source file carries the SPDX line (captured fixtures and the generated changelog.yaml excepted).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=$(git ls-files -- '*.py' '*.sh' '*.yml' '*.yaml' '*.cfg' '*.toml' .ci/run |
  grep -v -e '^tests/unit/fixtures/' -e '^changelogs/changelog.yaml$' | while read -r f; do
    [ -L "$f" ] || grep -q 'SPDX-License-Identifier: GPL-3.0-or-later' "$f" || echo "$f"
  done)
if [ -n "$missing" ]; then
  printf 'no "SPDX-License-Identifier: GPL-3.0-or-later" line in:\n%s\n' "$missing"
  exit 1
fi
grep -qx '  - GPL-3.0-or-later' galaxy.yml || { echo "galaxy.yml: license is not GPL-3.0-or-later"; exit 1; }
grep -q 'GNU GENERAL PUBLIC LICENSE' COPYING || { echo "COPYING does not hold the GPL text"; exit 1; }
echo "license: GPL-3.0-or-later in galaxy.yml, COPYING and every source file"
