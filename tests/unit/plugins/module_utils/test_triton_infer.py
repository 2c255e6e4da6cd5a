# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _triton_infer on real captured vLLM 0.32.0 streams and real tritonclient."""

import io
import json
import os
import queue
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from ansible_collections.llmserve.triton.plugins.module_utils import _triton_infer as ti
from tritonclient.grpc import _utils as grpc_utils
from tritonclient.grpc import service_pb2 as pb

ROOT = Path(__file__).resolve().parents[4]
FIX = ROOT / "tests" / "unit" / "fixtures" / "triton_infer"


def fixture_lines(name):
    return (FIX / name).read_bytes().splitlines(keepends=True)


def events_of(name):
    """The JSON events of a captured SSE stream, decoded independently of the module."""
    out = []
    for line in (FIX / name).read_text().splitlines():
        if line.startswith("data: ") and line[6:] != "[DONE]":
            out.append(json.loads(line[6:]))
    return out


class Clock:
    """Deterministic monotonic clock: each call advances by `step` seconds."""

    def __init__(self, start=100.0, step=0.5):
        self.now = start - step
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def test_openai_stream_with_usage_counts_server_tokens():
    name = "vllm_0.32.0_completions_stream_usage.txt"
    events = events_of(name)
    expected_text = "".join(c["text"] for e in events for c in e["choices"])
    usage = [e["usage"] for e in events if e.get("usage")][-1]
    clock = Clock()
    res = ti.consume_openai_stream(fixture_lines(name), started=99.0, clock=clock)
    out = res.as_dict("openai", "tiny")
    assert out["text"] == expected_text
    assert out["tokens"] == usage["completion_tokens"]
    assert out["tokens_source"] == "usage"
    assert out["finish_reason"] == "length"
    # the first event arrives at the first clock tick (100.0), 1 s after the start.
    assert out["ttft_s"] == pytest.approx(1.0)
    assert out["latency_s"] > out["ttft_s"]


def test_openai_stream_without_usage_counts_chunks():
    name = "vllm_0.32.0_completions_stream_nousage.txt"
    events = events_of(name)
    nonempty = [c["text"] for e in events for c in e["choices"] if c["text"]]
    res = ti.consume_openai_stream(fixture_lines(name), started=0.0, clock=Clock(1.0, 0.1))
    out = res.as_dict("openai", "tiny")
    assert out["tokens_source"] == "stream_chunks"
    assert out["tokens"] == len(nonempty)
    assert out["text"] == "".join(nonempty)


def test_openai_stream_cut_before_done_fails():
    lines = list(fixture_lines("vllm_0.32.0_completions_stream_usage.txt"))
    cut = [ln for ln in lines if b"[DONE]" not in ln]
    with pytest.raises(ti.InferError, match="without 'data: \\[DONE\\]'"):
        ti.consume_openai_stream(cut, started=0.0)


def test_openai_stream_error_event_fails():
    body = (FIX / "vllm_0.32.0_completions_too_long.txt").read_text().strip()
    with pytest.raises(ti.InferError, match="max_tokens=4000 cannot be greater"):
        ti.consume_openai_stream([b"data: " + body.encode() + b"\n"], started=0.0)


def test_openai_non_json_event_fails():
    with pytest.raises(ti.InferError, match="not JSON"):
        ti.consume_openai_stream([b"data: <html>\n"], started=0.0)


def test_openai_infer_http_404_names_model_and_hint():
    body = (FIX / "vllm_0.32.0_completions_404.txt").read_bytes()

    def opener(req, timeout):
        assert json.loads(req.data)["stream"] is True
        raise urllib.error.HTTPError(req.full_url, 404, "Not Found", {}, io.BytesIO(body))

    with pytest.raises(ti.InferError) as err:
        ti.openai_infer("http://h:8000", "nope", "p", 4, 0.0, 5, opener=opener)
    msg = str(err.value)
    assert "HTTP 404" in msg and "Valid aliases: tiny" in msg and "GET /v1/models" in msg


def test_openai_infer_sends_key_and_reads_stream():
    seen = {}

    class Resp(io.BytesIO):
        pass

    def opener(req, timeout):
        seen["url"] = req.full_url
        seen["auth"] = req.get_header("Authorization")
        seen["body"] = json.loads(req.data)
        return Resp((FIX / "vllm_0.32.0_completions_stream_usage.txt").read_bytes())

    out = ti.openai_infer(
        "127.0.0.1:8000/v1/", "tiny", "machine learning is", 8, 0.0, 5, api_key="k", opener=opener
    )
    assert seen["url"] == "http://127.0.0.1:8000/v1/completions"
    assert seen["auth"] == "Bearer k"
    assert seen["body"]["stream_options"] == {"include_usage": True}
    assert out["tokens"] == 8 and out["text"]


def test_openai_unreachable_is_clear():
    with pytest.raises(ti.InferError, match="cannot reach http://127.0.0.1:9/v1/completions"):
        ti.openai_infer("http://127.0.0.1:9", "m", "p", 1, 0.0, 2)


@pytest.mark.parametrize(
    "url,expected",
    [
        ("http://h:8000", "http://h:8000/v1"),
        ("http://h:8000/v1/", "http://h:8000/v1"),
        ("h:8000", "http://h:8000/v1"),
        ("https://x.example/v1", "https://x.example/v1"),
    ],
)
def test_openai_base_url(url, expected):
    assert ti.openai_base_url(url) == expected


@pytest.mark.parametrize(
    "url,expected",
    [
        ("127.0.0.1:8001", "127.0.0.1:8001"),
        ("grpc://host:9001/", "host:9001"),
        ("host", "host:8001"),
    ],
)
def test_grpc_target(url, expected):
    assert ti.grpc_target(url) == expected


def test_check_answer_rejects_blank_text():
    res = ti.StreamResult(0.0)
    res.add_text("", 0.1)
    res.finish(0.2)
    with pytest.raises(ti.InferError, match="empty text"):
        ti.check_answer(res.as_dict("triton", "demo"))


def test_triton_inputs_decode_as_the_vllm_backend_reads_them(triton_request_decoder):
    """The request tritonclient puts on the wire carries the vLLM backend's contract."""
    inputs = ti.build_triton_inputs(grpcclient, np, "machine learning is", 12, 0.0, True)
    request = grpc_utils._get_inference_request(
        model_name="demo",
        inputs=inputs,
        model_version="",
        request_id="r1",
        outputs=[grpcclient.InferRequestedOutput("text_output")],
        sequence_id=0,
        sequence_start=False,
        sequence_end=False,
        priority=0,
        timeout=None,
        parameters=None,
    )
    assert [i.name for i in request.inputs] == [
        "text_input",
        "stream",
        "sampling_parameters",
        "exclude_input_in_output",
    ]
    assert [i.datatype for i in request.inputs] == ["BYTES", "BOOL", "BYTES", "BOOL"]
    assert all(list(i.shape) == [1] for i in request.inputs)
    assert [o.name for o in request.outputs] == ["text_output"]
    parsed = triton_request_decoder(request)
    assert parsed["text_input"] == "machine learning is"
    assert parsed["stream"] is True and parsed["exclude_input_in_output"] is True
    assert parsed["sampling_parameters"] == {
        "max_tokens": 12,
        "temperature": 0.0,
        "ignore_eos": True,
    }


def _result_of(resp):
    """Wrap a ModelInferResponse as tritonclient's InferResult does for callbacks."""
    return grpcclient.InferResult(resp)


def test_final_flag_and_text_output_via_tritonclient_result(triton_stream):
    """On what the real Triton + vLLM backend streamed: one token per response, the last one
    flagged final (triton_final_response), no separate empty final response."""
    finals = [ti.is_final_response(r) for r in triton_stream]
    texts = [ti.decode_text_output(_result_of(r).as_numpy("text_output")) for r in triton_stream]
    assert finals == [False] * (len(triton_stream) - 1) + [True]
    assert all(t for t in texts) and "".join(texts).strip()
    assert texts == [bytes(r.raw_output_contents[0][4:]).decode() for r in triton_stream]
    assert ti.is_final_response(pb.ModelInferResponse()) is False


def test_collect_triton_stream_stops_at_final_and_times_tokens():
    q = queue.Queue()
    q.put(("response", ("machine", False), 10.25))
    q.put(("response", (" learning", False), 10.5))
    q.put(("response", ("", True), 10.75))
    q.put(("response", ("never read", False), 11.0))
    out = ti.collect_triton_stream(q, started=10.0, timeout=5, clock=lambda: 10.0).as_dict(
        "triton", "demo"
    )
    assert out["text"] == "machine learning"
    assert out["tokens"] == 2 and out["responses"] == 3
    assert out["ttft_s"] == pytest.approx(0.25) and out["latency_s"] == pytest.approx(0.75)


def test_collect_triton_stream_error_and_timeout():
    q = queue.Queue()
    q.put(("error", "Request for unknown model: 'x' is not found", 1.0))
    with pytest.raises(ti.InferError, match="unknown model"):
        ti.collect_triton_stream(q, started=0.0, timeout=5, clock=lambda: 0.0)
    ticks = iter([0.0, 0.5, 2.0])
    with pytest.raises(ti.InferError, match="no final response within 1"):
        ti.collect_triton_stream(queue.Queue(), started=0.0, timeout=1, clock=lambda: next(ticks))


def test_missing_tritonclient_raises_importerror(monkeypatch):
    monkeypatch.setitem(sys.modules, "tritonclient.grpc", None)
    with pytest.raises(ImportError):
        ti.triton_infer("127.0.0.1:1", "m", "p", 1, 0.0, 1)


def test_fixture_files_are_real_captures():
    # Guards against someone replacing the captures with hand-written text.
    text = (FIX / "vllm_0.32.0_completions_stream_usage.txt").read_text()
    assert '"system_fingerprint":"vllm-0.32.0-' in text
    assert os.path.getsize(FIX / "vllm_0.32.0_completions_stream_nousage.txt") > 200
