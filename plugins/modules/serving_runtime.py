#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: serving_runtime
short_description: Choose the serving runtime of a host and validate the triton_cpu inputs
version_added: 1.0.0
description:
  - Resolves O(runtime=auto) to C(triton) on hosts with NVIDIA GPUs (or NVIDIA GPU hardware
    whose driver is still to be installed), else to C(triton_cpu) when NVIDIA's vLLM backend
    can be had, else to C(vllm_cpu), and returns the reason, so that the choice is never
    silent.
  - For C(triton_cpu) (asked for, or chosen by C(auto)) it validates everything before any host
    change - the Triton build of the wheel, a stub for the venv's Python, the backend release
    and its pairing with the vLLM version, the backend source and its checksum - and returns
    the plan that M(llmserve.triton.triton_cpu_install) lays out.
  - Refuses C(triton_cpu) on a host with NVIDIA GPUs and Docker unless O(force_cpu=true).
  - Read-only. Where the backend comes from a URL, it is downloaded to memory to check it
    (unless an installed copy or the download cache already has it).
  - Sets the fact C(llmserve_runtime_choice) (the result below, as one mapping), part of the
    collection's shared contract.
author:
  - llmserve.triton contributors (@llmserve)
extends_documentation_fragment:
  - llmserve.triton.attributes.read_only
attributes:
  facts:
    description: Sets the fact C(llmserve_runtime_choice).
    support: full
options:
  runtime:
    description: The runtime asked for (C(triton_vllm_runtime)).
    type: str
    required: true
    choices: [auto, triton, vllm, triton_cpu, vllm_cpu]
  server:
    description:
      - The serving role's server settings (ports, bind addresses, extra flags, venv and layout
        paths, and for the container runtimes the images, container names, GPUs, C(/dev/shm)
        size, ulimits, environment, Hugging Face homes, pull policy and timeouts, state and
        restart policy), validated here before any host change and returned in the choice,
        from which M(llmserve.triton.serving_plan) builds the server command and container.
      - Every key of C(_serving_command.VARIABLES) is required (the role's select_runtime
        entry point passes them all from its variables, whose defaults are the only ones);
        a missing or unknown key is an error naming the role variable. The container settings
        are checked only when the chosen runtime is C(triton) or C(vllm).
      - Omitted, the choice has none and the plan no server command.
    type: dict
  gpu_count:
    description:
      - NVIDIA GPUs that answered C(nvidia-smi) (M(llmserve.triton.gpu_facts)).
      - Ignored with O(read_gpus=true).
    type: int
    default: 0
  read_gpus:
    description:
      - Read the host's GPUs here (C(nvidia-smi) and the PCI bus, as M(llmserve.triton.gpu_facts)
        does) instead of taking O(gpu_count) and O(nvidia_pci_devices), and return them as the
        fact C(llmserve_gpu) too (one module run instead of two).
    type: bool
    default: false
  nvidia_pci_devices:
    description: NVIDIA display devices on the PCI bus, with or without a driver.
    type: list
    elements: str
    default: []
  force_cpu:
    description: Allow C(triton_cpu) on a host with GPUs and Docker.
    type: bool
    default: false
  triton_cpu:
    description:
      - Inputs of the C(triton_cpu) runtime; read for O(runtime=auto) and O(runtime=triton_cpu).
    type: dict
    default: {}
    suboptions:
      wheel:
        description:
          - Pip requirement of the wheel carrying the Triton server (a key of
            O(triton_cpu.servers)).
        type: str
      servers:
        description: Data of the Triton server builds (roles/triton_vllm/vars/triton_cpu.yml).
        type: dict
        default: {}
      releases:
        description: Data of NVIDIA's vLLM backend releases, with their vLLM pairings.
        type: dict
        default: {}
      release:
        description: The backend release to serve with.
        type: str
      src:
        description:
          - Backend source - empty (the release's pinned archive), a folder, a local archive
            or a URL.
        type: str
        default: ""
      checksum:
        description: sha256 tree digest of the backend's C(src/); empty - the release's.
        type: str
        default: ""
      vllm_version:
        description: vLLM version of the serving venv.
        type: str
      python:
        description: Python interpreter of the serving venv (its minor picks the stub).
        type: path
      measures:
        description: Compatibility measures to apply instead of the data's (unknown pairings).
        type: list
        elements: str
      dest:
        description:
          - Where M(llmserve.triton.triton_cpu_install) lays Triton out (an installed backend
            counts as had).
        type: path
      cache_dir:
        description: Download cache (a cached backend archive counts as had).
        type: path
      timeout:
        description: Seconds a backend download may take.
        type: int
        default: 30
notes:
  - The plan's C(measures) name the compatibility measures the pairing needs; see the module
    utility C(_triton_cpu.MEASURES) for what each does and the error it prevents.
seealso:
  - module: llmserve.triton.triton_cpu_install
  - module: llmserve.triton.gpu_facts
"""

EXAMPLES = r"""
- name: Choose the runtime (auto) on a GPU-less host
  llmserve.triton.serving_runtime:
    runtime: auto
    gpu_count: "{{ llmserve_gpu.count }}"
    triton_cpu:
      wheel: nvidia-pytriton==0.7.0
      servers: "{{ __triton_vllm_triton_cpu_servers }}"
      releases: "{{ __triton_vllm_backend_releases }}"
      release: r26.01
      src: /srv/vllm_backend
      vllm_version: 0.32.0
      python: /usr/bin/python3
  register: runtime

- name: Show the choice
  ansible.builtin.debug:
    msg: "{{ runtime.runtime }}: {{ runtime.reason }}"
"""

RETURN = r"""
ansible_facts:
  description: The choice as the fact C(llmserve_runtime_choice) (the keys below).
  returned: always
  type: complex
  contains:
    llmserve_runtime_choice:
      description: The runtime choice.
      returned: always
      type: dict
    llmserve_gpu:
      description:
        - The GPUs read with O(read_gpus=true), as M(llmserve.triton.gpu_facts) returns them
          (present, count, gpus, reason, ...).
      returned: when O(read_gpus=true)
      type: dict
runtime:
  description: The runtime to serve with.
  returned: always
  type: str
  sample: triton_cpu
requested:
  description: The runtime asked for.
  returned: always
  type: str
  sample: auto
reason:
  description: Why this runtime; for a fallback, why and what to set.
  returned: always
  type: str
fallback:
  description: Whether C(auto) fell back to C(vllm_cpu) because the backend could not be had.
  returned: always
  type: bool
triton_cpu:
  description:
    - The validated plan of the C(triton_cpu) runtime (wheel, filename, sha256, triton_version,
      python_minor, stub_numpy, backend {release, kind, src, sha256, vllm_paired}, vllm_version,
      paired, measures, measure_notes); null for other runtimes.
  returned: always
  type: dict
host:
  description: What the choice read from the host (gpu_count, nvidia_pci_devices, docker, arch).
  returned: always
  type: dict
server:
  description: The validated O(server) settings; null without O(server).
  returned: always
  type: dict
container:
  description:
    - For the container runtimes (C(triton), C(vllm)) with O(server), what the image pull needs
      before any model is planned (the role's C(pull) entry point reads it); null otherwise.
      The serving plan's C(server.container) holds the same keys and the container settings.
  returned: always
  type: dict
  contains:
    image:
      description:
        - The serving image, C(<triton_image>:<release>-<variant>) or C(<vllm_image>:<tag>).
      type: str
      sample: nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3
    name:
      description: The container name.
      type: str
      sample: triton
    pull:
      description: Pull policy - C(missing), C(always) or C(never).
      type: str
    pull_log:
      description: Where the background C(docker pull) writes its output.
      type: str
      sample: /var/lib/llmserve/containers/pull-triton.log
    pull_timeout:
      description: Seconds the pull may take.
      type: int
    pull_progress_interval:
      description: Seconds between pull progress lines.
      type: int
    pull_retries:
      description: Polls of the pull job - one a progress interval up to the timeout, and one more.
      type: int
    state_dir:
      description: State folder of the container runtimes (pull logs, model-control answers).
      type: str
    hf_home:
      description: Hugging Face home on the host (mounted into the container).
      type: str
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.llmserve.triton.plugins.module_utils._gpu_probe import probe
from ansible_collections.llmserve.triton.plugins.module_utils._serving_command import (
    validate_server,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_container import (
    CONTAINER_RUNTIMES,
    pull_spec,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_runtime import (
    RuntimeChoiceError,
    choose,
    refuse_cpu_on_gpu_host,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import (
    MARKER,
    TritonCpuError,
    resolve,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu_fetch import (
    MAX_ARCHIVE_BYTES,
    cached_backend,
    downloaded_backend,
    label_of,
    local_backend,
)


def python_minor(module, python):
    if not python or not os.access(python, os.X_OK):
        module.fail_json(
            msg="triton_vllm_cpu_python %s is not an executable Python: set it to the Python "
            "(3.8-3.13) that creates the serving venv" % python
        )
    rc, out, err = module.run_command(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    )
    if rc != 0:
        module.fail_json(msg="triton_vllm_cpu_python %s does not run: %s" % (python, err.strip()))
    return out.strip()


def installed_digest(dest):
    import json

    try:
        with open(os.path.join(dest, MARKER), encoding="utf-8") as f:
            return json.load(f).get("backend_sha256")
    except (OSError, ValueError, AttributeError):
        return None


def backend_availability(plan, opts):
    """{"ok", "what", "why"}: can the planned backend be had? Raises TritonCpuError for a bad
    configured source (missing folder, checksum mismatch): those are errors, not fallbacks."""
    b = plan["backend"]
    what = label_of(b)
    if local_backend(b) is not None:
        return {"ok": True, "what": what, "why": ""}
    # release or url: an installed copy or the cache will do; else download to memory.
    if opts.get("dest") and installed_digest(opts["dest"]) == b["sha256"]:
        return {"ok": True, "what": what + " (installed)", "why": ""}
    if cached_backend(b, opts.get("cache_dir")) is not None:
        return {"ok": True, "what": what + " (cached)", "why": ""}
    try:
        data = open_url(b["src"], timeout=opts.get("timeout") or 30).read(MAX_ARCHIVE_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - any network failure means "cannot be had"
        return {"ok": False, "what": what, "why": "download of %s failed: %s" % (b["src"], exc)}
    downloaded_backend(b, data)
    return {"ok": True, "what": what, "why": ""}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtime=dict(
                type="str",
                required=True,
                choices=["auto", "triton", "vllm", "triton_cpu", "vllm_cpu"],
            ),
            server=dict(type="dict"),
            gpu_count=dict(type="int", default=0),
            nvidia_pci_devices=dict(type="list", elements="str", default=[]),
            read_gpus=dict(type="bool", default=False),
            force_cpu=dict(type="bool", default=False),
            triton_cpu=dict(
                type="dict",
                default={},
                options=dict(
                    wheel=dict(type="str"),
                    servers=dict(type="dict", default={}),
                    releases=dict(type="dict", default={}),
                    release=dict(type="str"),
                    src=dict(type="str", default=""),
                    checksum=dict(type="str", default="", no_log=False),
                    vllm_version=dict(type="str"),
                    python=dict(type="path"),
                    measures=dict(type="list", elements="str"),
                    dest=dict(type="path"),
                    cache_dir=dict(type="path"),
                    timeout=dict(type="int", default=30),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    p = module.params
    opts = p["triton_cpu"] or {}
    server = None
    if p["server"] is not None:
        server, errors = validate_server(p["server"])
        if errors:
            module.fail_json(msg="; ".join(errors), errors=errors)
    gpu_facts = {}
    if p["read_gpus"]:
        read = probe(module.run_command, module.get_bin_path)
        if read["error"]:
            module.fail_json(msg=read["error"], nvidia_smi_path=read["nvidia_smi_path"])
        gpu_facts = {"llmserve_gpu": read["fact"]}
        p["gpu_count"] = read["fact"]["count"]
        p["nvidia_pci_devices"] = read["nvidia_pci_devices"]
    host = {
        "gpu_count": p["gpu_count"],
        "nvidia_pci_devices": p["nvidia_pci_devices"],
        "docker": bool(module.get_bin_path("docker")),
        "arch": platform.machine(),
    }
    plan = None
    backend = None
    try:
        refuse_cpu_on_gpu_host(p["runtime"], p["gpu_count"], host["docker"], p["force_cpu"])
        wants_cpu = p["runtime"] == "triton_cpu" or (
            p["runtime"] == "auto" and not (p["gpu_count"] or p["nvidia_pci_devices"])
        )
        if wants_cpu:
            plan = resolve(
                opts.get("servers"),
                opts.get("wheel"),
                opts.get("releases"),
                opts.get("release"),
                opts.get("vllm_version"),
                python_minor(module, opts.get("python")),
                arch=host["arch"],
                src=opts.get("src") or "",
                checksum=opts.get("checksum") or "",
                measures=opts.get("measures"),
            )
            backend = backend_availability(plan, opts)
        choice = choose(
            p["runtime"],
            gpu_count=p["gpu_count"],
            nvidia_pci=p["nvidia_pci_devices"],
            docker=host["docker"],
            backend=backend,
            force_cpu=p["force_cpu"],
        )
    except (TritonCpuError, RuntimeChoiceError) as exc:
        module.fail_json(msg=str(exc), host=host)
    if choice["runtime"] != "triton_cpu":
        plan = None
    container = None
    if server is not None and choice["runtime"] in CONTAINER_RUNTIMES:
        # The container settings count for the container runtimes only.
        server, errors = validate_server(p["server"], choice["runtime"])
        if errors:
            module.fail_json(msg="; ".join(errors), errors=errors, host=host)
        container = pull_spec(choice["runtime"], server)
    facts = dict(choice, triton_cpu=plan, host=host, server=server, container=container)
    module.exit_json(
        changed=False, ansible_facts=dict(gpu_facts, llmserve_runtime_choice=facts), **facts
    )


if __name__ == "__main__":
    main()
