# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Logic of the serving_plan module: every serving decision, made once, as one plan.

    model / -e overrides, GPU facts, runtime choice
        -> resolve_gpus          which GPUs, and where that came from
        -> _vllm_engine_config.build
             resolve_model, model_facts, merge (preset, hardware, override) + validation,
             decide_tensor_parallel (why tensor_parallel_size is what it is), memory fit
        -> repository_models     config.pbtxt + model.json texts (_model_repo.render_model)
        -> server                the argv, container entrypoint/ports, endpoint and, for
                                 the container runtimes, the container (image, devices,
                                 mounts, environment: _serving_container) - from the
                                 serving role's settings in llmserve_runtime_choice.server
                                 (_serving_command.command)
        -> plan + digest         the fact llmserve_serving_plan

Writers (triton_model_repo) write the texts of the plan; the serving role starts what it
says. Pure functions: the module reads files (config.json, /proc/meminfo) and passes their
content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import hashlib
import json

from ansible_collections.llmserve.triton.plugins.module_utils._engine_args import CPU_RUNTIMES
from ansible_collections.llmserve.triton.plugins.module_utils._hf_token import HF_TOKEN_VAR
from ansible_collections.llmserve.triton.plugins.module_utils._memory_fit import GIB
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import render_model
from ansible_collections.llmserve.triton.plugins.module_utils._serving_command import (
    command,
    validate_server,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_container import (
    CONTAINER_RUNTIMES,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import layout_paths
from ansible_collections.llmserve.triton.plugins.module_utils._triton_vllm_io import (
    auto_complete,
    declared_io,
)
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import (
    ConfigError,
    build,
    resolve_model,
)

TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:%s-vllm-python-py3"
TRITON_SDK_IMAGE = "nvcr.io/nvidia/tritonserver:%s-py3-sdk"
VLLM_IMAGE = "vllm/vllm-openai:%s"
TRITON_RUNTIMES = ("triton", "triton_cpu")
PLAN_VERSION = 1
# The contract variable (role llmserve) the machine_types input comes from, named in errors.
MACHINE_TYPES_VAR = "llmserve_machine_types"


def resolve_gpus(
    gpu_count=0, gpu_memory_gib=0, machine_type="", machine_types=None, gpu_facts=None
):
    """The GPUs the plan is made for, first match wins; return {count, memory_gib, name,
    origin} (count and memory None when nothing says). Raise ConfigError on bad input.

    1. model_repo_gpu_count + model_repo_gpu_memory_gib (both or neither; 0 is not set)
    2. model_repo_machine_type, an entry of machine_types (the contract's
       llmserve_machine_types: name -> gpu_count, gpu_memory_gib, gpu_name)
    3. the llmserve_gpu fact (nvidia-smi through llmserve.triton.gpu_facts)
    """
    count = _number(gpu_count, int, "model_repo_gpu_count")
    memory = _number(gpu_memory_gib, float, "model_repo_gpu_memory_gib")
    if count or memory:
        if count < 1 or memory <= 0:
            raise ConfigError(
                [
                    "model_repo_gpu_count (%s) must be a positive number of GPUs and "
                    "model_repo_gpu_memory_gib (%s) a positive number of GiB per GPU; set "
                    "both or neither (0, the default, is not set)" % ("%g" % count, "%g" % memory)
                ]
            )
        return {
            "count": count,
            "memory_gib": memory,
            "name": None,
            "origin": "model_repo_gpu_count and model_repo_gpu_memory_gib",
        }
    machine_type = str(machine_type or "")
    if machine_type:
        types = machine_types or {}
        if not isinstance(types, dict):
            raise ConfigError(
                [
                    "%s must be a mapping of machine type names to {gpu_count, "
                    "gpu_memory_gib, gpu_name}, got %s" % (MACHINE_TYPES_VAR, type(types).__name__)
                ]
            )
        if machine_type not in types:
            raise ConfigError(
                [
                    "model_repo_machine_type '%s' is unknown: use one of %s (%s), add it "
                    "there, or set model_repo_gpu_count and model_repo_gpu_memory_gib"
                    % (machine_type, ", ".join(map(str, types)), MACHINE_TYPES_VAR)
                ]
            )
        count, memory, name = _machine(machine_type, types[machine_type])
        return {
            "count": count,
            "memory_gib": memory,
            "name": name,
            "origin": "machine type %s (model_repo_machine_type)" % machine_type,
        }
    facts = gpu_facts or {}
    if facts.get("present"):
        mib = facts.get("memory_per_gpu_mib")
        names = sorted({g.get("name") for g in facts.get("gpus") or [] if g.get("name")})
        return {
            "count": int(facts.get("count") or 0) or None,
            "memory_gib": float(mib) / 1024.0 if mib else None,
            "name": names[0] if len(names) == 1 else None,
            "origin": "nvidia-smi on the host (llmserve.triton.gpu_facts)",
        }
    reason = facts.get("reason")
    return {
        "count": None,
        "memory_gib": None,
        "name": None,
        "origin": "none (%s)" % reason if reason else "none",
    }


def _machine(name, machine):
    """(gpu_count, gpu_memory_gib, gpu_name) of one machine type entry; ConfigError naming
    llmserve_machine_types when the entry lacks them or they are not positive numbers (a
    type a user added, say)."""
    where = "%s['%s']" % (MACHINE_TYPES_VAR, name)
    example = '(e.g. {"gpu_count": 4, "gpu_memory_gib": 47.99, "gpu_name": "NVIDIA RTX A6000"})'
    if not isinstance(machine, dict):
        raise ConfigError(
            [
                "%s must be a mapping with gpu_count, gpu_memory_gib and optionally gpu_name %s, "
                "got %r" % (where, example, machine)
            ]
        )
    errors = []
    missing = [key for key in ("gpu_count", "gpu_memory_gib") if machine.get(key) is None]
    if missing:
        errors.append(
            "%s lacks %s: a machine type needs gpu_count (GPUs of the machine) and "
            "gpu_memory_gib (GiB per GPU, as nvidia-smi reports memory.total / 1024), "
            "gpu_name optional %s" % (where, " and ".join(missing), example)
        )
    count = machine.get("gpu_count")
    if count is not None:
        try:
            whole = not isinstance(count, bool) and float(count) == int(float(count))
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole or int(float(count)) < 1:
            errors.append(
                "%s.gpu_count must be a whole number of GPUs, at least 1, got %r" % (where, count)
            )
    memory = machine.get("gpu_memory_gib")
    if memory is not None:
        try:
            positive = not isinstance(memory, bool) and float(memory) > 0
        except (TypeError, ValueError):
            positive = False
        if not positive:
            errors.append(
                "%s.gpu_memory_gib must be a positive number of GiB per GPU, got %r"
                % (where, memory)
            )
    gpu_name = machine.get("gpu_name")
    if gpu_name is not None and not isinstance(gpu_name, str):
        errors.append(
            "%s.gpu_name must be a string (nvidia-smi's GPU name), got %r" % (where, gpu_name)
        )
    if errors:
        raise ConfigError(errors)
    return int(float(count)), float(memory), gpu_name or None


def _number(value, kind, name):
    try:
        return kind(value or 0)
    except (TypeError, ValueError):
        raise ConfigError(["%s must be a number, got %r" % (name, value)]) from None


def container(runtime, triton_release=None, vllm_image_tag=None):
    """The serving image of the runtime: {tag, image, triton_release} (Nones for native runtimes).

    The release itself is the contract's llmserve_triton_release (roles/llmserve), the one
    place it is named; a Triton image tag (24.05-vllm-python-py3) is read as its release.
    """
    if runtime == "triton":
        if not triton_release:
            raise ConfigError(
                ["the triton runtime needs a Triton release: set llmserve_triton_release"]
            )
        release = str(triton_release).split("-", 1)[0]
        return {"tag": release, "image": TRITON_IMAGE % release, "triton_release": release}
    if runtime == "vllm":
        if not vllm_image_tag:
            raise ConfigError(["the vllm runtime needs an image tag: set llmserve_vllm_image_tag"])
        tag = str(vllm_image_tag)
        return {"tag": tag, "image": VLLM_IMAGE % tag, "triton_release": None}
    return {"tag": None, "image": None, "triton_release": None}


def _is_demo(model, presets):
    """Whether ``model`` is a demo preset (built on the host; an unknown model is build's error)."""
    try:
        return bool(resolve_model(model, presets).get("demo"))
    except ConfigError:
        return False


def repository_models(config, parameters=None, io=None):
    """The model repository entries of the plan, texts rendered once (``io``: the backend's
    inputs and outputs to declare, for a server without auto-complete)."""
    spec = {
        "io": io,
        "name": config["name"],
        "model": config["hf_id"],
        "engine_args": config["engine_args"],
        "parameters": dict(parameters or {}),
        "version": 1,
        "tensor_parallel_size": config["tensor_parallel_size"],
    }
    texts = render_model(spec)
    return [
        {
            "name": spec["name"],
            "model": spec["model"],
            "version": spec["version"],
            "config_pbtxt": texts["config_pbtxt"],
            "model_json": texts["model_json"],
        }
    ]


def digest(plan):
    """sha256 of the plan's canonical JSON (its own digest left out)."""
    body = {k: v for k, v in plan.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_plan(
    model,
    presets=None,
    runtime="triton",
    runtime_reason=None,
    runtime_choice=None,
    triton_release=None,
    vllm_image_tag=None,
    vllm_version=None,
    gpus=None,
    repository=None,
    parameters=None,
    execution_env_path=None,
    hf_token_configured=None,
    **config_args,
):
    """Resolve every serving decision; return the plan dict. Raise ConfigError.

    ``gpus`` is resolve_gpus' result; ``runtime_choice`` the fact llmserve_runtime_choice
    (its ``server`` settings give the plan its server command; its ``triton_cpu`` plan the
    layout the triton_cpu server runs from); ``config_args`` go to _vllm_engine_config.build
    (engine_args, user_facts, hf_config, served_name, concurrency, tp_policy,
    gpu_overhead_bytes, host_memory_bytes, cpu_kv_cache_bytes, check_fit).
    """
    gpus = gpus or resolve_gpus()
    image = container(runtime, triton_release, vllm_image_tag)
    choice = runtime_choice or {}
    errors = []
    if choice.get("runtime") and choice["runtime"] != runtime:
        errors.append(
            "the plan is for runtime %s but llmserve_runtime_choice chose %s: leave "
            "model_repo_runtime to the runtime choice" % (runtime, choice["runtime"])
        )
    settings = layout = None
    if choice.get("server") is not None:
        settings, server_errors = validate_server(choice["server"], runtime)
        errors += server_errors
        if runtime == "triton_cpu" and choice.get("triton_cpu"):
            minor = choice["triton_cpu"]["python_minor"]
            layout = layout_paths(settings["triton_cpu_dir"], minor)
            execution_env_path = execution_env_path or layout["stub_env"]
    if runtime in TRITON_RUNTIMES and repository and not str(repository).startswith("/"):
        errors.append(
            "model_repo_repository must be an absolute path, got '%s'" % (repository or "")
        )
    if runtime == "triton_cpu" and not execution_env_path:
        errors.append(
            "the triton_cpu runtime needs its layout (the Python-backend environment of the "
            "models): choose the runtime first with the select_runtime entry point of "
            "llmserve.triton.triton_vllm (the fact llmserve_runtime_choice)"
        )
    if runtime in CONTAINER_RUNTIMES and _is_demo(model, presets):
        errors.append(
            "The demo model is built on the host for the CPU runtimes (triton_cpu, vllm_cpu) "
            "only. For the %s runtime set `model` to a preset (llama3-70b, llama3-8b, mixtral) "
            "or a Hugging Face model id" % runtime
        )
    try:
        config = build(
            model,
            presets,
            runtime=runtime,
            container_tag=image["tag"] if runtime in ("triton", "vllm") else None,
            vllm_version=vllm_version if runtime in CPU_RUNTIMES else None,
            gpu_count=gpus["count"],
            gpu_memory_bytes=gpus["memory_gib"] * GIB if gpus["memory_gib"] else None,
            gpus_origin=gpus["origin"],
            hf_token_configured=hf_token_configured,
            **config_args,
        )
    except ConfigError as exc:
        raise ConfigError(errors + exc.errors) from None
    if errors:
        raise ConfigError(errors)
    params = dict(parameters or {})
    if runtime == "triton_cpu":
        params["EXECUTION_ENV_PATH"] = execution_env_path
    in_repository = runtime in TRITON_RUNTIMES
    release = ((choice.get("triton_cpu") or {}).get("backend") or {}).get("release")
    auto = auto_complete(runtime, release)
    io = declared_io(release) if auto is not None and not auto["enabled"] else None
    plan = {
        "plan_version": PLAN_VERSION,
        "name": config["name"],
        "preset": config["preset"],
        "hf_id": config["hf_id"],
        "demo": config["demo"],
        "gated": config["gated"],
        "architecture": config["architecture"],
        "runtime": runtime,
        "runtime_reason": runtime_reason or "asked for %s" % runtime,
        "container_tag": image["tag"],
        "image": image["image"],
        "triton_release": image["triton_release"],
        "vllm_version": config["vllm_version"],
        "container_label": config["container_label"],
        "gpus": gpus,
        "engine_args": config["engine_args"],
        "engine_args_origin": config["engine_args_origin"],
        "tensor_parallel_size": config["tensor_parallel_size"],
        "tensor_parallel_reason": config["tensor_parallel_reason"],
        "max_model_len": config["max_model_len"],
        "facts": config["facts"],
        "fit": config["fit"],
        "vllm_cli_args": config["vllm_cli_args"],
        "repository": repository if in_repository else None,
        "repository_models": repository_models(config, params, io) if in_repository else [],
        "auto_complete_config": auto,
        "secrets": {
            "hf_token_variable": HF_TOKEN_VAR,
            "hf_token_configured": hf_token_configured,
            "hf_token_delivery": (
                "a 0600 file in the Hugging Face home of the server; never in its argv, "
                "environment files, the model repository or the logs"
            ),
        },
    }
    plan["server"] = command(runtime, settings, plan, layout) if settings else None
    plan["digest"] = digest(plan)
    return plan
