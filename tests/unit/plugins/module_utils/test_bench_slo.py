# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SLOs of the capacity search: parsing, validation, verdicts of points and repeats."""

import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as parse
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench", "shared_samples")


def _sample(engine, name, export):
    return parse.parse_export_file(os.path.join(SAMPLES, name, export), engine, 20)


def test_names_match_the_record_fields():
    rec = _sample("aiperf", "aiperf_c4_ci", "profile_export_aiperf.json")
    slos = slo.parse_slo({"ttft_ms_p90": 500, "itl_ms_p50": 50, "request_latency_ms_p99": 5000})
    assert all(s["metric"] in rec for s in slos if s["kind"] == "latency")
    rec = _sample("genai-perf", "genai_perf_c1", "profile_export_genai_perf.json")
    assert all(s["metric"] in rec for s in slos if s["kind"] == "latency")


def test_parse_defaults_bare_names_and_error_rate():
    assert [(s["name"], s["limit"]) for s in slo.parse_slo({})] == [
        ("error_rate", 0.01),
        ("itl_ms_p99", 200.0),
        ("ttft_ms_p99", 2000.0),
    ]
    slos = slo.parse_slo({"ttft_ms": 500, "itl_ms_avg": "20"})
    assert [(s["name"], s["limit"], s["kind"]) for s in slos] == [
        ("error_rate", 0.01, "error_rate"),
        ("itl_ms_avg", 20.0, "latency"),
        ("ttft_ms_p99", 500.0, "latency"),
    ]
    assert slo.parse_slo({"error_rate": 0})[0]["limit"] == 0.0
    assert slo.describe(slos) == "error_rate <= 0.01, itl_ms_avg <= 20 ms, ttft_ms_p99 <= 500 ms"
    assert slo.goodput_limits(slos) == {"itl_ms": 20.0, "ttft_ms": 500.0}


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"tpot_ms_p99": 50},
            "benchmark_slo: unknown metric 'tpot_ms_p99': use ttft_ms, itl_ms, request_latency_ms "
            "with a statistic suffix (_avg, _p50, _p90, _p99), or error_rate",
        ),
        (
            {"ttft_ms_p95": 500},
            "benchmark_slo: ttft_ms_p95 asks for 'p95', which the sweep does not record: use one "
            "of avg, p50, p90, p99",
        ),
        (
            {"itl_ms_p99": 0},
            "benchmark_slo: itl_ms_p99 must be a positive number of milliseconds, got 0",
        ),
        (
            {"ttft_ms": "fast"},
            "benchmark_slo: ttft_ms must be a positive number of milliseconds, got 'fast'",
        ),
        (
            {"error_rate": 5},
            "benchmark_slo: error_rate is a fraction of requests in [0, 1), got 5 (for 5 % write "
            "0.05)",
        ),
        (
            {"ttft_ms": 500, "ttft_ms_p99": 400},
            "benchmark_slo sets ttft_ms_p99 twice (as ttft_ms and ttft_ms_p99): keep one",
        ),
        (
            [500],
            "benchmark_slo must be a mapping of metric to limit, e.g. {ttft_ms_p99: 2000, "
            "itl_ms_p99: 200, error_rate: 0.01}, got [500]",
        ),
    ],
)
def test_parse_errors(spec, message):
    with pytest.raises(slo.SloError) as exc:
        slo.parse_slo(spec)
    assert str(exc.value) == message


def test_judge_point_on_a_real_export():
    rec = _sample("aiperf", "aiperf_c4_ci", "profile_export_aiperf.json")
    ok = slo.judge_point(slo.parse_slo({"ttft_ms_p99": 100, "itl_ms_p90": 50}), rec)
    assert ok["verdict"] == "pass" and ok["failed"] == []
    ttft = [c for c in ok["checks"] if c["name"] == "ttft_ms_p99"][0]
    assert ttft["value"] == pytest.approx(43.79, abs=0.01)
    assert ttft["margin"] == pytest.approx(100 - 43.79, abs=0.01)
    assert ttft["ratio"] == pytest.approx(0.4379, abs=1e-4)
    bad = slo.judge_point(slo.parse_slo({"ttft_ms_p99": 40, "itl_ms_p90": 8}), rec)
    assert bad["verdict"] == "fail" and bad["failed"] == ["itl_ms_p90", "ttft_ms_p99"]


def _rec(ttft, errors=0, requests=40):
    return {"ttft_ms_p99": ttft, "error_count": errors, "request_count": requests - errors}


def test_repeats_that_straddle_the_limit_are_uncertain():
    slos = slo.parse_slo({"ttft_ms_p99": 100})
    assert slo.judge_repeats(slos, [_rec(95), _rec(104)])["verdict"] == "uncertain"
    out = slo.judge_repeats(slos, [_rec(95), _rec(104)])
    assert out["leaning"] == "pass" and out["uncertain"] == ["ttft_ms_p99"]
    # tight repeats on one side settle it
    assert slo.judge_repeats(slos, [_rec(97), _rec(97.5), _rec(96.8)])["verdict"] == "pass"
    assert slo.judge_repeats(slos, [_rec(103), _rec(103.4)])["verdict"] == "fail"
    # one run has no spread: certain, unless a noise prior is given
    assert slo.judge_repeats(slos, [_rec(99)])["verdict"] == "pass"
    assert slo.judge_repeats(slos, [_rec(99)], noise=0.05)["verdict"] == "uncertain"
    assert slo.judge_repeats(slos, [_rec(80)], noise=0.05)["verdict"] == "pass"


def test_error_rate_verdicts():
    slos = slo.parse_slo({"ttft_ms_p99": 100, "error_rate": 0.01})
    assert slo.judge_repeats(slos, [_rec(50)])["verdict"] == "pass"  # no error at all
    one = slo.judge_repeats(slos, [_rec(50, errors=1, requests=64)])
    assert one["verdict"] == "uncertain" and one["leaning"] == "fail"
    assert slo.judge_repeats(slos, [_rec(50, errors=16, requests=64)])["verdict"] == "fail"
    assert slo.error_counts([_rec(50, 1, 40), _rec(50, 3, 40)]) == (4, 80)
    low, high = slo.wilson(1, 64)
    assert 0 < low < 1 / 64.0 < high < 0.1


def test_a_failed_measurement_fails_and_leaves_latency_unmeasured():
    slos = slo.parse_slo({"ttft_ms_p99": 100})
    out = slo.judge_repeats(slos, [{"request_count": 0, "error_count": 8}])
    assert out["verdict"] == "fail" and out["failed"] == ["error_rate"]
    assert out["unmeasured"] == ["ttft_ms_p99"]
    # an ITL the client could not measure is not judged
    out = slo.judge_point(slo.parse_slo({"itl_ms_p99": 10}), {"itl_ms_p99": None, **_rec(1)})
    assert out["verdict"] == "pass" and out["unmeasured"] == ["itl_ms_p99"]
