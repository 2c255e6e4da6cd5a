# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capacity search on simulated servers: the boundary within the precision, the
points it spends, its inputs' errors, resuming, and the odd curves."""

import importlib.util
import json
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_plan as cp
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_search as cs
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo

_SPEC = importlib.util.spec_from_file_location(
    "_sim_servers", os.path.join(os.path.dirname(__file__), "_sim_servers.py")
)
sim = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sim)


def _cfg(server, **kw):
    args = dict(slo=server.slo, load=server.load, min_load=server.min, max_load=server.max)
    args.update(kw)
    return cp.validate_search(**args)


def _truth(server, cfg):
    return server.truth(
        lambda rec: _slo.judge_point(cfg["slo"], rec)["verdict"] == "pass", cfg["min"], cfg["max"]
    )


def _within(res, truth, cfg):
    return abs(res["capacity"] - truth) / float(truth) <= cfg["precision"]


# ---- the boundary and the points ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(sim.SERVERS))
def test_every_curve_at_most_8_points(name):
    """Each simulated curve, the held-out ones (sim.HELD_OUT) included: the boundary within
    the precision of the dense grid's, a real bracket, at most 8 points (the plan's worst
    case over 1..256 clients or 0.5..64 req/s at 5 %)."""
    server = sim.SimServer(name)
    cfg = _cfg(server)
    truth, _edges = _truth(server, cfg)
    res = sim.drive(cs, cfg, server.measure)
    assert res["stop"] == "precision" and _within(res, truth, cfg), res["points"]
    assert res["points_used"] <= 8 == cfg["needed"] and res["points_used"] == len(server.calls)
    json.dumps(res, allow_nan=False)  # what a module returns
    assert (
        res["relative_uncertainty"] <= cfg["precision"]
        or res["first_failing"] - res["capacity"] <= 1
    )
    # the bracket is real: the capacity passes and the first failing load fails
    assert _slo.judge_point(cfg["slo"], server.curve(res["capacity"]))["verdict"] == "pass"
    assert _slo.judge_point(cfg["slo"], server.curve(res["first_failing"]))["verdict"] == "fail"


def test_the_smooth_curves_take_fewer_points_than_the_worst_case():
    """Where the curve's lines predict the boundary the search closes early: the mean over
    the smooth curves well under the worst case (bisection would take 8 on each)."""
    used = []
    for name in sim.SMOOTH:
        server = sim.SimServer(name)
        used.append(sim.drive(cs, _cfg(server), server.measure)["points_used"])
    assert sum(used) / float(len(used)) <= 6, used


def _edge_curve(edge, shape, integer=True):
    """A curve whose boundary is `edge` exactly: a cliff, a line, a steep power."""

    def curve(x):
        rel = x / (edge + 0.5 if integer else edge)
        ratio = {"cliff": 0.5 if x <= edge else 2.0, "line": rel, "power": 0.3 + 0.7 * rel**4}
        return {"request_count": 10, "error_count": 0, "ttft_ms_p99": 100 * ratio[shape]}

    return curve


@pytest.mark.parametrize(
    "lo, hi, precision, stride",
    [(1, 256, 0.05, 1), (1, 64, 0.05, 1), (8, 1000, 0.1, 7), (2, 512, 0.02, 9), (1, 256, 0.3, 3)],
)
def test_no_curve_costs_more_than_the_worst_case(lo, hi, precision, stride):
    """The ITP projection: whatever the curve (a cliff that no estimate foresees included),
    at every boundary position, the search stops at the precision within needed_points."""
    cfg = cp.validate_search(
        slo={"ttft_ms_p99": 100}, min_load=lo, max_load=hi, precision=precision
    )
    for edge in list(range(lo, hi, stride)) + [hi]:
        for shape in ("cliff", "line", "power"):
            res = sim.drive(cs, cfg, _edge_curve(edge, shape))
            assert res["points_used"] <= cfg["needed"], (edge, shape, res["points"])
            assert res["stop"] == ("max_meets_slo" if edge >= hi else "precision")
            assert res["capacity"] <= edge < (res["first_failing"] or hi + 1)


def test_request_rates_within_the_worst_case():
    for edge in [0.6, 1.3, 2.9, 7.7, 18.5, 40.0, 63.0]:
        cfg = cp.validate_search(
            slo={"ttft_ms_p99": 100}, load="request_rate", min_load=0.5, max_load=64.0
        )
        for shape in ("cliff", "line", "power"):
            res = sim.drive(cs, cfg, _edge_curve(edge, shape, integer=False))
            assert res["stop"] == "precision" and res["points_used"] <= cfg["needed"] == 8
            assert res["capacity"] <= edge < res["first_failing"] <= 1.05 * res["capacity"]


def test_cliff_of_errors_is_judged_by_the_error_rate():
    server = sim.SimServer("cliff")
    cfg = _cfg(server, slo={"error_rate": 0.01})
    res = sim.drive(cs, cfg, server.measure)
    assert res["first_failing"] - res["capacity"] <= 0.05 * res["capacity"]
    assert res["capacity"] <= 89 < res["first_failing"]
    failed = [p for p in res["points"] if p["leaning"] == "fail"]
    assert failed and all(p["failed"] == ["error_rate"] for p in failed)


@pytest.mark.parametrize("name", ["smooth", "queueing", "mm1_rate"])
def test_noisy_curves(name):
    """2 % noise on every latency: 9 in 10 seeds within the precision, all within twice it;
    single runs, then with the noise prior (uncertain bracket ends are repeated)."""
    for prior in (0.0, 0.02):
        server = sim.SimServer(name)
        cfg = _cfg(server, noise=prior)
        truth, _edges = _truth(server, cfg)
        results = [
            sim.drive(cs, cfg, sim.SimServer(name, 0.02, seed).measure) for seed in range(20)
        ]
        errors = [abs(r["capacity"] - truth) / truth for r in results]
        assert sum(e <= cfg["precision"] for e in errors) >= 18, errors
        assert max(errors) <= 2 * cfg["precision"]
        points = [r["points_used"] for r in results]
        assert max(points) <= cfg["budget"] == cfg["needed"]
        if prior and name == "smooth":  # shallow: a wrong verdict would move the boundary
            assert any("repeat" in p["runs"] for r in results for p in r["points"])


NOISE = 0.03
SEEDS = 20


def _noisy(name, **kw):
    """(cfg, truth, band, results): the search with the noise as its prior over SEEDS seeds
    of the server with NOISE; truth and band from the noiseless curve (SimServer.band)."""
    server = sim.SimServer(name, NOISE)
    cfg = _cfg(server, noise=NOISE, **kw)
    truth, _edges = _truth(server, cfg)
    band = server.band(lambda rec: _slo.judge_point(cfg["slo"], rec)["verdict"] == "pass")
    results = [
        sim.drive(cs, cfg, sim.SimServer(name, NOISE, seed).measure) for seed in range(SEEDS)
    ]
    return cfg, truth, band, results


def _grid_answer(cfg, measure):
    """The single-run grid of ratio 1 + precision: its highest passing load."""
    loads, x = [], float(cfg["min"])
    while x < cfg["max"]:
        loads.append(x)
        x *= 1 + cfg["precision"]
    loads = sorted({int(round(y)) for y in loads + [cfg["max"]]})
    passing = [y for y in loads if _slo.judge_point(cfg["slo"], measure(y))["verdict"] == "pass"]
    return max(passing) if passing else None


@pytest.mark.parametrize("name", sorted(sim.SERVERS))
def test_noisy_searches_stay_within_the_worst_case(name):
    """3 % noise on every latency, the noise as the prior, the default budget: every search,
    repeats included, within the plan's worst case (the default budget), at the precision
    (the repeats only spend the probes' slack: a flipped verdict never leaves the bracket
    open), and its answer in the noise band of the noiseless truth widened by the precision."""
    cfg, _truth_value, band, results = _noisy(name)
    assert cfg["budget"] == cfg["needed"] == 8
    for res in results:
        assert res["points_used"] <= cfg["needed"], res["points"]
        assert res["stop"] in ("precision", "max_meets_slo"), res["message"]
        low, high = band
        assert low * (1 - cfg["precision"]) <= res["capacity"] <= high * (1 + cfg["precision"])


def test_the_stop_message_names_the_budget_when_the_slack_ran_out():
    """Where a bracket end stays uncertain because the budget holds no run beyond the probes
    a flipped verdict would need, the message says the budget left it to its mean; a larger
    budget buys the repeats."""
    cfg, _truth_value, _band, results = _noisy("smooth")
    short = [r for r in results if "spares no run" in r["message"]]
    assert short, [r["message"] for r in results]
    for res in short:
        assert res["stop"] == "precision" and res["points_used"] <= cfg["needed"]
        assert "budget: benchmark_search_budget=8 spares no run to repeat " in res["message"]
        assert "uncertain; " in res["message"] and " on the mean of " in res["message"]
    bigger, _t, _b, more = _noisy("smooth", budget=14)
    assert bigger["budget"] == 14 and not any("spares no run" in r["message"] for r in more)
    assert any(r["points_used"] > 8 for r in more)
    assert max(r["points_used"] for r in more) <= 14


def test_noisy_accuracy_at_least_the_single_run_grid():
    """Over the seeded sims with 3 % noise: the share of searches within the precision of
    the noiseless truth is at least that of a single-run grid at the same precision (on the
    same seeds' noise), per curve and over all."""
    ours = grids = 0
    for name in sorted(sim.SERVERS):
        cfg, truth, _band, results = _noisy(name)
        if cfg["load"] != "concurrency":
            continue
        hits = sum(abs(r["capacity"] - truth) / truth <= cfg["precision"] for r in results)
        grid = [
            _grid_answer(cfg, sim.SimServer(name, NOISE, seed).measure) for seed in range(SEEDS)
        ]
        grid_hits = sum(abs(g - truth) / truth <= cfg["precision"] for g in grid)
        assert hits >= grid_hits, (name, hits, grid_hits)
        ours, grids = ours + hits, grids + grid_hits
    assert ours >= grids


def test_the_default_budget_suffices_across_ranges():
    for name in sim.SERVERS:
        server = sim.SimServer(name)
        ranges = [(1, 64), (2, 512), (8, 1000)] if server.load == "concurrency" else []
        ranges = ranges or [(0.1, 8.0), (1.0, 200.0)]
        for lo, hi in ranges:
            for precision in (0.02, 0.1, 0.3):
                cfg = _cfg(server, min_load=lo, max_load=hi, precision=precision)
                res = sim.drive(cs, cfg, server.measure)
                assert res["stop"] in ("precision", "max_meets_slo"), (name, lo, hi, precision)


def test_request_rates_are_short_floats():
    server = sim.SimServer("mm1_rate")
    res = sim.drive(cs, _cfg(server), server.measure)
    assert all(isinstance(x, float) and len(("%g" % x).replace(".", "")) <= 4 for x in server.calls)
    assert res["load"] == "request_rate" and res["capacity"] < 18.53 < res["first_failing"]


# ---- the odd curves -------------------------------------------------------------------


def test_a_bump_below_the_limit_is_noted():
    """Points of the store on both sides of the bump (9, 16) seed the search: the dip of
    TTFT between them is noted, and the boundary above is found as on a monotone curve."""
    server = sim.SimServer("bump_under")
    cfg = _cfg(server, min_load=9)
    truth, _edges = _truth(server, cfg)
    state = cs.new_search(cfg)
    for load in (9, 16):
        cs.record(state, load, server.curve(load))
    while not cs.next_point(state)["done"]:
        load = cs.next_point(state)["load"]
        cs.record(state, load, server.measure(load), cs.next_point(state)["reason"])
    res = cs.result(state)
    assert _within(res, truth, cfg) and not res["non_monotone"]
    assert res["notes"] and "ttft_ms_p99 drops from" in res["notes"][0]
    assert res["points_used"] <= cfg["needed"]


def test_a_bump_over_the_limit_within_the_range_is_its_boundary():
    # over [1, 12] the last passing load is the bump's lower edge, 10
    server = sim.SimServer("bump_over")
    cfg = _cfg(server, max_load=12)
    assert _truth(server, cfg)[0] == 10
    res = sim.drive(cs, cfg, server.measure)
    assert (res["capacity"], res["first_failing"]) == (10, 11)


def test_failures_below_a_pass_are_non_monotone():
    """Points a grid sweep left in the store (12 inside the bump) seed the search: it
    answers above the highest pass that only failures follow, and says so."""
    server = sim.SimServer("bump_over")
    cfg = _cfg(server)
    state = cs.new_search(cfg)
    for load in (1, 12, 32):
        cs.record(state, load, server.curve(load))
    while True:
        step = cs.next_point(state)
        if step["done"]:
            break
        assert step["load"] not in (1, 12, 32)
        cs.record(state, step["load"], server.measure(step["load"]), step["reason"])
    res = cs.result(state)
    assert res["non_monotone"] and _within(res, 62, cfg)
    assert res["notes"][0].startswith("non-monotone: concurrency fails at 12 below the capacity")


# ---- the stops and the answer ---------------------------------------------------------


def test_lower_end_violating_is_an_error_with_the_measured_value():
    server = sim.SimServer("queueing")
    res = sim.drive(cs, _cfg(server, min_load=100), server.measure)
    assert res["stop"] == "min_violates" and res["points_used"] == 1 and res["capacity"] is None
    assert res["error"] == (
        "benchmark_search_min=100 already violates benchmark_slo at concurrency 100: "
        "ttft_ms_p99 = 3263 ms > 1000 ms: lower benchmark_search_min or relax benchmark_slo"
    )


def test_meeting_the_slo_up_to_max():
    server = sim.SimServer("smooth")
    res = sim.drive(cs, _cfg(server, max_load=64), server.measure)
    assert res["stop"] == "max_meets_slo" and res["capacity"] == 64 and res["error"] is None
    assert res["message"] == (
        "meets benchmark_slo up to benchmark_search_max=64 (concurrency): raise "
        "benchmark_search_max to find the limit"
    )


def test_budget_exhausted_reports_the_bracket():
    server = sim.SimServer("queueing")
    cfg = _cfg(server)
    cfg["budget"] = 3
    res = sim.drive(cs, cfg, server.measure)
    assert res["stop"] == "budget" and res["points_used"] == 3
    assert res["message"].startswith("budget exhausted after 3 points: the boundary lies in [")
    assert res["capacity"] < 62 < res["first_failing"]


def test_goodput_at_capacity():
    server = sim.SimServer("queueing")
    res = sim.drive(cs, _cfg(server), server.measure)
    assert res["goodput"]["source"] == "throughput"
    assert res["goodput"]["value"] == pytest.approx(
        server.curve(res["capacity"])["output_token_throughput"]
    )

    def with_goodput(load):
        return dict(server.curve(load), goodput=2.0)

    res = sim.drive(cs, _cfg(server), with_goodput)
    assert res["goodput"] == {"value": 2.0 * sim.OSL, "unit": "tokens/s", "source": "goodput"}


def test_a_failed_measurement_counts_as_failing():
    server = sim.SimServer("smooth")
    state = cs.new_search(_cfg(server))
    cs.record(state, 1, server.curve(1), "min")
    cs.record(state, 8, None, "bracket")  # no request succeeded
    res = cs.result(state)
    assert (res["capacity"], res["first_failing"]) == (1, 8)
    assert res["points"][1]["failed"] == ["error_rate"]


# ---- resuming -------------------------------------------------------------------------


def test_resume_replays_the_store_and_proposes_no_measured_load():
    server = sim.SimServer("smooth")
    cfg = _cfg(server)
    whole = sim.drive(cs, cfg, server.measure)
    measured = server.calls[:4]
    # a fresh state from the resume store: the points measured before the interruption
    state = cs.new_search(cfg)
    for load in measured:
        cs.record(state, load, server.curve(load), "given")
    state = json.loads(json.dumps(state))  # plain JSON all along
    rest = []
    while True:
        step = cs.next_point(state)
        if step["done"]:
            break
        assert step["load"] not in measured and step["load"] not in rest
        rest.append(step["load"])
        cs.record(state, step["load"], server.curve(step["load"]), step["reason"])
    res = cs.result(state)
    assert measured + rest == server.calls[: len(measured) + len(rest)]
    assert (res["capacity"], res["first_failing"]) == (whole["capacity"], whole["first_failing"])


def test_points_of_a_grid_sweep_are_reused():
    """Nine points given (more than the default budget, the worst case 8: they count as
    runs): a budget of 12 leaves three probes."""
    server = sim.SimServer("queueing")
    cfg = _cfg(server, budget=12)
    state = cs.new_search(cfg)
    grid = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    for load in grid:
        cs.record(state, load, server.curve(load))
    new = []
    while True:
        step = cs.next_point(state)
        if step["done"]:
            break
        assert step["load"] not in grid
        new.append(step["load"])
        cs.record(state, step["load"], server.curve(step["load"]), step["reason"])
    res = cs.result(state)
    assert len(new) <= 3 and _within(res, 62, cfg)


# ---- bad input ------------------------------------------------------------------------


def test_defaults_plan_and_worst_case():
    cfg = cp.validate_search(slo={"ttft_ms_p99": 500})
    assert (cfg["load"], cfg["min"], cfg["max"], cfg["precision"]) == ("concurrency", 1, 256, 0.05)
    # 82 brackets of 5 % (40 of one client, then 5 % of the load) and one above 256
    assert cp.cells(1, 256, 0.05, integer=True) == 82
    assert cp.needed_points(1, 256, 0.05, integer=True) == (8, 7)
    assert cp.needed_points(0.5, 64.0, 0.05) == (8, 7)  # log(128) / log(1.05) = 99.4
    assert cfg["budget"] == cfg["needed"] == 8  # repeats only take runs the probes left
    plan = cp.plan(cfg)
    assert plan["bracket"] == [1, 256] and plan["budget"] == cfg["budget"]
    assert plan["slo"] == "error_rate <= 0.01, ttft_ms_p99 <= 500 ms"
    assert plan["text"].startswith(
        "capacity search over concurrency 1..256: highest load meeting error_rate <= 0.01, "
        "ttft_ms_p99 <= 500 ms, to +-5 %, at most 8 points (worst case 8: the lower end, then "
        "7 halvings of the range;"
    )
    assert cp.validate_search(search="grid") is None


@pytest.mark.parametrize(
    "kw, message",
    [
        (
            {"search": "adaptive"},
            "benchmark_search must be one of grid, capacity, got 'adaptive': grid runs the "
            "sweep's points, capacity searches the highest load that meets benchmark_slo",
        ),
        (
            {"load": "rps"},
            "benchmark_search_load must be concurrency or request_rate, got 'rps'",
        ),
        (
            {"precision": 0},
            "benchmark_search_precision is the relative width of the answer, in (0, 0.5], "
            "got 0 (for +-5 % write 0.05)",
        ),
        (
            {"precision": 0.6},
            "benchmark_search_precision is the relative width of the answer, in (0, 0.5], "
            "got 0.6 (for +-5 % write 0.05)",
        ),
        (
            {"budget": 7},
            "benchmark_search_budget=7 is too small for benchmark_search_precision=0.05 over "
            "[1, 256]: the search may need 8 points (the lower end, then 7 halvings of the "
            "range): raise the budget to 8 or more, widen the precision, or narrow "
            "benchmark_search_min/max",
        ),
        (
            {"min_load": 0},
            "benchmark_search_min must be a positive integer for concurrency, got 0",
        ),
        (
            {"min_load": 1.5},
            "benchmark_search_min must be a positive integer for concurrency, got 1.5",
        ),
        (
            {"load": "request_rate", "max_load": "fast"},
            "benchmark_search_max must be a positive number (requests/s) for request_rate, "
            "got 'fast'",
        ),
        (
            {"min_load": 64, "max_load": 32},
            "benchmark_search_max (32) must be above benchmark_search_min (64)",
        ),
        (
            {"max_repeats": 0},
            "benchmark_search_max_repeats must be a positive integer, got 0",
        ),
    ],
)
def test_bad_input_one_clear_error(kw, message):
    args = dict(slo={"ttft_ms_p99": 500})
    args.update(kw)
    with pytest.raises(cp.SearchError) as exc:
        cp.validate_search(**args)
    assert str(exc.value) == message


def test_bad_slo_is_named():
    with pytest.raises(_slo.SloError, match="unknown metric 'ttft_p99'"):
        cp.validate_search(slo={"ttft_p99": 500})
    with pytest.raises(_slo.SloError, match="ttft_ms_p95 asks for 'p95'"):
        cp.validate_search(slo={"ttft_ms_p95": 500})


# ---- the figures script's agreement helpers (pure) ------------------------------------


def _script():
    path = os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "..", "scripts", "bench_capacity_search.py"
    )
    spec = importlib.util.spec_from_file_location("bench_capacity_search", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_band_of_runs_is_the_mixed_verdict_loads():
    band = _script().band_of_runs
    clean = [(x, x <= 24) for x in range(20, 31)]
    assert band(clean) == (24, 24)  # no failure below the highest pass
    noisy = [(23, True), (24, True), (25, False), (26, True), (27, False), (29, True), (30, False)]
    assert band(list(reversed(noisy))) == (25, 29)  # any order
    # a failing bump far below: the longest stretch of passes above it starts the band
    bump = [(x, not 10 <= x <= 12) for x in range(1, 40)] + [(40, False), (41, True), (42, False)]
    assert band(bump) == (40, 41)
    assert band([(1, False), (2, False)]) is None
    assert band([(1, True), (2, False), (3, True)]) == (2, 3)
    assert band([(1, False), (2, True), (3, True)]) == (3, 3)  # a failure below the passes


def test_agreement_is_the_band_widened_by_the_precision():
    script = _script()
    assert script.agrees(100, (100, 100), 0.05) and script.agrees(95, (100, 100), 0.05)
    assert script.agrees(105, (100, 100), 0.05) and not script.agrees(94, (100, 100), 0.05)
    assert script.agrees(120, (100, 115), 0.05) and not script.agrees(121, (100, 115), 0.05)
    assert script.agrees(None, None, 0.05) and not script.agrees(None, (1, 2), 0.05)
    assert not script.agrees(3, None, 0.05)
    cfg = cp.validate_search(slo={"ttft_ms_p99": 100})
    records = {(1, 0): {"ttft_ms_p99": 50}, (2, 0): None, (3, 0): {"ttft_ms_p99": 150}}
    runs = script.grid_runs(cfg, records, [(1, 0), (2, 0), (3, 0)])
    assert runs == [(1, True), (2, False), (3, False)]
