# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity search inputs: validation, the worst-case point count, the plan (pure).

benchmark_search=capacity finds the highest load (benchmark_search_load: concurrency, an
integer, or request_rate, requests/s) in [benchmark_search_min, benchmark_search_max]
that meets every SLO of benchmark_slo, to a relative precision benchmark_search_precision
(the search stops when (first failing - capacity) / capacity <= precision, or, for
concurrency, when they are adjacent integers), within benchmark_search_budget points.

Units (to_units): the search measures distances between loads in units of the precision,
so that it stops when its bracket spans about one unit: for request rates a unit is
log(1 + precision) in log load; for concurrency, where the bracket above a pass at x may
span max(1, floor(precision x)) clients, a unit near x is the gap of the pass x / (1 +
precision) below it (one client up to 42 at 5 %, about 5 % of the load above). Worst case
(needed_points): the lower end, then halvings of the range counted in brackets that meet
the precision (cells) plus one, the room above the upper end that measuring it takes when
every load passes: 8 points over 1..256 clients or 0.5..64 req/s at 5 %. The search keeps
every probe where those halvings can still finish (ITP), so it stops at the precision
within that worst case whatever the curve. The default budget is that worst case: the
search's runs, repeats included, never exceed it. Repeats of uncertain points only take
the runs that the probes did not need (_capacity_steps.slack): where the estimates close
the bracket early, their slack; a budget above the worst case adds runs for repeats only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo_mod
from ansible_collections.llmserve.triton.plugins.module_utils.bench._slo import (
    finite_number as _num,
)

SEARCHES = ("grid", "capacity")
LOADS = ("concurrency", "request_rate")
DEFAULTS = {
    "concurrency": {"min": 1, "max": 256},
    "request_rate": {"min": 0.5, "max": 128.0},
    "precision": 0.05,
    "max_repeats": 3,
}


class SearchError(Exception):
    """Invalid capacity-search input; the message names the variable and the fix."""


def _regions(precision):
    """(start, end, clients per unit) over concurrency: a bracket whose failing end is x
    may span the gap of its pass near x / (1 + precision), max(1, floor(precision x /
    (1 + precision))) clients, which grows by one at each ceil(g (1 + precision) /
    precision)."""
    start, gap = 0.0, 1
    while True:
        end = float(math.ceil((gap + 1) * (1 + precision) / precision - 1e-9))
        yield start, end, gap
        start, gap = end, gap + 1


def to_units(x, precision, integer=False):
    """The load x in units of the precision (see the module's docstring)."""
    if not integer:
        return math.log(x) / math.log1p(precision)
    total = 0.0
    for start, end, gap in _regions(precision):
        total += (min(x, end) - start) / gap
        if x <= end:
            return total


def from_units(units, precision, integer=False):
    """The load at `units` (to_units' inverse)."""
    if not integer:
        return math.exp(units * math.log1p(precision))
    for start, end, gap in _regions(precision):
        if units <= (end - start) / gap:
            return start + units * gap
        units -= (end - start) / gap


def halvings(width):
    """Halvings that take a bracket `width` units wide to one unit."""
    return 0 if width <= 1 else int(math.ceil(math.log(width, 2) - 1e-9))


def cells(lo, hi, precision, integer=False):
    """How many brackets that meet the precision cover [lo, hi] (hi None: up to max, see
    needed_points): log(hi / lo) / log(1 + precision) for request rates; for concurrency
    the links of the chain lo, lo + max(1, floor(precision lo)), ... up to hi, which
    bisection along the chain takes to one in ceil(log2(cells)) points."""
    if not integer:
        return math.log(hi / lo) / math.log1p(precision)
    count, x = 0, lo
    while x < hi:
        x += max(1, int(math.floor(precision * x + 1e-9)))
        count += 1
    return count


def needed_points(lo, hi, precision, integer=False):
    """Worst-case points of a search over [lo, hi]: (total, halvings), the total being the
    lower end and the halvings of the range plus one bracket (room to measure hi)."""
    steps = halvings(cells(lo, hi, precision, integer) + 1)
    return 1 + steps, steps


def _bound(value, var, load, integer):
    num = _num(value)
    if num is None or num <= 0 or integer and num != int(num):
        kind = "a positive integer" if integer else "a positive number (requests/s)"
        raise SearchError("%s must be %s for %s, got %r" % (var, kind, load, value))
    return int(num) if integer else num


def validate_search(
    search="capacity",
    slo=None,
    precision=None,
    budget=None,
    min_load=None,
    max_load=None,
    load="concurrency",
    max_repeats=None,
    noise=0.0,
):
    """One clear SearchError (or slo.SloError) for the first bad input; else the normalized
    config for new_search(): {load, integer, min, max, precision, budget, needed, halvings,
    max_repeats, noise, slo}. Returns None for benchmark_search=grid."""
    if search not in SEARCHES:
        raise SearchError(
            "benchmark_search must be one of %s, got %r: grid runs the sweep's points, "
            "capacity searches the highest load that meets benchmark_slo"
            % (", ".join(SEARCHES), search)
        )
    if search == "grid":
        return None
    if load not in LOADS:
        raise SearchError(
            "benchmark_search_load must be concurrency or request_rate, got %r" % (load,)
        )
    integer = load == "concurrency"
    lo = _bound(
        DEFAULTS[load]["min"] if min_load is None else min_load,
        "benchmark_search_min",
        load,
        integer,
    )
    hi = _bound(
        DEFAULTS[load]["max"] if max_load is None else max_load,
        "benchmark_search_max",
        load,
        integer,
    )
    if hi <= lo:
        raise SearchError(
            "benchmark_search_max (%g) must be above benchmark_search_min (%g)" % (hi, lo)
        )
    prec = DEFAULTS["precision"] if precision is None else _num(precision)
    if prec is None or not 0 < prec <= 0.5:
        raise SearchError(
            "benchmark_search_precision is the relative width of the answer, in (0, 0.5], "
            "got %r (for +-5 %% write 0.05)" % (precision,)
        )
    slos = slo_mod.parse_slo(slo)
    total, steps = needed_points(lo, hi, prec, integer)
    repeats = DEFAULTS["max_repeats"] if max_repeats is None else _num(max_repeats)
    if repeats is None or repeats < 1 or repeats != int(repeats):
        raise SearchError(
            "benchmark_search_max_repeats must be a positive integer, got %r" % (max_repeats,)
        )
    if budget is None:
        budget = total
    elif _num(budget) is None or _num(budget) != int(_num(budget)) or _num(budget) < total:
        raise SearchError(
            "benchmark_search_budget=%s is too small for benchmark_search_precision=%g over "
            "[%g, %g]: the search may need %d points (the lower end, then %d halvings of the "
            "range): raise the budget to %d or more, widen the precision, or narrow "
            "benchmark_search_min/max" % (budget, prec, lo, hi, total, steps, total)
        )
    noise = _num(noise)
    if noise is None or not 0 <= noise < 1:
        raise SearchError("benchmark_search_noise is a relative std in [0, 1), got %r" % (noise,))
    return {
        "load": load,
        "integer": integer,
        "min": lo,
        "max": hi,
        "precision": prec,
        "budget": int(_num(budget)),
        "needed": total,
        "halvings": steps,
        "max_repeats": int(repeats),
        "noise": noise,
        "slo": slos,
    }


def plan(cfg):
    """What check mode prints: the bracket, the budget, the precision and the SLOs."""
    unit = "" if cfg["integer"] else " req/s"
    return {
        "search": "capacity",
        "load": cfg["load"],
        "bracket": [cfg["min"], cfg["max"]],
        "precision": cfg["precision"],
        "budget": cfg["budget"],
        "worst_case_points": cfg["needed"],
        "slo": slo_mod.describe(cfg["slo"]),
        "text": (
            "capacity search over %s %g..%g%s: highest load meeting %s, to +-%g %%, "
            "at most %d points (worst case %d: the lower end, then %d halvings of the range; "
            "up to %d runs of a point whose verdict is uncertain, from the points the probes "
            "leave)"
            % (
                cfg["load"],
                cfg["min"],
                cfg["max"],
                unit,
                slo_mod.describe(cfg["slo"]),
                100 * cfg["precision"],
                cfg["budget"],
                cfg["needed"],
                cfg["halvings"],
                cfg["max_repeats"],
            )
        ),
    }
