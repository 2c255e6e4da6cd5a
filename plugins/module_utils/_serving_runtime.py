# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which serving runtime a host gets, and why (pure logic of the serving_runtime module).

Runtimes: ``triton`` and ``vllm`` (containers on NVIDIA GPU hosts), ``triton_cpu`` (NVIDIA's
Triton server and vLLM backend over vLLM on the CPU) and ``vllm_cpu`` (plain vLLM on the CPU).
``auto`` picks ``triton`` where NVIDIA GPUs are (or NVIDIA hardware whose driver site.yml
installs), else ``triton_cpu`` when NVIDIA's vLLM backend can be had, else ``vllm_cpu`` with
the reason and what to set. The choice is never silent: the reason is returned and printed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

GPU_RUNTIMES = ("triton", "vllm")
CPU_RUNTIMES = ("triton_cpu", "vllm_cpu")
RUNTIMES = GPU_RUNTIMES + CPU_RUNTIMES
CHOICES = ("auto",) + RUNTIMES


class RuntimeChoiceError(ValueError):
    """A refusal: the message names the variable to set."""


def _gpu_text(gpu_count, nvidia_pci):
    if gpu_count:
        return "%d NVIDIA GPU(s)" % gpu_count
    if nvidia_pci:
        return "NVIDIA GPU hardware (%s) without a working driver" % ", ".join(nvidia_pci)
    return "no NVIDIA GPU"


def refuse_cpu_on_gpu_host(requested, gpu_count, docker, force_cpu):
    """triton_cpu on a host with GPUs and Docker is almost surely a mistake for triton."""
    if requested == "triton_cpu" and gpu_count and docker and not force_cpu:
        raise RuntimeChoiceError(
            "triton_vllm_runtime is triton_cpu, but this host has %s and Docker: triton_cpu "
            "serves on the CPU only. Set triton_vllm_runtime: triton to serve on the GPUs "
            "(Triton's vLLM container), or triton_vllm_triton_cpu_force: true to serve on the "
            "CPU anyway" % _gpu_text(gpu_count, ())
        )


def choose(requested, gpu_count=0, nvidia_pci=(), docker=False, backend=None, force_cpu=False):
    """Return {"runtime", "requested", "reason", "fallback"} or raise RuntimeChoiceError.

    backend: {"ok": bool, "what": "r26.01 from /path", "why": "why not"}; only read for
    ``auto`` and ``triton_cpu``.
    """
    backend = backend or {"ok": False, "what": "", "why": "not checked"}
    gpus = _gpu_text(gpu_count, nvidia_pci)
    if requested not in CHOICES:
        raise RuntimeChoiceError(
            "triton_vllm_runtime is %r: set it to one of %s" % (requested, ", ".join(CHOICES))
        )
    if requested in GPU_RUNTIMES or requested == "vllm_cpu":
        return _result(requested, requested, "set by triton_vllm_runtime (%s)" % gpus)
    if requested == "triton_cpu":
        refuse_cpu_on_gpu_host(requested, gpu_count, docker, force_cpu)
        if not backend["ok"]:
            raise RuntimeChoiceError(
                "triton_vllm_runtime is triton_cpu, but NVIDIA's vLLM backend cannot be had: %s"
                % backend["why"]
            )
        return _result(
            "triton_cpu",
            requested,
            "set by triton_vllm_runtime (%s); NVIDIA's vLLM backend %s" % (gpus, backend["what"]),
        )
    # auto
    if gpu_count or nvidia_pci:
        return _result(
            "triton",
            requested,
            "auto: %s, so Triton's vLLM container (set triton_vllm_runtime to choose)" % gpus,
        )
    if backend["ok"]:
        return _result(
            "triton_cpu",
            requested,
            "auto: %s, so Triton on the CPU with NVIDIA's vLLM backend %s"
            % (gpus, backend["what"]),
        )
    return _result(
        "vllm_cpu",
        requested,
        "auto: %s, and NVIDIA's vLLM backend cannot be had (%s), so plain vLLM on the CPU. "
        "To serve through Triton, set triton_vllm_backend_src to a local copy of "
        "triton-inference-server/vllm_backend (a checkout or release archive), or let this host "
        "reach github.com; set triton_vllm_runtime: vllm_cpu to choose plain vLLM without this "
        "notice" % (gpus, backend["why"]),
        fallback=True,
    )


def _result(runtime, requested, reason, fallback=False):
    return {"runtime": runtime, "requested": requested, "reason": reason, "fallback": fallback}
