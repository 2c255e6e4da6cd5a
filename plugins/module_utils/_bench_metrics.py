# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus text scraping and before/after diffs of server metrics (pure functions).

Works on vLLM's /metrics (vllm:*) and Triton's :8002/metrics (nv_*, plus the vllm:*
families the vLLM backend re-exports). Each point stores the server's own counters next
to the client's figures so the report can show how far the two agree.
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
    "e2e": "vllm:e2e_request_latency_seconds",
}
GAUGES = {
    "gpu_utilization": "nv_gpu_utilization",
    "gpu_memory_used_bytes": "nv_gpu_memory_used_bytes",
    "gpu_memory_total_bytes": "nv_gpu_memory_total_bytes",
    "gpu_power_usage_w": "nv_gpu_power_usage",
    "kv_cache_usage": "vllm:kv_cache_usage_perc",
}


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
    snap = {"counters": {}, "histograms": {}, "gauges": {}}
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
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def diff(before, after, window_s=None):
    """Server-side figures for one measured window from two snapshots."""
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
        out[key + "_ms_mean"] = 1000.0 * (a["sum"] - b["sum"]) / count
        for q in (0.5, 0.99):
            val = histogram_quantile(q, buckets)
            out["%s_ms_p%d" % (key, int(q * 100))] = None if val is None else 1000.0 * val
    for key, val in after["gauges"].items():
        out[key] = val
    if window_s and out.get("generation_tokens") is not None:
        out["output_token_throughput"] = out["generation_tokens"] / float(window_s)
    return out
