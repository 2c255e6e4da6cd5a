#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Provisioning end to end with the real `terraform` binary and community.general.terraform,
# through the same playbooks a user runs (playbooks/provision.yml, playbooks/teardown.yml,
# site.yml with provision=true).
#
# STAND-IN: Paperspace's provider cannot be downloaded here, so the Terraform root module is
# tests/fixtures/terraform_paperspace_stub (built-in terraform_data only; same variables as
# terraform/paperspace through a symlink, same output names). Its "machine" is this
# controller, reached with the local connection, so add_host, wait_for_connection and the
# written inventory are exercised for real. In place of the provider's authentication it
# fails apply/destroy when PAPERSPACE_API_KEY did not reach the terraform process.
# The real module is checked by `terraform fmt` here and by tests/unit/test_terraform_paperspace.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1

T=$(mktemp -d /tmp/llmserve-provision.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
export ANSIBLE_LOG_PATH="$T/ansible.log"
export ANSIBLE_LOCAL_TEMP="$T/ansible-local"
START_MARK="$T/.start"
touch "$START_MARK"

CANARY="llmserve-canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
VAULT_CANARY="llmserve-vault-canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
unset PAPERSPACE_API_KEY PAPERSPACE_TEAM_ID TF_LOG TF_LOG_PATH || true

pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
check() { printf '\n--- %s\n' "$*"; }
recap_changed() { sed -n 's/^localhost .*changed=\([0-9]*\).*/\1/p' "$1" | tail -1; }

grep -q '^llmserve_machine_types:' roles/llmserve/defaults/main.yml ||
  fail "llmserve_machine_types (machine types, the contract role llmserve) is missing"

ssh-keygen -q -t ed25519 -N '' -C llmserve-e2e -f "$T/id_ed25519"
WORK="$T/work"
INV="$T/provisioned.yml"
EMPTY_INV="$T/empty-inventory.yml"
printf 'all:\n  hosts: {}\n' >"$EMPTY_INV"
cat >"$T/vars.yml" <<EOF
provision_terraform_dir: $ROOT/tests/fixtures/terraform_paperspace_stub
provision_workdir: $WORK
provision_inventory_file: $INV
provision_team_id: te-e2e-team
provision_ssh_private_key_file: $T/id_ed25519
provision_wait_timeout: 60
EOF
printf 'e2e-vault-password\n' >"$T/vault-pass"
ansible-vault encrypt_string --vault-password-file "$T/vault-pass" "$VAULT_CANARY" \
  --name provision_paperspace_api_key >"$T/vault-secret.yml" 2>/dev/null

# run NAME [ansible-playbook args...]: output in $T/NAME.out, exit status in $T/NAME.rc
run() {
  local name=$1
  shift
  set +e
  ansible-playbook -i "${RUN_INVENTORY:-$EMPTY_INV}" "$@" </dev/null >"$T/$name.out" 2>&1
  echo $? >"$T/$name.rc"
  set -e
}
rc_of() { cat "$T/$1.rc"; }
# has FILE TEXT: TEXT is in FILE once whitespace runs are folded (the YAML callback wraps
# long messages over several lines).
has() { tr -s '[:space:]' ' ' <"$1" | grep -qF -- "$2"; }
expect_fail() { # NAME PATTERN...: the run failed and its output has each pattern
  local name=$1
  shift
  [ "$(rc_of "$name")" != 0 ] || { cat "$T/$name.out"; fail "$name: expected a failure"; }
  local p
  for p in "$@"; do
    has "$T/$name.out" "$p" || { cat "$T/$name.out"; fail "$name: output lacks '$p'"; }
  done
}
expect_ok() {
  [ "$(rc_of "$1")" = 0 ] || { cat "$T/$1.out"; fail "$1: exit status $(rc_of "$1")"; }
}
state_list() { terraform -chdir="$WORK" state list 2>/dev/null || true; }

check "terraform fmt -check -recursive (real module and stand-in)"
terraform fmt -check -recursive terraform/ tests/fixtures/terraform_paperspace_stub/ 2>/dev/null ||
  fail "terraform fmt would reformat files"
pass "terraform fmt clean"

check "bad input: unknown machine type (nothing run)"
PAPERSPACE_API_KEY=$CANARY run bad-type playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_machine_type=Z9000x3
expect_fail bad-type "Unknown machine type 'Z9000x3'" "provision_machine_type" "A6000x4"
[ ! -e "$WORK" ] || fail "bad-type: the work directory was created"
pass "clear error naming provision_machine_type; no work directory, no terraform run"

check "machine types come from the contract's llmserve_machine_types (nothing run)"
OWN_TYPE='{"llmserve_machine_types": {"L40Sx4": {"gpu_count": 4, "gpu_memory_gib": 44.99}}}'
run own-type playbooks/provision.yml -e @"$T/vars.yml" -e "$OWN_TYPE" -e provision_machine_type=L40Sx4
# accepted: the run goes on to the next check (the API key, absent here)
expect_fail own-type "No Paperspace API key"
PAPERSPACE_API_KEY=$CANARY run bad-entry playbooks/provision.yml -e @"$T/vars.yml" \
  -e '{"llmserve_machine_types": {"L40Sx4": {"gpu_count": 4}}}' -e provision_machine_type=L40Sx4
expect_fail bad-entry "llmserve_machine_types['L40Sx4'] is {\"gpu_count\": 4}" "gpu_memory_gib"
PAPERSPACE_API_KEY=$CANARY run old-file playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_hardware_vars_file=/srv/hardware.yml
expect_fail old-file "provision_hardware_vars_file -> llmserve_machine_types"
[ ! -e "$WORK" ] || fail "machine types: the work directory was created"
pass "a type added to llmserve_machine_types is accepted; an entry without gpu_memory_gib and provision_hardware_vars_file are refused, naming llmserve_machine_types"

check "bad input: the model does not fit the machine type (model_repo preflight; nothing run)"
PAPERSPACE_API_KEY=$CANARY run no-fit playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_machine_type=A6000 -e model=llama3-70b
expect_fail no-fit "does not fit"
[ ! -e "$WORK" ] || fail "no-fit: the work directory was created"
pass "llama3-70b refused on one A6000 before any Terraform run"

check "bad input: missing API key (nothing run)"
run no-key playbooks/provision.yml -e @"$T/vars.yml"
expect_fail no-key "No Paperspace API key" "PAPERSPACE_API_KEY" "provision_paperspace_api_key"
[ ! -e "$WORK" ] || fail "no-key: the work directory was created"
pass "clear error naming PAPERSPACE_API_KEY and provision_paperspace_api_key"

check "bad input: missing team id (nothing run)"
PAPERSPACE_API_KEY=$CANARY run no-team playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_team_id=''
expect_fail no-team "No Paperspace team ID" "provision_team_id" "PAPERSPACE_TEAM_ID"
[ ! -e "$WORK" ] || fail "no-team: the work directory was created"
pass "clear error naming provision_team_id"

check "bad input: vault-variable key at -vvv is refused (Ansible prints task environments there)"
run vault-vvv playbooks/provision.yml -e @"$T/vars.yml" -e @"$T/vault-secret.yml" \
  --vault-password-file "$T/vault-pass" -vvv
expect_fail vault-vvv "provision_paperspace_api_key is an Ansible variable"
[ ! -e "$WORK" ] || fail "vault-vvv: the work directory was created"
pass "refused before anything ran"

check "bad input: Terraform's own validation fails (disk size), error reported, key redacted"
PAPERSPACE_API_KEY=$CANARY run bad-disk playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_disk_size_gb=123
expect_fail bad-disk "Terraform failed in $WORK" "disk_size_gb must be one of"
[ -z "$(state_list)" ] || fail "bad-disk: resources were created"
pass "Terraform's validation message surfaced; no resources"

check "check mode on a clean work directory: plan only"
PAPERSPACE_API_KEY=$CANARY run check1 playbooks/provision.yml -e @"$T/vars.yml" --check --diff
expect_ok check1
has "$T/check1.out" "Terraform plan in $WORK: changes" || fail "check1: no planned change"
[ -z "$(state_list)" ] || fail "check1: check mode created resources"
[ ! -e "$INV" ] || fail "check1: check mode wrote the inventory"
pass "planned a change, created nothing, wrote no inventory"

check "apply at -vvv (key in PAPERSPACE_API_KEY): outputs -> add_host -> wait_for_connection -> inventory"
PAPERSPACE_API_KEY=$CANARY run apply1 playbooks/provision.yml -e @"$T/vars.yml" -vvv \
  -e model=llama3-70b
expect_ok apply1
grep -q "TASK \[llmserve.triton.model_repo : Plan the deployment (model, GPUs, engine args, tensor parallelism, fit" "$T/apply1.out" ||
  fail "apply1: the memory-fit preflight did not run"
[ "$(state_list)" = "terraform_data.machine" ] || fail "apply1: state holds '$(state_list)'"
has "$T/apply1.out" "Terraform apply in $WORK: changes" || fail "apply1: no change reported"
grep -q "TASK \[Wait for the machine to accept connections" "$T/apply1.out" ||
  fail "apply1: wait_for_connection did not run"
[ -f "$INV" ] || fail "apply1: inventory $INV not written"
MACHINE_ID=$(terraform -chdir="$WORK" output -raw machine_id 2>/dev/null)
python3 - "$INV" "$MACHINE_ID" "$T/id_ed25519" <<'EOF'
import sys, yaml
inv, machine_id, key = sys.argv[1:]
data = yaml.safe_load(open(inv))
hosts = data["all"]["children"]["llm_servers"]["hosts"]
assert list(hosts) == ["llmserve-triton"], hosts
h = hosts["llmserve-triton"]
assert h["ansible_host"] == "127.0.0.1" and h["ansible_connection"] == "local", h
assert h["ansible_user"] == "paperspace" and h["ansible_ssh_private_key_file"] == key, h
assert h["machine_type"] == "A6000x4" and h["nvidia_driver_preinstalled"] is False, h
p = h["llmserve_provisioned"]
assert p["machine_id"] == machine_id, (p, machine_id)
assert (p["gpu_count"], p["gpu_memory_gib"]) == (4, 47.99), p  # from llmserve_machine_types
EOF
pass "state has the machine; inventory names it with the Terraform machine_id and hardware data"
[ "$(stat -c %a "$WORK")" = 700 ] || fail "work directory is not 0700"
ls "$WORK"/tmp/*.tfplan >/dev/null 2>&1 && fail "temporary plan files left in $WORK/tmp"
pass "work directory 0700, no temporary plan files left"

check "the written inventory drives a later run (ansible -m ping against llm_servers)"
ansible -i "$INV" llm_servers -m ansible.builtin.ping >"$T/ping.out" 2>&1 ||
  { cat "$T/ping.out"; fail "ping through $INV failed"; }
grep -q '^llmserve-triton | SUCCESS' "$T/ping.out" || fail "ping: no SUCCESS for llmserve-triton"
pass "llmserve-triton reachable through the written inventory"

check "idempotent check mode, then idempotent re-apply (nothing changes)"
PAPERSPACE_API_KEY=$CANARY run check2 playbooks/provision.yml -e @"$T/vars.yml" --check --diff
expect_ok check2
has "$T/check2.out" "Terraform plan in $WORK: no changes" || fail "check2: plan not empty"
[ "$(recap_changed "$T/check2.out")" = 0 ] || fail "check2: changed=$(recap_changed "$T/check2.out")"
PAPERSPACE_API_KEY=$CANARY run apply2 playbooks/provision.yml -e @"$T/vars.yml"
expect_ok apply2
has "$T/apply2.out" "Terraform apply in $WORK: no changes" || fail "apply2: apply not empty"
[ "$(recap_changed "$T/apply2.out")" = 0 ] || fail "apply2: changed=$(recap_changed "$T/apply2.out")"
[ "$(terraform -chdir="$WORK" output -raw machine_id 2>/dev/null)" = "$MACHINE_ID" ] ||
  fail "apply2: the machine was replaced"
pass "changed=0 both times, same machine_id"

check "changed inputs on an existing machine: refused without confirmation, replaced with it"
PAPERSPACE_API_KEY=$CANARY run replace-refused playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_machine_type=H100x8
expect_fail replace-refused "inputs changed: machine_type" "REPLACES the machine" "-e confirm=yes"
[ "$(terraform -chdir="$WORK" output -raw machine_id 2>/dev/null)" = "$MACHINE_ID" ] ||
  fail "replace-refused: the machine changed"
grep -q '"machine_type": "A6000x4"' "$WORK/llmserve.auto.tfvars.json" ||
  fail "replace-refused: the stored inputs changed"
PAPERSPACE_API_KEY=$CANARY run replace-confirmed playbooks/provision.yml -e @"$T/vars.yml" \
  -e provision_machine_type=H100x8 -e confirm=yes
expect_ok replace-confirmed
NEW_ID=$(terraform -chdir="$WORK" output -raw machine_id 2>/dev/null)
[ "$NEW_ID" != "$MACHINE_ID" ] || fail "replace-confirmed: the machine was not replaced"
if ! grep -q 'machine_type: H100x8' "$INV" || ! grep -q 'gpu_count: 8' "$INV"; then
  fail "replace-confirmed: inventory not updated"
fi
PAPERSPACE_API_KEY=$CANARY run replace-back playbooks/provision.yml -e @"$T/vars.yml" -e confirm=yes
expect_ok replace-back
MACHINE_ID=$(terraform -chdir="$WORK" output -raw machine_id 2>/dev/null)
pass "refused and kept the machine; with confirm=yes replaced it and rewrote the inventory"

check "site.yml with provision=true runs the same provisioning (later plays limited away)"
# As docs/provisioning.md shows it: an inventory without llm_servers hosts (-i localhost,).
PAPERSPACE_API_KEY=$CANARY RUN_INVENTORY=localhost, run site playbooks/site.yml \
  -e @"$T/vars.yml" -e provision=true --limit localhost
expect_ok site
grep -q "TASK \[Apply the Terraform module (plan only in check mode)\]" "$T/site.out" ||
  fail "site: provisioning did not run"
has "$T/site.out" "Terraform apply in $WORK: no changes" || fail "site: apply not empty"
PAPERSPACE_API_KEY=$CANARY run site-off playbooks/site.yml -e @"$T/vars.yml" --limit localhost
expect_ok site-off
grep -q "Terraform apply in" "$T/site-off.out" && fail "site-off: provisioned without provision=true"
pass "provision=true provisions; default skips"

check "teardown without confirmation and without a TTY: fails, destroys nothing"
PAPERSPACE_API_KEY=$CANARY run td-noconfirm playbooks/teardown.yml -e @"$T/vars.yml"
expect_fail td-noconfirm "No TTY to ask for confirmation" "NOT destroyed" "-e confirm=yes"
[ "$(state_list)" = "terraform_data.machine" ] || fail "td-noconfirm: the machine was destroyed"
[ -f "$INV" ] || fail "td-noconfirm: the inventory was removed"
pass "refused; machine and inventory kept"

check "teardown on a TTY answered 'no': prompts, fails, destroys nothing"
# A pseudo-terminal that answers the prompt once it is shown (pause discards earlier input).
cat >"$T/tty_answer.py" <<'EOF'
import os, pty, select, sys, time
answer, prompt, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
seen, sent, deadline = b"", False, time.time() + 300
while time.time() < deadline:
    if select.select([fd], [], [], 1)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
        sys.stdout.buffer.write(data)
        if not sent and prompt in seen:
            time.sleep(1)
            os.write(fd, answer + b"\r")
            sent = True
else:
    os.kill(pid, 9)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
EOF
if PAPERSPACE_API_KEY=$CANARY python3 "$T/tty_answer.py" no "Type yes" ansible-playbook \
  -i "$EMPTY_INV" playbooks/teardown.yml -e @"$T/vars.yml" >"$T/td-tty-no.out" 2>&1; then
  fail "td-tty-no: expected a failure"
fi
has "$T/td-tty-no.out" "Not confirmed: the machine" || { cat "$T/td-tty-no.out"; fail "td-tty-no"; }
[ "$(state_list)" = "terraform_data.machine" ] || fail "td-tty-no: the machine was destroyed"
pass "prompted on the TTY, refused on 'no'"

check "teardown in check mode with -e confirm=yes: plans the destroy, destroys nothing"
PAPERSPACE_API_KEY=$CANARY run td-check playbooks/teardown.yml -e @"$T/vars.yml" -e confirm=yes --check
expect_ok td-check
has "$T/td-check.out" "resources would be destroyed (check mode)" || fail "td-check: no planned destroy"
[ "$(state_list)" = "terraform_data.machine" ] || fail "td-check: the machine was destroyed"
[ -f "$INV" ] || fail "td-check: the inventory was removed"
pass "destroy planned only"

check "teardown with -e confirm=yes, API key from an ansible-vault variable: destroyed"
run td-vault playbooks/teardown.yml -e @"$T/vars.yml" -e @"$T/vault-secret.yml" \
  --vault-password-file "$T/vault-pass" -e confirm=yes -vv
expect_ok td-vault
has "$T/td-vault.out" "resources destroyed" || fail "td-vault: nothing destroyed"
[ -z "$(state_list)" ] || fail "td-vault: state still holds '$(state_list)'"
[ ! -e "$INV" ] || fail "td-vault: inventory not removed"
[ ! -e "$WORK/llmserve-provision.json" ] || fail "td-vault: marker not removed"
pass "destroyed (the stand-in's destroy-time check saw the vault key), inventory and marker removed"

check "teardown again: nothing provisioned, nothing to do"
run td-again playbooks/teardown.yml -e @"$T/vars.yml" -e confirm=yes
expect_ok td-again
has "$T/td-again.out" "nothing to destroy" || fail "td-again: unexpected output"
pass "reports nothing to destroy"

check "apply with the key from an ansible-vault variable (-vv), then destroy at -vvv with the env key"
run apply-vault playbooks/provision.yml -e @"$T/vars.yml" -e @"$T/vault-secret.yml" \
  --vault-password-file "$T/vault-pass" -vv
expect_ok apply-vault
[ "$(state_list)" = "terraform_data.machine" ] || fail "apply-vault: no machine in state"
PAPERSPACE_API_KEY=$CANARY run td-env playbooks/teardown.yml -e @"$T/vars.yml" -e confirm=yes -vvv
expect_ok td-env
[ -z "$(state_list)" ] || fail "td-env: state still holds '$(state_list)'"
pass "vault key reached terraform on create; env key on destroy"

check "the stand-in's key check is live: terraform without PAPERSPACE_API_KEY fails"
if env -u PAPERSPACE_API_KEY terraform -chdir="$WORK" apply -auto-approve -input=false \
  -no-color >"$T/direct.out" 2>&1; then
  fail "terraform applied without PAPERSPACE_API_KEY"
fi
has "$T/direct.out" "PAPERSPACE_API_KEY is not in the environment" || fail "direct: wrong error"
terraform -chdir="$WORK" destroy -auto-approve -input=false >/dev/null 2>&1 || true
pass "apply refused without the key"

check "no API key canary in any output (-vvv included), log, or file the runs wrote"
leaks=$(grep -rlaF -e "$CANARY" -e "$VAULT_CANARY" "$T" || true)
[ -z "$leaks" ] || fail "canary found in: $leaks"
python3 - "$CANARY" "$VAULT_CANARY" "$T" <<'EOF'
import os, sys, zipfile
canaries = [c.encode() for c in sys.argv[1:3]]
for base, _, files in os.walk(sys.argv[3]):
    for f in files:
        p = os.path.join(base, f)
        if zipfile.is_zipfile(p):  # plan files are zip archives
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    assert not any(c in z.read(n) for c in canaries), (p, n)
EOF
new_files=$(find /tmp "$HOME/.ansible" -xdev -newer "$START_MARK" -type f \
  \( -name '*.tfplan' -o -name '*.tfstate*' -o -name '*.log' -o -name '*.json' \) \
  -not -path "$T/*" 2>/dev/null || true)
if [ -n "$new_files" ]; then
  leaks=$(printf '%s\n' "$new_files" | xargs -r grep -laF -e "$CANARY" -e "$VAULT_CANARY" || true)
  [ -z "$leaks" ] || fail "canary found in: $leaks"
fi
grep -c . "$ANSIBLE_LOG_PATH" >/dev/null || fail "the ansible log is empty"
pass "canaries absent from $(find "$T" -type f | wc -l) files (outputs, ansible.log, state, tfvars, inventory)"

printf '\n60-provision: all checks passed\n'
