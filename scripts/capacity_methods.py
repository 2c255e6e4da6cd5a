# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The methods scripts/bench_capacity_search.py compares (the search, doubling + bisection,
the exhaustive grid) and how their answers are judged: the noise band of a measured curve
(band_of_runs) and agreement with a band (agrees). Each method takes cfg (validate_search())
and measure(load) -> a normalized point record, and returns (capacity, first failing)."""

import math
import time

from ansible_collections.llmserve.triton.plugins.module_utils.bench import (
    _capacity_search as cs,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo


def passes(cfg, rec):
    return _slo.judge_point(cfg["slo"], rec)["verdict"] == "pass"


def _mid(cfg, lo, hi):
    return (lo + hi) // 2 if cfg["integer"] else float("%.3g" % ((lo + hi) / 2.0))


def _done(cfg, lo, hi):
    return (hi - lo) / lo <= cfg["precision"] or cfg["integer"] and hi - lo <= 1


def doubling(cfg, measure):
    """Doubling from min to the first failure, then bisection: (capacity, first failing)."""
    lo, hi, x = None, None, cfg["min"]
    while True:
        if passes(cfg, measure(x)):
            lo = x
            if x >= cfg["max"]:
                return lo, None
            x = min(2 * x, cfg["max"])
        else:
            hi = x
            break
    if lo is None:
        return None, hi
    while not _done(cfg, lo, hi):
        mid = _mid(cfg, lo, hi)
        if mid in (lo, hi):
            break
        if passes(cfg, measure(mid)):
            lo = mid
        else:
            hi = mid
    return lo, hi


def grid_loads(cfg):
    """A geometric grid of ratio 1 + precision over [min, max] (integers: deduplicated)."""
    n = int(math.ceil(math.log(cfg["max"] / cfg["min"]) / math.log1p(cfg["precision"])))
    loads = [cfg["min"] * (1 + cfg["precision"]) ** k for k in range(n)] + [cfg["max"]]
    if cfg["integer"]:
        return sorted({int(round(x)) for x in loads})
    return sorted({float("%.4g" % x) for x in loads})


def grid(cfg, measure):
    """Every grid load; the last pass that only failures follow, and the failure after it."""
    loads = grid_loads(cfg)
    ok = [passes(cfg, measure(x)) for x in loads]
    last = max((i for i, good in enumerate(ok) if good), default=None)
    if last is None:
        return None, loads[0]
    return loads[last], (loads[last + 1] if last + 1 < len(loads) else None)


def search(cfg, measure):
    state = cs.new_search(cfg)
    while True:
        step = cs.next_point(state)
        if step["done"]:
            res = cs.result(state)
            return res["capacity"], res["first_failing"]
        cs.record(state, step["load"], measure(step["load"]), step["reason"])


METHODS = (("search", search), ("doubling", doubling), ("grid", grid))


def band_of_runs(runs):
    """The noise band of a measured curve, (low, high), from single runs [(load, passed)]
    (one per load, any order): high is the highest passing load; low the first failing load
    above the longest stretch of consecutive passing loads below high (the highest such
    stretch on a tie), when there is one below high: the mixed-verdict loads, where single
    runs disagree with a boundary, from the lowest failure to the highest pass (the longest
    stretch leaves out a failing bump far below). (high, high) when no failure lies below
    the highest pass; None when no run passes."""
    runs = sorted(runs)
    passing = [x for x, ok in runs if ok]
    if not passing:
        return None
    high = max(passing)
    best_len, best_end, length = 0, -1, 0
    for i, (x, ok) in enumerate(runs):
        if x >= high:
            break
        length = length + 1 if ok else 0
        if ok and length >= best_len:
            best_len, best_end = length, i
    fails = [x for x, ok in runs[best_end + 1 :] if not ok and x < high]
    return (fails[0] if fails else high), high


def grid_runs(cfg, records, keys):
    """[(load, passed)] of the grid's runs: keys [(load, k)] into records {(load, k): record
    or None (the run failed: it fails)}."""
    return [(x, records.get((x, k)) is not None and passes(cfg, records[(x, k)])) for x, k in keys]


def agrees(answer, band, precision):
    """Whether an answer lies in the band (band_of_runs, or SimServer.band) widened by the
    precision: band[0] (1 - precision) <= answer <= band[1] (1 + precision); with no band
    (nothing passes) whether there is no answer either."""
    if band is None or answer is None:
        return band is None and answer is None
    eps = 1e-9
    return band[0] * (1 - precision - eps) <= answer <= band[1] * (1 + precision + eps)


class Counted:
    """measure(load) that remembers the loads it was asked for."""

    def __init__(self, measure):
        self.measure, self.calls, self.records = measure, [], []

    def __call__(self, load):
        self.calls.append(load)
        self.records.append(self.measure(load))
        return self.records[-1]


def compare(name, measure_factory, cfg, truth, band=None):
    """Run every method with its own measure() (measure_factory() makes one); a row. band:
    the truth's noise band (default: the truth alone)."""
    band = (truth, truth) if band is None and truth is not None else band
    row = {"curve": name, "truth": truth, "band": band}
    grid_counted = None
    for label, method in METHODS:
        counted = Counted(measure_factory())
        calls = counted.calls
        if label == "grid":
            grid_counted = counted
        t0 = time.perf_counter()
        cap, _first = method(cfg, counted)
        row[label] = {"answer": cap, "points": len(calls), "ms": 1000 * (time.perf_counter() - t0)}
        ok = cap is not None and truth and abs(cap - truth) / truth <= cfg["precision"]
        row[label]["ok"] = bool(ok)
        row[label]["agree"] = agrees(cap, band, cfg["precision"])
    keys = [(x, 0) for x in grid_counted.calls]
    records = dict(zip(keys, grid_counted.records, strict=True))
    row["grid_band"] = band_of_runs(grid_runs(cfg, records, keys))
    for label, _m in METHODS:
        row[label]["grid"] = agrees(row[label]["answer"], row["grid_band"], cfg["precision"])
    return row
