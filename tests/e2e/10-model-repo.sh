#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Integration suite of the model_repo role (roles/model_repo, serving_plan,
# triton_model_repo) on this host, into a temporary directory:
#   check -> apply -> idempotent check -> idempotent apply, asserting the real files
#   (config.pbtxt parsed with Triton's protobuf schema, model.json keys against the real
#   vLLM engine-arg names of the tag); exclusive cleanup; the vllm_cpu facts; then every bad
#   input of issue 2 gives its one clear error with nothing written.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONPATH="$ROOT/.collections"
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
WORK=$(mktemp -d /tmp/llmserve-e2e-model-repo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
REPO="$WORK/repo"
PLAY=tests/e2e/playbooks/model_repo_apply.yml
BASE=(-i "localhost," -c local -e "ansible_python_interpreter=$ROOT/.venv/bin/python"
      -e model_repo_runtime=triton -e llmserve_triton_release=24.05
      -e model_repo_gpu_count=4 -e model_repo_gpu_memory_gib=47.99)
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# run_play LOG ARGS... -> playbook output in LOG; returns ansible-playbook's status
run_play() { local log=$1; shift; ansible-playbook "$PLAY" "${BASE[@]}" "$@" >"$log" 2>&1; }
recap_changed() { sed -n 's/.*changed=\([0-9]*\).*/\1/p' "$1" | tail -1; }

echo "== 1. check mode: reports changes, writes nothing"
run_play "$WORK/check1.log" --check -e model=llama3-70b -e "repo=$REPO" \
  -e "model_repo_repository=$REPO" || { cat "$WORK/check1.log"; fail "check run failed"; }
[ "$(recap_changed "$WORK/check1.log")" -ge 1 ] || fail "check mode reported no change"
[ ! -e "$REPO" ] || fail "check mode created $REPO"
ok "check mode: changed=$(recap_changed "$WORK/check1.log"), $REPO absent"

echo "== 2. apply"
run_play "$WORK/apply1.log" -e model=llama3-70b -e "model_repo_repository=$REPO" \
  -e "model_repo_test_facts_file=$WORK/facts.json" -e '{"model_repo_engine_args": {"max_num_seqs": 900}}' \
  || { cat "$WORK/apply1.log"; fail "apply failed"; }
[ "$(recap_changed "$WORK/apply1.log")" -ge 1 ] || fail "apply reported no change"
python - "$REPO" "$WORK/facts.json" <<'PY'
import json, os, stat, sys
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_arg_names import (
    ENGINE_ARG_NAMES, TRITON_VLLM_TAGS)
repo, facts_file = sys.argv[1], sys.argv[2]
assert sorted(os.listdir(repo)) == ["llama3-70b"], os.listdir(repo)
with open(os.path.join(repo, "llama3-70b", "config.pbtxt")) as fh:
    cfg = text_format.Parse(fh.read(), model_config_pb2.ModelConfig())
assert cfg.name == "llama3-70b" and cfg.backend == "vllm", cfg
assert cfg.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_MODEL
assert cfg.parameters["REPORT_CUSTOM_METRICS"].string_value == "true"
path = os.path.join(repo, "llama3-70b", "1", "model.json")
with open(path) as fh:
    data = json.load(fh)
names = set(ENGINE_ARG_NAMES[TRITON_VLLM_TAGS["24.05"]["vllm"]])
assert set(data) <= names, set(data) - names
assert data["model"] == "meta-llama/Meta-Llama-3-70B-Instruct"
assert data["tensor_parallel_size"] == 4 and data["max_num_seqs"] == 900
assert data["gpu_memory_utilization"] == 0.85
assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
with open(facts_file) as fh:
    facts = json.load(fh)
for key in ("name", "preset", "hf_id", "engine_args", "vllm_cli_args", "tensor_parallel_size",
            "vllm_version", "container_tag", "fit", "repository", "demo", "max_model_len"):
    assert key in facts, key
assert facts["vllm_version"] == "0.4.0.post1" and facts["container_tag"] == "24.05"
assert facts["repository"] == repo and facts["fit"]["fits"] and facts["fit"]["weights_bytes"] > 1.4e11
assert "--max-num-seqs" in facts["vllm_cli_args"]
print("ok: config.pbtxt parses (KIND_MODEL, REPORT_CUSTOM_METRICS); model.json keys are vLLM "
      "0.4.0.post1 engine args; llmserve_serving_plan complete:", facts["fit"]["summary"])
PY

echo "== 3. idempotent check, 4. idempotent apply"
for mode in --check ""; do
  run_play "$WORK/again.log" $mode -e model=llama3-70b -e "model_repo_repository=$REPO" \
    -e '{"model_repo_engine_args": {"max_num_seqs": 900}}' || { cat "$WORK/again.log"; fail "re-run failed"; }
  [ "$(recap_changed "$WORK/again.log")" = 0 ] || { cat "$WORK/again.log"; fail "second run ${mode:-apply} changed"; }
  ok "second run ${mode:-apply}: changed=0"
done

echo "== 5. another model replaces the first (exclusive)"
run_play "$WORK/mixtral.log" -e model=mixtral -e model_repo_machine_type=A100-80Gx8 \
  -e model_repo_gpu_count=0 -e model_repo_gpu_memory_gib=0 -e "model_repo_repository=$REPO" \
  || { cat "$WORK/mixtral.log"; fail "mixtral apply failed"; }
[ "$(ls "$REPO")" = mixtral ] || fail "exclusive did not remove llama3-70b: $(ls "$REPO")"
grep -q '"quantization": "gptq"' "$REPO/mixtral/1/model.json" || fail "mixtral model.json"
grep -q '"tensor_parallel_size": 8' "$REPO/mixtral/1/model.json" || fail "mixtral TP on A100-80Gx8"
grep -q KIND_MODEL "$REPO/mixtral/config.pbtxt" || fail "mixtral TP 8 without KIND_MODEL"
ok "exclusive: only mixtral left (TP 8 from machine type A100-80Gx8)"

echo "== 6. vllm_cpu runtime with the demo preset: facts only, nothing written"
run_play "$WORK/cpu.log" -e model=demo -e model_repo_runtime=vllm_cpu \
  -e "model_repo_repository=$WORK/cpu-repo" -e "model_repo_test_facts_file=$WORK/cpu.json" \
  || { cat "$WORK/cpu.log"; fail "demo on vllm_cpu failed"; }
[ ! -e "$WORK/cpu-repo" ] || fail "vllm_cpu wrote a model repository"
python - "$WORK/cpu.json" <<'PY'
import json, sys
facts = json.load(open(sys.argv[1]))
assert facts["demo"] is True and facts["hf_id"] == "/var/lib/llmserve/models/demo", facts
assert facts["vllm_version"] == "0.32.0" and facts["repository"] is None
assert facts["architecture"]["hidden_size"] == 128
assert "--max-model-len" in facts["vllm_cli_args"], facts["vllm_cli_args"]
print("ok: demo facts", facts["vllm_cli_args"])
PY

echo "== 7. bad inputs: one clear error each, nothing written"
BAD="$WORK/bad-repo"
expect_error() {
  local want=$1; shift
  if run_play "$WORK/bad.log" -e "model_repo_repository=$BAD" "$@"; then
    cat "$WORK/bad.log"; fail "expected failure: $want"
  fi
  grep -qF -- "$want" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "message lacks: $want"; }
  [ ! -e "$BAD" ] || fail "something was written for: $want"
  [ "$(grep -c 'fatal:' "$WORK/bad.log")" = 1 ] || fail "not exactly one failure for: $want"
  ok "$(grep -o -- "$want.\{0,70\}" "$WORK/bad.log" | head -1)"
}
expect_error "unknown model preset 'nope'" -e model=nope
expect_error "unknown engine arg 'disable_log_requests' for Triton container 25.10-vllm-python-py3 (vLLM 0.10.2)" \
  -e model=llama3-70b -e llmserve_triton_release=25.10 -e '{"model_repo_engine_args": {"disable_log_requests": true}}'
expect_error "tensor_parallel_size 8 is larger than the 4 GPU(s)" \
  -e model=llama3-70b -e '{"model_repo_engine_args": {"tensor_parallel_size": 8}}'
expect_error "tensor_parallel_size 3 does not divide the model's 64 attention heads" \
  -e model=llama3-70b -e '{"model_repo_engine_args": {"tensor_parallel_size": 3}}'
expect_error "gpu_memory_utilization must be > 0 and <= 1" \
  -e model=llama3-70b -e '{"model_repo_engine_args": {"gpu_memory_utilization": 0}}'
expect_error "gpu_memory_utilization must be > 0 and <= 1" \
  -e model=llama3-70b -e '{"model_repo_engine_args": {"gpu_memory_utilization": 1.5}}'
expect_error "does not fit: needs 141.1 GB of weights; 2 x 51.5 GB x 0.85 = 87.6 GB" \
  -e model=llama3-70b -e model_repo_gpu_count=2
expect_error "GPU facts are missing, so tensor_parallel_size cannot be inferred" \
  -e model=llama3-70b -e model_repo_gpu_count=0 -e model_repo_gpu_memory_gib=0
expect_error "model_repo_engine_args must be a mapping" \
  -e model=llama3-70b -e model_repo_engine_args=max_num_seqs=900
expect_error "argument 'model_repo_gpu_count' is of type str and we were unable to convert to int" \
  -e model=llama3-70b -e model_repo_gpu_count=four
expect_error "argument 'model_repo_engine_args' is of type str and we were unable to convert to dict" \
  -e model=llama3-70b -e model_repo_engine_args=900
expect_error "model_repo_gpu_count (4) must be a positive number of GPUs and model_repo_gpu_memory_gib (0)" \
  -e model=llama3-70b -e model_repo_gpu_memory_gib=0
expect_error "does not fit the CPU runtime: needs 23.8 GB of weights" \
  -e model=mixtral -e model_repo_runtime=vllm_cpu -e llmserve_cpu_kv_cache_space_gib=1 \
  -e model_repo_host_memory_mib=24576
echo "== 8. shipped inventory (demo on a CPU runtime): preflight passes; -e model=mixtral fails at once"
PRE=tests/e2e/playbooks/model_repo_preflight.yml
ansible-playbook "$PRE" -e model_repo_host_memory_mib=24576 >"$WORK/pre.log" 2>&1 \
  || { cat "$WORK/pre.log"; fail "preflight of the shipped inventory failed"; }
grep -Eq "demo on (triton|vllm)_cpu: needs" "$WORK/pre.log" || { cat "$WORK/pre.log"; fail "no demo fit summary"; }
ok "$(grep -Eo 'demo on (triton|vllm)_cpu: needs.{0,60}' "$WORK/pre.log" | head -1)"
if ansible-playbook "$PRE" -e model_repo_host_memory_mib=lots >"$WORK/pre.log" 2>&1; then
  cat "$WORK/pre.log"; fail "a bad model_repo_host_memory_mib passed the preflight"
fi
grep -q "argument 'model_repo_host_memory_mib' is of type str and we were unable to convert to int" "$WORK/pre.log" \
  || { cat "$WORK/pre.log"; fail "the preflight entry point did not check its argument spec"; }
ok "the preflight entry point checks its argument spec (model_repo_host_memory_mib=lots refused)"
start=$(date +%s)
if ansible-playbook "$PRE" -e model=mixtral -e model_repo_host_memory_mib=24576 >"$WORK/pre.log" 2>&1; then
  cat "$WORK/pre.log"; fail "-e model=mixtral passed the CPU preflight"
fi
grep -q "does not fit the CPU runtime: needs 23.8 GB of weights" "$WORK/pre.log" \
  || { cat "$WORK/pre.log"; fail "mixtral on CPU: message lacks the numbers"; }
ok "-e model=mixtral on the shipped inventory fails in $(( $(date +%s) - start )) s with the numbers"
echo "10-model-repo: all checks passed"
