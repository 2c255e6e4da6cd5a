# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark profiles, input validation, sweep planning, resume state and aggregation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import itertools
import json
import math
import os

# Named profiles. `tutorial` is the Triton vLLM tutorial's genai-perf run: 10 prompts,
# seed 123, 128 in / 128 out, concurrency 1, KServe gRPC streaming on :8001.
PROFILES = {
    "tutorial": {
        "num_prompts": 10,
        "seed": 123,
        "lengths": [[128, 128]],
        "concurrency": [1],
        "request_rates": [],
        "request_count": 10,
        "repeats": 1,
        "warmup_requests": 2,
        "engine_args": {},
    },
    # the tutorial's batch run: 2048 in / 2048 out at batch 16 (client concurrency 16 and a
    # server that schedules 16 sequences at once)
    "batch16": {
        "num_prompts": 32,
        "seed": 123,
        "lengths": [[2048, 2048]],
        "concurrency": [16],
        "request_rates": [],
        "request_count": 32,
        "repeats": 1,
        "warmup_requests": 16,
        "engine_args": {"max_num_seqs": [16]},
    },
    # the tutorial's engine-arg change: the server may batch up to 900 sequences
    "max_num_seqs_900": {
        "num_prompts": 100,
        "seed": 123,
        "lengths": [[128, 128]],
        "concurrency": [1, 16, 64],
        "request_rates": [],
        "request_count": 128,
        "repeats": 1,
        "warmup_requests": 8,
        "engine_args": {"max_num_seqs": [900]},
    },
    # tiny and quick: CI on a 2-core CPU host
    "ci_small": {
        "num_prompts": 8,
        "seed": 123,
        "lengths": [[32, 16]],
        "concurrency": [1, 4],
        "request_rates": [],
        "request_count": 8,
        "repeats": 2,
        "warmup_requests": 2,
        "engine_args": {},
    },
}
OVERRIDABLE = (
    "num_prompts",
    "seed",
    "lengths",
    "concurrency",
    "request_rates",
    "request_count",
    "repeats",
    "warmup_requests",
    "engine_args",
)
SPREAD_METRICS = ("output_token_throughput", "ttft_ms_p50", "itl_ms_p50", "request_latency_ms_p50")


class SweepError(Exception):
    """Invalid benchmark input; the message names the variable and the fix."""


def resolve_profile(name, overrides=None):
    """Profile `name` with the non-empty overrides applied (lists replace, not merge)."""
    if name not in PROFILES:
        raise SweepError(
            "unknown benchmark_profile %r: choose one of %s" % (name, ", ".join(sorted(PROFILES)))
        )
    cfg = json.loads(json.dumps(PROFILES[name]))
    cfg["profile"] = name
    for key, value in (overrides or {}).items():
        if key not in OVERRIDABLE:
            raise SweepError("unknown sweep option %r" % key)
        if value is None:
            continue
        cfg[key] = value
    return cfg


def _positive_ints(values, var, allow_empty=False):
    if not isinstance(values, (list, tuple)) or (not values and not allow_empty):
        raise SweepError("%s must be a non-empty list of positive integers" % var)
    out = []
    for v in values:
        try:
            iv = int(v)
        except (TypeError, ValueError):
            iv = 0
        if iv <= 0 or str(iv) != str(v).strip():
            raise SweepError("%s must hold positive integers, got %r" % (var, v))
        out.append(iv)
    return out


def validate(cfg, max_model_len=None):
    """Raise SweepError for the first bad input; return the normalized config."""
    rates = cfg.get("request_rates") or []
    cfg["request_rates"] = []
    for r in rates:
        try:
            fr = float(r)
        except (TypeError, ValueError):
            fr = -1.0
        if fr <= 0:
            raise SweepError("benchmark_request_rates must hold positive numbers, got %r" % r)
        cfg["request_rates"].append(fr)
    cfg["concurrency"] = _positive_ints(
        cfg.get("concurrency"), "benchmark_concurrency", allow_empty=bool(cfg["request_rates"])
    )
    lengths = cfg.get("lengths")
    if not isinstance(lengths, (list, tuple)) or not lengths:
        raise SweepError("benchmark_lengths must be a non-empty list of [input, output] pairs")
    pairs = []
    for pair in lengths:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise SweepError("benchmark_lengths entries are [input, output] pairs, got %r" % pair)
        inp, out = _positive_ints(list(pair), "benchmark_lengths")
        if max_model_len and inp + out > int(max_model_len):
            raise SweepError(
                "benchmark_lengths %d input + %d output tokens exceed the served model's "
                "max_model_len %d: shorten the lengths or raise max_model_len"
                % (inp, out, int(max_model_len))
            )
        pairs.append([inp, out])
    cfg["lengths"] = pairs
    for key in ("num_prompts", "request_count", "repeats"):
        cfg[key] = _positive_ints([cfg.get(key)], "benchmark_" + key)[0]
    cfg["warmup_requests"] = int(cfg.get("warmup_requests") or 0)
    if cfg["warmup_requests"] < 0:
        raise SweepError("benchmark_warmup_requests must be >= 0")
    ea = cfg.get("engine_args") or {}
    if not isinstance(ea, dict) or any(not isinstance(v, list) or not v for v in ea.values()):
        raise SweepError(
            "benchmark_engine_args_sweep must map an engine arg to a non-empty list of values"
        )
    cfg["engine_args"] = ea
    return cfg


def server_configs(cfg):
    """Cartesian product of the engine-arg sweep: [{arg: value}, ...] ([{}] without one)."""
    names = sorted(cfg.get("engine_args") or {})
    if not names:
        return [{}]
    combos = itertools.product(*(cfg["engine_args"][n] for n in names))
    return [dict(zip(names, combo, strict=True)) for combo in combos]


def server_slug(server):
    if not server:
        return "default"
    return "_".join("%s-%s" % (k, server[k]) for k in sorted(server))


def point_id(point):
    if point.get("request_rate"):
        load = "rr%g" % point["request_rate"]
    else:
        load = "c%d" % point["concurrency"]
    return "%s__in%d-out%d__%s" % (
        server_slug(point.get("server")),
        point["input_tokens"],
        point["output_tokens"],
        load,
    )


def plan(cfg):
    """Every point of the sweep, grouped by server config, in run order."""
    points = []
    for server in server_configs(cfg):
        for inp, out in cfg["lengths"]:
            loads = [("concurrency", c) for c in cfg["concurrency"]]
            loads += [("request_rate", r) for r in cfg["request_rates"]]
            for kind, value in loads:
                conc = value if kind == "concurrency" else None
                p = {
                    "server": server,
                    "input_tokens": inp,
                    "output_tokens": out,
                    "concurrency": conc,
                    "request_rate": value if kind == "request_rate" else None,
                    # enough requests to keep every slot busy at least twice
                    "request_count": max(cfg["request_count"], 2 * (conc or 1)),
                    "repeats": cfg["repeats"],
                }
                p["id"] = point_id(p)
                points.append(p)
    return points


# ---- resume state -------------------------------------------------------------------


def point_dir(workspace, pid):
    return os.path.join(workspace, "points", pid)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def point_state(workspace, pid):
    """'done' (point.json with status ok), 'failed', or 'missing'."""
    data = load_json(os.path.join(point_dir(workspace, pid), "point.json"))
    if not data:
        return "missing"
    return "done" if data.get("status") == "ok" else "failed"


def repeat_done(workspace, pid, rep):
    data = load_json(os.path.join(point_dir(workspace, pid), "rep%d" % rep, "result.json"))
    return bool(data and data.get("client"))


# ---- aggregation --------------------------------------------------------------------


def _stats(values):
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals)) if len(vals) > 1 else 0.0
    spread = (max(vals) - min(vals)) / abs(mean) if mean else 0.0
    return {"mean": mean, "std": std, "min": min(vals), "max": max(vals), "spread": spread}


# A client ITL under this fraction of the server's own per-token time cannot be generation:
# the tokens reached the client in bursts (seen with Triton on 2 busy cores: the whole answer
# arrived with the last token) and the client's ITL measures its reading, not the server.
BURST_FRACTION = 0.1


def bursty_delivery(row):
    """True when the client's ITL p50 is below BURST_FRACTION of the server's mean gap
    between tokens (ITL, or Triton's TPOT); None when either side is missing."""
    client = (row["metrics"].get("itl_ms_p50") or {}).get("mean")
    server = row["server_metrics"].get("itl_ms_mean") or row["server_metrics"].get("tpot_ms_mean")
    server = (server or {}).get("mean")
    if client is None or not server:
        return None
    return client < BURST_FRACTION * server


def aggregate(point, repeats, threshold):
    """Mean and spread over the repeats of one point; flags repeats that disagree."""
    clients = [r["client"] for r in repeats]
    servers = [r.get("server") or {} for r in repeats]
    row = {
        "id": point["id"],
        "server": point.get("server") or {},
        "concurrency": point.get("concurrency"),
        "request_rate": point.get("request_rate"),
        "input_tokens": point["input_tokens"],
        "output_tokens": point["output_tokens"],
        "repeats": len(repeats),
        "metrics": {},
        "server_metrics": {},
        "unstable": [],
        "status": "ok",
    }
    keys = sorted({k for c in clients for k in c})
    for key in keys:
        st = _stats([c.get(k) for c in clients for k in [key]])
        if st is None:
            continue
        row["metrics"][key] = st
        if key in SPREAD_METRICS and len(repeats) > 1 and st["spread"] > threshold:
            row["unstable"].append(key)
    for key in sorted({k for s in servers for k in s}):
        st = _stats([s.get(key) for s in servers])
        if st is not None:
            row["server_metrics"][key] = st
    fams = [r.get("server_families") for r in repeats if r.get("server_families")]
    if fams:
        row["server_absent_families"] = sorted({f for fam in fams for f in fam.get("absent") or []})
        row["server_inter_token_source"] = fams[-1].get("inter_token_source")
    row["bursty_delivery"] = bursty_delivery(row)
    client_tps = row["metrics"].get("output_token_throughput", {}).get("mean")
    server_tps = row["server_metrics"].get("output_token_throughput", {}).get("mean")
    row["fidelity"] = client_tps / server_tps if client_tps and server_tps else None
    return row
