# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Profiles, validation, planning, resume state and aggregation."""

import json
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


def test_tutorial_profile():
    cfg = bs.validate(bs.resolve_profile("tutorial"))
    pts = bs.plan(cfg)
    assert [p["id"] for p in pts] == ["default__in128-out128__c1"]
    assert cfg["num_prompts"] == 10 and cfg["seed"] == 123


def test_matrix_with_engine_arg_sweep():
    cfg = bs.resolve_profile(
        "ci_small",
        {
            "concurrency": [1, 4],
            "request_rates": [2],
            "lengths": [[32, 16], [64, 8]],
            "engine_args": {"max_num_seqs": [4, 16]},
        },
    )
    pts = bs.plan(bs.validate(cfg))
    assert len(pts) == 2 * 2 * 3
    assert bs.server_configs(cfg) == [{"max_num_seqs": 4}, {"max_num_seqs": 16}]
    assert pts[0]["id"] == "max_num_seqs-4__in32-out16__c1"
    assert pts[2]["id"] == "max_num_seqs-4__in32-out16__rr2"
    assert len({p["id"] for p in pts}) == len(pts)
    # every slot gets at least two requests
    assert all(p["request_count"] >= 2 * (p["concurrency"] or 1) for p in pts)


@pytest.mark.parametrize(
    "name,overrides,msg",
    [
        ("nope", {}, "unknown benchmark_profile 'nope'"),
        ("ci_small", {"concurrency": []}, "benchmark_concurrency must be a non-empty"),
        ("ci_small", {"concurrency": [1, -4]}, "positive integers, got -4"),
        ("ci_small", {"concurrency": ["x"]}, "positive integers"),
        ("ci_small", {"request_rates": [0]}, "benchmark_request_rates"),
        ("ci_small", {"lengths": [[4096, 128]]}, "exceed the served model's max_model_len 2048"),
        ("ci_small", {"lengths": [[1]]}, "pairs"),
        ("ci_small", {"engine_args": {"max_num_seqs": []}}, "non-empty list"),
    ],
)
def test_bad_inputs(name, overrides, msg):
    with pytest.raises(bs.SweepError, match=msg):
        bs.validate(bs.resolve_profile(name, overrides), max_model_len=2048)


def test_rates_only_sweep_allows_empty_concurrency():
    cfg = bs.validate(bs.resolve_profile("ci_small", {"concurrency": [], "request_rates": [1.5]}))
    assert [p["id"] for p in bs.plan(cfg)] == ["default__in32-out16__rr1.5"]


def _result(tps, ttft):
    return {
        "client": {"output_token_throughput": tps, "ttft_ms_p50": ttft, "itl_ms_p50": 2.0},
        "server": {"output_token_throughput": tps * 0.5},
    }


def test_aggregate_mean_spread_and_flag():
    point = {"id": "p", "input_tokens": 1, "output_tokens": 1, "concurrency": 1}
    row = bs.aggregate(point, [_result(100.0, 10.0), _result(130.0, 10.5)], 0.1)
    m = row["metrics"]["output_token_throughput"]
    assert m["mean"] == 115.0 and m["min"] == 100.0 and m["max"] == 130.0
    assert m["spread"] == pytest.approx(30 / 115)
    assert row["unstable"] == ["output_token_throughput"]  # ttft spread 4.9% < 10%
    assert row["fidelity"] == pytest.approx(2.0)
    row = bs.aggregate(point, [_result(100.0, 10.0), _result(101.0, 10.0)], 0.1)
    assert row["unstable"] == []


def test_resume_state(tmp_path):
    ws = str(tmp_path)
    assert bs.point_state(ws, "a") == "missing"
    d = os.path.join(ws, "points", "a")
    os.makedirs(os.path.join(d, "rep1"))
    with open(os.path.join(d, "rep1", "result.json"), "w") as f:
        json.dump({"client": {"x": 1}}, f)
    assert bs.repeat_done(ws, "a", 1) and not bs.repeat_done(ws, "a", 2)
    with open(os.path.join(d, "point.json"), "w") as f:
        json.dump({"status": "failed"}, f)
    assert bs.point_state(ws, "a") == "failed"
    with open(os.path.join(d, "point.json"), "w") as f:
        json.dump({"status": "ok"}, f)
    assert bs.point_state(ws, "a") == "done"
