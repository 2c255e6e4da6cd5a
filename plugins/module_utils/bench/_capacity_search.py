# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity under an SLO: a search driven from outside (pure, no I/O).

    state = new_search(validate_search(...))
    while True:
        step = next_point(state)      # {"done": False, "load", "reason", "repeat"} or done
        if step["done"]: break
        record(state, step["load"], measure(step["load"]), step["reason"])
    answer = result(state)

The state is plain JSON (config, points with their repeats' records, the run order): save
it, or rebuild it by record()ing the points of the resume store in the order they were
measured; next_point() is a function of it alone and never proposes a load the state
already has, except as an explicit repeat.

Strategy (the steps are in _capacity_steps). The lower end first (it must pass, else the
search stops with the measured values); then every probe is placed by estimates of the
boundary from lines through the measured SLO metrics (the two highest passes, the chord to
the lowest failure, the two lowest failures), closing the bracket at once when an estimate
sits a unit of precision from its end, and kept where bisection of the bracket (max and
one more while nothing failed) still finishes within the plan's worst case,
_capacity_plan.needed_points (ITP): 8 points over 1..256 clients at 5 %, whatever the
curve. An uncertain verdict (see _slo) of a bracket end is repeated, up to max_repeats
runs of the point, when a wrong verdict could move the boundary by more than half the
precision (its interval over the metric's log-log slope), and only from the slack of the
budget: when, after that run, the budget still holds the probes that the bracket may need
in the worst case, whichever way the run turns the verdict (_capacity_steps.slack). The
default budget is the plan's worst case, so repeats only spend the points that the
estimates saved, and a search never takes more runs than bisection would. Else, and once
repeats are spent, it goes by the means; when the budget left a due repeat out, the stop
message says so ("budget: ... spares no run to repeat ...").

Why not more: on the simulated servers with 3 % noise on every latency (100 seeds,
scripts/bench_capacity_search.py) repeats taken beyond the worst case (the former default
budget, worst case + 6) raised the share of answers within the precision of the noiseless
truth from 93.6 % to 96.2 % at 8.3 mean points (up to 12); within the worst case it is
93.6 % at 7.25 mean points (never above 8), where a grid of single runs at the same
precision gets 91 %, and the answers outside the precision lie in the noise band of the
boundary (loads whose single-run verdict the noise flips) as the grid's do. A rule that
repeats whenever the budget holds the current bracket's probes (not the flipped one's)
took 7.5 points at the same accuracy and stopped on the budget, short of the precision, in
5 % of the searches.

The answer is the highest passing load (capacity) and the lowest failing load above it:
measured points above the capacity all fail. A failing point below a passing one is
non-monotone: the result says so (non_monotone, notes), and the answer is the boundary
above the highest pass. A dip of an SLO metric with load is noted too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)


from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_steps as steps
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo_mod

KEEP = (
    "error_count",
    "request_count",
    "goodput",
    "osl_avg",
    "output_token_throughput",
    "request_throughput",
)


def new_search(cfg):
    """A fresh state from validate_search()'s config."""
    return {"version": 1, "config": dict(cfg), "points": [], "runs": []}


def _slim(rec):
    out = {}
    for key, value in rec.items():
        if key in KEEP or "_ms_" in key:
            out[key] = value if isinstance(value, (int, float)) or value is None else None
    return out


def _records(measured):
    """A record, a list of repeat records, or None (no request succeeded) -> records."""
    if measured is None:
        return [{"request_count": 0, "error_count": 1}]
    if isinstance(measured, dict):
        measured = [measured]
    return [
        _slim(r) if isinstance(r, dict) else {"request_count": 0, "error_count": 1}
        for r in measured
    ]


def _key(state, load):
    cfg = state["config"]
    return int(round(load)) if cfg["integer"] else float(load)


def record(state, load, measured, reason=None):
    """Add the measured repeat(s) at `load`; a load already there gains repeats."""
    load = _key(state, load)
    recs = _records(measured)
    for point in state["points"]:
        if point["load"] == load:
            point["repeats"].extend(recs)
            break
    else:
        state["points"].append({"load": load, "repeats": recs})
    lo, hi = _bracket(_judged(state))
    state["runs"].append({"load": load, "reason": reason or "given", "bracket": [lo, hi]})
    return state


# ---- the verdicts ---------------------------------------------------------------------


def _judged(state):
    cfg = state["config"]
    out = {}
    for point in state["points"]:
        j = slo_mod.judge_repeats(cfg["slo"], point["repeats"], cfg["noise"])
        j["ratio"] = {c["name"]: c.get("ratio") for c in j["checks"]}
        out[point["load"]] = j
    return out


def _bracket(judged):
    """(highest passing load, lowest failing load above it), by the leaning verdicts."""
    passes = [x for x, j in judged.items() if j["leaning"] == "pass"]
    lo = max(passes) if passes else None
    fails = [x for x, j in judged.items() if j["leaning"] == "fail" and (lo is None or x > lo)]
    return lo, (min(fails) if fails else None)


def _converged(cfg, lo, hi):
    if cfg["integer"] and hi - lo <= 1:
        return True
    return (hi - lo) / lo <= cfg["precision"] * (1 + 1e-9)


def _done(stop, message, error=None):
    return {"done": True, "stop": stop, "message": message, "error": error}


def _violation(cfg, judgement):
    parts = []
    for c in judgement["checks"]:
        if c["leaning"] == "fail":
            unit = "" if c["name"] == slo_mod.ERROR_RATE else " ms"
            parts.append("%s = %.4g%s > %g%s" % (c["name"], c["value"], unit, c["limit"], unit))
    return ", ".join(parts)


def _repeats(state, judged, lo, hi):
    """(the bracket end to repeat now or None, the ends whose repeat is due but that the
    budget leaves no run for: they go by their means)."""
    cfg = state["config"]
    short = []
    ends = [x for x in (cfg["min"] if lo is None else lo, hi) if x is not None]
    for x in steps.repeats_due(state, judged, ends):
        if steps.slack(state, judged, lo, hi, x) >= 0:
            return x, short
        short.append(x)
    return None, short


def _by_means(cfg, judged, short, sep=""):
    """What the search says of the ends it could not repeat (see _repeats), or ''."""
    if not short:
        return ""
    return "%sbudget: benchmark_search_budget=%d spares no run to repeat %s" % (
        sep,
        cfg["budget"],
        ", ".join(
            "%g (%s uncertain; %s on the mean of %d run%s)"
            % (
                x,
                ", ".join(judged[x]["uncertain"]),
                "passes" if judged[x]["leaning"] == "pass" else "fails",
                judged[x]["repeats"],
                "" if judged[x]["repeats"] == 1 else "s",
            )
            for x in short
        ),
    )


def next_point(state):
    """The next load to measure, {"done": False, "load", "reason", "repeat"}, or
    {"done": True, "stop", "message", "error"}; stop is precision, max_meets_slo, budget or
    min_violates (then error says what was measured and what to change). A message ends in
    "budget: ... spares no run to repeat ..." when a bracket end's repeat was due but the
    budget had no slack left for it."""
    cfg = state["config"]
    judged = _judged(state)
    used = len(state["runs"])
    if cfg["min"] not in judged:
        if used >= cfg["budget"]:
            return _done("budget", "budget exhausted before the lower end was measured")
        return {"done": False, "load": cfg["min"], "reason": "min", "repeat": False}
    lo, hi = _bracket(judged)
    due, short = _repeats(state, judged, lo, hi)
    if due is not None:
        return {"done": False, "load": due, "reason": "repeat", "repeat": True}
    if lo is None:
        msg = (
            "benchmark_search_min=%g already violates benchmark_slo at %s %g: %s: lower "
            "benchmark_search_min or relax benchmark_slo"
            % (cfg["min"], cfg["load"], cfg["min"], _violation(cfg, judged[cfg["min"]]))
        )
        return _done("min_violates", msg, error=msg)
    if hi is None and lo >= cfg["max"]:
        return _done(
            "max_meets_slo",
            "meets benchmark_slo up to benchmark_search_max=%g (%s): raise "
            "benchmark_search_max to find the limit%s"
            % (cfg["max"], cfg["load"], _by_means(cfg, judged, short, "; ")),
        )
    if hi is not None and _converged(cfg, lo, hi):
        return _done(
            "precision",
            "capacity %g %s (first failing %g, +-%.1f %%)%s"
            % (lo, cfg["load"], hi, 100 * (hi - lo) / lo, _by_means(cfg, judged, short, "; ")),
        )
    if used >= cfg["budget"]:
        where = "[%g, %s]" % (lo, "above %g" % cfg["max"] if hi is None else "%g" % hi)
        return _done(
            "budget", "budget exhausted after %d points: the boundary lies in %s" % (used, where)
        )
    load, reason = steps.next_probe(state, judged, lo, hi)
    return {"done": False, "load": load, "reason": reason, "repeat": False}


# ---- the answer -----------------------------------------------------------------------


def _mean(recs, key):
    vals = [r.get(key) for r in recs if isinstance(r.get(key), (int, float))]
    return sum(vals) / len(vals) if vals else None


def goodput(recs):
    """{value, unit, source} at a point: output tokens/s of the requests meeting every SLO
    (the tools' goodput in req/s times the mean output length) when the point carries it,
    else the output token throughput."""
    good, osl = _mean(recs, "goodput"), _mean(recs, "osl_avg")
    if good is not None and osl is not None:
        return {"value": good * osl, "unit": "tokens/s", "source": "goodput"}
    tps = _mean(recs, "output_token_throughput")
    return {"value": tps, "unit": "tokens/s", "source": "throughput"}


def _notes(cfg, judged, lo):
    notes, names = [], [s["name"] for s in cfg["slo"] if s["kind"] == "latency"]
    if lo is not None:
        below = sorted(x for x, j in judged.items() if x < lo and j["leaning"] == "fail")
        if below:
            notes.append(
                "non-monotone: %s fails at %s below the capacity %g"
                % (cfg["load"], ", ".join("%g" % x for x in below), lo)
            )
    loads = sorted(judged)
    for name in names:
        vals = [(x, judged[x]["ratio"].get(name)) for x in loads]
        vals = [(x, r) for x, r in vals if r]
        for i in range(1, len(vals)):
            (x1, r1), (x2, r2) = vals[i - 1], vals[i]
            if r2 < 0.9 * r1:
                notes.append(
                    "%s drops from %.4g to %.4g of its limit between %g and %g"
                    % (name, r1, r2, x1, x2)
                )
    return notes


def result(state):
    """The answer: capacity, first_failing, bracket, relative_uncertainty, goodput,
    points_used, points (per load, in order, with verdicts), stop, message, error,
    non_monotone, notes, slo."""
    cfg = state["config"]
    judged = _judged(state)
    lo, hi = _bracket(judged)
    step = next_point(state)
    if not step["done"]:
        step = {
            "stop": "incomplete",
            "message": "the search has more points to measure",
            "error": None,
        }
    by_load = {p["load"]: p for p in state["points"]}
    points = []
    for p in state["points"]:
        j = judged[p["load"]]
        points.append(
            {
                "load": p["load"],
                "runs": [r["reason"] for r in state["runs"] if r["load"] == p["load"]],
                "verdict": j["verdict"],
                "leaning": j["leaning"],
                "failed": j["failed"],
                "values": {c["name"]: c["value"] for c in j["checks"]},
            }
        )
    notes = _notes(cfg, judged, lo)
    return {
        "load": cfg["load"],
        "capacity": lo,
        "first_failing": hi,
        "bracket": [lo, hi],
        "relative_uncertainty": (hi - lo) / lo if lo and hi else None,
        "goodput": goodput(by_load[lo]["repeats"]) if lo is not None else None,
        "at_capacity": judged[lo]["checks"] if lo is not None else None,
        "points_used": len(state["runs"]),
        "loads_measured": len(state["points"]),
        "points": points,
        "stop": step["stop"],
        "message": step["message"],
        "error": step["error"],
        "non_monotone": any(n.startswith("non-monotone") for n in notes),
        "notes": notes,
        "slo": slo_mod.describe(cfg["slo"]),
        "precision": cfg["precision"],
        "budget": cfg["budget"],
    }
