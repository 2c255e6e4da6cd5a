# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse genai-perf and AIPerf exports into one normalized result schema (pure functions).

Normalized record (flat, so it maps 1:1 onto results.csv):
  ttft_ms_{avg,p50,p90,p99}, itl_ms_{...}, request_latency_ms_{...},
  output_token_throughput (tokens/s), request_throughput (req/s), request_count,
  error_count, goodput (req/s meeting every SLO, or None), isl_avg, osl_avg,
  output_tokens_total, duration_s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import json
import os

STATS = ("avg", "p50", "p90", "p99")
# normalized prefix -> export key (identical in genai-perf and AIPerf JSON exports)
LATENCY_KEYS = {
    "ttft_ms": "time_to_first_token",
    "itl_ms": "inter_token_latency",
    "request_latency_ms": "request_latency",
}
# SLO names accepted by the role -> metric name both tools use for --goodput
SLO_METRICS = {
    "ttft_ms": "time_to_first_token",
    "itl_ms": "inter_token_latency",
    "request_latency_ms": "request_latency",
}
GENAI_PERF_EXPORT = "profile_export_genai_perf.json"
AIPERF_EXPORT = "profile_export_aiperf.json"
RESULT_FIELDS = [p + "_" + s for p in LATENCY_KEYS for s in STATS] + [
    "output_token_throughput",
    "request_throughput",
    "request_count",
    "error_count",
    "goodput",
    "isl_avg",
    "osl_avg",
    "output_tokens_total",
    "duration_s",
]


class ExportError(Exception):
    """An export is missing or does not look like the tool's output."""


def _avg(data, key):
    value = data.get(key)
    if isinstance(value, dict):
        value = value.get("avg")
    return None if value is None else float(value)


def _latencies(data, out):
    for prefix, key in LATENCY_KEYS.items():
        block = data.get(key) or {}
        for stat in STATS:
            val = block.get(stat)
            out[prefix + "_" + stat] = None if val is None else float(val)


def find_export(artifact_dir, engine):
    """Return the path of the tool's JSON export below artifact_dir (searched recursively)."""
    name = GENAI_PERF_EXPORT if engine == "genai-perf" else AIPERF_EXPORT
    for root, _dirs, files in sorted(os.walk(artifact_dir)):
        if name in files:
            return os.path.join(root, name)
    raise ExportError("no %s below %s: %s did not finish a profile" % (name, artifact_dir, engine))


def _common(data):
    """Fields both tools export alike: latency stats, throughputs, request count."""
    out = {}
    _latencies(data, out)
    out["output_token_throughput"] = _avg(data, "output_token_throughput")
    out["request_throughput"] = _avg(data, "request_throughput")
    count = _avg(data, "request_count")
    out["request_count"] = None if count is None else int(count)
    return out, count


def parse_genai_perf(data, planned_requests=None):
    """genai-perf >= 0.0.4 profile_export_genai_perf.json → normalized record."""
    if "request_throughput" not in data or "time_to_first_token" not in data:
        raise ExportError("not a genai-perf LLM export (no request_throughput/time_to_first_token)")
    out, count = _common(data)
    # perf_analyzer only exports successful requests; the shortfall against the plan is errors
    errors = 0
    if planned_requests and count is not None:
        errors = max(0, int(planned_requests) - int(count))
    out["error_count"] = errors
    out["goodput"] = _avg(data, "request_goodput")
    out["isl_avg"] = _avg(data, "input_sequence_length")
    out["osl_avg"] = _avg(data, "output_sequence_length")
    out["output_tokens_total"] = (
        out["osl_avg"] * count if out["osl_avg"] is not None and count is not None else None
    )
    rt = out["request_throughput"]
    out["duration_s"] = count / rt if count and rt else None
    return out


def parse_aiperf(data):
    """AIPerf 0.1x profile_export_aiperf.json → normalized record."""
    if "request_throughput" not in data or "aiperf_version" not in data and "run_info" not in data:
        raise ExportError("not an AIPerf export (no request_throughput/run_info)")
    out, count = _common(data)
    errors = _avg(data, "error_request_count") or 0
    if not errors:
        errors = sum(int(e.get("count", 1)) for e in data.get("error_summary") or [])
    out["error_count"] = int(errors)
    out["goodput"] = _avg(data, "goodput")
    if out["goodput"] is None:
        out["goodput"] = _avg(data, "request_goodput")
    out["isl_avg"] = _avg(data, "input_sequence_length")
    out["osl_avg"] = _avg(data, "output_sequence_length")
    out["output_tokens_total"] = _avg(data, "total_output_tokens")
    if out["output_tokens_total"] is None:
        out["output_tokens_total"] = _avg(data, "total_osl")
    out["duration_s"] = _avg(data, "benchmark_duration")
    _drop_unmeasured_itl(out)
    return out


def rate_window_s(rec):
    """The window (s) the client's own rates are over, to turn the server's counters into
    rates over the same one. It is not always duration_s: AIPerf divides by its observation
    window, which can be longer than its benchmark_duration (first request to last response)."""
    tokens, tps = rec.get("output_tokens_total"), rec.get("output_token_throughput")
    if tokens and tps:
        return tokens / tps
    count, rps = rec.get("request_count"), rec.get("request_throughput")
    if count and rps:
        return count / rps
    return rec.get("duration_s")


def _drop_unmeasured_itl(out):
    """An ITL of 0 for multi-token answers is no measurement: the client read every streamed
    token in one go (seen with AIPerf on 2 cores, and against Triton's generate_stream when the
    server delivered a whole answer at once), so the inter-token gaps are unknown. When the
    median request shows 0 ms, report ITL as missing rather than as ~0 ms (a few requests
    read in two pieces leave microsecond p90/p99 values that measure nothing either)."""
    if (out.get("osl_avg") or 0) > 1 and out.get("itl_ms_p50") == 0:
        for stat in STATS:
            out["itl_ms_" + stat] = None


def parse_export_file(path, engine, planned_requests=None):
    """Load one export file and normalize it for the given engine."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ExportError("cannot read %s: %s" % (path, exc)) from exc
    if engine == "genai-perf":
        return parse_genai_perf(data, planned_requests)
    if engine == "aiperf":
        return parse_aiperf(data)
    raise ExportError("unknown engine %r" % engine)


def goodput_from_records(records, slo, duration_s):
    """Goodput (req/s) from per-request metric dicts {metric_name: value_ms} under SLOs.

    Used when the tool exported per-request data but no goodput (no --goodput given):
    a request counts when every SLO metric it carries is within its limit.
    """
    if not slo or not duration_s:
        return None
    good = 0
    for rec in records:
        ok = True
        for name, limit in slo.items():
            value = rec.get(SLO_METRICS.get(name, name))
            if value is None or float(value) > float(limit):
                ok = False
                break
        good += ok
    return good / float(duration_s)


def aiperf_request_records(jsonl_path):
    """Per-request metric values from AIPerf's profile_export.jsonl, {metric: value}."""
    records = []
    with open(jsonl_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            metrics = row.get("metrics") or {}
            records.append({k: v.get("value") for k, v in metrics.items() if isinstance(v, dict)})
    return records
