# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vLLM engine arguments: merge, validate against the vLLM version in the container, render.

One source of truth, two renderings:

* ``model.json`` for Triton's vLLM backend (it calls ``AsyncEngineArgs(**model_json)``), and
* ``vllm serve`` command-line flags for the plain vLLM runtimes.

Merge order (later wins): preset -> hardware (tensor_parallel_size) -> user overrides.
Valid names per vLLM version come from the generated ``_vllm_engine_arg_names`` data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import difflib
import json
import re
import shlex

from ansible_collections.llmserve.triton.plugins.module_utils._hf_token import (
    HF_TOKEN_HOW,
    is_secret_key,
)
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_arg_names import (
    ARG_KINDS,
    ENGINE_ARG_NAMES,
    TRITON_VLLM_TAGS,
    VLLM_CPU_VERSION,
    VLLM_OPENAI_IMAGE_TAGS,
)

RUNTIMES = ("triton", "vllm", "vllm_cpu", "triton_cpu")
# Runtimes that serve on the CPU with the vllm-cpu package (triton_cpu: under Triton).
CPU_RUNTIMES = ("vllm_cpu", "triton_cpu")
DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
# dtypes the quantization kernels accept (vLLM rejects bfloat16 for gptq/awq).
QUANT_DTYPES = {
    "gptq": ("auto", "half", "float16"),
    "awq": ("auto", "half", "float16"),
    "squeezellm": ("auto", "half", "float16"),
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TRITON_TAG_RE = re.compile(r"(?:^|:)(\d\d\.\d\d)(?:-vllm-python-py3)?$")
# Every engine-arg name of every supported vLLM version.
KNOWN_ENGINE_ARGS = frozenset(name for names in ENGINE_ARG_NAMES.values() for name in names)
# The variable that carries engine args from the inventory or the command line; the one way.
ENGINE_ARGS_VAR = "model_repo_engine_args"
# Play variables named like an engine arg that the collection itself reads, so they are never
# "bare" engine args. Only `model` today: it is the collection's playbook-level variable
# (`-e model=mixtral` picks the preset; model_repo_model and benchmark_model default from it)
# and becomes vLLM's `model` (the Hugging Face id or path). Every other playbook-level
# variable (provision, confirm, baseline, machine_type) and every role variable (model_repo_*,
# triton_vllm_*, benchmark_*, ...) has a name no vLLM version uses.
COLLECTION_PLAY_VARS = frozenset(["model"])
# The role variable that lists names belonging to something else than vLLM (not checked).
IGNORE_VAR = "model_repo_not_engine_args"


class EngineArgsError(ValueError):
    """Raised with one message that names the input and the fix."""


def _vkey(version):
    parts = re.split(r"[.+]", version.replace("post", ""))
    return tuple(int(p) if p.isdigit() else 0 for p in parts[:4])


def supported_versions():
    return sorted(ENGINE_ARG_NAMES, key=_vkey)


def resolve_version(runtime, container_tag=None, vllm_version=None):
    """Return (vLLM version, label) for a runtime and its container tag / version.

    triton: ``24.05``, ``24.05-vllm-python-py3`` or ``nvcr.io/nvidia/tritonserver:24.05-...``;
    vllm: the vllm/vllm-openai tag (``v0.32.0``) or a version; vllm_cpu and triton_cpu: the
    vllm-cpu version.
    """
    if runtime not in RUNTIMES:
        raise EngineArgsError(
            "runtime %r is not one of %s (set triton_vllm_runtime)" % (runtime, ", ".join(RUNTIMES))
        )
    if runtime == "triton":
        tag = str(container_tag or "")
        match = _TRITON_TAG_RE.search(tag)
        if not match or match.group(1) not in TRITON_VLLM_TAGS:
            raise EngineArgsError(
                "container tag %r is not a known Triton vLLM container tag; known tags: %s "
                "(set llmserve_triton_release)" % (tag, ", ".join(sorted(TRITON_VLLM_TAGS)))
            )
        tag = match.group(1)
        version = TRITON_VLLM_TAGS[tag]["vllm"]
        return version, "Triton container %s-vllm-python-py3 (vLLM %s)" % (tag, version)
    if runtime == "vllm":
        tag = str(vllm_version or container_tag or "")
        tag = tag.rsplit(":", 1)[-1]
        version = VLLM_OPENAI_IMAGE_TAGS.get(tag, tag.lstrip("v"))
        if version not in ENGINE_ARG_NAMES:
            raise EngineArgsError(
                "vllm/vllm-openai tag %r is not supported; supported tags: %s"
                % (tag, ", ".join(sorted(VLLM_OPENAI_IMAGE_TAGS, key=lambda t: _vkey(t[1:]))))
            )
        return version, "vllm/vllm-openai:v%s (vLLM %s)" % (version, version)
    version = str(vllm_version or VLLM_CPU_VERSION)
    if version not in ENGINE_ARG_NAMES:
        raise EngineArgsError(
            "vLLM CPU version %r has no engine-arg data; supported: %s"
            % (version, ", ".join(supported_versions()))
        )
    if runtime == "triton_cpu":
        return version, "Triton on the CPU over vLLM CPU %s" % version
    return version, "vLLM CPU %s" % version


def _as_mapping(value, label):
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise EngineArgsError(
            "%s must be a mapping of engine-arg name to value (e.g. {max_num_seqs: 900}), "
            "got %s %r" % (label, type(value).__name__, value)
        )
    out = {}
    for key, val in value.items():
        name = str(key).strip().replace("-", "_")
        if not _NAME_RE.match(name):
            raise EngineArgsError(
                "%s has a malformed engine-arg name %r: use snake_case names like max_num_seqs"
                % (label, key)
            )
        out[name] = val
    return out


def merge(
    preset_args,
    hardware_args,
    overrides,
    overrides_label="engine-arg overrides",
    sweep=None,
    sweep_label="sweep engine args",
):
    """Merge the layers preset, hardware, override and (a benchmark sweep point's) sweep;
    return (merged dict, origin dict name -> layer)."""
    merged, origin = {}, {}
    layers = (
        ("preset", _as_mapping(preset_args, "preset engine_args")),
        ("hardware", _as_mapping(hardware_args, "hardware engine args")),
        ("override", _as_mapping(overrides, overrides_label)),
        ("sweep", _as_mapping(sweep, sweep_label)),
    )
    for layer, args in layers:
        for key, value in args.items():
            merged[key] = value
            origin[key] = layer
    return merged, origin


def check_names(args, version, label, origin=None):
    """Return one error per engine-arg name the vLLM version does not accept."""
    valid = ENGINE_ARG_NAMES[version]
    errors = []
    for key in sorted(args):
        if is_secret_key(key):
            errors.append(
                "engine arg %r is a secret and is never written to model.json or a command "
                "line: remove it from model_repo_engine_args and %s" % (key, HF_TOKEN_HOW)
            )
            continue
        if key in valid:
            continue
        msg = "unknown engine arg %r for %s" % (key, label)
        if origin and origin.get(key):
            msg += " (from the %s layer)" % origin[key]
        close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        if close:
            msg += "; close matches: %s" % ", ".join(close)
        elsewhere = [v for v in supported_versions() if key in ENGINE_ARG_NAMES[v]]
        if elsewhere:
            msg += "; %r exists in vLLM %s" % (key, _ranges(elsewhere))
        errors.append(msg)
    return errors


def _ranges(versions):
    """Compact list of versions: '0.4.0.post1 ... 0.9.2' for contiguous runs."""
    allv = supported_versions()
    runs, run = [], []
    for v in allv:
        if v in versions:
            run.append(v)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return ", ".join(r[0] if len(r) == 1 else "%s ... %s" % (r[0], r[-1]) for r in runs)


def _coerce(key, value, kinds):
    """Coerce a value to one of the JSON kinds; return (value, error or None)."""
    if value is None or "any" in kinds:
        return value, None
    if isinstance(value, bool):
        if "bool" in kinds:
            return value, None
    elif isinstance(value, int):
        if "int" in kinds:
            return value, None
        if "float" in kinds:
            return float(value), None
    elif isinstance(value, float):
        if "float" in kinds:
            return value, None
        if "int" in kinds and value.is_integer():
            return int(value), None
    elif isinstance(value, str):
        text = value.strip()
        if "str" in kinds:
            return value, None
        if "bool" in kinds and text.lower() in ("true", "false", "yes", "no"):
            return text.lower() in ("true", "yes"), None
        if "int" in kinds and re.match(r"^-?\d+$", text):
            return int(text), None
        if "float" in kinds and re.match(r"^-?(\d+\.?\d*|\.\d+)([eE]-?\d+)?$", text):
            return float(text), None
    elif isinstance(value, (list, tuple)):
        if "list" in kinds:
            return list(value), None
    elif isinstance(value, dict) and "dict" in kinds:
        return value, None
    return value, "engine arg %r must be %s, got %s %r" % (
        key,
        " or ".join(kinds),
        type(value).__name__,
        value,
    )


def check_values(args, version, facts=None, gpu_count=None, runtime="triton"):
    """Type- and range-check values. Return (coerced args, list of errors)."""
    out, errors = {}, []
    raw = dict(args)
    valid = ENGINE_ARG_NAMES[version]
    for key, value in args.items():
        if key in valid and key in ARG_KINDS:
            value, err = _coerce(key, value, ARG_KINDS[key])
            if err:
                errors.append(err)
        out[key] = value

    def number(key):
        value = out.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    gmu = number("gpu_memory_utilization")
    if "gpu_memory_utilization" in out and gmu is not None and not 0 < gmu <= 1:
        errors.append(
            "gpu_memory_utilization must be > 0 and <= 1 (a fraction of each GPU's memory), "
            "got %s; vLLM's default is 0.9, the presets use 0.85" % raw["gpu_memory_utilization"]
        )
    for key in ("max_num_seqs", "max_model_len", "pipeline_parallel_size"):
        value = number(key)
        if value is not None and value < 1:
            errors.append("%s must be a positive integer, got %r" % (key, raw[key]))
    tp = number("tensor_parallel_size")
    if "tensor_parallel_size" in out and out["tensor_parallel_size"] is not None:
        if tp is None or tp < 1:
            errors.append(
                "tensor_parallel_size must be a positive integer, got %r"
                % (out["tensor_parallel_size"],)
            )
        else:
            pp = number("pipeline_parallel_size") or 1
            if runtime in CPU_RUNTIMES and tp > 1:
                errors.append(
                    "tensor_parallel_size %d needs GPUs; the %s runtime serves on one "
                    "process: use 1" % (tp, runtime)
                )
            elif gpu_count is not None and tp * pp > gpu_count:
                errors.append(
                    "tensor_parallel_size %d%s is larger than the %d GPU(s) of this host: use at "
                    "most %d" % (tp, " x pipeline %d" % pp if pp > 1 else "", gpu_count, gpu_count)
                )
            heads = (facts or {}).get("num_attention_heads")
            if heads and heads % tp:
                ok = [str(n) for n in range(1, heads + 1) if heads % n == 0 and n <= 16]
                errors.append(
                    "tensor_parallel_size %d does not divide the model's %d attention heads: "
                    "use one of %s" % (tp, heads, ", ".join(ok))
                )
    max_len = number("max_model_len")
    max_ctx = (facts or {}).get("max_context")
    if max_len and max_ctx and max_len > max_ctx:
        errors.append(
            "max_model_len %d is larger than the model's context of %d tokens "
            "(max_position_embeddings): use at most %d" % (max_len, max_ctx, max_ctx)
        )
    dtype = out.get("dtype")
    if dtype is not None and str(dtype) not in DTYPES:
        errors.append("dtype %r is not one of %s" % (dtype, ", ".join(DTYPES)))
    quant = str(out.get("quantization") or "").lower()
    if quant in QUANT_DTYPES and str(dtype or "auto") not in QUANT_DTYPES[quant]:
        errors.append(
            "dtype %r is not valid for quantization %s: its kernels run in float16, use "
            "dtype: float16" % (dtype, quant)
        )
    return out, errors


def to_model_json(args, model):
    """The model.json content for Triton's vLLM backend: ``model`` first, then the engine args
    sorted (a ``model`` among them and secrets left out); JSON with a final newline.

    The one model.json renderer: the serving plan renders it once and triton_model_repo
    (_model_repo.desired_files) writes it.
    """
    data = {"model": model}
    for key in sorted(args or {}):
        if is_secret_key(key) or key == "model":
            continue
        data[key] = args[key]
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _flag(key):
    return "--" + key.replace("_", "-")


def to_cli_args(args, version, served_name=None):
    """The ``vllm serve`` flags for the same args (without the model positional).

    True -> ``--flag``; False -> ``--no-flag`` on vLLM >= 0.10 (BooleanOptionalAction) and
    omitted before; lists -> ``--flag a b``; dicts -> ``--flag '<json>'``; None -> omitted.
    """
    out = []
    if served_name:
        out += ["--served-model-name", str(served_name)]
    new_bools = _vkey(version) >= (0, 10)
    for key in sorted(args):
        value = args[key]
        if is_secret_key(key) or key == "model" or value is None:
            continue
        if key == "served_model_name" and served_name:
            continue
        if isinstance(value, bool):
            if value:
                out.append(_flag(key))
            elif new_bools:
                out.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            out.append(_flag(key))
            out.extend(str(v) for v in value)
        elif isinstance(value, dict):
            out += [_flag(key), json.dumps(value, sort_keys=True, separators=(",", ":"))]
        else:
            out += [_flag(key), str(value)]
    return out


def bare_engine_arg_vars(names, ignore=None):
    """The play's variable names that are vLLM engine args nothing reads, sorted.

    ``names``: the names of the variables a host's play sees (the preflight passes
    ``query('ansible.builtin.varnames', '.+')``: inventory, play, role and extra vars, facts).
    A name counts when some supported vLLM version has an engine arg of that name, the
    collection does not read it (COLLECTION_PLAY_VARS) and the user did not list it in
    ``ignore`` (model_repo_not_engine_args: a variable of that name that belongs to something
    else). ``-e max_num_seqs=900`` is the case this catches: nothing reads ``max_num_seqs``, so
    without this it would be silently ignored.
    """
    skip = set(COLLECTION_PLAY_VARS)
    if isinstance(ignore, str):
        ignore = [ignore]
    skip.update(str(n) for n in ignore or ())
    return sorted({str(n) for n in names or () if str(n) in KNOWN_ENGINE_ARGS} - skip)


def _cli_value(value):
    """A value as the user meant it: ``-e max_num_seqs=900`` gives the string '900'."""
    if isinstance(value, str):
        text = value.strip()
        if re.match(r"^-?\d+$", text):
            return int(text)
        if re.match(r"^-?(\d+\.\d*|\.\d+)([eE]-?\d+)?$", text):
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
    return value


def bare_engine_arg_error(values, engine_args=None):
    """The one message for engine args set as bare variables; '' when there are none.

    ``values``: name -> value of the names bare_engine_arg_vars found. ``engine_args``: the
    current model_repo_engine_args, kept in the suggested ``-e`` (an extra var replaces a
    variable, it does not merge into it). A secret's value (hf_token) is never shown.
    """
    values = dict(values or {})
    if not values:
        return ""
    secrets = sorted(k for k in values if is_secret_key(k))
    plain = sorted(k for k in values if not is_secret_key(k))
    one = len(values) == 1
    parts = []
    if plain:
        merged = {}
        if isinstance(engine_args, dict):
            merged.update((str(k), v) for k, v in engine_args.items() if not is_secret_key(k))
        merged.update((k, _cli_value(values[k])) for k in plain)
        option = json.dumps({ENGINE_ARGS_VAR: merged}, default=str)
        inline = ", ".join("%s: %s" % (k, json.dumps(v, default=str)) for k, v in merged.items())
        parts.append(
            "%s %s given as %s, which nothing reads: engine args go in %s. Instead of %s, "
            "pass -e %s (or set %s: {%s} in the inventory)"
            % (
                ", ".join(plain),
                "is a vLLM engine arg" if len(plain) == 1 else "are vLLM engine args",
                "a variable of its own" if len(plain) == 1 else "variables of their own",
                ENGINE_ARGS_VAR,
                "the bare variable" if len(plain) == 1 else "the bare variables",
                shlex.quote(option),
                ENGINE_ARGS_VAR,
                inline,
            )
        )
    if secrets:
        parts.append(
            "%s given as a variable of its own, which nothing reads: for the Hugging Face "
            "token, %s"
            % (", ".join(secrets) + (" is" if len(secrets) == 1 else " are"), HF_TOKEN_HOW)
        )
    return "%s. If %s belong%s to something other than vLLM, list %s in %s." % (
        "; ".join(parts),
        ", ".join(sorted(values)),
        "s" if one else "",
        "it" if one else "them",
        IGNORE_VAR,
    )
