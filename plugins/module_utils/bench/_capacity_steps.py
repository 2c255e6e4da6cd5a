# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of the capacity search (pure): where to probe next, and which point to repeat.

Loads are handled in log space (u = log load); an SLO metric as f = log(value / limit), so
the boundary is where the first SLO's f crosses 0. `judged` maps load -> _slo.judge_repeats
output plus "ratio" {slo name: value / limit}; `state` is _capacity_search's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_plan as cplan

GROWTH_MIN = 1.5  # the smallest step of the bracketing phase


def latency_logs(cfg, judgement):
    """{slo name: log(value / limit)} of the latency SLOs the point measured above 0."""
    out = {}
    for s in cfg["slo"]:
        ratio = judgement["ratio"].get(s["name"])
        if s["kind"] == "latency" and ratio:
            out[s["name"]] = math.log(ratio)
    return out


def round_load(cfg, x, lo, hi, way=0, window=None):
    """x as a load strictly between lo and hi (hi None: at most max), rounded to an integer
    or to the fewest significant digits (3 or more) that keep it there and in window:
    up (way 1), down (-1) or to the nearest (0)."""
    top = cfg["max"] if hi is None else hi
    if cfg["integer"]:
        x = math.ceil(x - 1e-9) if way > 0 else math.floor(x + 1e-9) if way < 0 else round(x)
        return int(max(lo + 1, min(top if hi is None else hi - 1, x)))
    first, last = window or (lo, top)
    for digits in range(3, 16):
        scale = 10 ** (digits - 1 - int(math.floor(math.log10(x))))
        r = x * scale
        r = math.ceil(r - 1e-9) if way > 0 else math.floor(r + 1e-9) if way < 0 else round(r)
        r = float("%.*g" % (digits, r / scale))
        inside = lo < r and (r <= top if hi is None else r < top)
        if inside and first * (1 - 1e-12) <= r <= last * (1 + 1e-12):
            return r
    return x


def bracket_step(state, judged, lo):
    """The next probe above the highest pass lo: where the SLO metrics, extrapolated
    log-log through the two highest passes (one pass: linear in load), reach their limits;
    growing at least GROWTH_MIN times (more when the budget left needs it to reach max) and
    at most _capacity_plan.GROWTH times."""
    cfg = state["config"]
    passes = sorted(x for x, j in judged.items() if j["leaning"] == "pass")
    logs_hi = latency_logs(cfg, judged[lo])
    est = math.inf
    if len(passes) >= 2:
        x1 = passes[-2]
        logs_lo = latency_logs(cfg, judged[x1])
        for name, f2 in logs_hi.items():
            f1 = logs_lo.get(name)
            if f1 is not None and f2 > f1:
                slope = (f2 - f1) / math.log(lo / x1)
                est = min(est, math.log(lo) - f2 / slope)
    elif logs_hi:
        est = math.log(lo) - max(logs_hi.values())  # latency linear in load
    left = cfg["budget"] - len(state["runs"])
    _total, _bracket_n, narrow = cplan.needed_points(
        lo, cfg["max"], cfg["precision"], cfg["integer"]
    )
    probes = max(1, left - narrow)
    g_min = max(GROWTH_MIN, (cfg["max"] / lo) ** (1.0 / probes))
    u = min(max(est, math.log(lo * g_min)), math.log(lo * cplan.GROWTH))
    return round_load(cfg, min(math.exp(u), cfg["max"]), lo, None)


def secant_root(u1, f1, u2, f2):
    """Log load where the line through (u1, f1), (u2, f2) crosses 0, None if it rises not."""
    return u1 - f1 * (u2 - u1) / (f2 - f1) if f2 > f1 else None


def estimates(cfg, judged, lo, hi):
    """(low, high) estimates of the log load where the first SLO failing at hi crosses its
    limit: the chord between lo and hi, and the lines through the two highest passing
    points and through hi and the next failing point. On a convex curve (log metric against
    log load: flat, then climbing) the chord lands below the crossing, the others above."""
    f_lo, f_hi = latency_logs(cfg, judged[lo]), latency_logs(cfg, judged[hi])
    names = [n for n in f_hi if f_hi[n] > 0]
    a, b = math.log(lo), math.log(hi)
    chords = [secant_root(a, f_lo[n], b, f_hi[n]) for n in names if n in f_lo]
    chords = [c for c in chords if c is not None]
    if not chords:
        return None, None
    ups = []
    below = sorted(x for x, j in judged.items() if x < lo and j["leaning"] == "pass")
    above = sorted(x for x, j in judged.items() if x > hi and j["leaning"] == "fail")
    for other, u_pair in ((below[-1:], a), (above[:1], b)):
        if not other:
            continue
        f_other = latency_logs(cfg, judged[other[0]])
        f_pair = f_lo if u_pair == a else f_hi
        for n in names:
            if n in f_other and n in f_pair:
                u = math.log(other[0])
                (u1, f1), (u2, f2) = sorted([(u, f_other[n]), (u_pair, f_pair[n])])
                root = secant_root(u1, f1, u2, f2)
                if root is not None:
                    ups.append(root)
    low = min(max(min(chords), a), b)
    high = min(max(min(ups), low), b) if ups else b
    return low, high


def log_width(run):
    lo, hi = run.get("bracket") or (None, None)
    return math.log(hi / lo) if lo and hi else None


def stalled(state):
    """True when the last two steps (repeats aside) together did not halve the bracket."""
    steps = [r for r in state["runs"] if r["reason"] != "repeat"][-3:]
    widths = [log_width(r) for r in steps]
    return len(widths) == 3 and None not in widths and widths[2] > widths[0] / 2


def narrow_step(state, judged, lo, hi):
    cfg = state["config"]
    a, b = math.log(lo), math.log(hi)
    t = math.log1p(cfg["precision"])
    low, high = estimates(cfg, judged, lo, hi)
    way = 0
    if low is None or stalled(state):
        c, reason = (a + b) / 2, "bisect"
    elif b - low <= t:
        c, reason, way = b - t, "close", 1  # passes if low is right: done
    elif high - a <= t:
        c, reason, way = a + t, "close", -1  # fails if high is right: done
    elif high - low <= t:
        # a pair of probes t apart around [low, high]: the second one closes
        c = (low + high + t) / 2 if b - high > low - a else (low + high - t) / 2
        reason = "straddle"
    else:
        c, reason = (low + high) / 2, "interpolate"
    return project(cfg, lo, hi, c, way, cfg["budget"] - len(state["runs"])), reason


def project(cfg, lo, hi, c, way, left):
    """The load for log load c, moved where bisection (in log load) still finishes within
    `left` runs (this one included): after it the bracket may be at most 2 ** (left - 1)
    times the final width. For concurrency the final width is max(1, floor(precision * lo))
    clients; when no integer is left in that window, the window of integer bisection."""
    a, b = math.log(lo), math.log(hi)
    t = math.log1p(cfg["precision"])
    if cfg["integer"]:
        k = max(1, math.floor(cfg["precision"] * lo))
        t = min(t, math.log1p(k / float(lo)))
    allowed = min(t * 2 ** max(left - 1, 0), b - a)
    if b - allowed > a + allowed:
        return round_load(cfg, math.sqrt(lo * hi), lo, hi)
    first, last = math.exp(b - allowed), math.exp(a + allowed)
    if not cfg["integer"]:
        return round_load(
            cfg, math.exp(min(max(c, b - allowed), a + allowed)), lo, hi, way, (first, last)
        )
    x = round_load(cfg, math.exp(c), lo, hi, way)
    first, last = max(math.ceil(first - 1e-9), lo + 1), min(math.floor(last + 1e-9), hi - 1)
    if first > last:
        n_allowed = k * 2 ** (left - 1)
        first, last = max(hi - n_allowed, lo + 1), min(lo + n_allowed, hi - 1)
    return min(max(x, first), last) if first <= last else x


def boundary_shift(cfg, judged, x, check):
    """How far (log load) the boundary could move if this uncertain latency verdict is wrong:
    the metric's interval against its limit, over its log-log slope towards the nearest
    measured neighbour; None when no slope is known (error rate, no rising neighbour)."""
    name, (low, high) = check["name"], check.get("interval") or (None, None)
    if "std" not in check or check["value"] is None or low is None or high <= 0:
        return None  # error rates, unmeasured metrics
    neighbours = sorted((abs(math.log(y / x)), y) for y in judged if y != x)
    for _dist, y in neighbours:
        other = judged[y]["ratio"].get(name)
        if other:
            slope = math.log(other / check["ratio"]) / math.log(y / x)
            if slope <= 0:
                return None
            spread = max(math.log(high / check["limit"]), math.log(check["limit"] / max(low, 1e-9)))
            return spread / slope
    return None


def repeat_due(state, judged, loads):
    """The first of loads whose verdict is uncertain, may be repeated, and matters: a wrong
    verdict could move the boundary by more than half the precision."""
    cfg = state["config"]
    half = math.log1p(cfg["precision"]) / 2
    for x in loads:
        j = judged.get(x)
        if not j or j["verdict"] != "uncertain" or j["repeats"] >= cfg["max_repeats"]:
            continue
        for check in j["checks"]:
            if check["verdict"] == "uncertain":
                shift = boundary_shift(cfg, judged, x, check)
                if shift is None or shift > half:
                    return x
    return None
