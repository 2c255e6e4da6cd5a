# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_vllm_engine_config.build: model resolution, layers, TP policy, fit, renderings."""

import json
import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import (
    GIB,
    ConfigError,
    build,
    gated_token_error,
    is_gated,
    resolve_model,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]
with open(os.path.join(ROOT, "roles/llmserve/defaults/main.yml")) as _fh:
    MACHINE_TYPES = yaml.safe_load(_fh)["llmserve_machine_types"]


def machine(name):
    m = MACHINE_TYPES[name]
    return {"gpu_count": m["gpu_count"], "gpu_memory_bytes": m["gpu_memory_gib"] * GIB}


def test_resolve_model_kinds():
    assert resolve_model("mixtral", PRESETS)["hf_id"] == PRESETS["mixtral"]["hf_id"]
    entry = resolve_model("mistralai/Mistral-7B-Instruct-v0.3", PRESETS)
    assert entry["preset"] is None and entry["served_name"] == "Mistral-7B-Instruct-v0.3"
    assert resolve_model("/srv/models/my model/", PRESETS)["served_name"] == "my-model"
    with pytest.raises(ConfigError, match="unknown model preset 'llama-3'"):
        resolve_model("llama-3", PRESETS)


def test_tp_policies_on_h100x8():
    all_gpus = build("llama3-70b", PRESETS, "triton", "25.01", **machine("H100x8"))
    smallest = build(
        "llama3-70b", PRESETS, "triton", "25.01", tp_policy="smallest_fit", **machine("H100x8")
    )
    assert all_gpus["tensor_parallel_size"] == 8
    # TP 2 on 79.65 GiB H100s leaves 2.1 GB = 6k tokens < max_model_len 8192: TP 4.
    assert smallest["tensor_parallel_size"] == 4
    a100 = build(
        "llama3-70b", PRESETS, "triton", "25.01", tp_policy="smallest_fit", **machine("A100-80Gx8")
    )
    assert a100["tensor_parallel_size"] == 2
    assert all_gpus["engine_args_origin"]["tensor_parallel_size"] == "hardware"
    assert all_gpus["fit"]["max_concurrent_sequences"] > smallest["fit"]["max_concurrent_sequences"]


def test_user_tp_wins_and_is_fit_checked():
    res = build(
        "mixtral",
        PRESETS,
        "triton",
        "24.05",
        engine_args={"tensor_parallel_size": 2, "max_num_seqs": 900},
        **machine("A6000x4"),
    )
    assert res["tensor_parallel_size"] == 2
    assert res["engine_args_origin"] == {
        "gpu_memory_utilization": "preset",
        "max_model_len": "preset",
        "quantization": "preset",
        "dtype": "preset",
        "tensor_parallel_size": "override",
        "max_num_seqs": "override",
    }
    assert json.loads(res["model_json"])["max_num_seqs"] == 900


def test_user_facts_for_any_hf_id():
    facts = {
        "params": 7248023552,
        "bytes_per_weight": 2,
        "num_layers": 32,
        "num_attention_heads": 32,
        "num_kv_heads": 8,
        "head_dim": 128,
        "max_context": 32768,
    }
    res = build(
        "mistralai/Mistral-7B-Instruct-v0.3",
        PRESETS,
        "vllm",
        "v0.32.0",
        user_facts=facts,
        engine_args={"max_model_len": 16384},
        **machine("A6000"),
    )
    assert res["preset"] is None and res["tensor_parallel_size"] == 1
    assert res["fit"]["needed_tokens"] == 16384 and res["fit"]["fits"]
    assert res["vllm_cli_args"] == [
        "--max-model-len",
        "16384",
        "--tensor-parallel-size",
        "1",
    ]


def test_model_in_overrides_is_refused():
    with pytest.raises(ConfigError, match="do not set 'model' in the engine args"):
        build("demo", PRESETS, "vllm_cpu", engine_args={"model": "x"})


@pytest.mark.parametrize("name", ["a/b", ".hidden", "-x", "my model"])
def test_a_served_name_triton_would_refuse_is_refused(name):
    """The served name follows the Triton model-name rule (_model_repo.MODEL_NAME_RE), for
    every runtime."""
    with pytest.raises(ConfigError, match="is not a valid Triton model name"):
        build("demo", PRESETS, "vllm_cpu", served_name=name)
    assert build("demo", PRESETS, "vllm_cpu", served_name="_my.model-2")["name"] == "_my.model-2"


def test_several_bad_overrides_give_one_error_each():
    with pytest.raises(ConfigError) as err:
        build(
            "llama3-70b",
            PRESETS,
            "triton",
            "24.05",
            engine_args={"gpu_memory_utilization": 2, "max_num_seq": 1},
            **machine("A6000x4"),
        )
    assert len(err.value.errors) == 2


def test_concurrency_raises_the_kv_need():
    with pytest.raises(ConfigError, match="concurrency 64 needs 524k tokens"):
        build("llama3-70b", PRESETS, "triton", "24.05", concurrency=64, **machine("A6000x4"))


def test_given_tp_is_fit_checked_without_a_gpu_count():
    # Per-GPU memory known (model_repo_gpu_memory_gib) but no GPU count: the TP the user gives
    # is what gets checked, and a TP too small for the weights fails with the numbers.
    mem = {"gpu_memory_bytes": MACHINE_TYPES["A6000x4"]["gpu_memory_gib"] * GIB}
    ok = build(
        "llama3-70b", PRESETS, "triton", "24.05", engine_args={"tensor_parallel_size": 4}, **mem
    )
    assert ok["tensor_parallel_size"] == 4 and ok["fit"]["checked"] and ok["fit"]["fits"]
    assert ok["fit"]["tp_inferred"] is False
    with pytest.raises(ConfigError, match=r"does not fit: needs .* at tensor_parallel_size 2"):
        build(
            "llama3-70b", PRESETS, "triton", "24.05", engine_args={"tensor_parallel_size": 2}, **mem
        )


# --- gated models (a licence to accept, then a token): known before any download


def test_the_llama_presets_are_gated_as_data_the_others_not():
    assert {name for name, p in PRESETS.items() if p.get("gated")} == {"llama3-70b", "llama3-8b"}
    assert all(isinstance(p.get("gated"), bool) for p in PRESETS.values())


@pytest.mark.parametrize(
    "model,gated",
    [
        ("llama3-70b", True),
        ("llama3-8b", True),
        ("mixtral", False),
        ("demo", False),
        ("meta-llama/Llama-3.1-8B-Instruct", True),
        ("Meta-Llama/Meta-Llama-3-8B", True),
        ("mistralai/Mistral-7B-Instruct-v0.3", False),
        ("/srv/models/meta-llama/Meta-Llama-3-8B", False),  # a local copy needs no token
    ],
)
def test_is_gated(model, gated):
    assert is_gated(resolve_model(model, PRESETS)) is gated


def test_gated_token_error_names_the_variable_and_the_fix():
    entry = resolve_model("llama3-8b", PRESETS)
    msg = gated_token_error(entry, False)
    assert msg.startswith(
        "model 'llama3-8b' (meta-llama/Meta-Llama-3-8B-Instruct) is gated on Hugging Face and "
        "llmserve_hf_token is empty"
    )
    assert "accept the model's licence on huggingface.co" in msg
    assert "ansible-vault create" in msg and "-e @hf_token.yml --ask-vault-pass" in msg
    assert "HF_TOKEN" not in msg
    assert gated_token_error(entry, True) is None
    assert gated_token_error(resolve_model("mixtral", PRESETS), False) is None
    other = gated_token_error(resolve_model("meta-llama/Llama-3.1-8B-Instruct", PRESETS), False)
    assert other.startswith("model meta-llama/Llama-3.1-8B-Instruct is gated")


def test_build_without_a_token_refuses_a_gated_model_only_when_asked():
    args = dict(presets=PRESETS, runtime="triton", container_tag="24.05", **machine("A6000x4"))
    assert build("llama3-70b", **args)["gated"] is True  # not checked: the role alone
    assert build("llama3-70b", hf_token_configured=True, **args)["gated"] is True
    assert build("mixtral", hf_token_configured=False, **args)["gated"] is False
    with pytest.raises(ConfigError) as err:
        build("llama3-70b", hf_token_configured=False, **args)
    assert len(err.value.errors) == 1 and "llmserve_hf_token is empty" in err.value.errors[0]


def test_the_token_error_comes_first_beside_the_others():
    with pytest.raises(ConfigError) as err:
        build(
            "llama3-70b",
            PRESETS,
            "triton",
            "24.05",
            engine_args={"max_num_seq": 4},
            hf_token_configured=False,
            **machine("A6000x4"),
        )
    assert len(err.value.errors) == 2
    assert "is gated on Hugging Face" in err.value.errors[0]
    assert "unknown engine arg 'max_num_seq'" in err.value.errors[1]
    # An unknown model is its own single error, with or without the token check.
    with pytest.raises(ConfigError) as err:
        build("nope", PRESETS, "vllm_cpu", hf_token_configured=False)
    assert len(err.value.errors) == 1 and "unknown model preset 'nope'" in err.value.errors[0]
