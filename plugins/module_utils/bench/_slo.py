# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service-level objectives of the capacity search: parse, validate, judge points (pure).

An SLO names a field of the normalized point record (see _parse) and a limit:
  <ttft_ms|itl_ms|request_latency_ms>_<avg|p50|p90|p99>: <ms>   e.g. ttft_ms_p99: 2000
  <ttft_ms|itl_ms|request_latency_ms>: <ms>                       the p99 (DEFAULT_STAT)
  error_rate: <fraction of requests>                             e.g. 0.01
The statistics are those the sweep records (_parse.STATS); error_rate is
error_count / (request_count + error_count), pooled over the repeats. Every search judges
error_rate: DEFAULT_ERROR_RATE unless benchmark_slo sets it. An empty benchmark_slo means
DEFAULT_SLO, modelled on MLPerf Inference's Llama-2-70B server scenario (TTFT p99 2 s,
TPOT p99 200 ms).

Verdict of one point over its repeats (judge_repeats), per SLO:
  latency: mean m and sample std s of the repeats' values (n of them; with one repeat
    s = noise * m, 0 unless a noise prior is given). The interval m +- 2 s / sqrt(n)
    (a normal 95 % interval on the mean, without the t correction so that two or three
    repeats can settle a point): pass when it lies at or below the limit, fail when it lies
    above, uncertain when it holds the limit.
  error_rate: no error at all passes (no run length can show 1 % otherwise); with errors,
    the Wilson 95 % interval on errors / requests decides the same way.
The point fails when one SLO certainly fails, is uncertain when one is uncertain and
none fails, and passes otherwise. "leaning" is the verdict of the plain means (what the
search goes by once it may repeat no more). An SLO whose metric the point lacks (ITL
dropped as unmeasured, a run where no request succeeded) is "unmeasured" and not judged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math

from ansible_collections.llmserve.triton.plugins.module_utils.bench._parse import (
    LATENCY_KEYS,
    STATS,
)

DEFAULT_STAT = "p99"
DEFAULT_ERROR_RATE = 0.01
DEFAULT_SLO = {"ttft_ms_p99": 2000, "itl_ms_p99": 200, "error_rate": DEFAULT_ERROR_RATE}
ERROR_RATE = "error_rate"
Z = 2.0  # latency interval: mean +- Z * s / sqrt(n)
Z_WILSON = 1.96


class SloError(Exception):
    """Invalid benchmark_slo; the message names the key and the fix."""


def finite_number(value):
    """float(value) when it is a finite number (not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    return num if math.isfinite(num) else None


def _metric_of(key):
    """benchmark_slo key -> record field, or SloError naming what is wrong."""
    if key == ERROR_RATE:
        return key
    if key in LATENCY_KEYS:
        return "%s_%s" % (key, DEFAULT_STAT)
    for prefix in LATENCY_KEYS:
        if key.startswith(prefix + "_"):
            stat = key[len(prefix) + 1 :]
            if stat in STATS:
                return key
            raise SloError(
                "benchmark_slo: %s asks for %r, which the sweep does not record: use one of %s"
                % (key, stat, ", ".join(STATS))
            )
    raise SloError(
        "benchmark_slo: unknown metric %r: use %s with a statistic suffix (%s), or error_rate"
        % (key, ", ".join(LATENCY_KEYS), ", ".join("_" + s for s in STATS))
    )


def parse_slo(spec, default_error_rate=DEFAULT_ERROR_RATE):
    """benchmark_slo mapping -> sorted list of {name, metric, kind, limit, unit}.

    An empty or None spec means DEFAULT_SLO; error_rate is added when missing."""
    if spec is None or spec == {}:
        spec = DEFAULT_SLO
    if not isinstance(spec, dict):
        raise SloError(
            "benchmark_slo must be a mapping of metric to limit, e.g. "
            "{ttft_ms_p99: 2000, itl_ms_p99: 200, error_rate: 0.01}, got %r" % (spec,)
        )
    slos, seen = [], {}
    for key in sorted(spec, key=str):
        metric = _metric_of(str(key))
        if metric in seen:
            raise SloError(
                "benchmark_slo sets %s twice (as %s and %s): keep one" % (metric, seen[metric], key)
            )
        seen[metric] = key
        limit = finite_number(spec[key])
        if metric == ERROR_RATE:
            if limit is None or not 0 <= limit < 1:
                raise SloError(
                    "benchmark_slo: error_rate is a fraction of requests in [0, 1), got %r "
                    "(for 5 %% write 0.05)" % (spec[key],)
                )
            slos.append(dict(name=metric, metric=metric, kind="error_rate", limit=limit, unit=""))
            continue
        if limit is None or limit <= 0:
            raise SloError(
                "benchmark_slo: %s must be a positive number of milliseconds, got %r"
                % (key, spec[key])
            )
        slos.append(dict(name=metric, metric=metric, kind="latency", limit=limit, unit="ms"))
    if ERROR_RATE not in seen and default_error_rate is not None:
        limit = float(default_error_rate)
        slos.append(dict(name=ERROR_RATE, metric=ERROR_RATE, kind="error_rate", limit=limit))
        slos[-1]["unit"] = ""
    return sorted(slos, key=lambda s: s["name"])


def describe(slos):
    """'error_rate <= 0.01, ttft_ms_p99 <= 2000 ms' for messages and the plan."""
    return ", ".join(
        "%s <= %g%s" % (s["name"], s["limit"], " " + s["unit"] if s["unit"] else "") for s in slos
    )


def goodput_limits(slos):
    """The per-request limits for the tools' --goodput ({ttft_ms: 2000, ...}): a request
    counts as good when each of its latencies is within the SLO's limit."""
    out = {}
    for s in slos:
        if s["kind"] == "latency":
            prefix = s["metric"].rsplit("_", 1)[0]
            out[prefix] = min(s["limit"], out.get(prefix, s["limit"]))
    return out


def _as_list(records):
    if records is None:
        return []
    if isinstance(records, dict):
        return [records]
    return [r for r in records if isinstance(r, dict)]


def error_counts(records):
    """(errors, requests) pooled over the repeats; requests counts failed ones too."""
    errors = total = 0
    for rec in _as_list(records):
        err = int(finite_number(rec.get("error_count")) or 0)
        ok = int(finite_number(rec.get("request_count")) or 0)
        errors, total = errors + err, total + err + ok
    return errors, total


def wilson(errors, total, z=Z_WILSON):
    """Wilson score interval (lo, hi) of the fraction errors / total."""
    if total <= 0:
        return 0.0, 1.0
    p = errors / total
    den = 1 + z * z / total
    mid = (p + z * z / (2 * total)) / den
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _decide(low, high, value, limit):
    lean = "pass" if value <= limit else "fail"
    if high <= limit:
        return "pass", lean
    if low > limit:
        return "fail", lean
    return "uncertain", lean


def _check_latency(slo, records, noise):
    vals = [finite_number(r.get(slo["metric"])) for r in records]
    vals = [v for v in vals if v is not None]
    check = dict(name=slo["name"], limit=slo["limit"], n=len(vals))
    if not vals:
        return dict(check, value=None, verdict="unmeasured", leaning=None)
    n, mean = len(vals), sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else noise * mean
    half = Z * std / math.sqrt(n)
    verdict, lean = _decide(mean - half, mean + half, mean, slo["limit"])
    return dict(
        check,
        value=mean,
        std=std,
        interval=[mean - half, mean + half],
        margin=slo["limit"] - mean,
        ratio=mean / slo["limit"],
        verdict=verdict,
        leaning=lean,
    )


def _check_errors(slo, records):
    errors, total = error_counts(records)
    check = dict(name=slo["name"], limit=slo["limit"], n=total, errors=errors)
    if total == 0:
        return dict(check, value=None, verdict="unmeasured", leaning=None)
    rate = errors / total
    low, high = wilson(errors, total)
    if errors == 0:
        verdict, lean = "pass", "pass"
    else:
        verdict, lean = _decide(low, high, rate, slo["limit"])
    ratio = rate / slo["limit"] if slo["limit"] else None  # None: no ratio to a 0 limit
    return dict(
        check,
        value=rate,
        interval=[low, high],
        margin=slo["limit"] - rate,
        ratio=ratio,
        verdict=verdict,
        leaning=lean,
    )


def judge_repeats(slos, records, noise=0.0):
    """Verdict of one point over its repeats (a record or a list of records):
    {verdict: pass|fail|uncertain, leaning: pass|fail, checks: [...], failed, uncertain,
    unmeasured}. A failed measurement (None, or no request succeeded) fails error_rate."""
    recs = _as_list(records)
    checks = [
        _check_errors(s, recs) if s["kind"] == "error_rate" else _check_latency(s, recs, noise)
        for s in slos
    ]
    names = {v: [c["name"] for c in checks if c["verdict"] == v] for v in ("fail", "uncertain")}
    if names["fail"]:
        verdict = "fail"
    elif names["uncertain"]:
        verdict = "uncertain"
    else:
        verdict = "pass"
    return {
        "verdict": verdict,
        "leaning": "fail" if any(c["leaning"] == "fail" for c in checks) else "pass",
        "repeats": len(recs),
        "checks": checks,
        "failed": [c["name"] for c in checks if c["leaning"] == "fail"],
        "uncertain": names["uncertain"],
        "unmeasured": [c["name"] for c in checks if c["verdict"] == "unmeasured"],
    }


def judge_point(slos, record):
    """Pass/fail of one measurement by its values alone (no spread): judge_repeats of the
    single record, whose verdict is the leaning."""
    out = judge_repeats(slos, [record])
    out["verdict"] = out["leaning"]
    return out
