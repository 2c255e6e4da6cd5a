# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine-arg half of the serving plan: model -> facts -> merged, validated engine args.

Pure functions: the module reads files (config.json, /proc/meminfo) and passes their content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import functools
import re

from ansible_collections.llmserve.triton.plugins.module_utils._engine_args import (
    CPU_RUNTIMES,
    EngineArgsError,
    check_names,
    check_values,
    merge,
    resolve_version,
    to_cli_args,
    to_model_json,
)
from ansible_collections.llmserve.triton.plugins.module_utils._hf_token import (
    HF_TOKEN_HOW,
    HF_TOKEN_VAR,
)
from ansible_collections.llmserve.triton.plugins.module_utils._memory_fit import (
    GIB,
    FitError,
    choose_tensor_parallel,
    cpu_fit,
    facts_from_hf_config,
    kv_dtype_bytes,
    normalize_facts,
    valid_tp_sizes,
)
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import MODEL_NAME_RE

TP_POLICIES = ("all_gpus", "smallest_fit")
# Hugging Face organisations whose models are all gated (a licence to accept, then a token):
# Meta's Llama models. Presets say it themselves with `gated: true` (vars/presets.yml).
GATED_ORGS = ("meta-llama",)
_HF_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConfigError(ValueError):
    """Validation failed; .errors holds one clear message per bad input."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def resolve_model(model, presets):
    """Return the model entry for a preset name, an HF id or an absolute local path."""
    model = str(model or "").strip()
    presets = presets or {}
    if model in presets:
        entry = dict(presets[model])
        entry["preset"] = model
        entry.setdefault("served_name", model)
        return entry
    if _HF_ID_RE.match(model) or model.startswith("/"):
        base = model.rstrip("/").rsplit("/", 1)[-1]
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", base).strip(".-") or "model"
        return {"preset": None, "hf_id": model, "served_name": name, "demo": False}
    raise ConfigError(
        [
            "unknown model preset %r (set model / model_repo_model): known presets are %s; "
            "or give a Hugging Face id like org/name or an absolute local path"
            % (model, ", ".join(sorted(presets)))
        ]
    )


def is_gated(entry):
    """True for a model whose download needs an accepted licence and a Hugging Face token:
    a preset with ``gated: true``, or a Hugging Face id of a GATED_ORGS organisation."""
    if entry.get("gated"):
        return True
    hf_id = str(entry.get("hf_id") or "")
    return not hf_id.startswith("/") and hf_id.split("/", 1)[0].lower() in GATED_ORGS


def gated_token_error(entry, token_configured):
    """The error for a gated model without a token, else None. Takes whether a token is set,
    never the token itself."""
    if token_configured or not is_gated(entry):
        return None
    label = entry["hf_id"]
    if entry.get("preset"):
        label = "%r (%s)" % (entry["preset"], entry["hf_id"])
    return (
        "model %s is gated on Hugging Face and %s is empty, so the server would fail to "
        "download it after a long start: accept the model's licence on huggingface.co with your "
        "account, then %s" % (label, HF_TOKEN_VAR, HF_TOKEN_HOW)
    )


def model_facts(entry, user_facts=None, hf_config=None):
    """Preset facts <- config.json facts <- user facts; validated. Raises ConfigError."""
    facts = dict(entry.get("facts") or {})
    try:
        if hf_config:
            facts.update(facts_from_hf_config(hf_config))
        if user_facts:
            if not isinstance(user_facts, dict):
                raise ConfigError(["model_repo_model_facts must be a mapping"])
            facts.update({k: v for k, v in user_facts.items() if v is not None})
        label = "model facts for %s" % entry["hf_id"]
        if not facts:
            raise ConfigError(
                [
                    "model %r is not a preset and has no readable config.json: give "
                    "model_repo_model_facts (params, bytes_per_weight, num_layers, "
                    "num_attention_heads, num_kv_heads, head_dim, max_context) or a local path "
                    "with config.json" % entry["hf_id"]
                ]
            )
        return normalize_facts(facts, label)
    except FitError as exc:
        raise ConfigError([str(exc)]) from None


def _gated_token_errors_first(func):
    """Wrap build(): with ``hf_token_configured`` given (None: not checked), a gated model
    without a Hugging Face token is an error, reported first and together with any other."""

    @functools.wraps(func)
    def wrapper(model, presets=None, *args, hf_token_configured=None, **kwargs):
        token_errors = []
        if hf_token_configured is not None:
            try:
                error = gated_token_error(resolve_model(model, presets), hf_token_configured)
            except ConfigError:
                error = None  # the unknown model is reported by build itself
            token_errors = [error] if error else []
        try:
            result = func(model, presets, *args, **kwargs)
        except ConfigError as exc:
            raise ConfigError(token_errors + exc.errors) from None
        if token_errors:
            raise ConfigError(token_errors)
        return result

    return wrapper


def decide_tensor_parallel(
    merged,
    origin,
    facts,
    runtime,
    gpus=None,
    gpus_origin="the GPU count",
    gpu_memory_bytes=None,
    tp_policy="all_gpus",
    fit_inputs=None,
    check_fit=True,
    model="model",
):
    """Why tensor_parallel_size is what it is: the one place that decides it.

    ``merged``/``origin`` are the validated preset + override engine args and their layers;
    ``fit_inputs`` the memory-fit inputs (max_model_len, dtype_bytes, concurrency,
    overhead_bytes, host_memory_bytes, cpu_kv_cache_bytes). Return (size, reason, fit report);
    raise ConfigError when it cannot be decided or nothing fits.
    """
    fi = dict(fit_inputs or {})
    fit = {"checked": False}
    given = merged.get("tensor_parallel_size")
    try:
        if runtime in CPU_RUNTIMES:
            if check_fit and fi.get("host_memory_bytes"):
                fit = cpu_fit(
                    facts,
                    fi["host_memory_bytes"],
                    fi.get("cpu_kv_cache_bytes", GIB),
                    fi["max_model_len"],
                    fi["dtype_bytes"],
                    fi.get("concurrency", 1),
                    model=model,
                )
                fit["checked"] = True
            return 1, "the %s runtime serves from one CPU process" % runtime, fit
        if given:
            reason = {
                "override": "set in model_repo_engine_args",
                "sweep": "set by the benchmark sweep point (model_repo_engine_args_sweep)",
            }.get(origin.get("tensor_parallel_size"), "set by the model preset")
        elif not gpus:
            raise ConfigError(
                [
                    "GPU facts are missing, so tensor_parallel_size cannot be inferred "
                    "for %s: run on a host where nvidia-smi works (gpu_facts), or set "
                    "model_repo_machine_type, or model_repo_gpu_count and "
                    "model_repo_gpu_memory_gib, or set tensor_parallel_size in "
                    "model_repo_engine_args" % model
                ]
            )
        elif tp_policy == "all_gpus":
            given = max(valid_tp_sizes(facts, gpus))
            reason = (
                "the largest size up to the %d GPU(s) (%s) that divides the model's %d "
                "attention heads (model_repo_tensor_parallel_policy all_gpus)"
                % (gpus, gpus_origin, facts["num_attention_heads"])
            )
        elif not gpu_memory_bytes:
            raise ConfigError(
                [
                    "model_repo_tensor_parallel_policy smallest_fit needs the GPU memory (%s "
                    "gives none): set model_repo_gpu_memory_gib, or use all_gpus" % gpus_origin
                ]
            )
        else:
            reason = (
                "the smallest size up to the %d GPU(s) (%s) that divides the model's %d "
                "attention heads and fits in memory (model_repo_tensor_parallel_policy "
                "smallest_fit)" % (gpus, gpus_origin, facts["num_attention_heads"])
            )
        if gpu_memory_bytes and (check_fit or not given):
            # Without a GPU count (machine unknown) the given TP is the GPU count to check.
            fit = choose_tensor_parallel(
                facts,
                gpus or int(given),
                gpu_memory_bytes,
                float(merged.get("gpu_memory_utilization") or 0.9),
                fi["max_model_len"],
                fi["dtype_bytes"],
                fi.get("concurrency", 1),
                given,
                fi.get("overhead_bytes", GIB),
                model=model,
            )
            fit["checked"] = True
            given = fit["tensor_parallel_size"]
    except FitError as exc:
        raise ConfigError([str(exc)]) from None
    return int(given), reason, fit


@_gated_token_errors_first
def build(
    model,
    presets=None,
    runtime="triton",
    container_tag=None,
    vllm_version=None,
    engine_args=None,
    engine_args_sweep=None,
    user_facts=None,
    hf_config=None,
    served_name=None,
    gpu_count=None,
    gpu_memory_bytes=None,
    concurrency=1,
    tp_policy="all_gpus",
    gpu_overhead_bytes=GIB,
    host_memory_bytes=None,
    cpu_kv_cache_bytes=GIB,
    check_fit=True,
    gpus_origin="the GPU count",
):
    """Resolve, merge, validate and fit. Return the result dict; raise ConfigError.

    Layers: the preset's engine args, then the hardware layer (tensor_parallel_size from
    decide_tensor_parallel when no other layer sets it), then the user's overrides, then a
    benchmark sweep point's (``engine_args_sweep``); the merged result is validated once,
    hardware layer included. Also takes
    ``hf_token_configured`` (keyword only, see _gated_token_errors_first): whether a Hugging
    Face token is set (None: not checked).
    """
    try:
        version, label = resolve_version(runtime, container_tag, vllm_version)
    except EngineArgsError as exc:
        raise ConfigError([str(exc)]) from None
    entry = resolve_model(model, presets)
    name = served_name or entry.get("served_name")
    if not MODEL_NAME_RE.match(str(name)):
        raise ConfigError(
            ["model name %r is not a valid Triton model name (letters, digits, _ . -)" % name]
        )
    facts = model_facts(entry, user_facts, hf_config)
    if tp_policy not in TP_POLICIES:
        raise ConfigError(["tensor-parallel policy %r is not one of %s" % (tp_policy, TP_POLICIES)])
    try:
        user, origin = merge(
            entry.get("engine_args"),
            {},
            engine_args,
            "model_repo_engine_args",
            engine_args_sweep,
            "model_repo_engine_args_sweep",
        )
    except EngineArgsError as exc:
        raise ConfigError([str(exc)]) from None
    if "model" in user and origin.get("model") in ("override", "sweep"):
        raise ConfigError(["do not set 'model' in the engine args: set model / model_repo_model"])
    user.pop("model", None)
    origin.pop("model", None)

    gpus = int(gpu_count) if gpu_count not in (None, "") else None
    errors = check_names(user, version, label, origin)
    coerced, value_errors = check_values(user, version, facts, gpus, runtime)
    if errors or value_errors:
        raise ConfigError(errors + value_errors)

    max_len = int(coerced.get("max_model_len") or facts["max_context"])
    tp, tp_reason, fit = decide_tensor_parallel(
        coerced,
        origin,
        facts,
        runtime,
        gpus=gpus,
        gpus_origin=gpus_origin,
        gpu_memory_bytes=gpu_memory_bytes,
        tp_policy=tp_policy,
        fit_inputs={
            "max_model_len": max_len,
            "dtype_bytes": kv_dtype_bytes(coerced, facts),
            "concurrency": concurrency,
            "overhead_bytes": gpu_overhead_bytes,
            "host_memory_bytes": host_memory_bytes,
            "cpu_kv_cache_bytes": cpu_kv_cache_bytes,
        },
        check_fit=check_fit,
        model=entry["hf_id"],
    )
    # The hardware layer sits under the override and sweep layers, so it only fills in what
    # they (and the preset) leave unset; the result is validated with it.
    hardware = {}
    if runtime not in CPU_RUNTIMES and "tensor_parallel_size" not in coerced:
        hardware["tensor_parallel_size"] = tp
    origin.update(dict.fromkeys(hardware, "hardware"))
    merged, value_errors = check_values(dict(coerced, **hardware), version, facts, gpus, runtime)
    if value_errors:
        raise ConfigError(value_errors)
    fit.setdefault("weights_bytes", int(round(facts["params"] * facts["bytes_per_weight"])))
    return {
        "name": name,
        "preset": entry.get("preset"),
        "hf_id": entry["hf_id"],
        "demo": bool(entry.get("demo")),
        "gated": is_gated(entry),
        "architecture": entry.get("architecture") or {},
        "runtime": runtime,
        "vllm_version": version,
        "container_label": label,
        "engine_args": merged,
        "engine_args_origin": origin,
        "tensor_parallel_size": tp,
        "tensor_parallel_reason": tp_reason,
        "max_model_len": max_len,
        "facts": facts,
        "fit": fit,
        "model_json": to_model_json(merged, entry["hf_id"]),
        "vllm_cli_args": to_cli_args(merged, version),
    }
