# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_serving_command: the server argv, published ports and endpoint of each runtime."""

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils._serving_command import (
    command,
    connect_host,
    validate_server,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import layout_paths

PLAN = {
    "name": "demo",
    "hf_id": "/var/lib/llmserve/models/demo",
    "vllm_cli_args": ["--max-model-len", "2048", "--max-num-seqs", 16],
    "repository": "/opt/llmserve/model_repository",
}


def settings(**kw):
    s, errors = validate_server(kw)
    assert errors == []
    return s


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
    _settings, errors = validate_server(server)
    assert any(expected in e for e in errors), errors


def test_connect_host():
    assert connect_host("0.0.0.0") == "127.0.0.1" and connect_host("") == "127.0.0.1"
    assert connect_host("10.0.0.5") == "10.0.0.5" and connect_host("fd00::1") == "[fd00::1]"
