#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The module llmserve.triton.python_venv on this machine, with the real uv (pinned, installed
# into the tools venv on first use) and pip, from wheels built here (find-links) while the
# main index is a dead address with a canary credential (uv goes --offline by itself):
#   check mode (changed, nothing created) -> apply (the venv holds the preinstall at its pin,
#   the package without the excluded dependency, the alias; the state file 0644) ->
#   idempotent check -> idempotent apply (no command run) -> the other installer (no-op) ->
#   a new alias version (the stale alias removed) -> a package that does not exist (a clear
#   error naming the step). The canary never appears in the output or the files. Then pip's
#   semantics of several indexes with uv: a mirror (extra index) holding only the pure wheel
#   of a release must not hide the platform wheel the main index has (pip merges a version's
#   files from every index, uv takes them from the first index that has it). Last, the module in
# the background waited for through the contract's wait_job, as the roles run it. Seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONPATH="$ROOT/.collections"
export ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=ansible.builtin.json ANSIBLE_NOCOLOR=1
W=$(mktemp -d /tmp/llmserve-e2e-venv.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
CANARY="venvCanary$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
UV_VERSION=$(python -c 'import yaml; print(yaml.safe_load(open("roles/llmserve/defaults/main.yml"))["llmserve_uv_version"])')

# Wheels: llst-a 1.0 needs llst-b>=1 and llst-c; llst-b 1.0 and 2.0; llst-c.
mkdir -p "$W/wheels"
python - "$W/wheels" <<'PY'
import sys
sys.path.insert(0, "tests/unit/plugins/module_utils")
import test_python_venv as t
d = sys.argv[1]
t.make_wheel(d, "llst-a", "1.0", ["llst-b>=1", "llst-c"])
for v in ("1.0", "2.0"):
    t.make_wheel(d, "llst-b", v)
t.make_wheel(d, "llst-c", "1.0")
PY
export PIP_FIND_LINKS="$W/wheels"

args() {  # args INSTALLER ALIAS_VERSION [PACKAGE]
  python - "$W" "$CANARY" "$UV_VERSION" "$@" <<'PY'
import json, sys
w, canary, uv, installer, alias = sys.argv[1:6]
pkg = sys.argv[6] if len(sys.argv) > 6 else "llst-a==1.0"
print(json.dumps({
    "path": w + "/venv", "packages": [pkg], "installer": installer, "uv_version": uv,
    "preinstall": [{"requirement": "llst-b==1.0", "index_url": "http://u:%s@127.0.0.1:9/extra" % canary}],
    "exclude_dependencies": ["llst_c"], "aliases": {"llst-alias": alias},
    "index_url": "http://u:%s@127.0.0.1:9/simple" % canary, "cache_dir": w + "/cache",
}))
PY
}
run() {  # run NAME [-C] ARGS_JSON: the module's result (JSON) in $W/NAME.json
  local name=$1
  shift
  ansible localhost "${@:1:$#-1}" -m llmserve.triton.python_venv -a "${!#}" >"$W/$name.out" 2>&1 || true
  ! grep -q "$CANARY" "$W/$name.out" || fail "$name: the canary credential is in the output"
  python - "$W/$name.out" >"$W/$name.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(json.dumps(doc["plays"][0]["tasks"][0]["hosts"]["localhost"]))
PY
}
field() { python -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"r": r}))' "$W/$1.json" "$2"; }
dists() {
  "$W/venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(sorted("%s==%s" % (d.metadata["Name"], d.version) for d in m.distributions() if d.metadata["Name"].startswith("llst"))))'
}

run check1 -C --diff "$(args uv 1.0+cpu)"
[ "$(field check1 'r.get("changed")')" = True ] || fail "check mode on a missing venv: not changed ($(cat "$W/check1.out"))"
[ ! -e "$W/venv" ] || fail "check mode created the venv"
field check1 'r["msg"]' | grep -q "^Check mode, nothing downloaded: would fetch .* with uv into $W/venv$" ||
  fail "check mode msg: $(field check1 'r.get("msg")')"
ok "check mode: would install, nothing created"

run apply1 "$(args uv 1.0+cpu)"
[ "$(field apply1 'r.get("changed")')" = True ] || fail "apply: $(cat "$W/apply1.out")"
[ "$(field apply1 'r["installer"]')" = uv ] || fail "apply: installer"
[ "$(field apply1 'any("--offline" in c for c in r["commands"])')" = True ] || fail "the dead main index did not make uv run offline"
grep -q 'index http://\*\*\*@127.0.0.1:9/simple unreachable: uv runs offline' "$W/apply1.out" ||
  fail "no masked warning for the dead main index"
[ "$(dists)" = "llst-a==1.0 llst-alias==1.0+cpu llst-b==1.0" ] || fail "venv holds: $(dists)"
state="$W/venv/.llmserve-install.json"
[ "$(stat -c %a "$state")" = 644 ] || fail "state file mode $(stat -c %a "$state")"
! grep -rq "$CANARY" "$state" "$W/venv/bin" || fail "the canary credential is in the venv"
ok "apply: llst-b at its pin, llst-a without llst-c, the alias; uv offline; state 0644, no credential"

run check2 -C "$(args uv 1.0+cpu)"
[ "$(field check2 'r.get("changed")')" = False ] || fail "idempotent check: changed"
run apply2 "$(args uv 1.0+cpu)"
[ "$(field apply2 '(r.get("changed"), r["commands"])')" = "(False, [])" ] || fail "idempotent apply: $(cat "$W/apply2.out")"
run pip1 "$(args pip 1.0+cpu)"
[ "$(field pip1 'r.get("changed")')" = False ] || fail "switching the installer reinstalled"
ok "idempotent: check and apply change nothing and run no installer; switching installer neither"

run alias2 "$(args pip 2.0+cpu)"
[ "$(field alias2 '(r.get("changed"), r["installer"])')" = "(True, 'pip')" ] || fail "new alias: $(cat "$W/alias2.out")"
[ "$(dists)" = "llst-a==1.0 llst-alias==2.0+cpu llst-b==1.0" ] || fail "after the new alias: $(dists)"
ok "a new alias version replaces the old one (pip)"

run missing "$(args uv 2.0+cpu llst-missing==9)"
[ "$(field missing 'r.get("failed")')" = True ] || fail "a missing package did not fail"
grep -q "installing llst-missing==9 failed" "$W/missing.out" || fail "the error does not name the step: $(cat "$W/missing.out")"
[ "$(dists)" = "llst-a==1.0 llst-alias==2.0+cpu llst-b==1.0" ] || fail "a failed install changed the venv: $(dists)"
grep -q '"llst-a==1.0"' "$state" || fail "a failed install rewrote the state file"
ok "a package that does not exist: one error naming the step; venv and state unchanged"

# Two file:// simple indexes: main has llst-x 1.0 as a pure and a manylinux wheel (the
# platform one is what pip picks), the mirror only the pure one.
python - "$W/idx" <<'PY'
import os, sys
sys.path.insert(0, "tests/unit/plugins/module_utils")
import test_python_venv as t
root = sys.argv[1]
for name in ("main", "mirror"):
    files, page = os.path.join(root, name, "files"), os.path.join(root, name, "simple", "llst-x")
    os.makedirs(files), os.makedirs(page)
    whls = [t.make_wheel(files, "llst-x", "1.0")]
    if name == "main":
        whls.append(t.make_wheel(files, "llst-x", "1.0", tag="py3-none-manylinux_2_17_x86_64"))
    with open(os.path.join(page, "index.html"), "w") as f:
        f.write("".join('<a href="../../files/%s">%s</a>\n' % ((os.path.basename(w),) * 2) for w in whls))
PY
for installer in uv pip; do
  out=$(env -u PIP_FIND_LINKS PIP_INDEX_URL="file://$W/idx/main/simple" PIP_EXTRA_INDEX_URL="file://$W/idx/mirror/simple" \
    ansible localhost -m llmserve.triton.python_venv -a "{\"path\": \"$W/mx-$installer\", \"packages\": [\"llst-x==1.0\"],
      \"installer\": \"$installer\", \"uv_version\": \"$UV_VERSION\", \"cache_dir\": \"$W/cache\"}" 2>&1) ||
    fail "$installer with a mirror: $out"
  tag=$(grep '^Tag:' "$W/mx-$installer"/lib/python3*/site-packages/llst_x-1.0.dist-info/WHEEL)
  [ "$tag" = "Tag: py3-none-manylinux_2_17_x86_64" ] || fail "$installer took the mirror's wheel ($tag)"
done
ok "a mirror with one wheel of a release does not hide the main index's platform wheel (uv and pip)"

# In the background, as the roles run it: started with async and poll 0, waited for through
# the contract's entry point wait_job (changed, the module's line reported; a failure fails
# the wait with the module's own error).
cat >"$W/bg.yml" <<'YML'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Start the install in the background
      llmserve.triton.python_venv:
        path: "{{ bg_path }}"
        packages: ["{{ bg_package }}"]
        installer: pip
        cache_dir: "{{ bg_cache }}"
      async: 120
      poll: 0
      register: bg_job
    - name: Wait for it
      ansible.builtin.include_role:
        name: llmserve.triton.llmserve
        tasks_from: wait_job
      vars:
        llmserve_wait_job: "{{ bg_job }}"
        llmserve_wait_what: the background install
        llmserve_wait_poll: 1
        llmserve_wait_timeout: 120
YML
bg() {  # bg NAME PACKAGE: the playbook's JSON output in $W/NAME.out
  ansible-playbook -i localhost, -c local -e ansible_python_interpreter="$(command -v python)" \
    -e bg_path="$W/bg" -e bg_package="$2" -e bg_cache="$W/cache" "$W/bg.yml" >"$W/$1.out" 2>&1
}
bg bg1 llst-c==1.0 || fail "wait_job: $(cat "$W/bg1.out")"
grep -q "\"msg\": \"installed llst-c==1.0 with pip into $W/bg\"" "$W/bg1.out" || fail "wait_job did not report the module's line"
"$W/bg/bin/python" -c 'import importlib.metadata as m; m.version("llst-c")' 2>/dev/null ||
  fail "the background install left no llst-c in $W/bg"
if bg bg2 llst-missing==9; then fail "wait_job passed a failed install"; fi
grep -q "installing llst-missing==9 failed" "$W/bg2.out" || fail "wait_job hid the module's error: $(tail -20 "$W/bg2.out")"
ok "in the background through the contract's wait_job: the module's line reported, its failure fails the wait"
echo "PASS 15-python-venv"
