# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _serving_runtime.choose: which runtime a host gets, and the reason."""

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _serving_runtime as s

HAD = {"ok": True, "what": "r26.01 from /srv/vllm_backend", "why": ""}
NOT_HAD = {
    "ok": False,
    "what": "r26.01",
    "why": "download of https://github.com/x failed: timed out",
}


def test_auto_on_a_gpu_host_is_triton():
    got = s.choose("auto", gpu_count=8, docker=True, backend=NOT_HAD)
    assert got["runtime"] == "triton" and "8 NVIDIA GPU(s)" in got["reason"]


def test_auto_with_nvidia_hardware_but_no_driver_is_triton():
    got = s.choose("auto", gpu_count=0, nvidia_pci=["0000:00:06.0"], backend=HAD)
    assert got["runtime"] == "triton" and "without a working driver" in got["reason"]


def test_auto_without_gpu_and_with_backend_is_triton_cpu():
    got = s.choose("auto", backend=HAD)
    assert got == {
        "runtime": "triton_cpu",
        "requested": "auto",
        "reason": "auto: no NVIDIA GPU, so Triton on the CPU with NVIDIA's vLLM backend "
        "r26.01 from /srv/vllm_backend",
        "fallback": False,
    }


def test_auto_without_backend_falls_back_with_why_and_what_to_set():
    got = s.choose("auto", backend=NOT_HAD)
    assert got["runtime"] == "vllm_cpu" and got["fallback"] is True
    for part in ("timed out", "triton_vllm_backend_src", "triton_vllm_runtime: vllm_cpu"):
        assert part in got["reason"]


@pytest.mark.parametrize("runtime", ["triton", "vllm", "vllm_cpu"])
def test_explicit_runtimes_are_kept(runtime):
    got = s.choose(runtime, gpu_count=0, backend=NOT_HAD)
    assert got["runtime"] == runtime and not got["fallback"]


def test_triton_cpu_on_a_gpu_docker_host_is_refused_unless_forced():
    with pytest.raises(s.RuntimeChoiceError) as exc:
        s.choose("triton_cpu", gpu_count=4, docker=True, backend=HAD)
    assert "triton_vllm_runtime: triton" in str(exc.value)
    assert "triton_vllm_triton_cpu_force" in str(exc.value)
    assert (
        s.choose("triton_cpu", gpu_count=4, docker=True, backend=HAD, force_cpu=True)["runtime"]
        == "triton_cpu"
    )
    # GPUs without Docker: nothing to run the GPU container with, so no refusal.
    assert s.choose("triton_cpu", gpu_count=4, docker=False, backend=HAD)["runtime"] == "triton_cpu"


def test_triton_cpu_without_backend_fails_instead_of_falling_back():
    with pytest.raises(s.RuntimeChoiceError, match="cannot be had: download of"):
        s.choose("triton_cpu", backend=NOT_HAD)


def test_unknown_runtime():
    with pytest.raises(s.RuntimeChoiceError, match="triton_vllm_runtime is 'cpu'"):
        s.choose("cpu")
