# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server half of the serving plan: the command a runtime starts and where it answers.

Input: the runtime, the server settings of the serving role (``server``, validated by
validate_server; it travels in the fact llmserve_runtime_choice) and the plan's model part
(name, hf_id, vllm_cli_args, engine_args, tensor_parallel_size, repository). Output: {argv,
entrypoint, ports, endpoint, env, container}, part of the fact llmserve_serving_plan;
``container`` (runtimes triton and vllm, else null) is _serving_container's; ``env`` the
environment the CPU runtimes' server needs for the plan (cpu_engine_env). Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import os

from ansible_collections.llmserve.triton.plugins.module_utils._serving_container import (
    CONTAINER_RUNTIMES,
    container,
    validate_container,
)
from ansible_collections.llmserve.triton.plugins.module_utils._serving_container import (
    VARIABLES as CONTAINER_VARIABLES,
)

TRITON_PORTS = ("triton_http_port", "triton_grpc_port", "triton_metrics_port")
VLLM_API_SERVER = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
# Models come and go on a running Triton, so two defaults change (the serving role's README,
# "Model switches"): a model that fails to load leaves the server up with the reason in the
# repository index (--exit-on-error=false), and /v2/health/ready says whether the server is
# up, not whether every model it ever tried is ready (--strict-readiness=false; the readiness
# wait checks the served model's own ready endpoint).
TRITON_MODEL_CONTROL = [
    "--model-control-mode=explicit",
    "--load-model=*",
    "--exit-on-error=false",
    "--strict-readiness=false",
]
# The setting -> the serving role's variable behind it (tasks/select_runtime.yml passes every
# one; the role's defaults are the only defaults), for messages. The container settings
# (runtimes triton and vllm) are _serving_container's.
VARIABLES = {
    "triton_http_port": "triton_vllm_triton_http_port",
    "triton_grpc_port": "triton_vllm_triton_grpc_port",
    "triton_metrics_port": "triton_vllm_triton_metrics_port",
    "triton_repository_mount": "triton_vllm_triton_repository_mount",
    "triton_extra_args": "triton_vllm_triton_extra_args",
    "triton_cpu_host": "triton_vllm_triton_cpu_host",
    "triton_cpu_dir": "llmserve_triton_cpu_dir",
    "vllm_port": "triton_vllm_vllm_port",
    "vllm_extra_args": "triton_vllm_vllm_extra_args",
    "cpu_host": "triton_vllm_cpu_host",
    "cpu_port": "triton_vllm_cpu_port",
    "cpu_venv": "triton_vllm_cpu_venv",
    "cpu_extra_args": "triton_vllm_cpu_extra_args",
    "container_network": "triton_vllm_container_network",
    "container_expose": "triton_vllm_container_expose",
}
VARIABLES.update(CONTAINER_VARIABLES)


def validate_server(server, runtime=None):
    """Return (settings, [errors]); each error names the serving role's variable.

    Every setting must be there (the role passes them all; the role's defaults are the only
    defaults). The container settings are checked for ``runtime`` triton or vllm only.
    """
    server = dict(server or {})
    missing = [k for k in VARIABLES if k not in server]
    unknown = sorted(k for k in server if k not in VARIABLES)
    errors = []
    if missing:
        errors.append(
            "the server settings lack %s: pass every setting, as the select_runtime entry "
            "point of llmserve.triton.triton_vllm does"
            % ", ".join("%s (%s)" % (k, VARIABLES[k]) for k in missing)
        )
    if unknown:
        errors.append(
            "unknown server settings %s: use the keys %s"
            % (", ".join(unknown), ", ".join(sorted(VARIABLES)))
        )
    if errors:
        return server, errors
    settings = server
    for key in (
        "triton_http_port",
        "triton_grpc_port",
        "triton_metrics_port",
        "vllm_port",
        "cpu_port",
    ):
        try:
            port = int(settings[key])
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            errors.append(
                "%s must be a TCP port (1-65535), got %r" % (VARIABLES[key], settings[key])
            )
        settings[key] = port
    ports = [settings[k] for k in TRITON_PORTS]
    if len(set(ports)) != len(ports):
        errors.append(
            "triton_vllm_triton_http_port, _grpc_port and _metrics_port must be three different "
            "ports, got %s" % ", ".join(str(p) for p in ports)
        )
    for key in ("triton_extra_args", "vllm_extra_args", "cpu_extra_args"):
        value = settings[key]
        if not isinstance(value, list):
            errors.append(
                '%s must be a list of flags (e.g. ["--log-verbose=1"]), got %r'
                % (VARIABLES[key], value)
            )
        else:
            settings[key] = [str(v) for v in value]
    if settings["container_network"] not in ("host", "bridge"):
        errors.append(
            "triton_vllm_container_network must be host or bridge, got %r"
            % settings["container_network"]
        )
    if runtime in CONTAINER_RUNTIMES:
        errors += validate_container(settings, runtime)
    return settings, errors


def connect_host(bind):
    """The address a client on the host uses for a server bound to ``bind``."""
    bind = str(bind or "")
    host = "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind
    return "[%s]" % host if ":" in host else host


def _container_bind(s):
    """(address inside the container, address ports are published on)."""
    published = "0.0.0.0" if s["container_expose"] else "127.0.0.1"
    inside = published if s["container_network"] == "host" else "0.0.0.0"
    return inside, published


def _triton_flags(bind, s):
    flags = []
    for kind, key in (
        ("http", "triton_http_port"),
        ("grpc", "triton_grpc_port"),
        ("metrics", "triton_metrics_port"),
    ):
        flags += ["--%s-address=%s" % (kind, bind), "--%s-port=%d" % (kind, s[key])]
    return flags


def _triton_endpoint(runtime, name, host, s):
    return {
        "runtime": runtime,
        "kind": "triton",
        "model": name,
        "http_url": "http://%s:%d" % (host, s["triton_http_port"]),
        "grpc_url": "%s:%d" % (host, s["triton_grpc_port"]),
        "metrics_url": "http://%s:%d/metrics" % (host, s["triton_metrics_port"]),
        "openai_url": None,
    }


def _openai_endpoint(runtime, name, host, port):
    base = "http://%s:%d" % (host, port)
    return {
        "runtime": runtime,
        "kind": "openai",
        "model": name,
        "http_url": base,
        "grpc_url": None,
        "metrics_url": base + "/metrics",
        "openai_url": base + "/v1",
    }


def cpu_engine_env(plan):
    """The environment vLLM on the CPU needs for ``plan``.

    vLLM CPU runs its model executor in a worker process of its own, beside the engine-core
    process, unless V1 multiprocessing is off (vllm/platforms/cpu.py turns the in-process
    executor "uni" into "mp" otherwise; the API server or Triton's backend reach the engine
    core through a process of its own either way). At world size 1 a worker process buys
    nothing and costs one more vLLM import at start: with multiprocessing off the executor
    runs in the engine-core process (measured on 2 cores, demo model: `vllm serve` ready in
    16-18 s instead of 21-25 s, 256 tokens in the same 0.55-0.62 s). An executor given in the
    engine args other than "uni", or a larger world, keeps vLLM's default.
    """
    engine_args = plan.get("engine_args") or {}
    world = int(plan.get("tensor_parallel_size") or 1) * int(
        engine_args.get("pipeline_parallel_size") or 1
    )
    if world == 1 and engine_args.get("distributed_executor_backend") in (None, "uni"):
        return {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    return {}


def command(runtime, settings, plan, triton_cpu_paths=None):
    """The server command of ``runtime`` for ``plan``: {argv, entrypoint, ports, endpoint,
    env, container}.

    ``settings`` come from validate_server; ``triton_cpu_paths`` ({tritonserver,
    backend_directory}) from the triton_cpu layout (_triton_cpu.layout_paths).
    """
    s = settings
    name = plan["name"]
    out = {"entrypoint": None, "ports": [], "env": {}, "container": None}
    if runtime == "triton":
        inside, published = _container_bind(s)
        out["argv"] = (
            ["tritonserver", "--model-repository=" + s["triton_repository_mount"]]
            + TRITON_MODEL_CONTROL
            + _triton_flags(inside, s)
            + s["triton_extra_args"]
        )
        if s["container_network"] != "host":
            out["ports"] = ["%s:%d:%d" % (published, s[k], s[k]) for k in TRITON_PORTS]
        out["endpoint"] = _triton_endpoint(runtime, name, "127.0.0.1", s)
    elif runtime == "triton_cpu":
        paths = triton_cpu_paths or {}
        out["argv"] = (
            [
                paths.get("tritonserver") or "tritonserver",
                "--model-repository=%s" % plan["repository"],
                "--backend-directory=%s" % paths.get("backend_directory"),
            ]
            + TRITON_MODEL_CONTROL
            + (
                []
                if (plan.get("auto_complete_config") or {}).get("enabled", True)
                else ["--disable-auto-complete-config"]
            )
            + _triton_flags(s["triton_cpu_host"], s)
            + s["triton_extra_args"]
        )
        out["endpoint"] = _triton_endpoint(runtime, name, connect_host(s["triton_cpu_host"]), s)
    elif runtime == "vllm":
        inside, published = _container_bind(s)
        out["entrypoint"] = list(VLLM_API_SERVER)
        out["argv"] = (
            ["--model", plan["hf_id"], "--served-model-name", name]
            + ["--host", inside, "--port", str(s["vllm_port"])]
            + [str(a) for a in plan["vllm_cli_args"]]
            + s["vllm_extra_args"]
        )
        if s["container_network"] != "host":
            out["ports"] = ["%s:%d:%d" % (published, s["vllm_port"], s["vllm_port"])]
        out["endpoint"] = _openai_endpoint(runtime, name, "127.0.0.1", s["vllm_port"])
    else:  # vllm_cpu
        out["argv"] = (
            [os.path.join(s["cpu_venv"], "bin", "vllm"), "serve", plan["hf_id"]]
            + [
                "--served-model-name",
                name,
                "--host",
                str(s["cpu_host"]),
                "--port",
                str(s["cpu_port"]),
            ]
            + [str(a) for a in plan["vllm_cli_args"]]
            + s["cpu_extra_args"]
        )
        out["endpoint"] = _openai_endpoint(
            runtime, name, connect_host(s["cpu_host"]), s["cpu_port"]
        )
    if runtime in CONTAINER_RUNTIMES:
        out["container"] = container(runtime, s, plan, out["ports"])
    else:
        out["env"] = cpu_engine_env(plan)
    return out
