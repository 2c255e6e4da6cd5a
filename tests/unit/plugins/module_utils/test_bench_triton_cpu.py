# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Server-side figures from a real Triton :8002 (Triton 2.51 from nvidia-pytriton 0.7.0,
NVIDIA's vLLM backend r26.01 over vLLM CPU 0.32, demo model, the triton_cpu layout).

triton_cpu_metrics_before/after.prom: scrapes around genai-perf 0.0.16's tutorial profile
(kserve gRPC streaming, 10 prompts, seed 123, 128/128, c1, --output-tokens-mean-deterministic)
whose export is genai_perf_0.0.16_triton_cpu_kserve_c1/. aiperf_0.13.0_triton_cpu_template_c1/:
the same shape through Triton's HTTP generate_stream by AIPerf's template endpoint, with the
scrapes around it."""

import os
import shutil

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _metrics as bm
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as bp
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as rep
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _runner as br
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
AP = os.path.join(FIX, "aiperf_0.13.0_triton_cpu_template_c1")
GP = os.path.join(FIX, "genai_perf_0.0.16_triton_cpu_kserve_c1", "profile_export_genai_perf.json")
REQUESTS, OUT_TOKENS = 10, 128  # the runs between the scrapes


def _read(*parts):
    with open(os.path.join(*parts)) as f:
        return f.read()


def _snaps(before=("triton_cpu_metrics_before.prom",), after=("triton_cpu_metrics_after.prom",)):
    return (
        bm.snapshot(_read(FIX, *before), "demo"),
        bm.snapshot(_read(FIX, *after), "demo"),
    )


def test_triton_exports_eight_vllm_families_and_its_own():
    fams = bm.families(_read(FIX, "triton_cpu_metrics_after.prom"))
    vllm = [f for f in fams if f.startswith("vllm:")]
    assert vllm == sorted(
        "vllm:" + n
        for n in (
            "prompt_tokens_total",
            "generation_tokens_total",
            "time_to_first_token_seconds",
            "time_per_output_token_seconds",
            "e2e_request_latency_seconds",
            "request_prompt_tokens",
            "request_generation_tokens",
            "request_params_n",
        )
    )
    assert "nv_inference_request_success" in fams and "nv_cpu_utilization" in fams
    report = bm.family_report(bm.snapshot(_read(FIX, "triton_cpu_metrics_after.prom")))
    assert report["inter_token_source"] == "vllm:time_per_output_token_seconds"
    assert report["absent"] == [
        "vllm:request_success_total",
        "vllm:inter_token_latency_seconds",
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
    ]


def test_vllm_server_has_every_wanted_family():
    report = bm.family_report(bm.snapshot(_read(FIX, "vllm_metrics_after.prom")))
    assert report == {"absent": [], "inter_token_source": "vllm:inter_token_latency_seconds"}


def test_triton_diff_counts_the_tutorial_run():
    before, after = _snaps()
    d = bm.diff(before, after, window_s=2.0)
    assert d["generation_tokens"] == REQUESTS * OUT_TOKENS  # exact output lengths
    assert d["triton_inference_success"] == REQUESTS
    assert d["ttft_observations"] == REQUESTS and d["e2e_observations"] == REQUESTS
    # Triton's TPOT histogram gets one observation per token after the first: the same
    # per-token gaps vLLM's ITL histogram holds, which Triton does not export
    assert d["tpot_observations"] == d["generation_tokens"] - REQUESTS
    assert not any(k.startswith("itl_") for k in d)
    assert "requests_succeeded" not in d  # no vllm:request_success_total on Triton
    # sub-10 ms gaps all fall in the lowest TPOT bucket (10 ms): the median is only known to
    # be under it, not the 5 ms an interpolation from 0 would invent; the mean is exact
    assert d["tpot_ms_p50"] is None and d["tpot_ms_p50_below"] == 10.0
    assert 0 < d["tpot_ms_mean"] < 10.0
    assert d["ttft_ms_p50"] is not None and d["ttft_ms_p50"] <= d["ttft_ms_p99"]
    assert d["output_token_throughput"] == d["generation_tokens"] / 2.0


def test_client_server_token_agreement_on_real_runs():
    before, after = _snaps()
    server = bm.diff(before, after)
    gp = bp.parse_export_file(GP, "genai-perf", REQUESTS)
    assert gp["request_count"] == REQUESTS
    # genai-perf re-tokenizes the streamed text: it counts more than the server generated
    assert br.token_agreement(gp, server) == gp["output_tokens_total"] / server["generation_tokens"]
    assert br.token_agreement(gp, server) > 1.0
    ap_before, ap_after = _snaps((AP, "metrics_before.prom"), (AP, "metrics_after.prom"))
    ap_server = bm.diff(ap_before, ap_after)
    assert ap_server["generation_tokens"] == REQUESTS * OUT_TOKENS
    ap = bp.parse_export_file(os.path.join(AP, "profile_export_aiperf.json"), "aiperf")
    assert ap["request_count"] == REQUESTS and ap["error_count"] == 0
    ratio = br.token_agreement(ap, ap_server)
    assert ratio == ap["output_tokens_total"] / (REQUESTS * OUT_TOKENS) and ratio != 1.0
    assert br.token_agreement({"output_tokens_total": None}, ap_server) is None


def test_runner_and_report_on_triton_scrapes(tmp_path):
    """One point measured against the captured Triton scrapes: the report names the absent
    families and labels the inter-token column as TPOT."""
    texts = iter([_read(AP, "metrics_before.prom"), _read(AP, "metrics_after.prom")])

    def tool(cmd, cwd):
        shutil.copy(os.path.join(AP, "profile_export_aiperf.json"), cwd)
        return 0, "", ""

    ctx = {
        "engine": "aiperf",
        "version": "0.13.0",
        "exe": "aiperf",
        "target": {
            "kind": "triton_generate",
            "url": "http://127.0.0.1:8000",
            "model": "demo",
            "tokenizer": "/m",
        },
        "options": {"seed": 123, "num_prompts": 10},
        "workspace": str(tmp_path),
        "metrics_url": "http://127.0.0.1:8002/metrics",
        "model": "demo",
        "warmup_requests": 0,
    }
    point = bs.plan(bs.validate(bs.resolve_profile("tutorial")))[0]
    summary = br.Runner(ctx, tool, lambda url: next(texts), iter(range(100)).__next__).run([point])
    assert summary["ran"] == [point["id"]] and not summary["failed"]
    rows, _failures = br.collect(str(tmp_path), [point])
    row = rows[0]
    assert row["server_inter_token_source"] == "vllm:time_per_output_token_seconds"
    assert "vllm:inter_token_latency_seconds" in row["server_absent_families"]
    ratio = row["server_metrics"]["client_server_token_ratio"]["mean"]
    assert ratio == row["metrics"]["output_tokens_total"]["mean"] / (REQUESTS * OUT_TOKENS)
    md = rep.markdown({"runtime": "triton_cpu"}, rows, [])
    assert "vllm:time_per_output_token_seconds" in md and "TPOT" in md
    assert "vllm:kv_cache_usage_perc" in md  # listed as absent
    assert "< 10" in md  # the TPOT median is only bounded
    assert "%.3f" % ratio in md


def test_burst_delivery_flagged_on_a_real_role_run():
    """genai-perf through the role against the same Triton: the client saw 0.004 ms between
    tokens (answers arrived in one burst) where the server spent ~1.5 ms per token."""
    d = os.path.join(FIX, "genai_perf_0.0.16_triton_cpu_kserve_c1_role")
    result = bs.load_json(os.path.join(d, "result.json"))
    client = bp.parse_export_file(
        os.path.join(d, "profile_export_genai_perf.json"), "genai-perf", 10
    )
    assert client == result["client"]
    point = {"id": "p", "concurrency": 1, "input_tokens": 128, "output_tokens": 128}
    row = bs.aggregate(point, [result], 0.1)
    assert client["itl_ms_p50"] < bs.BURST_FRACTION * result["server"]["tpot_ms_mean"]
    assert row["bursty_delivery"] is True
    assert "in bursts" in rep.markdown({}, [row], [])
    # the tutorial capture with scrapes: 0.67 ms client vs 1.49 ms server is no burst
    before, after = _snaps()
    other = {"client": bp.parse_export_file(GP, "genai-perf", 10), "server": bm.diff(before, after)}
    assert bs.aggregate(point, [other], 0.1)["bursty_delivery"] is False
    assert bs.aggregate(point, [{"client": client}], 0.1)["bursty_delivery"] is None


def test_overhead_pairs_the_same_points_of_both_runtimes():
    """results.json of the same genai-perf sweep (128/128, c1 and c4, 16 requests, 2 repeats)
    against Triton (kserve) and plain vLLM (OpenAI completions) on the same engine and model."""
    d = os.path.join(FIX, "triton_overhead")
    triton = bs.load_json(os.path.join(d, "triton_cpu", "results.json"))["rows"]
    vllm = bs.load_json(os.path.join(d, "vllm_cpu", "results.json"))["rows"]
    diffs = rep.overhead(triton, vllm)
    assert [x["load"] for x in diffs] == ["c=1", "c=4"]
    for x, t, v in zip(diffs, triton, vllm, strict=True):
        tps = t["metrics"]["output_token_throughput"]["mean"]
        assert x["tps_ratio"] == tps / v["metrics"]["output_token_throughput"]["mean"]
        srv = t["server_metrics"]["output_token_throughput"]["mean"]
        assert x["server_tps_ratio"] == srv / v["server_metrics"]["output_token_throughput"]["mean"]
        assert x["ttft_p50_diff_ms"] == x["ttft_p50_triton"] - x["ttft_p50_vllm"]
        assert x["itl_p50_diff_ms"] == x["itl_p50_triton"] - x["itl_p50_vllm"]
        # each server's own gap between tokens, from the family it has
        assert x["server_gap_families"] == (
            "vllm:time_per_output_token_seconds",
            "vllm:inter_token_latency_seconds",
        )
        assert x["server_gap_triton"] == t["server_metrics"]["tpot_ms_mean"]["mean"]
    # a point only one side measured is not compared
    assert rep.overhead(triton, vllm[:1]) == diffs[:1]
    table = "\n".join(rep.overhead_table(diffs))
    assert "| c=4 | 128/128 |" in table and "%.3f" % diffs[1]["tps_ratio"] in table
