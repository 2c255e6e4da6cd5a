# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/_metrics on real vLLM CPU /metrics scrapes taken around a genai-perf run."""

import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _metrics as bm

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


def _read(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def test_parse_sample_families():
    samples = bm.parse_prometheus(_read("vllm_metrics_before.prom"))
    names = {n for n, _l, _v in samples}
    assert "vllm:generation_tokens_total" in names
    assert "vllm:time_to_first_token_seconds_bucket" in names
    labels = [lab for n, lab, _v in samples if n == "vllm:request_success_total"]
    assert {lab["finished_reason"] for lab in labels} >= {"length", "stop"}


def test_diff_counts_the_run_between_scrapes():
    before = bm.snapshot(_read("vllm_metrics_before.prom"), "tiny")
    after = bm.snapshot(_read("vllm_metrics_after.prom"), "tiny")
    d = bm.diff(before, after, window_s=2.0)
    # the run between the scrapes was 8 requests of exactly 16 output tokens (min_tokens)
    assert d["generation_tokens"] == 128.0
    assert d["requests_succeeded"] == 8.0
    assert d["prompt_tokens"] > 0
    assert d["output_token_throughput"] == 64.0
    assert d["ttft_ms_p50"] <= d["ttft_ms_p99"]
    assert 0 < d["itl_ms_mean"] < 1000
    # ITL observations: one per generated token after the first
    itl_b = before["histograms"]["itl"]["count"]
    itl_a = after["histograms"]["itl"]["count"]
    assert itl_a - itl_b == 8 * 15


def test_other_model_filtered_out():
    snap = bm.snapshot(_read("vllm_metrics_after.prom"), "some-other-model")
    assert "generation_tokens" not in snap["counters"]


def test_histogram_quantile_interpolates():
    buckets = [(0.01, 0.0), (0.02, 10.0), (0.04, 20.0), (float("inf"), 20.0)]
    assert bm.histogram_quantile(0.5, buckets) == pytest.approx(0.02)
    assert bm.histogram_quantile(0.25, buckets) == pytest.approx(0.015)
    assert bm.histogram_quantile(0.5, [(1.0, 0.0)]) is None


def test_triton_gpu_gauges():
    text = (
        "# TYPE nv_gpu_utilization gauge\n"
        'nv_gpu_utilization{gpu_uuid="GPU-a"} 0.5\n'
        'nv_gpu_utilization{gpu_uuid="GPU-b"} 1.0\n'
        'nv_gpu_memory_used_bytes{gpu_uuid="GPU-a"} 1e9\n'
        'nv_gpu_memory_used_bytes{gpu_uuid="GPU-b"} 3e9\n'
        'nv_inference_request_success{model="vllm_model",version="1"} 12\n'
    )
    snap = bm.snapshot(text, "vllm_model")
    assert snap["gauges"]["gpu_utilization"] == 0.75
    assert snap["gauges"]["gpu_memory_used_bytes"] == 4e9
    before = bm.snapshot(text.replace(" 12\n", " 2\n"), "vllm_model")
    assert bm.diff(before, snap)["triton_inference_success"] == 10
