# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_serving_plan: GPU precedence with origin, TP reasons, origins of engine args, texts, digest."""

import json
import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import (
    normalize_models,
)
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import (
    plan as repo_plan,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_command import VARIABLES
from ansible_collections.llmserve.triton.plugins.module_utils._serving_plan import (
    build_plan,
    container,
    digest,
    resolve_gpus,
)
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import (
    GIB,
    ConfigError,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]
# The contract's machine types (role llmserve), the table the model_repo preflight passes.
with open(os.path.join(ROOT, "roles/llmserve/defaults/main.yml")) as _fh:
    MACHINES = yaml.safe_load(_fh)["llmserve_machine_types"]
# The shape of the llmserve_gpu fact that gpu_facts publishes on an 8 x H100 host.
SMI_H100X8 = {
    "present": True,
    "count": 8,
    "memory_per_gpu_mib": 81559,
    "gpus": [{"index": i, "name": "NVIDIA H100 80GB HBM3"} for i in range(8)],
}
REPO = "/opt/llmserve/model_repository"
ROLE_DEFAULTS = {}
for _role in ("llmserve", "triton_vllm"):
    with open(os.path.join(ROOT, "roles", _role, "defaults", "main.yml")) as _fh:
        ROLE_DEFAULTS.update(yaml.safe_load(_fh))
# The server settings as the serving role's select_runtime passes them: every one, defaults.
SERVER = {key: ROLE_DEFAULTS[variable] for key, variable in VARIABLES.items()}


def plan_for(model="mixtral", runtime="triton", gpus=None, **kw):
    kw.setdefault("repository", REPO if runtime in ("triton", "triton_cpu") else None)
    if runtime == "triton_cpu":
        kw.setdefault("execution_env_path", "/opt/llmserve/triton-cpu/stub-env")
    if runtime in ("vllm_cpu", "triton_cpu"):
        kw.setdefault("host_memory_bytes", 24 * GIB)
    kw.setdefault("triton_release", "24.05")
    return build_plan(model, PRESETS, runtime=runtime, gpus=gpus, **kw)


def test_gpu_precedence_and_origin():
    explicit = resolve_gpus(2, 24, "A6000x4", MACHINES, SMI_H100X8)
    assert (explicit["count"], explicit["memory_gib"]) == (2, 24.0)
    assert explicit["origin"] == "model_repo_gpu_count and model_repo_gpu_memory_gib"
    typed = resolve_gpus(0, 0, "A6000x4", MACHINES, SMI_H100X8)
    assert (typed["count"], typed["name"]) == (4, "NVIDIA RTX A6000")
    assert typed["origin"] == "machine type A6000x4 (model_repo_machine_type)"
    smi = resolve_gpus(0, 0, "", MACHINES, SMI_H100X8)
    assert smi["count"] == 8 and smi["memory_gib"] == pytest.approx(79.65, abs=0.01)
    assert smi["name"] == "NVIDIA H100 80GB HBM3" and "nvidia-smi" in smi["origin"]
    none = resolve_gpus(0, 0, "", MACHINES, {"present": False, "reason": "nvidia-smi not found"})
    assert none == {
        "count": None,
        "memory_gib": None,
        "name": None,
        "origin": "none (nvidia-smi not found)",
    }


@pytest.mark.parametrize(
    "args, expected",
    [
        ((4, 0, "", {}, None), "set both or neither"),
        ((0, 47.99, "", {}, None), "set both or neither"),
        ((-1, 40, "", {}, None), "must be a positive number of GPUs"),
        ((0, 0, "A6000x9", MACHINES, None), "model_repo_machine_type 'A6000x9' is unknown"),
        (("four", 0, "", {}, None), "model_repo_gpu_count must be a number"),
    ],
)
def test_gpu_input_errors_name_the_variable(args, expected):
    with pytest.raises(ConfigError) as err:
        resolve_gpus(*args)
    assert expected in str(err.value)


def test_unknown_machine_type_points_at_the_contract_table():
    with pytest.raises(ConfigError) as err:
        resolve_gpus(0, 0, "A6000x9", MACHINES)
    assert "use one of A6000, A6000x2, A6000x4" in str(err.value)
    assert "(llmserve_machine_types), add it there" in str(err.value)


def test_a_user_added_machine_type_is_used():
    types = dict(MACHINES, L40Sx2={"gpu_count": "2", "gpu_memory_gib": 44.99})
    gpus = resolve_gpus(0, 0, "L40Sx2", types)
    assert (gpus["count"], gpus["memory_gib"], gpus["name"]) == (2, 44.99, None)
    assert gpus["origin"] == "machine type L40Sx2 (model_repo_machine_type)"


@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"gpu_count": 2}, ["llmserve_machine_types['mine'] lacks gpu_memory_gib"]),
        ({"gpu_memory_gib": 40}, ["llmserve_machine_types['mine'] lacks gpu_count"]),
        ({"gpu_name": "NVIDIA L40S"}, ["lacks gpu_count and gpu_memory_gib"]),
        ({}, ["lacks gpu_count and gpu_memory_gib"]),
        (
            {"gpu_count": 1.5, "gpu_memory_gib": 0},
            [
                "llmserve_machine_types['mine'].gpu_count must be a whole number of GPUs",
                "llmserve_machine_types['mine'].gpu_memory_gib must be a positive number",
            ],
        ),
        (
            {"gpu_count": 0, "gpu_memory_gib": 40},
            ["gpu_count must be a whole number of GPUs, at least 1"],
        ),
        ({"gpu_count": "two", "gpu_memory_gib": "lots"}, ["got 'two'", "got 'lots'"]),
        ({"gpu_count": True, "gpu_memory_gib": 40}, ["gpu_count must be a whole number"]),
        ({"gpu_count": 2, "gpu_memory_gib": 40, "gpu_name": 7}, ["gpu_name must be a string"]),
        ("4 x L40S", ["llmserve_machine_types['mine'] must be a mapping with gpu_count"]),
    ],
)
def test_a_bad_machine_type_entry_names_llmserve_machine_types(entry, expected):
    with pytest.raises(ConfigError) as err:
        resolve_gpus(0, 0, "mine", {"mine": entry})
    for text in expected:
        assert text in str(err.value)


def test_machine_types_must_be_a_mapping():
    with pytest.raises(ConfigError) as err:
        resolve_gpus(0, 0, "A6000", ["A6000"])
    assert "llmserve_machine_types must be a mapping" in str(err.value)


def test_a_bad_entry_of_another_type_does_not_matter():
    # Only the entry asked for is read: a broken type elsewhere in the table is not this
    # plan's business (the explicit GPU count and nvidia-smi do not read the table at all).
    types = dict(MACHINES, broken={"gpu_count": 2})
    assert resolve_gpus(0, 0, "A6000x4", types)["count"] == 4
    assert resolve_gpus(0, 0, "", types, SMI_H100X8)["count"] == 8


def test_tensor_parallel_reasons_and_engine_arg_origins():
    # all_gpus on the A6000x4 machine type: the hardware layer sets TP, and says why.
    plan = plan_for(gpus=resolve_gpus(0, 0, "A6000x4", MACHINES))
    assert plan["tensor_parallel_size"] == 4
    assert plan["engine_args_origin"]["tensor_parallel_size"] == "hardware"
    assert "largest size up to the 4 GPU(s) (machine type A6000x4" in plan["tensor_parallel_reason"]
    assert plan["engine_args_origin"]["gpu_memory_utilization"] == "preset"
    assert plan["engine_args_origin"]["dtype"] == "preset"  # the GPTQ Mixtral needs float16
    # smallest_fit on 8 x H100: Mixtral GPTQ fits on one GPU.
    smallest = plan_for(gpus=resolve_gpus(gpu_facts=SMI_H100X8), tp_policy="smallest_fit")
    assert smallest["tensor_parallel_size"] == 1
    assert "smallest size" in smallest["tensor_parallel_reason"]
    # A user override wins over the hardware layer and says so.
    user = plan_for(
        gpus=resolve_gpus(gpu_facts=SMI_H100X8),
        engine_args={"tensor_parallel_size": 2, "max_num_seqs": 900},
    )
    assert user["tensor_parallel_size"] == 2
    assert user["tensor_parallel_reason"] == "set in model_repo_engine_args"
    assert user["engine_args_origin"]["max_num_seqs"] == "override"
    assert user["engine_args_origin"]["tensor_parallel_size"] == "override"
    # CPU runtimes: one process, no TP engine arg.
    cpu = plan_for("demo", runtime="vllm_cpu")
    assert cpu["tensor_parallel_size"] == 1 and "tensor_parallel_size" not in cpu["engine_args"]
    assert cpu["tensor_parallel_reason"] == "the vllm_cpu runtime serves from one CPU process"


def test_smallest_fit_without_gpu_memory_is_an_error():
    with pytest.raises(ConfigError) as err:
        plan_for(
            gpus=resolve_gpus(gpu_facts={"present": True, "count": 4}), tp_policy="smallest_fit"
        )
    assert "smallest_fit needs the GPU memory" in str(err.value)


def test_repository_texts_are_what_the_writer_writes(tmp_path):
    plan = plan_for(gpus=resolve_gpus(0, 0, "A6000x4", MACHINES), repository=str(tmp_path))
    entry = plan["repository_models"][0]
    args = json.loads(entry["model_json"])
    assert args.pop("model") == plan["hf_id"] and args == plan["engine_args"]
    # The writer takes the texts as they are (no second rendering) and plans both files.
    models = normalize_models(plan["repository_models"])
    planned = repo_plan(str(tmp_path), models)
    written = {path: after for path, _before, after in planned["writes"]}
    assert written[str(tmp_path / "mixtral" / "config.pbtxt")] == entry["config_pbtxt"]
    assert written[str(tmp_path / "mixtral" / "1" / "model.json")] == entry["model_json"]


def test_triton_cpu_plan_carries_the_execution_env_and_no_image():
    plan = plan_for("demo", runtime="triton_cpu")
    assert plan["image"] is None and plan["container_tag"] is None
    assert "EXECUTION_ENV_PATH" in plan["repository_models"][0]["config_pbtxt"]
    assert plan["repository"] == REPO
    with pytest.raises(ConfigError) as err:
        plan_for("demo", runtime="triton_cpu", execution_env_path="")
    assert "llmserve_runtime_choice" in str(err.value)


def test_vllm_runtimes_write_no_repository():
    plan = plan_for("demo", runtime="vllm_cpu")
    assert plan["repository"] is None and plan["repository_models"] == []


def test_release_comes_from_the_contract_only():
    """No release is invented here: the roles pass llmserve_triton_release."""
    with pytest.raises(ConfigError) as err:
        container("triton", "")
    assert "llmserve_triton_release" in str(err.value)
    assert container("triton", "24.08")["image"] == (
        "nvcr.io/nvidia/tritonserver:24.08-vllm-python-py3"
    )
    assert container("triton", "24.08-vllm-python-py3")["triton_release"] == "24.08"
    assert container("vllm", vllm_image_tag="v0.32.0")["image"] == "vllm/vllm-openai:v0.32.0"
    with pytest.raises(ConfigError):
        container("vllm")
    assert container("vllm_cpu") == {"tag": None, "image": None, "triton_release": None}


def test_digest_follows_every_decision():
    base = plan_for("demo", runtime="vllm_cpu")
    again = plan_for("demo", runtime="vllm_cpu")
    assert base["digest"] == again["digest"] == digest(base)
    other = plan_for("demo", runtime="vllm_cpu", engine_args={"max_num_seqs": 4})
    assert other["digest"] != base["digest"]


def test_errors_are_collected_before_anything_runs():
    with pytest.raises(ConfigError) as err:
        plan_for(
            "llama3-70b",
            repository="relative/path",
            hf_token_configured=False,
            gpus=resolve_gpus(0, 0, "A6000x4", MACHINES),
        )
    text = str(err.value)
    assert "model_repo_repository must be an absolute path" in text
    assert "llmserve_hf_token" in text
    assert "relative/path" in text


def test_the_plan_carries_the_server_command_of_the_runtime_choice():
    choice = {
        "runtime": "triton_cpu",
        "reason": "no NVIDIA GPU; NVIDIA's vLLM backend can be had",
        "triton_cpu": {"python_minor": "3.11"},
        "server": dict(SERVER, triton_cpu_dir="/srv/tcpu", triton_http_port=9000),
    }
    plan = plan_for("demo", runtime="triton_cpu", runtime_choice=choice, execution_env_path=None)
    assert plan["server"]["argv"][0] == "/srv/tcpu/server/pytriton/tritonserver/bin/tritonserver"
    assert plan["server"]["endpoint"]["http_url"] == "http://127.0.0.1:9000"
    assert plan["server"]["container"] is None
    # The models run with the stub environment of that same layout.
    assert '"/srv/tcpu/stub-env"' in plan["repository_models"][0]["config_pbtxt"]
    other = plan_for(
        "demo",
        runtime="triton_cpu",
        runtime_choice=dict(choice, server=dict(SERVER, triton_cpu_dir="/srv/tcpu")),
        execution_env_path=None,
    )
    assert other["digest"] != plan["digest"]  # the port is part of the plan
    with pytest.raises(ConfigError) as err:
        plan_for("demo", runtime="vllm_cpu", runtime_choice=choice)
    assert "llmserve_runtime_choice chose triton_cpu" in str(err.value)
    assert plan_for("demo", runtime="vllm_cpu")["server"] is None  # no settings, no command
    # A hand-made choice passes every setting: the role's defaults are the only ones.
    with pytest.raises(ConfigError) as err:
        plan_for(
            "demo",
            runtime="triton_cpu",
            runtime_choice=dict(choice, server={"triton_cpu_dir": "/srv/tcpu"}),
            execution_env_path=None,
        )
    assert "the server settings lack triton_http_port (triton_vllm_triton_http_port)" in str(
        err.value
    )


def test_the_plan_carries_the_container_of_a_container_runtime():
    choice = {"runtime": "triton", "reason": "set", "server": dict(SERVER, container_gpus=[0, 1])}
    a6000 = resolve_gpus(0, 0, "A6000x4", MACHINES)
    plan = plan_for("llama3-8b", runtime="triton", runtime_choice=choice, gpus=a6000)
    container_part = plan["server"]["container"]
    assert container_part["image"] == "nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3"
    assert container_part["device_requests"][0]["device_ids"] == ["0", "1"]
    assert container_part["volumes"][0] == REPO + ":/models:ro"
    other = plan_for(
        "llama3-8b", runtime="triton", runtime_choice=dict(choice, server=dict(SERVER)), gpus=a6000
    )
    assert other["digest"] != plan["digest"]  # the container is part of the plan
    # The container settings are checked with the plan, naming the variable.
    with pytest.raises(ConfigError) as err:
        plan_for(
            "llama3-8b",
            runtime="triton",
            runtime_choice=dict(choice, server=dict(SERVER, container_env={"HF_TOKEN": "x"})),
            gpus=a6000,
        )
    assert "triton_vllm_container_env must not hold tokens (HF_TOKEN)" in str(err.value)


@pytest.mark.parametrize("runtime", ["triton", "vllm"])
def test_the_demo_model_is_refused_on_a_container_runtime(runtime):
    for gpus in (resolve_gpus(0, 0, "A6000x4", MACHINES), None):  # also with other errors
        with pytest.raises(ConfigError) as err:
            plan_for("demo", runtime=runtime, vllm_image_tag="v0.32.0", gpus=gpus)
        assert err.value.errors[0] == (
            "The demo model is built on the host for the CPU runtimes (triton_cpu, vllm_cpu) "
            "only. For the %s runtime set `model` to a preset (llama3-70b, llama3-8b, mixtral) "
            "or a Hugging Face model id" % runtime
        )


def test_a_benchmark_sweep_point_is_a_layer_of_its_own():
    plan = plan_for(
        gpus=resolve_gpus(gpu_facts=SMI_H100X8),
        engine_args={"max_num_seqs": 256, "enforce_eager": True},
        engine_args_sweep={"max_num_seqs": 900, "tensor_parallel_size": 2},
    )
    assert plan["engine_args"]["max_num_seqs"] == 900
    assert plan["engine_args_origin"]["max_num_seqs"] == "sweep"
    assert plan["engine_args_origin"]["enforce_eager"] == "override"
    assert plan["tensor_parallel_size"] == 2
    assert "benchmark sweep point" in plan["tensor_parallel_reason"]


def test_triton_cpu_declares_the_backends_io_and_disables_auto_complete():
    choice = {
        "runtime": "triton_cpu",
        "reason": "no NVIDIA GPU; NVIDIA's vLLM backend can be had",
        "triton_cpu": {"python_minor": "3.11", "backend": {"release": "r26.01"}},
        "server": dict(SERVER),
    }
    plan = plan_for("demo", runtime="triton_cpu", runtime_choice=choice, execution_env_path=None)
    assert plan["auto_complete_config"]["enabled"] is False
    assert "--disable-auto-complete-config" in plan["server"]["argv"]
    config = plan["repository_models"][0]["config_pbtxt"]
    assert 'name: "text_input"' in config and "decoupled: true" in config
    # A backend release whose inputs the collection does not know: Triton completes them.
    unknown = dict(choice, triton_cpu={"python_minor": "3.11", "backend": {"release": "r99.01"}})
    other = plan_for("demo", runtime="triton_cpu", runtime_choice=unknown, execution_env_path=None)
    assert other["auto_complete_config"]["enabled"] is True
    assert "--disable-auto-complete-config" not in other["server"]["argv"]
    assert "input [" not in other["repository_models"][0]["config_pbtxt"]
    # The container runtime keeps the tutorial's config.pbtxt and Triton's auto-complete.
    gpu = plan_for("llama3-8b", runtime="triton", gpus=resolve_gpus(0, 0, "A6000x4", MACHINES))
    assert gpu["auto_complete_config"]["enabled"] is True
    assert "input [" not in gpu["repository_models"][0]["config_pbtxt"]
