#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The preflight errors of issue 10, through `ansible-playbook site.yml --check` with the
# shipped inventory, as a user runs it:
#   - a vLLM engine arg given as a variable of its own (-e max_num_seqs=900, the tutorial's
#     "add max_num_seqs: 900") fails, printing the -e that works; that -e then passes and
#     reaches the engine args; a bare hf_token points to llmserve_hf_token, value unshown;
#   - a gated model (-e model=llama3-8b) without llmserve_hf_token fails, naming it; with a
#     token (a canary) the preflight passes and the token is never printed, even at -vvv;
#   - machine types are the contract's llmserve_machine_types: a type added there is planned
#     for, an entry without gpu_memory_gib fails naming it, and the retired
#     provision_hardware_vars_file is refused with its replacement;
#   - every role entry point that a playbook, role, test or scenario calls with tasks_from has
#     an argument spec and is called so that it runs (no `tasks_from: x.yml`): a bad value
#     fails in that entry point's spec (teardown.yml, site.yml, and pull, runtime_triton,
#     client_venv, nvidia_driver detect through include_role).
# Each failure is the Preflight play's, before any host change: no later play starts, the
# recap reports changed=0. Only the preflight runs for real (read-only): no server is started
# and no port is bound, so the localhost lock is not taken (as in suite 10). Well under a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONPATH="$ROOT/.collections"
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
# shellcheck source=tests/lib/recap.sh
. tests/lib/recap.sh
WORK=$(mktemp -d /tmp/llmserve-e2e-preflight.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# A host RAM figure for the CPU runtimes' memory fit, so the result does not depend on this
# machine's RAM (llama3-8b: 16 GB of weights).
MEM=(-e model_repo_host_memory_mib=65536)
CANARY="hf_llmserveCanary$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
start=$SECONDS

# site_fails LOG ARGS...: `site.yml --check` must fail in the Preflight play and change nothing.
site_fails() {
  local log=$1
  shift
  if timeout 120 ansible-playbook site.yml --check "${MEM[@]}" "$@" >"$log" 2>&1; then
    cat "$log"; fail "site.yml --check $* passed"
  fi
  [ "$(grep -c '^fatal:' "$log")" = 1 ] || { cat "$log"; fail "not exactly one failure: $*"; }
  grep -q '^PLAY \[Preflight' "$log" || { cat "$log"; fail "no Preflight play: $*"; }
  ! grep -q '^PLAY \[Prepare hosts' "$log" || { cat "$log"; fail "went past the preflight: $*"; }
  [ "$(recap "$log" changed)" = 0 ] || { cat "$log"; fail "changed something: $*"; }
  [ "$(recap "$log" failed)" = 1 ] || { cat "$log"; fail "recap: not failed=1: $*"; }
}
# has LOG TEXT: the error line (Ansible prints it unwrapped after [ERROR]) contains TEXT.
has() { grep '^\[ERROR\]' "$1" | grep -qF -- "$2" || { cat "$1"; fail "message lacks: $2"; }; }
# preflight LOG ARGS...: only the preflight (runtime choice + model_repo preflight), must pass.
preflight() {
  local log=$1
  shift
  timeout 120 ansible-playbook tests/e2e/playbooks/model_repo_preflight.yml "${MEM[@]}" "$@" \
    >"$log" 2>&1 || { cat "$log"; fail "preflight $* failed"; }
}

echo "== 1. -e max_num_seqs=900: refused in the preflight, with the -e that works"
site_fails "$WORK/bare.log" -e max_num_seqs=900
has "$WORK/bare.log" "max_num_seqs is a vLLM engine arg given as a variable of its own, which nothing reads"
has "$WORK/bare.log" "pass -e '{\"model_repo_engine_args\": {\"max_num_seqs\": 900}}'"
has "$WORK/bare.log" "model_repo_not_engine_args"
ok "$(grep '^\[ERROR\]' "$WORK/bare.log" | grep -o 'max_num_seqs is a vLLM.*inventory)')"

echo "== 2. the printed -e passes and reaches the engine args"
SUGGESTED=$(python3 - "$WORK/bare.log" <<'PY'
import shlex, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("[ERROR]"))
(word,) = shlex.split(line.split("pass -e ", 1)[1].split(" (or set", 1)[0])
print(word)
PY
)
[ -n "$SUGGESTED" ] || fail "no -e found in the message"
timeout 120 ansible-playbook tests/e2e/playbooks/model_repo_apply.yml -i localhost, -c local \
  -e "ansible_python_interpreter=$ROOT/.venv/bin/python" -e model=demo -e model_repo_runtime=vllm_cpu \
  -e "model_repo_repository=$WORK/repo" -e "model_repo_test_facts_file=$WORK/facts.json" \
  "${MEM[@]}" -e "$SUGGESTED" >"$WORK/good.log" 2>&1 || { cat "$WORK/good.log"; fail "the printed -e failed"; }
python3 - "$WORK/facts.json" <<'PY'
import json, sys
facts = json.load(open(sys.argv[1]))
assert facts["engine_args"]["max_num_seqs"] == 900, facts["engine_args"]
assert "--max-num-seqs" in facts["vllm_cli_args"], facts["vllm_cli_args"]
PY
ok "-e '$SUGGESTED': engine_args.max_num_seqs = 900"
preflight "$WORK/ignored.log" -e max_num_seqs=900 -e '{"model_repo_not_engine_args": ["max_num_seqs"]}'
ok "a name listed in model_repo_not_engine_args passes"

echo "== 3. -e hf_token=...: pointed to llmserve_hf_token, the value never shown (-vvv)"
site_fails "$WORK/bare-token.log" -vvv -e "hf_token=$CANARY"
has "$WORK/bare-token.log" "hf_token is given as a variable of its own, which nothing reads"
has "$WORK/bare-token.log" "set llmserve_hf_token from ansible-vault"
! grep -qF "$CANARY" "$WORK/bare-token.log" || fail "the token value was printed"
ok "bare hf_token refused, value absent from the -vvv output"

echo "== 4. -e model=llama3-8b without a token: refused in the preflight, naming the variable"
site_fails "$WORK/gated.log" -e model=llama3-8b
has "$WORK/gated.log" "model 'llama3-8b' (meta-llama/Meta-Llama-3-8B-Instruct) is gated on Hugging Face and llmserve_hf_token is empty"
has "$WORK/gated.log" "ansible-vault create hf_token.yml"
! grep -qF HF_TOKEN "$WORK/gated.log" || fail "the message names HF_TOKEN, which nothing reads"
ok "$(grep '^\[ERROR\]' "$WORK/gated.log" | grep -o "model 'llama3-8b'.*is empty")"
site_fails "$WORK/gated-id.log" -e model=meta-llama/Llama-3.1-8B-Instruct \
  -e '{"model_repo_model_facts": {"params": 8030261248, "bytes_per_weight": 2, "num_layers": 32, "num_attention_heads": 32, "num_kv_heads": 8, "head_dim": 128, "max_context": 8192}}'
has "$WORK/gated-id.log" "model meta-llama/Llama-3.1-8B-Instruct is gated on Hugging Face"
ok "a meta-llama/* id is gated too"

echo "== 5. with a token (a canary) the gated preset passes; the token is never printed"
preflight "$WORK/token.log" -vvv -e model=llama3-8b -e model_repo_check_hf_token=true \
  -e "llmserve_hf_token=$CANARY"
! grep -qF "$CANARY" "$WORK/token.log" || fail "the token was printed"
grep -q "llama3-8b on .*_cpu: needs" "$WORK/token.log" || { cat "$WORK/token.log"; fail "no llama3-8b fit summary"; }
ok "llama3-8b with llmserve_hf_token passes the preflight, token absent from the -vvv output"

echo "== 6. variables renamed into the shared contract are refused by name, never ignored"
site_fails "$WORK/renamed.log" -e triton_vllm_hf_token=x -e triton_vllm_triton_tag=24.08
has "$WORK/renamed.log" "no longer read, renamed into the shared contract"
has "$WORK/renamed.log" "triton_vllm_hf_token -> llmserve_hf_token, triton_vllm_triton_tag -> llmserve_triton_release"
site_fails "$WORK/release.log" -e llmserve_triton_release=24.5
has "$WORK/release.log" "llmserve_triton_release must be a Triton release such as 24.05 (YY.MM), got '24.5'"
ok "renamed variables and a malformed llmserve_triton_release refused in the preflight"

echo "== 7. the plan says where the GPUs came from and why tensor_parallel_size is what it is"
preflight "$WORK/plan.log" -e model=mixtral -e triton_vllm_runtime=triton -e model_repo_machine_type=A6000x4
# (the callback wraps long messages: read the output as one line)
tr -s ' \n' ' ' <"$WORK/plan.log" >"$WORK/plan.txt"
grep -qF "tensor_parallel_size 4: the largest size up to the 4 GPU(s) (machine type A6000x4" "$WORK/plan.txt" \
  || { cat "$WORK/plan.log"; fail "the plan does not explain tensor_parallel_size"; }
ok "$(grep -o 'tensor_parallel_size 4: [^;]*' "$WORK/plan.txt" | head -1)"

echo "== 7b. machine types are the contract's llmserve_machine_types: a user's type is used, a bad entry named"
preflight "$WORK/own-type.log" -e model=mixtral -e triton_vllm_runtime=triton -e model_repo_machine_type=L40Sx4 \
  -e '{"llmserve_machine_types": {"L40Sx4": {"gpu_count": 4, "gpu_memory_gib": 44.99, "gpu_name": "NVIDIA L40S"}}}'
tr -s ' \n' ' ' <"$WORK/own-type.log" | grep -qF "GPUs: machine type L40Sx4 (model_repo_machine_type)" \
  || { cat "$WORK/own-type.log"; fail "the user's machine type was not used"; }
ok "a machine type added through llmserve_machine_types plans 4 GPUs"
site_fails "$WORK/bad-type.log" -e model=mixtral -e triton_vllm_runtime=triton -e model_repo_machine_type=L40Sx4 \
  -e '{"llmserve_machine_types": {"L40Sx4": {"gpu_count": 4}}}'
has "$WORK/bad-type.log" "llmserve_machine_types['L40Sx4'] lacks gpu_memory_gib"
site_fails "$WORK/old-file.log" -e provision_hardware_vars_file=/srv/hardware.yml
has "$WORK/old-file.log" "provision_hardware_vars_file -> llmserve_machine_types"
ok "an entry without gpu_memory_gib and the retired provision_hardware_vars_file refused, naming llmserve_machine_types"

echo "== 8. entry points called with tasks_from check their argument spec"
# Ansible validates meta/argument_specs.yml only for the entry point named exactly as
# tasks_from: `tasks_from: teardown.yml` ran the same tasks unchecked.
python3 - <<'PY' || fail "an entry point is called without its argument spec"
import glob, yaml
specs = {f.split("/")[1]: set(yaml.safe_load(open(f))["argument_specs"])
         for f in glob.glob("roles/*/meta/argument_specs.yml")}
bad, calls = [], []
def walk(node, where):
    if isinstance(node, list):
        for item in node:
            walk(item, where)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.split(".")[-1] in ("include_role", "import_role") and isinstance(value, dict):
                role, entry = str(value.get("name", "")).split(".")[-1], value.get("tasks_from")
                if entry is not None:
                    calls.append(where)
                    if entry not in specs.get(role, ()):
                        bad.append("%s: %s tasks_from %s (entry points with a spec: %s)"
                                   % (where, role, entry, sorted(specs.get(role, ()))))
            walk(value, where)
for top in ("playbooks", "roles", "tests", "molecule"):
    for f in sorted(glob.glob(top + "/**/*.yml", recursive=True)):
        walk(yaml.safe_load(open(f)), f)
if bad or not calls:
    raise SystemExit("\n".join(bad) or "no tasks_from call found")
print("ok: %d tasks_from calls, each naming an entry point with an argument spec" % len(calls))
PY
# spec_fails LOG SPEC TEXT COMMAND...: COMMAND (in check mode) fails in the argument-spec check
# of the entry point SPEC, with TEXT in the message, before any task of the entry point runs.
spec_fails() {
  local log=$1 spec=$2 text=$3
  shift 3
  if timeout 120 "$@" >"$log" 2>&1; then cat "$log"; fail "passed: $*"; fi
  grep -q '^\[ERROR\]: .*Validation of arguments failed' "$log" || { cat "$log"; fail "no argument-spec failure: $*"; }
  grep -qE "^ *argument_spec_name: $spec\$" "$log" || { cat "$log"; fail "not the argument spec of $spec: $*"; }
  grep -qF -- "$text" "$log" || { cat "$log"; fail "message lacks: $text"; }
  ! grep -qE 'changed=[1-9]|^changed: ' "$log" || { cat "$log"; fail "changed something: $*"; }
}
# teardown.yml: without its spec 'maybe' | bool is false and the purge was skipped silently.
spec_fails "$WORK/td-spec.log" teardown "argument 'triton_vllm_teardown_purge' is of type str and we were unable to convert to bool" \
  ansible-playbook teardown.yml --check -e triton_vllm_teardown_purge=maybe
ok "teardown.yml -e triton_vllm_teardown_purge=maybe: refused by the spec of triton_vllm's teardown"
# The playbook's own name for it, checked by the playbook before any role runs.
if timeout 120 ansible-playbook teardown.yml --check -e teardown_purge=maybe >"$WORK/td-purge.log" 2>&1; then
  cat "$WORK/td-purge.log"; fail "teardown.yml -e teardown_purge=maybe passed"
fi
grep -qF "teardown_purge must be true or false (is 'maybe')" <(tr -s " \n'" "  '" <"$WORK/td-purge.log" | sed "s/''/'/g") ||
  { cat "$WORK/td-purge.log"; fail "no teardown_purge message"; }
grep -qE 'ok=0 +changed=0' "$WORK/td-purge.log" || { cat "$WORK/td-purge.log"; fail "ran tasks before refusing"; }
ok "teardown.yml -e teardown_purge=maybe: refused before any task"
spec_fails "$WORK/site-spec.log" select_runtime "value of triton_vllm_runtime must be one of: auto, triton, vllm, triton_cpu, vllm_cpu, got: gpu" \
  ansible-playbook site.yml --check "${MEM[@]}" -e triton_vllm_runtime=gpu
ok "site.yml -e triton_vllm_runtime=gpu: refused by the spec of triton_vllm's select_runtime"
# The entry points a play reaches later (pull) or that tests call, through include_role.
for case in \
  "triton_vllm pull triton_vllm_container_pull_timeout=later triton_vllm_container_pull_timeout" \
  "triton_vllm runtime_triton triton_vllm_triton_http_port=http triton_vllm_triton_http_port" \
  "triton_vllm client_venv triton_vllm_client_install=perhaps triton_vllm_client_install" \
  "nvidia_driver detect nvidia_driver_reboot_timeout=soon nvidia_driver_reboot_timeout"; do
  read -r role entry setting name <<<"$case"
  spec_fails "$WORK/$entry-spec.log" "$entry" "argument '$name' is of type str and we were unable to convert" \
    ansible localhost --check -m ansible.builtin.include_role \
    -a "name=llmserve.triton.$role tasks_from=$entry" -e "$setting"
  ok "include_role $role tasks_from=$entry -e $setting: refused by that entry point's spec"
done

echo "12-preflight-errors: all checks passed in $((SECONDS - start)) s"
