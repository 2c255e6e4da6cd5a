# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/_run_search: the capacity search of genai_perf_sweep on a fake host whose load
generator writes a genai-perf 0.0.16 export (the real one's layout) with the figures of a
simulated server at the concurrency or rate of its command line."""

import copy
import importlib.util
import json
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_plan as cp
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _render_report as rr
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_search as rsearch
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_sweep as rs
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
)
from ansible_collections.llmserve.triton.plugins.modules.genai_perf_sweep import argument_spec

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "..", "fixtures", "bench")
_SPEC = importlib.util.spec_from_file_location(
    "_sim_servers", os.path.join(HERE, "_sim_servers.py")
)
sim = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sim)

with open(os.path.join(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")) as f:
    EXPORT = json.load(f)
with open(os.path.join(FIX, "genai_perf_0.0.16_profile_help.txt")) as f:
    HELP = f.read()
EXPORT_KEYS = {"ttft_ms": "time_to_first_token", "itl_ms": "inter_token_latency"}
EXPORT_KEYS["request_latency_ms"] = "request_latency"
PRICE = {"usd_per_hour": 1.89, "machine_type": "A6000", "read_on": "2026-09-20", "source": "x"}


def export_of(rec, planned):
    """A genai-perf export carrying the simulated record (errors: requests missing)."""
    data = copy.deepcopy(EXPORT)
    for prefix, key in EXPORT_KEYS.items():
        for stat in ("avg", "p50", "p90", "p99"):
            data[key][stat] = rec[prefix + "_" + stat]
    share = rec["error_count"] / float(rec["error_count"] + rec["request_count"])
    data["request_count"]["avg"] = float(planned - round(share * planned))
    data["request_throughput"]["avg"] = rec["request_throughput"]
    data["output_token_throughput"]["avg"] = rec["output_token_throughput"]
    data["output_sequence_length"]["avg"] = rec["osl_avg"]
    data["request_goodput"]["avg"] = 0.8 * rec["request_throughput"]
    return data


class SimHost:
    """genai-perf 0.0.16 on a simulated server: --version, --help, and profile runs that
    write an export of curve(load); a run at a load in `fail_at` exits 1, and with
    `gone_after` runs the server stops answering."""

    def __init__(self, curve, fail_at=(), gone_after=None, noise=None):
        self.curve = curve
        self.fail_at = set(fail_at)
        self.gone_after = gone_after
        self.profiles, self.loads, self.probes = [], [], []
        self.noise = noise
        self.now = 0.0

    def run_command(self, argv, cwd=None, environ_update=None):
        if argv[-1] == "--version":
            return 0, "genai-perf 0.0.16\n", ""
        if argv[-1] == "--help":
            return 0, HELP, ""
        self.profiles.append(argv)
        if "--concurrency" in argv:
            load = int(argv[argv.index("--concurrency") + 1])
        else:
            load = float(argv[argv.index("--request-rate") + 1])
        planned = int(argv[argv.index("--request-count") + 1])
        out = argv[argv.index("--artifact-dir") + 1]
        if "warmup" in out:
            return 0, "", ""
        self.loads.append(load)
        if load in self.fail_at or (
            self.gone_after is not None and len(self.loads) > self.gone_after
        ):
            return 124, "", "timeout"
        rec = self.noise.measure(load) if self.noise else self.curve(load)
        with open(os.path.join(out, "profile_export_genai_perf.json"), "w") as f:
            json.dump(export_of(rec, planned), f)
        return 0, "ok", ""

    def which(self, name):
        return "/usr/local/bin/" + name

    def fetch_text(self, url):
        raise OSError("no metrics here")

    def reachable(self, url):
        self.probes.append(url)
        if self.gone_after is not None and len(self.loads) > self.gone_after:
            return "Connection refused"
        return None

    def clock(self):
        self.now += 1.0
        return self.now


def _params(ws, slo=None, search=None, **kw):
    spec = argument_spec()
    p = {k: v.get("default") for k, v in spec.items()}
    p["target"] = {k: v.get("default") for k, v in spec["target"]["options"].items()}
    p["target"].update(url="h:8000", model="tiny", metrics_url="http://h:8000/metrics")
    s = {k: v.get("default") for k, v in spec["search"]["options"].items()}
    s.update(mode="capacity", min=1, max=256)
    s.update(search or {})
    p.update(profile="ci_small", workspace=ws, slo=slo, search=s, engine_version="0.0.16")
    p.update(kw)
    return p


def _run(params, host):
    cfg, _points = rs.validate(params)
    scfg = rsearch.validate(params)
    return rsearch.run_search(params, cfg, scfg, rsearch.plan(params, cfg, scfg), host)


SMOOTH_SLO = {"itl_ms_p99": 50, "ttft_ms_p99": 2000}


def _truth(curve, slo, lo=1, hi=256):
    slos = _slo.parse_slo(slo)
    ok = [x for x in range(lo, hi + 1) if _slo.judge_point(slos, curve(x))["verdict"] == "pass"]
    return max(ok)


def test_validate_grid_is_none_and_errors_name_the_variable(tmp_path):
    ws = str(tmp_path)
    assert rsearch.validate(_params(ws, search={"mode": "grid"})) is None
    cases = [
        ({"precision": 0.7}, "benchmark_search_precision is the relative width"),
        ({"budget": 3}, "benchmark_search_budget=3 is too small"),
        ({"min": 0}, "benchmark_search_min must be a positive integer"),
        ({"max": 1}, "benchmark_search_max (1) must be above benchmark_search_min (1)"),
    ]
    for search, msg in cases:
        with pytest.raises(BenchError) as err:
            rsearch.validate(_params(ws, search=search))
        assert msg in str(err.value), str(err.value)
    with pytest.raises(BenchError, match="benchmark_slo: unknown metric 'tpot_ms'"):
        rsearch.validate(_params(ws, slo={"tpot_ms": 10}))
    with pytest.raises(BenchError, match="asks for 'p95'"):
        rsearch.validate(_params(ws, slo={"ttft_ms_p95": 10}))


def test_plan_prints_the_search_and_the_store_state(tmp_path):
    ws = str(tmp_path)
    params = _params(ws, slo=SMOOTH_SLO, engine_args_sweep={"max_num_seqs": [4, 8]})
    cfg, _points = rs.validate(params)
    scfg = rsearch.validate(params)
    planned = rsearch.plan(params, cfg, scfg, check_mode=True)
    assert planned["changed"] is True and planned["plan"] == []
    assert planned["servers"] == [{"max_num_seqs": 4}, {"max_num_seqs": 8}]
    assert [s["id"] for s in planned["searches"]] == [
        "max_num_seqs-4__in32-out16",
        "max_num_seqs-8__in32-out16",
    ]
    assert {s["state"] for s in planned["searches"]} == {"missing"}
    text = planned["search_plan"]["text"]
    assert text.startswith("capacity search over concurrency 1..256: highest load meeting ")
    assert "error_rate <= 0.01, itl_ms_p99 <= 50 ms, ttft_ms_p99 <= 2000 ms, to +-5 %" in text
    assert os.listdir(ws) == []  # planning wrote nothing


def test_search_finds_the_boundary_writes_results_and_resumes(tmp_path):
    ws = str(tmp_path / "ws")
    params = _params(ws, slo=SMOOTH_SLO, price=PRICE)
    host = SimHost(sim.smooth)
    result = _run(params, host)
    truth = _truth(sim.smooth, SMOOTH_SLO)
    [res] = result["searches"]
    assert res["stop"] == "precision" and res["error"] is None
    assert abs(res["capacity"] - truth) / truth <= 0.05
    assert res["first_failing"] > res["capacity"]
    assert res["relative_uncertainty"] <= 0.05 + 1e-9
    assert res["points_used"] <= res["budget"] and res["points_used"] == len(host.loads)
    # every run measured once, warm-up first for each load
    assert result["ran"] == ["default__in32-out16__c%d/rep1" % x for x in host.loads]
    assert result["reused"] == [] and result["changed"] is True
    warmups = [a for a in host.profiles if "/warmup" in a[a.index("--artifact-dir") + 1]]
    assert len(warmups) == len(set(host.loads))
    # goodput: the tool's goodput req/s x output length, and the cost at the capacity
    rec = sim.smooth(res["capacity"])
    assert res["goodput"]["source"] == "goodput"
    assert res["goodput"]["value"] == pytest.approx(0.8 * rec["request_throughput"] * 128)
    assert res["cost"]["usd_per_million_output_tokens"] == pytest.approx(
        1.89 / (res["goodput"]["value"] * 3600) * 1e6
    )
    assert res["cost"]["read_on"] == "2026-09-20" and res["cost"]["basis"] == "goodput"
    # the command carries --goodput from the SLO's per-request limits
    argv = host.profiles[-1]
    i = argv.index("--goodput")
    assert argv[i + 1 : i + 3] == ["inter_token_latency:50", "time_to_first_token:2000"]
    # results.json: rows of every measured load, the capacity section, the best
    with open(result["results_path"]) as f:
        saved = json.load(f)
    assert [r["concurrency"] for r in saved["rows"]] == sorted(set(host.loads))
    cap = saved["capacity"]
    assert cap["load"] == "concurrency" and cap["precision"] == 0.05
    assert cap["searches"][0]["capacity"] == res["capacity"]
    assert cap["best"] == [
        dict(
            input_tokens=32,
            output_tokens=16,
            id="default__in32-out16",
            server={},
            capacity=res["capacity"],
            goodput=res["goodput"],
            compared=1,
        )
    ]
    assert saved["meta"]["search"] == "capacity" and saved["meta"]["plan"] == [
        "default__in32-out16"
    ]
    assert [p["id"] for p in res["points"]][0] == "default__in32-out16__c1"
    with open(os.path.join(ws, "search_default__in32-out16.json")) as f:
        assert json.load(f)["result"]["capacity"] == res["capacity"]
    # the re-run measures nothing, leaves results.json alone, answers the same
    again = SimHost(sim.smooth)
    stamp = os.stat(result["results_path"]).st_mtime_ns
    result2 = _run(params, again)
    assert again.profiles == [] and again.probes == [] and result2["ran"] == []
    assert result2["changed"] is False and len(result2["reused"]) == len(host.loads)
    assert result2["searches"][0]["capacity"] == res["capacity"]
    assert os.stat(result2["results_path"]).st_mtime_ns == stamp
    cfg, _p = rs.validate(params)
    assert rsearch.plan(params, cfg, rsearch.validate(params), check_mode=True)["changed"] is False


def test_an_interrupted_search_resumes_where_it_stopped(tmp_path):
    ws = str(tmp_path / "ws")
    params = _params(ws, slo=SMOOTH_SLO)
    first = SimHost(sim.smooth, gone_after=3)
    with pytest.raises(BenchError) as err:
        _run(params, first)
    msg = str(err.value)
    assert msg.startswith("capacity search stopped: run default__in32-out16__c")
    assert "the benchmark target h:8000 does not answer (Connection refused)" in msg
    assert msg.endswith("(the runs so far are kept in %s; re-run to resume)" % ws)
    assert len(err.value.result["ran"]) == 3
    with open(os.path.join(ws, "results.json")) as f:
        assert len(json.load(f)["rows"]) == 3  # what was measured is in the results
    cfg, _p = rs.validate(params)
    planned = rsearch.plan(params, cfg, rsearch.validate(params))
    assert planned["searches"][0]["state"] == "started"
    assert planned["searches"][0]["stored_runs"] == 3
    second = SimHost(sim.smooth)
    result = _run(params, second)
    whole = SimHost(sim.smooth)
    _run(_params(str(tmp_path / "fresh"), slo=SMOOTH_SLO), whole)
    assert first.loads[:3] + second.loads == whole.loads  # the same search, no run twice
    assert len(result["reused"]) == 3


def test_a_failed_run_counts_against_the_load_and_is_not_retried(tmp_path):
    clean = SimHost(sim.smooth)
    _run(_params(str(tmp_path / "clean"), slo=SMOOTH_SLO), clean)
    bad = clean.loads[2]  # the search's third load, which passes on the clean run
    ws = str(tmp_path / "ws")
    params = _params(ws, slo=SMOOTH_SLO)
    host = SimHost(sim.smooth, fail_at={bad})
    result = _run(params, host)
    [res] = result["searches"]
    assert bad in host.loads and res["capacity"] < bad
    point = [p for p in res["points"] if p["load"] == bad][0]
    assert point["verdict"] == "fail" and point["failed"] == ["error_rate"]
    pid = "default__in32-out16__c%d" % bad
    with open(os.path.join(ws, "points", pid, "rep1", "failed.json")) as f:
        assert "rc=124" in json.load(f)["error"]
    with open(result["results_path"]) as f:
        saved = json.load(f)
    assert [x["id"] for x in saved["failures"]] == [pid]
    again = SimHost(sim.smooth)
    assert _run(params, again)["ran"] == [] and again.profiles == []


def test_the_lower_end_violating_the_slo_fails_with_the_measured_value(tmp_path):
    ws = str(tmp_path / "ws")
    params = _params(ws, slo={"ttft_ms_p99": 10})
    host = SimHost(sim.smooth)
    with pytest.raises(BenchError) as err:
        _run(params, host)
    ttft = sim.smooth(1)["ttft_ms_p99"]
    assert str(err.value) == (
        "default__in32-out16: benchmark_search_min=1 already violates benchmark_slo at "
        "concurrency 1: ttft_ms_p99 = %.4g ms > 10 ms: lower benchmark_search_min or relax "
        "benchmark_slo" % ttft
    )
    assert host.loads == [1]
    with open(os.path.join(ws, "results.json")) as f:
        assert json.load(f)["capacity"]["searches"][0]["stop"] == "min_violates"


def test_outer_search_names_the_server_setting_with_the_highest_capacity(tmp_path):
    """One search per max_num_seqs value (the role redeploys between the calls): the batch
    cap queues requests, so the larger cap carries more clients under a TTFT SLO."""
    ws = str(tmp_path / "ws")
    slo = {"ttft_ms_p99": 1000}
    caps = {4: 4, 48: 48}
    answers = {}
    for cap in caps:
        params = _params(
            ws, slo=slo, engine_args_sweep={"max_num_seqs": [4, 48]}, price={"machine_type": "X"}
        )
        params["only_server"] = {"max_num_seqs": cap}
        host = SimHost(lambda n, cap=cap: sim.record(*sim.batch(n, cap=cap)))
        result = _run(params, host)
        [answers[cap]] = result["searches"]
        assert all("max_num_seqs-%d__" % cap in r for r in result["ran"])
    assert answers[48]["capacity"] > answers[4]["capacity"]
    with open(os.path.join(ws, "results.json")) as f:
        cap = json.load(f)["capacity"]
    assert [s["id"] for s in cap["searches"]] == [
        "max_num_seqs-4__in32-out16",
        "max_num_seqs-48__in32-out16",
    ]
    [top] = cap["best"]
    assert top["server"] == {"max_num_seqs": 48} and top["compared"] == 2
    assert top["capacity"] == answers[48]["capacity"]
    # no price for machine type X: said so, no figure
    assert cap["searches"][0]["cost"]["usd_per_million_output_tokens"] is None
    assert "no hourly price known for machine type X" in cap["searches"][0]["cost"]["note"]


def test_request_rate_search(tmp_path):
    ws = str(tmp_path / "ws")
    slo = {"ttft_ms_p99": 1000}
    params = _params(ws, slo=slo, search={"load": "request_rate", "min": 0.5, "max": 64})
    host = SimHost(sim.mm1)
    result = _run(params, host)
    [res] = result["searches"]
    assert res["load"] == "request_rate" and res["stop"] == "precision"
    cfg = cp.validate_search(slo=slo, load="request_rate", min_load=0.5, max_load=64)
    truth, _edges = sim.SimServer("mm1_rate").truth(
        lambda rec: _slo.judge_point(cfg["slo"], rec)["verdict"] == "pass"
    )
    assert abs(res["capacity"] - truth) / truth <= 0.05
    assert all("__rr" in r for r in result["ran"])
    assert "--request-rate" in host.profiles[-1]


def test_cost():
    good = {"value": 1000.0, "source": "goodput"}
    assert rsearch.cost(good, None) is None
    assert rsearch.cost(good, {"usd_per_hour": 3.6})["usd_per_million_output_tokens"] == 1.0
    assert rsearch.cost(None, {"usd_per_hour": 3.6})["usd_per_million_output_tokens"] is None
    unknown = rsearch.cost(good, {"machine_type": "H100x8", "usd_per_hour": None})
    assert unknown["usd_per_hour"] is None and "H100x8" in unknown["note"]


class ReportHost:
    def __init__(self):
        self.warnings = []

    def atomic_move(self, src, dest):
        os.replace(src, dest)

    def warn(self, msg):
        self.warnings.append(msg)


def test_report_has_the_capacity_section_and_plots(tmp_path):
    """bench_report on the results of an outer search: the answer per setting, the best
    setting, the cost, every point with its verdict, the plots with the SLO lines."""
    ws = str(tmp_path / "ws")
    slo = {"ttft_ms_p99": 1000}
    for cap in (4, 48):
        params = _params(ws, slo=slo, engine_args_sweep={"max_num_seqs": [4, 48]}, price=PRICE)
        params["only_server"] = {"max_num_seqs": cap}
        _run(params, SimHost(lambda n, cap=cap: sim.record(*sim.batch(n, cap=cap))))
    params = dict(
        src=ws,
        baseline=None,
        regression_metrics=["output_token_throughput"],
        regression_threshold=0.1,
        gpu=None,
        weights_bytes=None,
        meta=None,
        plots=True,
    )
    out = rr.render_report(params, False, ReportHost())
    assert "capacity_max_num_seqs-4__in32-out16.png" in out["files"]
    assert "capacity_max_num_seqs-48__in32-out16.png" in out["files"]
    assert "capacity_by_setting.png" in out["files"]
    assert out["best"][0]["server"] == {"max_num_seqs": 48}
    for name in out["files"]:
        assert os.path.getsize(os.path.join(ws, name)) > 0
    with open(os.path.join(ws, "report.md")) as f:
        md = f.read()
    with open(os.path.join(ws, "results.json")) as f:
        searches = json.load(f)["capacity"]["searches"]
    assert "## Capacity under the SLO" in md
    assert (
        "Highest concurrency meeting every SLO (error_rate <= 0.01, ttft_ms_p99 <= 1000 ms)" in md
    )
    assert "**Best server setting** for 32/16: `max_num_seqs=48`" in md
    assert "price read on 2026-09-20" in md and "per million output tokens" in md
    for s in searches:
        assert (
            "| max_num_seqs=%d | 32/16 | **%d** |" % (s["server"]["max_num_seqs"], s["capacity"])
            in md
        )
        assert "%d ⬅ capacity" % s["capacity"] in md
    assert (
        "![capacity_max_num_seqs-4__in32-out16.png](capacity_max_num_seqs-4__in32-out16.png)" in md
    )


def _machine_types():
    """The machine types the collection knows (the provision presets), wherever the table
    lives: roles/model_repo/vars/hardware.yml, or the contract role's llmserve_machine_types."""
    import glob

    import yaml

    root = os.path.join(HERE, "..", "..", "..", "..")
    for path in sorted(glob.glob(os.path.join(root, "roles", "*", "*", "*.yml"))):
        with open(path) as f:
            text = f.read()
        if "machine_types:" not in text:
            continue
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            continue
        for key in ("llmserve_machine_types", "__model_repo_machine_types"):
            if isinstance(data.get(key), dict):
                return data[key]
    raise AssertionError("no machine-type table found under roles/")


def test_every_machine_type_has_a_price_entry_with_its_date_and_source():
    """benchmark_machine_prices covers every machine type; a price carries the date it was
    read and where; a type without one says why (null, never an invented figure)."""
    import re

    import yaml

    with open(
        os.path.join(HERE, "..", "..", "..", "..", "roles", "benchmark", "defaults", "main.yml")
    ) as f:
        prices = yaml.safe_load(f)["benchmark_machine_prices"]
    assert set(prices) == set(_machine_types())
    for name, entry in prices.items():
        assert entry["source"], name
        if entry["usd_per_hour"] is None:
            assert "read_on" not in entry, name
            continue
        assert 0 < entry["usd_per_hour"] < 100, name
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", entry["read_on"]), name
        assert "paperspace.com/pricing" in entry["source"], name
