# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Command lines for both engines against the flag tables and the real --help texts."""

import json
import os

import jinja2
import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as bc

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
POINT = {"concurrency": 4, "input_tokens": 128, "output_tokens": 64, "request_count": 10}
KSERVE = {"kind": "kserve", "url": "localhost:8001", "model": "vllm_model", "tokenizer": "tok"}
OPENAI = {"kind": "openai", "url": "http://h:8000", "model": "demo", "tokenizer": "/m"}
TRITON_HTTP = {
    "kind": "triton_generate",
    "url": "http://h:8000",
    "model": "demo",
    "tokenizer": "/m",
}
# a tutorial-shape AIPerf run against a real Triton 2.51 + vLLM backend (triton_cpu layout):
# inputs.json holds the bodies AIPerf rendered from our template and Triton accepted
AP_TRITON = os.path.join(FIX, "aiperf_0.13.0_triton_cpu_template_c1")
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
    with pytest.raises(bc.CommandError, match="benchmark_target_kind=kserve: AIPerf has no"):
        bc.build_command("aiperf", "0.13.0", "aiperf", POINT, KSERVE, "/o", OPTS)
    with pytest.raises(bc.CommandError, match="genai-perf cannot use benchmark_target_kind"):
        bc.build_command("genai-perf", "0.0.16", "gp", POINT, TRITON_HTTP, "/o", OPTS)
    with pytest.raises(bc.CommandError, match="set benchmark_tokenizer"):
        bc.build_command(
            "aiperf", "0.13.0", "aiperf", POINT, dict(TRITON_HTTP, tokenizer=""), "/o", OPTS
        )
    with pytest.raises(bc.CommandError, match="unknown benchmark_target_kind"):
        bc.check_target("aiperf", "grpc")
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


def _aiperf_render(extra_json, text, max_tokens, stream):
    """Render the body the way AIPerf 0.13's template endpoint does (Jinja2, autoescape on,
    `text`, `max_tokens`, `stream` among its variables)."""
    extra = json.loads(extra_json)
    env = jinja2.Environment(autoescape=True)
    body = env.from_string(extra["payload_template"]).render(
        text=text, max_tokens=max_tokens, stream=stream
    )
    return json.loads(body), extra["response_field"]


def test_triton_generate_command_for_aiperf():
    cmd = bc.build_command("aiperf", "0.13.0", "aiperf", POINT, TRITON_HTTP, "/o", OPTS)
    f = _flag_values(cmd)
    assert f["--endpoint-type"] == ["template"]
    assert f["--custom-endpoint"] == ["/v2/models/demo/generate_stream"]
    assert f["--url"] == ["http://h:8000"] and "--streaming" in f
    assert f["--tokenizer"] == ["/m"]
    # the template endpoint reads no usage: server token counts would all be missing
    assert "--use-server-token-count" not in f
    assert len(f["--extra-inputs"]) == 1  # one JSON object (a template holds commas/colons)
    assert bc.unsupported_flags(cmd[1:], _help("aiperf_0.13.0_profile_help.txt")) == []
    off = bc.build_command(
        "aiperf", "0.13.0", "aiperf", POINT, TRITON_HTTP, "/o", dict(OPTS, streaming=False)
    )
    assert _flag_values(off)["--custom-endpoint"] == ["/v2/models/demo/generate"]


def test_triton_generate_body_is_what_triton_accepted():
    with open(os.path.join(AP_TRITON, "inputs.json")) as f:
        sent = [p for d in json.load(f)["data"] for p in d["payloads"]]
    cmd = bc.build_command("aiperf", "0.13.0", "aiperf", POINT, TRITON_HTTP, "/o", OPTS)
    extra = _flag_values(cmd)["--extra-inputs"][0]
    assert len(sent) == 10
    for body in sent:
        mine, field = _aiperf_render(extra, body["text_input"], 128, True)
        assert mine == body
        # sampling_parameters is a JSON string (the backend json.loads it), exact length
        params = json.loads(mine["sampling_parameters"])
        assert params == {"max_tokens": 128, "min_tokens": 128, "ignore_eos": True}
    assert field == "text_output"  # the key of Triton's generate responses
    # quotes and markup in a prompt survive autoescaping as valid JSON
    tricky = 'say "hi" <b>&</b>\n'
    mine = _aiperf_render(bc.triton_generate_extra(False), tricky, 7, False)[0]
    assert mine["text_input"] == tricky and mine["stream"] is False
    assert json.loads(mine["sampling_parameters"]) == {"max_tokens": 7}
