# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus text scraping and before/after diffs of server metrics (pure functions).

Works on vLLM's /metrics (vllm:*) and Triton's :8002/metrics (nv_*, plus the vllm:*
families the vLLM backend re-exports). Each point stores the server's own counters next
to the client's figures so the report can show how far the two agree.

The two servers export different vLLM families. vLLM's own server (0.32: 39 families) has
vllm:inter_token_latency_seconds, the KV-cache and queue gauges. NVIDIA's vLLM backend for
Triton exports eight: the prompt/generation token counters and the histograms
time_to_first_token, time_per_output_token, e2e_request_latency, request_prompt_tokens,
request_generation_tokens, request_params_n. Its time_per_output_token histogram is fed
with vLLM's per-token inter-token latencies (one observation per generated token after
the first), so it stands in for ITL there, labelled as TPOT; what is absent is reported,
never silently replaced.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math
import re

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

COUNTERS = {
    "generation_tokens": "vllm:generation_tokens_total",
    "prompt_tokens": "vllm:prompt_tokens_total",
    "requests_succeeded": "vllm:request_success_total",
    "triton_inference_success": "nv_inference_request_success",
    "triton_inference_failure": "nv_inference_request_failure",
    "triton_inference_count": "nv_inference_count",
}
HISTOGRAMS = {
    "ttft": "vllm:time_to_first_token_seconds",
    "itl": "vllm:inter_token_latency_seconds",
    # Triton's vLLM backend: the only inter-token family it exports (no `itl`)
    "tpot": "vllm:time_per_output_token_seconds",
    "e2e": "vllm:e2e_request_latency_seconds",
}
GAUGES = {
    "gpu_utilization": "nv_gpu_utilization",
    "gpu_memory_used_bytes": "nv_gpu_memory_used_bytes",
    "gpu_memory_total_bytes": "nv_gpu_memory_total_bytes",
    "gpu_power_usage_w": "nv_gpu_power_usage",
    "kv_cache_usage": "vllm:kv_cache_usage_perc",
}
# vLLM families the server-side report reads or would read; those a scrape lacks are listed
# in the report (e.g. Triton's vLLM backend: no ITL histogram, no KV-cache/queue gauges).
WANTED_FAMILIES = (
    "vllm:generation_tokens_total",
    "vllm:prompt_tokens_total",
    "vllm:request_success_total",
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:e2e_request_latency_seconds",
    "vllm:kv_cache_usage_perc",
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
)
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def parse_prometheus(text):
    """Prometheus text format → list of (name, {labels}, float value)."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        try:
            value = float(m.group("value"))
        except ValueError:
            continue
        labels = dict(_LABEL.findall(m.group("labels") or ""))
        samples.append((m.group("name"), labels, value))
    return samples


def families(text):
    """Metric family names of one scrape (# TYPE lines, else sample names less suffixes)."""
    found = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#" and parts[1] == "TYPE":
            found.add(parts[2])
    if not found:
        for name, _labels, _v in parse_prometheus(text):
            for suffix in _SUFFIXES:
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
            found.add(name)
    return sorted(found)


def _total(samples, name, model=None):
    """Sum of a family over all label sets (optionally only one model's series)."""
    found = False
    total = 0.0
    for n, labels, v in samples:
        if n != name:
            continue
        mlabel = labels.get("model_name", labels.get("model"))
        if model and mlabel is not None and mlabel != model:
            continue
        found = True
        total += v
    return total if found else None


def _buckets(samples, name, model=None):
    acc = {}
    for n, labels, v in samples:
        if n != name + "_bucket":
            continue
        mlabel = labels.get("model_name", labels.get("model"))
        if model and mlabel is not None and mlabel != model:
            continue
        le = float(labels["le"]) if labels.get("le") not in (None, "+Inf") else math.inf
        acc[le] = acc.get(le, 0.0) + v
    return acc


def snapshot(text, model=None):
    """Reduce one scrape to the values the benchmark keeps."""
    samples = parse_prometheus(text)
    snap = {"counters": {}, "histograms": {}, "gauges": {}, "families": families(text)}
    for key, name in COUNTERS.items():
        val = _total(samples, name, model)
        if val is not None:
            snap["counters"][key] = val
    for key, name in HISTOGRAMS.items():
        count = _total(samples, name + "_count", model)
        if count is None:
            continue
        snap["histograms"][key] = {
            "count": count,
            "sum": _total(samples, name + "_sum", model) or 0.0,
            "buckets": sorted(_buckets(samples, name, model).items()),
        }
    for key, name in GAUGES.items():
        vals = [v for n, _l, v in samples if n == name]
        if vals:
            # per-GPU gauges: utilisation averaged, memory summed over the GPUs
            snap["gauges"][key] = sum(vals) / len(vals) if key == "gpu_utilization" else sum(vals)
    return snap


def histogram_quantile(q, buckets):
    """Prometheus-style quantile from cumulative (upper_bound, count) pairs."""
    return quantile_bounded(q, buckets)[0]


def quantile_bounded(q, buckets):
    """(quantile, where) with where None when the buckets resolve it, "below" when it lies in
    the lowest bucket (the value is only known to be under that bound: interpolating from 0
    would invent it, e.g. 1.5 ms gaps in a histogram whose lowest bound is 10 ms read as
    5 ms), "above" when it lies in the +Inf bucket (only over the highest finite bound)."""
    if not buckets:
        return None, None
    total = buckets[-1][1]
    if total <= 0:
        return None, None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for i, (bound, count) in enumerate(buckets):
        if count >= rank:
            if math.isinf(bound):
                return prev_bound, "above"
            if i == 0:
                return bound, "below"
            if count == prev_count:
                return bound, None
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (
                count - prev_count
            ), None
        prev_bound, prev_count = bound, count
    return prev_bound, "above"


def diff(before, after, window_s=None):
    """Server-side figures for one measured window from two snapshots.

    Per histogram: <key>_ms_mean (exact: sum / count), <key>_ms_p50/p99 (None when the buckets
    cannot resolve them; <key>_ms_p50_below / _above then hold the bound) and
    <key>_observations."""
    out = {}
    for key in COUNTERS:
        if key in before["counters"] and key in after["counters"]:
            out[key] = after["counters"][key] - before["counters"][key]
    for key in HISTOGRAMS:
        b = before["histograms"].get(key)
        a = after["histograms"].get(key)
        if not a:
            continue
        b = b or {"count": 0.0, "sum": 0.0, "buckets": []}
        count = a["count"] - b["count"]
        if count <= 0:
            continue
        bmap = dict(b["buckets"])
        buckets = [(le, c - bmap.get(le, 0.0)) for le, c in a["buckets"]]
        out[key + "_observations"] = count
        out[key + "_ms_mean"] = 1000.0 * (a["sum"] - b["sum"]) / count
        for q in (0.5, 0.99):
            val, where = quantile_bounded(q, buckets)
            name = "%s_ms_p%d" % (key, int(q * 100))
            if where:
                out[name] = None
                out["%s_%s" % (name, where)] = 1000.0 * val
            else:
                out[name] = None if val is None else 1000.0 * val
    for key, val in after["gauges"].items():
        out[key] = val
    if window_s and out.get("generation_tokens") is not None:
        out["output_token_throughput"] = out["generation_tokens"] / float(window_s)
    return out


def family_report(snap):
    """Which of WANTED_FAMILIES a scrape has, and where the server's inter-token figures
    come from: {"absent": [...], "inter_token_source": family or None}."""
    have = set(snap.get("families") or [])
    source = None
    if HISTOGRAMS["itl"] in have:
        source = HISTOGRAMS["itl"]
    elif HISTOGRAMS["tpot"] in have:
        source = HISTOGRAMS["tpot"]
    return {
        "absent": [f for f in WANTED_FAMILIES if f not in have],
        "inter_token_source": source,
    }
