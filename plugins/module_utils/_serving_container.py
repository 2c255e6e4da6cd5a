# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The container half of the server plan (runtimes triton and vllm): what Docker runs.

Input: the serving role's container settings (part of ``server``; validate_container checks
them, called by _serving_command.validate_server for these runtimes) and, for the run part,
the plan's model part and the published ports of the server command. Output:

- pull_spec: {image, name, pull, pull_log, pull_timeout, pull_progress_interval,
  pull_retries, state_dir, hf_home} - what the image pull and the runtime's directories need,
  known before any model (the runtime choice's ``container``, read by the role's early pull);
- container: pull_spec plus what community.docker.docker_container gets - network,
  published_ports, device_requests, shm_size (bytes), ulimits, volumes, env, labels,
  restart_policy, state - (the plan's ``server.container``).

No secret goes in: the environment refuses tokens (the token is a 0600 file in the mounted
Hugging Face home). Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import re

from ansible.module_utils.common.text.formatters import human_to_bytes

CONTAINER_RUNTIMES = ("triton", "vllm")
# The setting -> the variable the serving role passes for it (tasks/select_runtime.yml).
VARIABLES = {
    "triton_image": "triton_vllm_triton_image",
    "triton_image_variant": "triton_vllm_triton_image_variant",
    "triton_release": "llmserve_triton_release",
    "triton_container_name": "triton_vllm_triton_container_name",
    "vllm_image": "triton_vllm_vllm_image",
    "vllm_image_tag": "llmserve_vllm_image_tag",
    "vllm_container_name": "triton_vllm_vllm_container_name",
    "hf_home": "triton_vllm_hf_home",
    "container_hf_home": "triton_vllm_container_hf_home",
    "container_gpus": "triton_vllm_container_gpus",
    "container_shm_size": "triton_vllm_container_shm_size",
    "container_ulimits": "triton_vllm_container_ulimits",
    "container_env": "triton_vllm_container_env",
    "container_restart_policy": "triton_vllm_container_restart_policy",
    "container_state": "triton_vllm_container_state",
    "container_pull": "triton_vllm_container_pull",
    "container_pull_timeout": "triton_vllm_container_pull_timeout",
    "container_pull_progress_interval": "triton_vllm_container_pull_progress_interval",
    "container_state_dir": "triton_vllm_container_state_dir",
}
SHM_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmgtBKMGT]?$")
GPU_CAPABILITIES = [["gpu"]]


def _count(value):
    """A GPU count (1, "2"), else None; booleans are no count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _gpus_error(value):
    if value in ("all", "none"):
        return None
    count = _count(value)
    if count is not None:
        return None if count > 0 else "a count must be 1 or more (none for no GPUs)"
    if isinstance(value, (list, tuple)):
        if not value:
            return "the list is empty (none for no GPUs)"
        bad = [
            v
            for v in value
            if isinstance(v, bool)
            or not ((isinstance(v, int) and v >= 0) or (isinstance(v, str) and v.strip()))
        ]
        return "not an index or UUID: %r" % bad[0] if bad else None
    return "not a word, count or list"


def validate_container(s, runtime):
    """[errors] of the container settings in ``s`` (every key present); names the variable.

    Choices (network, pull, state, restart policy) and types of lists and mappings are the
    role's argument specs' job; here what a spec cannot say.
    """
    errors = []
    gpus = s["container_gpus"]
    why = _gpus_error(gpus)
    if why:
        errors.append(
            "triton_vllm_container_gpus must be all, none, a number of GPUs or a list of GPU "
            "indexes/UUIDs (e.g. [0, 1] or [GPU-3f1c...]): %s, got %r" % (why, gpus)
        )
    env = s["container_env"]
    if not isinstance(env, dict):
        errors.append(
            "triton_vllm_container_env must be a mapping of variable names to values, got %r"
            % (env,)
        )
    else:
        tokens = sorted(k for k in env if "TOKEN" in str(k).upper())
        if tokens:
            errors.append(
                "triton_vllm_container_env must not hold tokens (%s): set llmserve_hf_token "
                "instead, which is kept in a 0600 file in the server's Hugging Face home, never "
                "in the environment" % ", ".join(tokens)
            )
    ulimits = s["container_ulimits"]
    if not isinstance(ulimits, (list, tuple)) or not all(isinstance(u, str) for u in ulimits):
        errors.append(
            "triton_vllm_container_ulimits must be a list such as [memlock:-1:-1, "
            "stack:67108864:67108864], got %r" % (ulimits,)
        )
    if not SHM_SIZE.match(str(s["container_shm_size"])):
        errors.append(
            "triton_vllm_container_shm_size must be a size such as 10.24g (a number with an "
            "optional unit b, k, m, g or t), got %r" % (s["container_shm_size"],)
        )
    for key in ("container_pull_timeout", "container_pull_progress_interval"):
        try:
            seconds = int(s[key])
        except (TypeError, ValueError):
            seconds = 0
        if seconds <= 0 or isinstance(s[key], bool):
            errors.append(
                "%s must be a positive number of seconds, got %r" % (VARIABLES[key], s[key])
            )
    if runtime == "triton" and not s["triton_release"]:
        errors.append("the triton runtime needs a Triton release: set llmserve_triton_release")
    if runtime == "vllm" and not s["vllm_image_tag"]:
        errors.append("the vllm runtime needs an image tag: set llmserve_vllm_image_tag")
    return errors


def image(runtime, s):
    """<triton_image>:<release>-<variant> or <vllm_image>:<tag>; a Triton image tag given as
    the release (24.05-vllm-python-py3) is read as its release (24.05)."""
    if runtime == "triton":
        release = str(s["triton_release"]).split("-", 1)[0]
        variant = str(s["triton_image_variant"] or "")
        return "%s:%s" % (s["triton_image"], release + ("-" + variant if variant else ""))
    return "%s:%s" % (s["vllm_image"], s["vllm_image_tag"])


def device_requests(gpus):
    """Docker device requests of triton_vllm_container_gpus (validated)."""
    if gpus == "none":
        return []
    request = {"driver": "nvidia", "capabilities": GPU_CAPABILITIES}
    if gpus == "all":
        request["count"] = -1
    elif _count(gpus) is not None:
        request["count"] = _count(gpus)
    else:
        request["device_ids"] = [str(g) for g in gpus]
    return [request]


def pull_spec(runtime, s):
    """The image and where its pull logs: known from the settings alone (no model)."""
    state_dir = str(s["container_state_dir"])
    timeout = int(s["container_pull_timeout"])
    interval = int(s["container_pull_progress_interval"])
    return {
        "image": image(runtime, s),
        "name": s["triton_container_name"] if runtime == "triton" else s["vllm_container_name"],
        "pull": s["container_pull"],
        "pull_log": "%s/pull-%s.log" % (state_dir.rstrip("/"), runtime),
        "pull_timeout": timeout,
        "pull_progress_interval": interval,
        # async_status polls: one a progress interval until the timeout, and one more.
        "pull_retries": -(-timeout // interval) + 1,
        "state_dir": state_dir,
        "hf_home": str(s["hf_home"]),
    }


def container(runtime, s, plan, published_ports):
    """pull_spec plus the docker_container settings of ``runtime`` serving ``plan``."""
    volumes = []
    if runtime == "triton":
        volumes.append("%s:%s:ro" % (plan["repository"], s["triton_repository_mount"]))
    volumes.append("%s:%s:rw" % (s["hf_home"], s["container_hf_home"]))
    # A model given as a local directory is mounted read-only at the same path.
    hf_id = str(plan.get("hf_id") or "")
    if hf_id.startswith("/"):
        volumes.append("%s:%s:ro" % (hf_id, hf_id))
    # The triton container carries no model label: a model switch must not recreate it.
    labels = {"llmserve.triton.runtime": runtime}
    if runtime == "vllm":
        labels["llmserve.triton.model"] = plan["name"]
    env = {"HF_HOME": s["container_hf_home"]}
    env.update(s["container_env"])
    out = pull_spec(runtime, s)
    out.update(
        {
            "network": s["container_network"],
            "published_ports": list(published_ports),
            "device_requests": device_requests(s["container_gpus"]),
            "shm_size": str(human_to_bytes(str(s["container_shm_size"]))),
            "ulimits": list(s["container_ulimits"]),
            "volumes": volumes,
            "env": env,
            "labels": labels,
            "restart_policy": s["container_restart_policy"],
            "state": s["container_state"],
        }
    )
    return out
