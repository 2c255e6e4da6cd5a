# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/_parse on real genai-perf 0.0.16 and AIPerf 0.13 exports."""

import json
import os
import shutil

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as bp

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
# copies of the project's shared samples (../shared/samples), kept with the tests
SAMPLES = os.path.join(FIX, "shared_samples")


def _load(*parts):
    with open(os.path.join(*parts)) as f:
        return json.load(f)


def _sample(*parts):
    return _load(SAMPLES, *parts)


def test_genai_perf_sample_matches_its_own_csv():
    data = _sample("genai_perf_c1", "profile_export_genai_perf.json")
    rec = bp.parse_genai_perf(data, planned_requests=20)
    # the CSV genai-perf wrote beside the JSON shows the same run rounded to 2 decimals
    assert round(rec["ttft_ms_p50"], 2) == 15.74
    assert round(rec["ttft_ms_p99"], 2) == 253.44
    assert round(rec["itl_ms_p90"], 2) == 1.99
    assert round(rec["request_latency_ms_p99"], 2) == 386.89
    assert round(rec["output_token_throughput"], 2) == 467.35
    assert round(rec["request_throughput"], 2) == 6.55
    assert rec["request_count"] == 20
    assert rec["error_count"] == 0
    assert rec["goodput"] is None
    # duration is derived: count / throughput; tokens = osl * count
    assert rec["duration_s"] == pytest.approx(20 / data["request_throughput"]["avg"])
    assert rec["output_tokens_total"] == pytest.approx(71.4 * 20)
    assert set(rec) == set(bp.RESULT_FIELDS)


def test_genai_perf_shortfall_is_counted_as_errors():
    data = _sample("genai_perf_c1", "profile_export_genai_perf.json")
    assert bp.parse_genai_perf(data, planned_requests=23)["error_count"] == 3


def test_genai_perf_goodput_from_captured_run():
    data = _load(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")
    rec = bp.parse_genai_perf(data, 8)
    assert rec["goodput"] == data["request_goodput"]["avg"]
    assert rec["goodput"] <= rec["request_throughput"] + 1e-9
    assert rec["isl_avg"] == 32.0


def test_aiperf_sample_matches_its_own_csv():
    data = _sample("aiperf_c1_brief_cmd", "profile_export_aiperf.json")
    rec = bp.parse_aiperf(data)
    assert round(rec["ttft_ms_p50"], 2) == 16.32
    assert round(rec["itl_ms_p99"], 2) == 9.19
    assert round(rec["request_latency_ms_p90"], 2) == 650.64
    assert round(rec["output_token_throughput"], 2) == 147.49
    assert round(rec["request_throughput"], 2) == 2.06
    assert rec["request_count"] == 20
    assert rec["output_tokens_total"] == 1435.0
    assert round(rec["duration_s"], 2) == 9.72
    assert rec["error_count"] == 0


def test_aiperf_server_token_count_run():
    data = _sample("aiperf_c4_ci", "profile_export_aiperf.json")
    rec = bp.parse_aiperf(data)
    # --use-server-token-count + ignore_eos: every request produced exactly 64 tokens
    assert rec["osl_avg"] == 64.0
    assert rec["output_tokens_total"] == 64.0 * rec["request_count"]


def test_aiperf_goodput_and_records():
    d = os.path.join(FIX, "aiperf_0.13.0_chat_c2")
    data = _load(d, "profile_export_aiperf.json")
    rec = bp.parse_aiperf(data)
    assert rec["goodput"] == data["goodput"]["avg"]
    records = bp.aiperf_request_records(os.path.join(d, "profile_export.jsonl"))
    assert len(records) == rec["request_count"]
    # recomputing goodput from the per-request records with the same SLOs agrees in count
    slo = {"ttft_ms": 50, "itl_ms": 5}
    good = bp.goodput_from_records(records, slo, 1.0)
    assert good == pytest.approx(data["good_request_count"]["avg"])
    assert bp.goodput_from_records(records, {"ttft_ms": 0.0001}, 1.0) == 0


def test_error_records_have_no_metrics():
    path = os.path.join(FIX, "aiperf_0.13.0_error", "profile_export.jsonl")
    records = bp.aiperf_request_records(path)
    assert len(records) == 4
    assert all("time_to_first_token" not in r for r in records)


def test_find_export_searches_subdirs(tmp_path):
    sub = tmp_path / "tiny-openai-chat-concurrency2"
    sub.mkdir()
    shutil.copy(
        os.path.join(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json"), sub
    )
    path = bp.find_export(str(tmp_path), "genai-perf")
    assert path.endswith("concurrency2/profile_export_genai_perf.json")
    assert bp.parse_export_file(path, "genai-perf", 8)["request_count"] == 8
    with pytest.raises(bp.ExportError, match="aiperf did not finish"):
        bp.find_export(str(tmp_path), "aiperf")


def test_wrong_tool_export_is_refused():
    data = _load(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")
    with pytest.raises(bp.ExportError):
        bp.parse_aiperf(data)
    with pytest.raises(bp.ExportError):
        bp.parse_genai_perf({"foo": 1})


def test_aiperf_itl_of_zero_on_multi_token_answers_is_not_a_measurement():
    # captured in CI-like conditions: AIPerf read all 16 streamed tokens in one go, so its
    # export says ITL 0 ms and TTFT == request latency
    data = _load(FIX, "aiperf_single_read_c1_profile_export_aiperf.json")
    assert data["inter_token_latency"]["max"] == 0.0
    rec = bp.parse_aiperf(data)
    assert rec["osl_avg"] == 16.0
    assert all(rec["itl_ms_" + s] is None for s in bp.STATS)
    assert rec["ttft_ms_p50"] == data["time_to_first_token"]["p50"] > 0


def test_aiperf_itl_of_zero_median_against_triton_is_not_a_measurement():
    # AIPerf's template endpoint against a real Triton generate_stream: 8 of 10 answers
    # arrived in one read (ITL 0), two in two reads (microseconds): no inter-token gap was seen
    data = _load(FIX, "aiperf_0.13.0_triton_cpu_template_c1", "profile_export_aiperf.json")
    assert data["inter_token_latency"]["p50"] == 0.0 < data["inter_token_latency"]["max"] < 0.01
    rec = bp.parse_aiperf(data)
    assert rec["osl_avg"] > 100
    assert all(rec["itl_ms_" + s] is None for s in bp.STATS)
    assert rec["ttft_ms_p50"] == data["time_to_first_token"]["p50"]


def test_aiperf_real_itl_is_kept():
    rec = bp.parse_aiperf(_sample("aiperf_c4_ci", "profile_export_aiperf.json"))
    assert rec["itl_ms_p50"] is not None and rec["itl_ms_p50"] > 0


def test_aiperf_rates_window_is_longer_than_its_benchmark_duration():
    # Captured in the CPU e2e (AIPerf 0.13.0, concurrency 4, 8 x 16 tokens): AIPerf's rates are
    # over its observation window (0.286 s here), not over benchmark_duration (0.152 s, first
    # request to last response). The server's counters must become rates over the former.
    data = _load(FIX, "aiperf_windowed_c4_profile_export_aiperf.json")
    rec = bp.parse_aiperf(data)
    assert rec["duration_s"] == data["benchmark_duration"]["avg"]
    window = bp.rate_window_s(rec)
    assert window == pytest.approx(rec["request_count"] / rec["request_throughput"])
    assert window > 1.5 * rec["duration_s"]


@pytest.mark.parametrize(
    "engine, path",
    [
        ("genai-perf", ("shared_samples", "genai_perf_c1", "profile_export_genai_perf.json")),
        ("genai-perf", ("genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")),
        ("aiperf", ("shared_samples", "aiperf_c1_brief_cmd", "profile_export_aiperf.json")),
        ("aiperf", ("shared_samples", "aiperf_c4_ci", "profile_export_aiperf.json")),
        ("aiperf", ("aiperf_0.13.0_chat_c2", "profile_export_aiperf.json")),
        ("aiperf", ("aiperf_single_read_c1_profile_export_aiperf.json",)),
        ("aiperf", ("aiperf_windowed_c4_profile_export_aiperf.json",)),
    ],
)
def test_both_rates_of_a_tool_share_the_rate_window(engine, path):
    # the token rate and the request rate a tool reports are over one window: rate_window_s
    rec = bp.parse_export_file(os.path.join(FIX, *path), engine)
    window = bp.rate_window_s(rec)
    assert rec["request_count"] / rec["request_throughput"] == pytest.approx(window, rel=0.01)


def test_rate_window_falls_back_to_the_duration():
    assert bp.rate_window_s({"duration_s": 2.5}) == 2.5
    assert bp.rate_window_s({"request_count": 8, "request_throughput": 4.0}) == 2.0
