# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of the capacity search (pure): where to probe next, and which point to repeat.

`judged` maps load -> _slo.judge_repeats output plus "ratio" {slo name: value / limit};
`state` is _capacity_search's. next_probe works on the bracket [lo, hi]: the highest pass
and the lowest failure above it, or, before any failure, max and one bracket more (so that
reaching max is part of the search).
  bounds: where each latency SLO's ratio r reaches 1 on lines through measured points, r
    against the load: the chord between lo and hi crosses below the boundary and the lines
    through the two highest passes or the two lowest failures cross above it, on a convex
    curve (linear growth with the batch or the queue, a hockey stick, M/M/1). When those
    lines give nothing inside the bracket, the same lines in 1 / r (linear for M/M/1,
    where r grows like a pole), whose chord crosses above and extensions below. A point
    that fails its error rate gives no line: its latencies are those of the requests that
    survived an overload. An estimate that rounds onto a bracket end is no estimate.
  target: when one estimate lies within a unit (_capacity_plan.to_units) of the far end
    of the bracket, the load that closes the bracket from that end if it is right; when
    the estimates are a unit apart or less (or there is one), the pair of loads around
    them that meets the precision, probing first the one that, if they are right, leaves
    the shorter bracket; else halfway between them, in units; with none, halfway across.
  projection (ITP, Oliveira and Takahashi 2020): the target is moved into the window where
    both parts of the split bracket take at most the halvings left: the plan's worst case
    (_capacity_plan.needed_points) less the points taken, at least what the bracket needs.
    Brackets are counted in cells (_capacity_plan.cells), exactly for whole clients, so no
    curve, a cliff no estimate foresees included, costs more than that worst case, and
    each probe an estimate saves widens the window of the next ones.
  repeats (repeats_due, slack): a bracket end whose verdict is uncertain and matters is run
    again only while the budget, after that run, still holds the probes that the bracket
    may take in the worst case, whichever way the run turns the verdict (a failure that
    passes reopens the bracket up to the next failure): repeats spend the slack that the
    estimates saved, never the probes, so a search stops at the precision within the budget.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_plan as cplan
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo_mod


def latency_logs(cfg, judgement):
    """{slo name: log(value / limit)} of the latency SLOs the point measured above 0."""
    out = {}
    for s in cfg["slo"]:
        ratio = judgement["ratio"].get(s["name"])
        if s["kind"] == "latency" and ratio:
            out[s["name"]] = math.log(ratio)
    return out


def units(cfg, x):
    return cplan.to_units(x, cfg["precision"], cfg["integer"])


def load_at(cfg, u):
    return cplan.from_units(u, cfg["precision"], cfg["integer"])


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


def crossing(x1, r1, x2, r2, inverse=False):
    """Load where the line through (x1, r1), (x2, r2), x1 < x2, reaches r = 1, in r against
    load or, inverse, in 1 / r against load; None unless r rises with the load."""
    if r2 <= r1:
        return None
    y1, y2 = (1 / r1, 1 / r2) if inverse else (r1, r2)
    return x1 + (1 - y1) * (x2 - x1) / (y2 - y1)


def _ratios(cfg, judgement):
    """{slo name: value / limit} of the latency SLOs the point measured above 0, None when
    the point fails its error rate (the latencies of the requests that survived an
    overload, not a point of the curve)."""
    if slo_mod.ERROR_RATE in judgement["failed"]:
        return None
    return {n: math.exp(f) for n, f in latency_logs(cfg, judgement).items()}


def _slo_bounds(pairs, name, inverse):
    """(lows, highs) of one SLO from point pairs [(x1, ratios1, x2, ratios2, kind)], kind
    'chord' (a pass and a failure) or 'ext' (two passes, or two failures): where the lines
    reach the limit in r against load (inverse: 1 / r)."""
    lows, highs = [], []
    for x1, r1, x2, r2, kind in pairs:
        if name in r1 and name in r2:
            value = crossing(x1, r1[name], x2, r2[name], inverse)
            if value is not None:
                (lows if (kind == "chord") != inverse else highs).append(value)
    return lows, highs


def _pairs(cfg, judged, lo, hi):
    """The SLOs failing at hi (all at lo before a failure) and the point pairs of bounds."""
    at_lo = _ratios(cfg, judged[lo]) or {}
    at_hi = _ratios(cfg, judged[hi]) if hi is not None else None
    names = [n for n, r in at_hi.items() if r > 1] if at_hi else list(at_lo)
    pairs = [(lo, at_lo, hi, at_hi, "chord")] if at_hi else []
    below = sorted(x for x, j in judged.items() if x < lo and j["leaning"] == "pass")
    if below:
        pairs.append((below[-1], _ratios(cfg, judged[below[-1]]) or {}, lo, at_lo, "ext"))
    above = sorted(x for x, j in judged.items() if hi and x > hi and j["leaning"] == "fail")
    if at_hi and above and _ratios(cfg, judged[above[0]]):
        pairs.append((hi, at_hi, above[0], _ratios(cfg, judged[above[0]]), "ext"))
    return names, pairs


def _inside(cfg, x, lo, top, way):
    """Whether x, rounded as a probe there would be (down, way -1, or up), lies strictly
    inside (lo, top): an estimate that rounds onto a measured end says nothing new."""
    if cfg["integer"]:
        x = math.floor(x + 1e-9) if way < 0 else math.ceil(x - 1e-9)
        return lo < x < top
    margin = 1.005  # what rounding to 3 significant digits may move a load by
    return lo * margin < x < top / margin


def bounds(state, judged, lo, hi):
    """(low, high): estimates strictly inside the bracket below and above which the boundary
    lies (see the module's docstring); None where the points give none."""
    cfg = state["config"]
    top = hi if hi is not None else cfg["max"]
    names, pairs = _pairs(cfg, judged, lo, hi)
    for inverse in (False, True):
        low = high = None
        for i, n in enumerate(names):
            lows, highs = _slo_bounds(pairs, n, inverse)
            # the boundary is the first SLO's crossing: below the least of the highs,
            # above the least of the lows (unknown while an SLO has none)
            low = min(max(lows), low or top) if lows and (i == 0 or low) else None
            high = min(*highs, high or top) if highs else high
        low = low if low is not None and _inside(cfg, low, lo, top, -1) else None
        high = high if high is not None and _inside(cfg, high, lo, top, 1) else None
        if low is not None and high is not None and high < low:
            low = high = None  # not convex: no estimate holds
        if low is not None or high is not None:
            return low, high
    return None, None


def pass_partner(cfg, fail, lo):
    """The lowest load above lo that with a failure at `fail` meets the precision."""
    if cfg["integer"]:
        return max(lo + 1, min(fail - 1, int(math.ceil(fail / (1 + cfg["precision"]) - 1e-9))))
    return round_load(cfg, fail / (1 + cfg["precision"]), lo, fail, 1)


def fail_partner(cfg, passed, hi):
    """The highest load below hi (None: max) that with a pass at `passed` meets the
    precision."""
    if cfg["integer"]:
        top = cfg["max"] if hi is None else hi - 1
        return min(top, max(passed + 1, int(math.floor(passed * (1 + cfg["precision"]) + 1e-9))))
    return round_load(cfg, passed * (1 + cfg["precision"]), passed, hi, -1)


def _rounded(cfg, x, lo, hi, way):
    return round_load(cfg, x, lo, hi, way) if lo < x and (hi is None or x < hi) else x


def target(state, judged, lo, hi, a, b):
    """(units, reason): where to probe in [a, b] (lo, hi in units) before projection."""
    cfg = state["config"]
    low, high = bounds(state, judged, lo, hi)
    move = "interpolate" if hi is not None else "bracket"
    if low is None and high is None:
        return (a + b) / 2, "bisect" if hi is not None else "bracket"
    if low is not None and b - units(cfg, low) <= 1:
        return units(cfg, pass_partner(cfg, hi, lo)), "close"  # done if low is right
    if high is not None and units(cfg, high) - a <= 1:
        return units(cfg, fail_partner(cfg, lo, hi)), "close"  # done if high is right
    if low is not None and high is not None and units(cfg, high) - units(cfg, low) > 1:
        return (units(cfg, low) + units(cfg, high)) / 2, move
    # a pair of probes that meets the precision around the estimate(s): probe the one that,
    # if they are right, leaves the shorter bracket; the other then closes it
    if high is not None:
        fail = _rounded(cfg, high, lo, hi, 1)
        passed = _rounded(cfg, low, lo, fail, -1) if low else pass_partner(cfg, fail, lo)
    else:
        passed = _rounded(cfg, low, lo, hi, -1)
        fail = fail_partner(cfg, passed, hi)
    if b - units(cfg, fail) > units(cfg, passed) - a:
        return units(cfg, fail), "straddle"
    return units(cfg, passed), "straddle"


def span(cfg, lo, hi):
    """Cells (_capacity_plan.cells) of [lo, hi]; hi None: up to max and one more."""
    if hi is None:
        return span(cfg, lo, cfg["max"]) + 1 if lo < cfg["max"] else 1
    return cplan.cells(lo, hi, cfg["precision"], cfg["integer"])


def allowed(state, width):
    """Points the search may still take towards the precision: the plan's worst case less
    the steps taken (repeats aside), within the budget, at least the halvings of width."""
    cfg = state["config"]
    steps = len([r for r in state["runs"] if r["reason"] != "repeat"])
    total = (
        cfg.get("needed")
        or cplan.needed_points(cfg["min"], cfg["max"], cfg["precision"], cfg["integer"])[0]
    )
    left = min(total - steps, cfg["budget"] - len(state["runs"]))
    return max(left, cplan.halvings(width), 1)


def _edge(ok, first, last):
    """The first integer of [first, last] where ok turns true (ok monotone), else None."""
    if first > last or not ok(last):
        return None
    while first < last:
        mid = (first + last) // 2
        first, last = (first, mid) if ok(mid) else (mid + 1, last)
    return first


def next_probe(state, judged, lo, hi):
    """(load, reason): the next probe above the highest pass lo (hi: the lowest failure
    above it, or None), moved into the window where halvings still finish in time: both
    parts of the bracket it splits at most 2 ** (allowed - 1) cells."""
    cfg = state["config"]
    a = units(cfg, lo)
    b = units(cfg, hi) if hi is not None else units(cfg, cfg["max"]) + 1
    c, reason = target(state, judged, lo, hi, a, b)
    reach = 2.0 ** (allowed(state, span(cfg, lo, hi)) - 1)
    if not cfg["integer"]:
        first, last = max(b - reach, a), min(a + reach, b, units(cfg, cfg["max"]))
        c = min(max(c, first), last)
        window = (load_at(cfg, first), load_at(cfg, last))
        return round_load(cfg, load_at(cfg, c), lo, hi, 0, window), reason
    x = round_load(cfg, load_at(cfg, c), lo, hi)
    top = cfg["max"] if hi is None else hi - 1
    first = _edge(lambda y: span(cfg, y, hi) <= reach, lo + 1, top)
    last = _edge(lambda y: span(cfg, lo, y) > reach, lo + 1, top)
    last = top if last is None else last - 1
    if first is None or first > last:  # behind the plan (points given): the chain's middle
        return _edge(lambda y: span(cfg, lo, y) >= span(cfg, y, hi), lo + 1, top) or x, reason
    return min(max(x, first), last), reason


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


def repeats_due(state, judged, loads):
    """The loads (of loads) whose verdict is uncertain, may be repeated (fewer than
    max_repeats runs) and matters: a wrong verdict could move the boundary by more than half
    the precision."""
    cfg = state["config"]
    half = math.log1p(cfg["precision"]) / 2
    due = []
    for x in loads:
        j = judged.get(x)
        if not j or j["verdict"] != "uncertain" or j["repeats"] >= cfg["max_repeats"]:
            continue
        for check in j["checks"]:
            if check["verdict"] == "uncertain":
                shift = boundary_shift(cfg, judged, x, check)
                if shift is None or shift > half:
                    due.append(x)
                    break
    return due


def _flipped(judged, lo, hi, x):
    """The bracket (lo, hi) if the leaning verdict of x, one of its ends, turned over: a
    failure that passes brackets up to the next failure above it; a pass that fails, down
    to the pass below it (None: the lower end fails, the search stops)."""
    if x == hi or lo is None:
        above = [y for y, j in judged.items() if y > x and j["leaning"] == "fail"]
        return x, (min(above) if above else None)
    below = [y for y, j in judged.items() if y < x and j["leaning"] == "pass"]
    return (max(below) if below else None), x


def probes_left(cfg, lo, hi):
    """Probes that the bracket [lo, hi] may still take, in the worst case: its halvings (0
    once it meets the precision; 0 without a pass, where the search stops)."""
    if lo is None:
        return 0
    return cplan.halvings(span(cfg, lo, hi))


def slack(state, judged, lo, hi, x):
    """Runs of the budget left after one more run of x, one of the bracket's ends, and the
    probes the bracket may still take in the worst case, whichever way that run turns the
    verdict of x: a repeat is affordable when this is 0 or more (then the search still
    reaches the precision within the budget, as the ITP projection guarantees). A lower end
    that fails (lo None) is repeated while the budget has a run left: the search stops there
    with an error unless it passes."""
    cfg = state["config"]
    need = probes_left(cfg, lo, hi)
    if lo is not None:  # a failing lower end is an error: it is repeated while runs are left
        need = max(need, probes_left(cfg, *_flipped(judged, lo, hi, x)))
    return cfg["budget"] - len(state["runs"]) - 1 - need
