#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity under an SLO: our search against doubling + bisection and an exhaustive grid
(prints figures; not a test).

    scripts/bench_capacity_search.py [--precision 0.05] [--seeds 20] [--noise 0.03]
                                     [--seconds-per-point 60]

On the simulated servers of tests/unit/plugins/module_utils/_sim_servers.py (smooth,
queueing, M/M/1 request rate, plateau, cliff, non-monotone bumps; noiseless, then with
seeded noise) each method finds the highest load meeting the server's SLOs:
  search    bench/_capacity_search (bracket, interpolate, close; repeats uncertain points)
  doubling  min, 2 min, 4 min ... to the first failure, then bisection to the precision
            (the max-concurrency-under-SLA searches of AIPerf / GuideLLM style tools)
  grid      every load of a geometric grid of ratio 1 + precision over [min, max]
and the table shows the true boundary (dense grid of the noiseless curve), each answer,
the points each spent, whether the answer is within the precision of the truth, the
search's own compute time, and the wall time the points would take at --seconds-per-point.

Another server plugs in through compare(name, measure, cfg, truth): measure(load) returns
a normalized point record (see bench/_parse), cfg comes from validate_search().
"""

import argparse
import importlib.util
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _capacity_plan as cplan,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _capacity_search as cs,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo  # noqa: E402

SIM_PATH = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "_sim_servers.py")


def load_sim():
    spec = importlib.util.spec_from_file_location("_sim_servers", SIM_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _passes(cfg, rec):
    return _slo.judge_point(cfg["slo"], rec)["verdict"] == "pass"


def _mid(cfg, lo, hi):
    return (lo + hi) // 2 if cfg["integer"] else float("%.3g" % ((lo + hi) / 2.0))


def _done(cfg, lo, hi):
    return (hi - lo) / lo <= cfg["precision"] or cfg["integer"] and hi - lo <= 1


def doubling(cfg, measure):
    """Doubling from min to the first failure, then bisection: (capacity, first failing)."""
    lo, hi, x = None, None, cfg["min"]
    while True:
        if _passes(cfg, measure(x)):
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
        if _passes(cfg, measure(mid)):
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
    ok = [_passes(cfg, measure(x)) for x in loads]
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


def _counting(measure, calls):
    """measure() that appends every load it is asked for to calls."""

    def counted(load):
        calls.append(load)
        return measure(load)

    return counted


def compare(name, measure_factory, cfg, truth):
    """Run every method with its own measure() (measure_factory() makes one); a row."""
    row = {"curve": name, "truth": truth}
    for label, method in METHODS:
        calls = []
        counted = _counting(measure_factory(), calls)
        t0 = time.perf_counter()
        cap, _first = method(cfg, counted)
        row[label] = {"answer": cap, "points": len(calls), "ms": 1000 * (time.perf_counter() - t0)}
        ok = cap is not None and truth and abs(cap - truth) / truth <= cfg["precision"]
        row[label]["ok"] = bool(ok)
    return row


def _fmt(x):
    return "-" if x is None else "%g" % x


def _ok(m):
    return "%3d%%" % round(100 * m["share"]) if "share" in m else (" yes" if m["ok"] else "  NO")


def print_rows(rows, spp):
    head = "%-21s %7s" % ("curve", "true")
    for label, _m in METHODS:
        head += " | %-8s %5s %4s" % (label, "pts", "ok")
    print(head + " | vs grid | search ms | hours at %gs/pt (search/doubling/grid)" % spp)
    for r in rows:
        line = "%-21s %7s" % (r["curve"], _fmt(r["truth"]))
        for label, _m in METHODS:
            m = r[label]
            line += " | %-8s %5s %4s" % (_fmt(m["answer"]), "%g" % m["points"], _ok(m))
        ours, grid_answer = r["search"]["answer"], r["grid"]["answer"]
        diff = (ours - grid_answer) / grid_answer if ours and grid_answer else None
        walls = "/".join("%.1f" % (r[label]["points"] * spp / 3600.0) for label, _m in METHODS)
        print(line + " | %+6.1f%% | %9.2f | %s" % (100 * (diff or 0), r["search"]["ms"], walls))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--precision", type=float, default=0.05)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--noise", type=float, default=0.03, help="relative std of the noisy runs")
    ap.add_argument("--seconds-per-point", type=float, default=60.0)
    args = ap.parse_args()
    sim = load_sim()
    rows = []
    for noise in (0.0, args.noise):
        for name in sim.SERVERS:
            server = sim.SimServer(name)
            cfg = cplan.validate_search(
                slo=server.slo,
                load=server.load,
                min_load=server.min,
                max_load=server.max,
                precision=args.precision,
                noise=noise,
            )
            truth, _edges = server.truth(lambda rec, cfg=cfg: _passes(cfg, rec))
            seeds = range(args.seeds) if noise else [0]
            runs = [
                compare(
                    name,
                    lambda seed=seed, name=name, noise=noise: (
                        sim.SimServer(name, noise, seed).measure
                    ),
                    cfg,
                    truth,
                )
                for seed in seeds
            ]
            rows.append(_mean_row(runs, "%s%s" % (name, " noise %g" % noise if noise else "")))
    print(
        "capacity search, +-%g %%, [min, max] per curve (concurrency [1, 256], "
        "request rate [0.5, 64]); ok: the answer within the precision of the truth (noisy rows: "
        "median answer, mean points, share of %d seeds within it; the search gets the "
        "noise as its prior, benchmark_search_noise)" % (100 * args.precision, args.seeds)
    )
    print_rows(rows, args.seconds_per_point)
    for noisy in (False, True):
        sel = [r for r in rows if ("noise" in r["curve"]) == noisy]
        print(
            "mean points (%s): %s"
            % (
                "noisy" if noisy else "noiseless",
                ", ".join(
                    "%s %.2f" % (label, sum(r[label]["points"] for r in sel) / len(sel))
                    for label, _m in METHODS
                ),
            )
        )


def _mean_row(runs, name):
    if len(runs) == 1:
        return dict(runs[0], curve=name)
    row = {"curve": name, "truth": runs[0]["truth"]}
    for label, _m in METHODS:
        vals = [r[label] for r in runs]
        row[label] = {
            "answer": sorted(v["answer"] or 0 for v in vals)[len(vals) // 2],
            "points": sum(v["points"] for v in vals) / float(len(vals)),
            "ms": sum(v["ms"] for v in vals) / len(vals),
            "ok": sum(v["ok"] for v in vals) / float(len(vals)) >= 0.9,
            "share": sum(v["ok"] for v in vals) / float(len(vals)),
        }
    return row


if __name__ == "__main__":
    main()
