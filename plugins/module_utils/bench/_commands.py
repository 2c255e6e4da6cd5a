# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Command lines for genai-perf and AIPerf, per tool version (pure functions).

genai-perf renamed most of its flags between the release the Triton vLLM tutorial uses and
today's: the per-version flag tables below map one logical option to the flag of that
version (None = the version has no such flag). Before a sweep runs, every flag of every
planned command is also checked against the installed tool's own `--help` text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import json
import re

ENGINES = ("genai-perf", "aiperf")
# What the load generator talks to:
#   kserve          Triton's KServe gRPC port, streaming (genai-perf --endpoint-type kserve)
#   openai          an OpenAI-compatible server (vLLM's), chat or completions
#   triton_generate Triton's HTTP generate extension, POST /v2/models/<m>/generate_stream
#                   (SSE), through AIPerf's `template` endpoint: AIPerf has no KServe gRPC
TARGET_KINDS = ("kserve", "openai", "triton_generate")

# Request body for Triton's vLLM backend (one JSON value per input tensor; the backend reads
# `sampling_parameters` as a JSON *string*), rendered by AIPerf (Jinja2) per request:
# `text` is the prompt, `max_tokens` the planned output length, `stream` AIPerf's --streaming.
TRITON_GENERATE_TEMPLATE = (
    '{"text_input": {{ text|tojson }}, "stream": {{ stream|tojson }}, '
    '"exclude_input_in_output": true, '
    '"sampling_parameters": {{ {"max_tokens": max_tokens%s}|tojson|tojson }}}'
)

# Logical option -> flag, per first genai-perf version that uses that table.
_GP_LEGACY = {
    "subcommand": [],
    "model": "-m",
    "service_kind": "--service-kind",
    "endpoint_type": "--endpoint-type",
    "backend": "--backend",
    "url": "--url",
    "streaming": "--streaming",
    "num_prompts": "--num-of-output-prompts",
    "seed": "--random-seed",
    "input_mean": "--input-tokens-mean",
    "input_stddev": "--input-tokens-stddev",
    "output_mean": "--expected-output-tokens",
    "output_stddev": "--output-tokens-stddev",
    "output_deterministic": None,
    "extra_inputs": None,
    "concurrency": "--concurrency",
    "request_rate": "--request-rate",
    "request_count": None,
    "measurement_interval": "--measurement-interval",
    "tokenizer": "--tokenizer",
    "artifact_dir": None,
    "export_file": "--profile-export-file",
    "goodput": None,
    "warmup": None,
}
_GP_0_0_4 = dict(
    _GP_LEGACY,
    subcommand=["profile"],
    num_prompts="--num-prompts",
    input_mean="--synthetic-input-tokens-mean",
    input_stddev="--synthetic-input-tokens-stddev",
    output_mean="--output-tokens-mean",
    output_deterministic="--output-tokens-mean-deterministic",
    extra_inputs="--extra-inputs",
    artifact_dir="--artifact-dir",
)
_GP_0_0_11 = dict(
    _GP_0_0_4,
    service_kind=None,
    num_prompts="--num-dataset-entries",
    request_count="--request-count",
    goodput="--goodput",
    warmup="--warmup-request-count",
)
GENAI_PERF_FLAGS = (
    ((0, 0, 11), _GP_0_0_11),
    ((0, 0, 4), _GP_0_0_4),
    ((0, 0, 0), _GP_LEGACY),
)
AIPERF_FLAGS = (
    (
        (0, 1, 0),
        {
            "subcommand": ["profile"],
            "model": "--model",
            "endpoint_type": "--endpoint-type",
            "url": "--url",
            "streaming": "--streaming",
            "num_prompts": "--num-dataset-entries",
            "seed": "--random-seed",
            "input_mean": "--synthetic-input-tokens-mean",
            "input_stddev": "--synthetic-input-tokens-stddev",
            "output_mean": "--output-tokens-mean",
            "output_stddev": "--output-tokens-stddev",
            "extra_inputs": "--extra-inputs",
            "server_token_count": "--use-server-token-count",
            "concurrency": "--concurrency",
            "request_rate": "--request-rate",
            "request_count": "--request-count",
            "tokenizer": "--tokenizer",
            "artifact_dir": "--artifact-dir",
            "goodput": "--goodput",
            "ui": "--ui-type",
            "no_gpu_telemetry": "--no-gpu-telemetry",
            "custom_endpoint": "--custom-endpoint",
        },
    ),
)
# Flags that exist in the table but are known to break at run time with the binary the
# version ships with (genai-perf 0.0.16 passes --warmup-request-count on to perf_analyzer
# 2.46, which rejects it): never emitted; warm-up is a separate, discarded profile run.
KNOWN_BROKEN = {"genai-perf": ("warmup",)}


class CommandError(Exception):
    """A benchmark command cannot be built for the requested engine/version/options."""


def parse_version(text):
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        raise CommandError("cannot read a version number from %r" % text)
    return tuple(int(x or 0) for x in m.groups())


def flag_table(engine, version):
    """The flag table of `engine` at `version` (string or tuple)."""
    if engine not in ENGINES:
        raise CommandError(
            "unknown benchmark engine %r: benchmark_engine must be one of %s"
            % (engine, ", ".join(ENGINES))
        )
    ver = parse_version(version) if isinstance(version, str) else tuple(version)
    tables = GENAI_PERF_FLAGS if engine == "genai-perf" else AIPERF_FLAGS
    for first, table in tables:
        if ver >= first:
            return table
    raise CommandError("%s %s is older than any supported version" % (engine, version))


def _add(cmd, table, key, *values):
    flag = table.get(key)
    if flag is None:
        return False
    cmd.append(flag)
    cmd.extend(str(v) for v in values)
    return True


def goodput_arg(slo):
    """SLO dict {ttft_ms, itl_ms, request_latency_ms} → the tools' 'metric:value' pairs."""
    names = {
        "ttft_ms": "time_to_first_token",
        "itl_ms": "inter_token_latency",
        "request_latency_ms": "request_latency",
    }
    pairs = []
    for key in sorted(slo or {}):
        if key not in names:
            raise CommandError(
                "unknown SLO %r in benchmark_slo: use %s" % (key, ", ".join(sorted(names)))
            )
        pairs.append("%s:%s" % (names[key], slo[key]))
    return pairs


def triton_generate_extra(exact_output=True):
    """AIPerf --extra-inputs value (one JSON object) that makes its `template` endpoint speak
    Triton's generate extension: the body template and where the text is in each response.
    Exact output lengths go into sampling_parameters (min_tokens = max_tokens, ignore_eos):
    extra inputs outside the template would become unknown input tensors."""
    exact = ', "min_tokens": max_tokens, "ignore_eos": true' if exact_output else ""
    return json.dumps(
        {"payload_template": TRITON_GENERATE_TEMPLATE % exact, "response_field": "text_output"},
        sort_keys=True,
    )


def check_target(engine, kind):
    """Refuse engine/target combinations that cannot work, naming the variables."""
    if kind not in TARGET_KINDS:
        raise CommandError(
            "unknown benchmark_target_kind %r: use %s" % (kind, ", ".join(TARGET_KINDS))
        )
    if kind == "kserve" and engine == "aiperf":
        raise CommandError(
            "benchmark_engine=aiperf cannot use benchmark_target_kind=kserve: AIPerf has no "
            "KServe gRPC client. Against Triton use benchmark_target_kind=triton_generate "
            "(Triton's HTTP generate_stream, the default for aiperf with a Triton runtime) or "
            "benchmark_engine=genai-perf"
        )
    if kind == "triton_generate" and engine == "genai-perf":
        raise CommandError(
            "benchmark_engine=genai-perf cannot use benchmark_target_kind=triton_generate: "
            "genai-perf's `generate` endpoint posts to /generate without streaming, which "
            "Triton refuses for the vLLM backend ('generate expects model to produce exactly "
            "1 response'). With genai-perf use benchmark_target_kind=kserve (gRPC streaming); "
            "triton_generate is for benchmark_engine=aiperf"
        )


def build_command(engine, version, exe, point, target, artifact_dir, options=None):
    """argv for one profile run.

    point: {concurrency | request_rate, input_tokens, output_tokens, request_count}
    target: {kind: kserve|openai|triton_generate, url, model, endpoint_type (chat|completions),
             tokenizer}
    options: {num_prompts, seed, streaming, exact_output, slo, extra_args}
    """
    opts = options or {}
    table = flag_table(engine, version)
    cmd = [exe] + list(table["subcommand"])
    _add(cmd, table, "model", target["model"])
    kind = target.get("kind", "openai")
    check_target(engine, kind)
    streaming = opts.get("streaming", True)
    exact = opts.get("exact_output", True)
    if kind == "kserve":
        if table.get("service_kind"):
            _add(cmd, table, "service_kind", "triton")
        else:
            _add(cmd, table, "endpoint_type", "kserve")
        _add(cmd, table, "backend", "vllm")
    elif kind == "triton_generate":
        if not target.get("tokenizer"):
            raise CommandError(
                "benchmark_target_kind=triton_generate counts tokens with the client's "
                "tokenizer (Triton returns no usage counts): set benchmark_tokenizer"
            )
        _add(cmd, table, "endpoint_type", "template")
        path = "/v2/models/%s/%s" % (
            target["model"],
            "generate_stream" if streaming else "generate",
        )
        _add(cmd, table, "custom_endpoint", path)
    else:
        etype = target.get("endpoint_type", "chat")
        if engine == "genai-perf" and table.get("service_kind"):
            _add(cmd, table, "service_kind", "openai")
        if not _add(cmd, table, "endpoint_type", etype):
            raise CommandError("%s %s cannot target an OpenAI endpoint" % (engine, version))
    _add(cmd, table, "url", target["url"])
    if streaming:
        _add(cmd, table, "streaming")
    if point.get("request_rate"):
        _add(cmd, table, "request_rate", point["request_rate"])
    else:
        _add(cmd, table, "concurrency", point["concurrency"])
    _add(cmd, table, "num_prompts", opts.get("num_prompts", point.get("request_count", 10)))
    if opts.get("seed") is not None:
        _add(cmd, table, "seed", opts["seed"])
    _add(cmd, table, "input_mean", point["input_tokens"])
    _add(cmd, table, "input_stddev", 0)
    _add(cmd, table, "output_mean", point["output_tokens"])
    _add(cmd, table, "output_stddev", 0)
    if kind == "triton_generate":
        # the body template carries min_tokens/ignore_eos; no --use-server-token-count: the
        # template endpoint reads no usage, so every token count would be missing
        _add(cmd, table, "extra_inputs", triton_generate_extra(exact))
    elif exact:
        # exact output lengths make runs comparable: min_tokens = max_tokens (kserve/vLLM
        # backend: genai-perf puts min_tokens into sampling_parameters), plus ignore_eos
        if kind == "kserve":
            _add(cmd, table, "output_deterministic")
        else:
            _add(cmd, table, "extra_inputs", "ignore_eos:true")
            _add(cmd, table, "extra_inputs", "min_tokens:%d" % point["output_tokens"])
        _add(cmd, table, "server_token_count")
    if point.get("request_count") and not _add(cmd, table, "request_count", point["request_count"]):
        _add(cmd, table, "measurement_interval", opts.get("measurement_interval_ms", 4000))
    if target.get("tokenizer"):
        _add(cmd, table, "tokenizer", target["tokenizer"])
    if opts.get("slo"):
        pairs = goodput_arg(opts["slo"])
        if engine == "aiperf":
            pairs = [" ".join(pairs)]  # AIPerf takes one space-separated value
        if not _add(cmd, table, "goodput", *pairs):
            raise CommandError(
                "%s %s has no --goodput: drop benchmark_slo or upgrade" % (engine, version)
            )
    if engine == "aiperf":
        _add(cmd, table, "ui", "none")
        if not target.get("gpu_telemetry"):
            _add(cmd, table, "no_gpu_telemetry")
    if not _add(cmd, table, "artifact_dir", artifact_dir):
        _add(cmd, table, "export_file", artifact_dir.rstrip("/") + "/profile_export.json")
    cmd.extend(str(a) for a in opts.get("extra_args") or [])
    return cmd


def flags_in_help(help_text):
    """Every long/short flag the tool's --help mentions."""
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-zA-Z0-9-]*)", help_text))


def unsupported_flags(cmd, help_text):
    """Flags of `cmd` that the installed tool's --help does not know (empty = fine)."""
    known = flags_in_help(help_text)
    return [a for a in cmd if a.startswith("-") and not _is_number(a) and a not in known]


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
