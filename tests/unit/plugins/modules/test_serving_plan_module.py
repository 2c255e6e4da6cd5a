# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""serving_plan module: results, read-only behaviour, one clear error per bad input."""

import json
import os

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import serving_plan

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]
FIX = os.path.join(ROOT, "tests", "unit", "fixtures", "model_repo")
A6000X4 = {"gpu_count": 4, "gpu_memory_gib": 47.99}


def run(capsys, check=False, **args):
    args.setdefault("presets", PRESETS)
    if not args.get("container_tag") and args.get("runtime", "triton") == "triton":
        args.setdefault("triton_release", "24.05")
    args["_ansible_check_mode"] = check
    with patch_module_args(args), pytest.raises(SystemExit):
        serving_plan.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check", [False, True])
def test_llama3_70b_on_a6000x4(capsys, check):
    res = run(capsys, check=check, model="llama3-70b", container_tag="24.05", **A6000X4)
    assert res["changed"] is False
    assert (
        res["tensor_parallel_size"] == 4
        and res["engine_args_origin"]["tensor_parallel_size"] == "hardware"
    )
    assert res["vllm_version"] == "0.4.0.post1"
    assert res["fit"]["checked"] and res["fit"]["fits"]
    entry = res["repository_models"][0]
    assert json.loads(entry["model_json"]) == dict(
        res["engine_args"], model="meta-llama/Meta-Llama-3-70B-Instruct"
    )
    assert "kind: KIND_MODEL" in entry["config_pbtxt"]  # TP 4: one instance over the GPUs
    assert "--served-model-name" not in res["vllm_cli_args"]  # the serving role adds it
    assert "--tensor-parallel-size" in res["vllm_cli_args"]
    # One fact, the same as the result, with where the GPUs came from and why TP is 4.
    plan = res["ansible_facts"]["llmserve_serving_plan"]
    assert plan["digest"] == res["digest"] and plan["engine_args"] == res["engine_args"]
    assert plan["gpus"]["origin"] == "model_repo_gpu_count and model_repo_gpu_memory_gib"
    assert "largest size up to the 4 GPU(s)" in plan["tensor_parallel_reason"]
    assert plan["image"] == "nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3"


def test_machine_type_then_gpu_facts_precedence(capsys):
    """Explicit count beats the machine type, which beats nvidia-smi; each says so."""
    hw = {"A6000x4": {"gpu_count": 4, "gpu_memory_gib": 47.99, "gpu_name": "NVIDIA RTX A6000"}}
    smi = {"present": True, "count": 8, "memory_per_gpu_mib": 81559, "gpus": []}
    by_type = run(capsys, model="mixtral", machine_type="A6000x4", machine_types=hw, gpu_facts=smi)
    assert by_type["gpus"]["count"] == 4 and "A6000x4" in by_type["gpus"]["origin"]
    by_smi = run(capsys, model="mixtral", machine_types=hw, gpu_facts=smi)
    assert by_smi["gpus"]["count"] == 8 and "nvidia-smi" in by_smi["gpus"]["origin"]
    assert by_smi["digest"] != by_type["digest"]
    explicit = run(
        capsys,
        model="mixtral",
        gpu_count=2,
        gpu_memory_gib=47.99,
        machine_type="A6000x4",
        machine_types=hw,
        gpu_facts=smi,
    )
    assert (
        explicit["tensor_parallel_size"] == 2
        and "model_repo_gpu_count" in explicit["gpus"]["origin"]
    )


def test_gpu_facts_from_gpu_facts_module(capsys):
    gpu = {"present": True, "count": 8, "memory_per_gpu_mib": 81559, "reason": ""}
    res = run(
        capsys,
        model="mixtral",
        container_tag="25.01",
        gpu_facts=gpu,
        tensor_parallel_policy="smallest_fit",
        engine_args={"max_num_seqs": 900},
    )
    assert res["tensor_parallel_size"] == 1 and res["engine_args"]["max_num_seqs"] == 900


def test_local_config_json_is_read(tmp_path, capsys):
    model_dir = tmp_path / "llama"
    model_dir.mkdir()
    with open(os.path.join(FIX, "llama3-70b-instruct.config.json")) as src:
        (model_dir / "config.json").write_text(src.read())
    res = run(
        capsys,
        model=str(model_dir),
        runtime="vllm",
        container_tag="v0.32.0",
        gpu_count=8,
        gpu_memory_gib=80,
    )
    assert res["preset"] is None and res["name"] == "llama"
    assert res["fit"]["kv_bytes_per_token"] == 320 * 1024


@pytest.mark.parametrize(
    "args,match",
    [
        ({"model": "nope"}, "unknown model preset 'nope'"),
        (
            {"engine_args": {"disable_log_requests": True}, "container_tag": "25.10"},
            "unknown engine arg 'disable_log_requests' for Triton container 25.10",
        ),
        ({"engine_args": {"tensor_parallel_size": 8}}, "larger than the 4 GPU"),
        ({"engine_args": {"tensor_parallel_size": 3}}, "does not divide the model's 64"),
        ({"engine_args": {"gpu_memory_utilization": 0}}, "gpu_memory_utilization must be > 0"),
        ({"engine_args": {"gpu_memory_utilization": 1.5}}, "gpu_memory_utilization must be > 0"),
        ({"gpu_count": 2}, "does not fit: needs 141.1 GB of weights; 2 x 51.5 GB x 0.85"),
        ({"gpu_count": None, "gpu_memory_gib": None}, "GPU facts are missing"),
        ({"engine_args": "max_num_seqs=900"}, "model_repo_engine_args must be a mapping"),
        ({"model": "org/custom"}, "is not a preset and has no readable config.json"),
        ({"container_tag": "99.99"}, "not a known Triton vLLM container tag"),
    ],
)
def test_each_bad_input_one_clear_error(capsys, args, match):
    base = dict(model="llama3-70b", container_tag="24.05", **A6000X4)
    base.update(args)
    base = {k: v for k, v in base.items() if v is not None}
    res = run(capsys, **base)
    assert res["failed"] is True
    assert match in res["msg"]
    assert len(res["errors"]) == 1


def test_gpu_facts_reason_is_reported(capsys):
    res = run(
        capsys,
        model="llama3-70b",
        container_tag="24.05",
        gpu_facts={"present": False, "count": 0, "reason": "nvidia-smi not found"},
    )
    assert "GPU facts are missing" in res["msg"] and "nvidia-smi not found" in res["msg"]


def test_mixtral_on_cpu_fails_with_numbers(capsys):
    res = run(capsys, model="mixtral", runtime="vllm_cpu", host_memory_mib=24 * 1024)
    assert res["failed"] and "needs 23.8 GB of weights" in res["msg"]
    res = run(capsys, model="demo", runtime="vllm_cpu", host_memory_mib=24 * 1024)
    assert res["demo"] is True and res["tensor_parallel_size"] == 1
    assert "tensor_parallel_size" not in res["engine_args"]


@pytest.mark.parametrize("key,token", [("hf_token", "hf_" + "Q" * 34), ("api_key", "s3cr3t-v4lue")])
def test_hf_token_in_engine_args_is_refused_and_masked(capsys, key, token):
    res = run(capsys, model="demo", runtime="vllm_cpu", engine_args={key: token})
    assert res["failed"] and "secret" in res["msg"]
    assert token not in json.dumps(res)


def test_secret_value_masked_under_any_spelling_of_its_key(capsys):
    res = run(capsys, model="demo", runtime="vllm_cpu", engine_args={"Use-Auth-Token": "t0k3n"})
    assert res["failed"] and "t0k3n" not in json.dumps(res)


def test_gated_model_without_a_token_fails_with_the_variable_to_set(capsys):
    res = run(
        capsys,
        model="llama3-8b",
        runtime="vllm_cpu",
        host_memory_mib=64 * 1024,
        hf_token_configured=False,
    )
    assert res["failed"] is True and len(res["errors"]) == 1
    assert "is gated on Hugging Face and llmserve_hf_token is empty" in res["msg"]
    ok = run(
        capsys,
        model="llama3-8b",
        runtime="vllm_cpu",
        host_memory_mib=64 * 1024,
        hf_token_configured=True,
    )
    assert ok["changed"] is False and ok["gated"] is True
    demo = run(capsys, model="demo", runtime="vllm_cpu", hf_token_configured=False)
    assert demo["gated"] is False
