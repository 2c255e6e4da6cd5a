#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity under an SLO: our search against doubling + bisection and an exhaustive grid
(prints figures; not a test).

    scripts/bench_capacity_search.py [--precision 0.05] [--seeds 20] [--noise 0.03]
                                     [--seconds-per-point 60] [--budget N]
    scripts/bench_capacity_search.py --server URL --model NAME [--tokenizer PATH]
                                     [--engine genai-perf|aiperf] [--exe PATH]
                                     [--kind openai|kserve|triton_generate]
                                     [--min 1] [--max 16] [--lengths 32,16]
                                     [--request-count 8] [--warmup 2]
                                     [--slo JSON | --calibrate METRIC] [--workspace DIR]
                                     [--prior-noise 0.0] [--budget N]

On the simulated servers of tests/unit/plugins/module_utils/_sim_servers.py (smooth,
queueing, M/M/1 request rate, plateau, cliff, non-monotone bumps, and the held-out steep
knee, boundary near either end and request latency binding; noiseless, then with seeded
noise; the means are printed apart for the held-out ones) each method finds the highest
load meeting the server's SLOs:
  search    bench/_capacity_search (estimates from the measured curve, kept where bisection
            still finishes within the plan's worst case; repeats uncertain points)
  doubling  min, 2 min, 4 min ... to the first failure, then bisection to the precision
            (the max-concurrency-under-SLA searches of AIPerf / GuideLLM style tools)
  grid      every load of a geometric grid of ratio 1 + precision over [min, max]
and the table shows the true boundary (dense grid of the noiseless curve), each answer,
the points each spent, whether the answer is within the precision of the truth, the
search's own compute time, and the wall time the points would take at --seconds-per-point.

"The same answer" under noise. With noise a load's single run may pass or fail, so the
boundary is a band, and "within the precision of the truth" asks more than any method's
single runs can give on a shallow curve. Two more columns:
  band  the truth's noise band, SimServer.band: from the boundary of the noiseless curve
        with every latency times exp(2 noise) to that of the curve with every latency
        times exp(-2 noise) (a single run of a load below the band passes, and one above
        it fails, with 97.7 % probability per SLO); the answer agrees when it lies in the
        band widened by the precision: low (1 - precision) <= answer <= high (1 + precision)
        (agrees()). Without noise the band is the truth, and this is the "ok" column.
  grid  the same test against the band of that seed's grid (band_of_runs: from the lowest
        failing run above the longest stretch of passing loads to the highest passing run:
        the mixed-verdict loads of the measured curve), what a live comparison can use.
On a live server (--server) the band is the grid's (band_of_runs of its runs, grid_runs) and
a method agrees with the grid when its answer lies in that band widened by the precision.

With --server the three methods run against a live server (e.g. the CPU demo model served by
the roles: --server http://127.0.0.1:8000 --model demo --tokenizer
/var/lib/llmserve/models/demo) through the sweep's own runner (bench/_runner: a discarded
warm-up per load, one measured run, the tool's export parsed as in a sweep). Each load is
measured once and shared by the methods (a method that asks for a load measured before gets
that measurement; the search's repeat of a load is its second run), so every method sees the
same curve and the table compares the methods, not the noise between runs; "truth" is then
the grid's answer (the highest passing load that only failures follow), the wall time of a
method is the sum of the runs it asked for, and the measured curve is printed with the
verdict of every run and which method asked for it. --workspace keeps the runs (a re-run
reads them back); --prior-noise is the search's benchmark_search_noise. --slo gives the
SLO; --calibrate METRIC (e.g. request_latency_ms_p50) measures the bracket's two ends first
and sets METRIC's limit to their geometric mean, so that it binds inside the bracket.
genai-perf needs LD_LIBRARY_PATH with libcudart (the role's venv: nvidia/cuda_runtime/lib).

Another server plugs in through compare(name, measure, cfg, truth): measure(load) returns
a normalized point record (see bench/_parse), cfg comes from validate_search().
"""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _capacity_plan as cplan,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _commands as cmds,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _runner as runner,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo  # noqa: E402
from ansible_collections.llmserve.triton.plugins.module_utils.bench import (  # noqa: E402
    _sweep as sweep,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capacity_methods import (  # noqa: E402
    METHODS,
    agrees,
    band_of_runs,
    compare,
    doubling,
    grid,
    grid_runs,
    passes,
    search,
)

SIM_PATH = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "_sim_servers.py")


def load_sim():
    spec = importlib.util.spec_from_file_location("_sim_servers", SIM_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fmt(x):
    return "-" if x is None else "%g" % x


def _ok(m, key="ok"):
    if key + "_share" in m:
        return "%3d%%" % round(100 * m[key + "_share"])
    return " yes" if m[key] else "  NO"


def _band(band):
    return "-" if band is None else "%.4g-%.4g" % band if band[0] != band[1] else "%.4g" % band[0]


def print_rows(rows, spp):
    head = "%-21s %7s %11s" % ("curve", "true", "band")
    for label, _m in METHODS:
        head += " | %-8s %5s %4s %4s %4s" % (label, "pts", "ok", "band", "grid")
    print(head + " | vs grid | search ms | hours at %gs/pt (search/doubling/grid)" % spp)
    for r in rows:
        line = "%-21s %7s %11s" % (r["curve"], _fmt(r["truth"]), _band(r.get("band")))
        for label, _m in METHODS:
            m = r[label]
            line += " | %-8s %5s %4s %4s %4s" % (
                _fmt(m["answer"]),
                "%g" % m["points"],
                _ok(m),
                _ok(m, "agree"),
                _ok(m, "grid"),
            )
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
    ap.add_argument(
        "--budget",
        type=int,
        default=None,
        help="the search's benchmark_search_budget (default: the plan's worst case); with "
        "--server, a second search row with this budget, on the same runs",
    )
    live = ap.add_argument_group("live server (--server)")
    live.add_argument("--server", help="base URL (openai, triton_generate) or host:port (kserve)")
    live.add_argument("--model", default="demo")
    live.add_argument("--tokenizer", default="")
    live.add_argument("--engine", default="genai-perf", choices=["genai-perf", "aiperf"])
    live.add_argument("--exe", help="the tool (default: the role's venv, else PATH)")
    live.add_argument("--kind", default="openai", choices=list(cmds.TARGET_KINDS))
    live.add_argument("--metrics-url", default="")
    live.add_argument("--load", default="concurrency", choices=["concurrency", "request_rate"])
    live.add_argument("--min", type=float, default=1)
    live.add_argument("--max", type=float, default=16)
    live.add_argument("--lengths", default="32,16", help="input,output tokens")
    live.add_argument("--request-count", type=int, default=8)
    live.add_argument("--warmup", type=int, default=2)
    live.add_argument("--slo", help='JSON, e.g. {"request_latency_ms_p50": 400}')
    live.add_argument("--calibrate", metavar="METRIC", help="SLO on METRIC between the ends")
    live.add_argument("--workspace", help="where the runs go (default: a temporary dir)")
    live.add_argument(
        "--prior-noise", type=float, default=0.0, help="benchmark_search_noise of the search"
    )
    args = ap.parse_args()
    if args.server:
        return live_main(args)
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
                budget=args.budget,
            )
            truth, _edges = server.truth(lambda rec, cfg=cfg: passes(cfg, rec))
            band = sim.SimServer(name, noise).band(lambda rec, cfg=cfg: passes(cfg, rec))
            seeds = range(args.seeds) if noise else [0]
            runs = [
                compare(
                    name,
                    lambda seed=seed, name=name, noise=noise: (
                        sim.SimServer(name, noise, seed).measure
                    ),
                    cfg,
                    truth,
                    band,
                )
                for seed in seeds
            ]
            rows.append(_mean_row(runs, "%s%s" % (name, " noise %g" % noise if noise else "")))
    print(
        "capacity search, +-%g %%, [min, max] per curve (concurrency [1, 256], "
        "request rate [0.5, 64]), budget %s; ok: the answer within the precision of the "
        "truth; band: the truth's noise band (SimServer.band: the boundaries of the curve with "
        "every latency x exp(+-2 noise), where a single run's verdict may flip) and whether "
        "the answer lies in it widened by the precision; grid: whether it lies in the grid's "
        "band (band_of_runs: its mixed-verdict loads) widened by the precision (noisy rows: "
        "median answer, mean points, share of %d seeds; the search gets the noise as its prior, "
        "benchmark_search_noise)"
        % (
            100 * args.precision,
            args.budget or "the worst case (default)",
            args.seeds,
        )
    )
    print_rows(rows, args.seconds_per_point)
    print_summary(rows, tuple(getattr(sim, "HELD_OUT", ())))


def _share(r, label, key):
    m = r[label]
    return m[key + "_share"] if key + "_share" in m else float(m[key])


def print_summary(rows, held):
    """Mean points (most in one search), and the shares within the precision and in the
    band, per method, noiseless and noisy, all curves and the held-out ones."""
    for noisy in (False, True):
        for label_set, names in ((", all curves", None), (", held out", held)):
            sel = [
                r
                for r in rows
                if ("noise" in r["curve"]) == noisy
                and (names is None or r["curve"].split()[0] in names)
            ]
            if not sel:
                continue
            print(
                "%s%s: %s"
                % (
                    "noisy" if noisy else "noiseless",
                    label_set,
                    "; ".join(
                        "%s %.2f points (max %g), %.0f %% ok, %.0f %% in band, %.0f %% grid"
                        % (
                            label,
                            sum(r[label]["points"] for r in sel) / len(sel),
                            max(r[label].get("max_points", r[label]["points"]) for r in sel),
                            100 * sum(_share(r, label, "ok") for r in sel) / len(sel),
                            100 * sum(_share(r, label, "agree") for r in sel) / len(sel),
                            100 * sum(_share(r, label, "grid") for r in sel) / len(sel),
                        )
                        for label, _m in METHODS
                    ),
                )
            )


class LiveServer:
    """measure(load) against a live server through the sweep's runner; each load measured
    once (the methods share the measurements), with the wall time of its runs."""

    def __init__(self, args, cfg):
        self.args, self.cfg = args, cfg
        self.ws = args.workspace or tempfile.mkdtemp(prefix="capacity-bench-")
        inp, out = (int(x) for x in args.lengths.split(","))
        self.lengths = (inp, out)
        exe = args.exe or os.path.join("/opt/llmserve/bench", args.engine, "bin", args.engine)
        if not os.path.exists(exe):
            exe = args.engine
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, check=False
        ).stdout
        version = ".".join(str(x) for x in cmds.parse_version(version))
        target = dict(
            url=args.server if args.engine == "aiperf" else args.server.split("://")[-1],
            kind=args.kind,
            model=args.model,
            endpoint_type="chat",
            tokenizer=args.tokenizer or None,
        )
        ctx = dict(
            engine=args.engine,
            version=version,
            exe=exe,
            target=target,
            options=dict(seed=123, num_prompts=args.request_count, slo=None),
            workspace=self.ws,
            threshold=0.1,
            metrics_url=args.metrics_url or None,
            model=args.model,
            warmup_requests=args.warmup,
        )
        self.runner = runner.Runner(ctx, self._run_cmd, self._fetch, time.monotonic)
        self.cache, self.wall = {}, {}

    @staticmethod
    def _run_cmd(cmd, cwd):
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    @staticmethod
    def _fetch(url):
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read().decode("utf-8", "replace")

    def point(self, load):
        conc = int(load) if self.cfg["integer"] else None
        p = dict(
            server={},
            input_tokens=self.lengths[0],
            output_tokens=self.lengths[1],
            concurrency=conc,
            request_rate=None if conc else float(load),
            request_count=max(self.args.request_count, 2 * (conc or 1)),
            repeats=1,
        )
        p["id"] = sweep.point_id(p)
        return p

    def key(self, load):
        return int(load) if self.cfg["integer"] else float(load)

    def measure(self, load, k=0):
        """The (k+1)-th run of `load` (rep<k+1>/ of the workspace; read back when there)."""
        key = (self.key(load), k)
        if key in self.cache:
            return self.cache[key]
        point = self.point(key[0])
        pdir = sweep.point_dir(self.ws, point["id"])
        rep = os.path.join(pdir, "rep%d" % (k + 1))
        stored = sweep.load_json(os.path.join(rep, "result.json"))
        t0 = time.monotonic()
        if stored and stored.get("client"):
            rec, wall = stored["client"], stored.get("wall_s") or 0.0
        else:
            try:
                warm = self.runner.ctx["warmup_requests"]
                if k == 0 and warm:
                    wdir = os.path.join(pdir, "warmup")
                    cmd = self.runner.command(point, wdir, max(warm, point["concurrency"] or 1))
                    self.runner._run_tool(cmd, wdir)
                rec = self.runner.measure(point, rep)["client"]
            except (runner.PointError, cmds.CommandError, OSError) as exc:
                print("  %s %g failed: %s" % (self.cfg["load"], key[0], exc), file=sys.stderr)
                rec = None
            wall = time.monotonic() - t0
            print("  measured %s %g (run %d) in %.1f s" % (self.cfg["load"], key[0], k + 1, wall))
        self.cache[key], self.wall[key] = rec, wall
        return rec


class MethodMeasure:
    """One method's measure(load): its k-th request of a load is the server's k-th run of it
    (shared with the other methods); keys lists what it used."""

    def __init__(self, server):
        self.server, self.keys, self.counts = server, [], {}

    def __call__(self, load):
        x = self.server.key(load)
        k = self.counts.get(x, 0)
        self.counts[x] = k + 1
        self.keys.append((x, k))
        return self.server.measure(x, k)


def live_main(args):
    slo = json.loads(args.slo) if args.slo else {"ttft_ms_p99": 1e9}
    integer = args.load == "concurrency"
    lo = int(args.min) if integer else args.min
    hi = int(args.max) if integer else args.max

    def config(slo, budget=None):
        return cplan.validate_search(
            slo=slo,
            load=args.load,
            min_load=lo,
            max_load=hi,
            precision=args.precision,
            noise=args.prior_noise,
            budget=budget,
        )

    cfg = config(slo)
    server = LiveServer(args, cfg)
    if args.calibrate:
        v_lo = (server.measure(lo) or {}).get(args.calibrate)
        v_hi = (server.measure(hi) or {}).get(args.calibrate)
        if not v_lo or not v_hi:
            sys.exit("cannot calibrate: %s missing at %g or %g" % (args.calibrate, lo, hi))
        slo = {args.calibrate: round(math.sqrt(v_lo * v_hi), 3)}
        print(
            "calibrated: %s %.4g at %g, %.4g at %g -> limit %g"
            % (args.calibrate, v_lo, lo, v_hi, hi, slo[args.calibrate])
        )
        cfg = config(slo)
        server.cfg = cfg
    t0 = time.monotonic()
    used = {}
    runs = [("grid", grid, cfg), ("search", search, cfg), ("doubling", doubling, cfg)]
    if args.budget:  # the search again with that budget, on the same runs
        runs.append(("search b=%d" % args.budget, search, config(slo, args.budget)))
    for label, method, method_cfg in runs:
        m = MethodMeasure(server)
        cap, _first = method(method_cfg, m)
        walls = sum(server.wall[k] for k in m.keys)
        used[label] = dict(answer=cap, points=len(m.keys), wall_s=walls, keys=m.keys)
    truth = used["grid"]["answer"]
    band = band_of_runs(grid_runs(cfg, server.cache, used["grid"]["keys"]))
    print(
        "\ncapacity search against %s (%s, %s %g..%g, lengths %s, %d requests per run), "
        "SLO %s, +-%g %%, noise prior %g; truth = the grid's answer; %d runs in %.0f s"
        % (
            args.server,
            args.engine,
            args.load,
            lo,
            hi,
            args.lengths,
            args.request_count,
            _slo.describe(cfg["slo"]),
            100 * args.precision,
            args.prior_noise,
            len(server.cache),
            time.monotonic() - t0,
        )
    )
    print(
        "the grid's noise band (its mixed-verdict loads, band_of_runs): %s; a method agrees "
        "with the grid when its answer lies in it widened by +-%g %%"
        % (_band(band), 100 * args.precision)
    )
    print(
        "%-9s %8s %6s %8s %7s %9s" % ("method", "answer", "points", "vs grid", "agrees", "wall s")
    )
    extra = [label for label, _method, _cfg in runs[len(METHODS) :]]  # the --budget search
    labels = [label for label, _m in METHODS] + extra
    for label in labels:
        m = used[label]
        diff = (m["answer"] - truth) / truth if m["answer"] and truth else None
        print(
            "%-9s %8s %6d %8s %7s %9.1f"
            % (
                label,
                _fmt(m["answer"]),
                m["points"],
                "-" if diff is None else "%+.1f%%" % (100 * diff),
                "yes" if agrees(m["answer"], band, args.precision) else "NO",
                m["wall_s"],
            )
        )
    names = [x["name"] for x in cfg["slo"]]
    print(
        "\nthe measured curve (first runs; S/D/G/B: asked by search, doubling, grid, the "
        "search with --budget):"
    )
    print("%6s %-5s %-7s %s" % (args.load[:6], "by", "verdict", "  ".join(names)))
    letters = [("S", "search"), ("D", "doubling"), ("G", "grid")]
    letters += [("B", label) for label in extra]
    for (x, k), rec in sorted(server.cache.items()):
        by = "".join(c for c, label in letters if (x, k) in used[label]["keys"])
        verdict = _slo.judge_point(cfg["slo"], rec)["verdict"] if rec else "failed"
        vals = [(rec or {}).get(n) for n in names]
        if names and "error_rate" in names:
            errs, total = _slo.error_counts(rec)
            vals[names.index("error_rate")] = errs / total if total else None
        print(
            "%6g %-5s %-7s %s%s"
            % (
                x,
                by,
                verdict,
                "  ".join("-" if v is None else "%.4g" % v for v in vals),
                "" if k == 0 else "  (run %d)" % (k + 1),
            )
        )
    print("runs in %s" % server.ws)


def _mean_row(runs, name):
    if len(runs) == 1:
        return dict(runs[0], curve=name)
    row = {"curve": name, "truth": runs[0]["truth"], "band": runs[0]["band"]}
    for label, _m in METHODS:
        vals = [r[label] for r in runs]
        row[label] = {
            "answer": sorted(v["answer"] or 0 for v in vals)[len(vals) // 2],
            "points": sum(v["points"] for v in vals) / float(len(vals)),
            "max_points": max(v["points"] for v in vals),
            "ms": sum(v["ms"] for v in vals) / len(vals),
            "ok_share": sum(v["ok"] for v in vals) / float(len(vals)),
            "agree_share": sum(v["agree"] for v in vals) / float(len(vals)),
            "grid_share": sum(v["grid"] for v in vals) / float(len(vals)),
        }
    return row


if __name__ == "__main__":
    main()
