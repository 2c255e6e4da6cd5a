# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command lines for both engines against the flag tables and the real --help texts."""

import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _bench_commands as bc

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
POINT = {"concurrency": 4, "input_tokens": 128, "output_tokens": 64, "request_count": 10}
KSERVE = {"kind": "kserve", "url": "localhost:8001", "model": "vllm_model", "tokenizer": "tok"}
OPENAI = {"kind": "openai", "url": "http://h:8000", "model": "demo", "tokenizer": "/m"}
OPTS = {"seed": 123, "num_prompts": 10}


def _help(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def _flag_values(cmd):
    """{flag: [values...]} of an argv (flags may repeat)."""
    out = {}
    key = None
    for a in cmd[1:]:
        if a.startswith("-") and not a.lstrip("-").replace(".", "").isdigit():
            key = a
            out.setdefault(key, [])
        elif key:
            out[key].append(a)
    return out


def test_tutorial_shape_current_genai_perf():
    cmd = bc.build_command("genai-perf", "0.0.16", "genai-perf", POINT, KSERVE, "/out", OPTS)
    t = bc.flag_table("genai-perf", "0.0.16")
    f = _flag_values(cmd)
    assert cmd[:2] == ["genai-perf", "profile"]
    assert f[t["endpoint_type"]] == ["kserve"]
    assert f[t["backend"]] == ["vllm"]
    assert t["streaming"] in f
    assert f[t["seed"]] == ["123"]
    assert f[t["num_prompts"]] == ["10"]
    assert f[t["input_mean"]] == ["128"] and f[t["output_mean"]] == ["64"]
    assert t["output_deterministic"] in f  # min_tokens = max_tokens in sampling_parameters
    assert f[t["url"]] == ["localhost:8001"]
    assert f[t["artifact_dir"]] == ["/out"]
    # names the tutorial used are gone from today's genai-perf
    for old in ("--service-kind", "--input-tokens-mean", "--expected-output-tokens"):
        assert old not in cmd
    assert "--warmup-request-count" not in cmd  # perf_analyzer 2.46 rejects it


def test_legacy_genai_perf_uses_tutorial_flag_names():
    cmd = bc.build_command("genai-perf", "0.0.3", "genai-perf", POINT, KSERVE, "/out", OPTS)
    f = _flag_values(cmd)
    assert cmd[1] == "-m"  # no subcommand yet
    assert f["--service-kind"] == ["triton"]
    assert f["--num-of-output-prompts"] == ["10"]
    assert f["--input-tokens-mean"] == ["128"]
    assert f["--expected-output-tokens"] == ["64"]
    assert f["--profile-export-file"] == ["/out/profile_export.json"]
    assert "--endpoint-type" not in f and "--request-count" not in f
    # without --request-count the measurement window is a time interval
    assert "--measurement-interval" in f


def test_every_emitted_flag_is_in_the_real_help():
    gp = _help("genai_perf_0.0.16_profile_help.txt")
    ap = _help("aiperf_0.13.0_profile_help.txt")
    slo = {"ttft_ms": 100, "itl_ms": 5}
    for target in (KSERVE, OPENAI):
        cmd = bc.build_command(
            "genai-perf", "0.0.16", "gp", POINT, target, "/o", dict(OPTS, slo=slo)
        )
        assert bc.unsupported_flags(cmd[1:], gp) == []
    rate = dict(POINT, request_rate=2.5)
    cmd = bc.build_command("aiperf", "0.13.0", "aiperf", rate, OPENAI, "/o", dict(OPTS, slo=slo))
    assert bc.unsupported_flags(cmd[1:], ap) == []
    f = _flag_values(cmd)
    assert f["--request-rate"] == ["2.5"] and "--concurrency" not in f
    assert f["--goodput"] == ["inter_token_latency:5 time_to_first_token:100"]
    assert f["--extra-inputs"] == ["ignore_eos:true", "min_tokens:64"]
    assert "--use-server-token-count" in f
    # the current flag table against the old help: the renamed flags are reported
    legacy_help = "-m --service-kind --backend --num-of-output-prompts --input-tokens-mean"
    bad = bc.unsupported_flags(
        bc.build_command("genai-perf", "0.0.16", "gp", POINT, KSERVE, "/o", OPTS)[1:], legacy_help
    )
    assert "--synthetic-input-tokens-mean" in bad and "--endpoint-type" in bad


def test_unsupported_extra_flag_detected():
    gp = _help("genai_perf_0.0.16_profile_help.txt")
    cmd = bc.build_command(
        "genai-perf", "0.0.16", "gp", POINT, OPENAI, "/o", dict(OPTS, extra_args=["--no-such-flag"])
    )
    assert bc.unsupported_flags(cmd[1:], gp) == ["--no-such-flag"]


def test_bad_engine_and_combinations():
    with pytest.raises(bc.CommandError, match="benchmark_engine must be one of"):
        bc.flag_table("locust", "1.0")
    with pytest.raises(bc.CommandError, match="AIPerf has no Triton KServe"):
        bc.build_command("aiperf", "0.13.0", "aiperf", POINT, KSERVE, "/o", OPTS)
    with pytest.raises(bc.CommandError, match="no --goodput"):
        bc.build_command("genai-perf", "0.0.5", "gp", POINT, OPENAI, "/o", {"slo": {"ttft_ms": 1}})
    with pytest.raises(bc.CommandError, match="unknown SLO"):
        bc.goodput_arg({"ttfb": 1})


def test_version_parsing_selects_table():
    assert bc.parse_version("genai-perf 0.0.16") == (0, 0, 16)
    assert bc.flag_table("genai-perf", "0.0.10")["service_kind"] == "--service-kind"
    assert bc.flag_table("genai-perf", "0.0.11")["service_kind"] is None
    with pytest.raises(bc.CommandError):
        bc.parse_version("unknown")
