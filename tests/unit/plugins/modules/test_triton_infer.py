# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""triton_infer end to end through main(): a real local HTTP server replays captured vLLM 0.32.0
streams (OpenAI path); a real gRPC server built from tritonclient's stubs answers ModelReady and
ModelStreamInfer with what a real Triton 2.51 + NVIDIA's vLLM backend streamed (Triton path)."""

import copy
import http.server
import json
import os
from concurrent import futures

import grpc
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import triton_infer as m
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "unit", "fixtures", "triton_infer")


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


@pytest.fixture
def openai_server(local_http):
    """Replays a captured /v1/completions stream; records the request bodies."""
    state = {"body": fixture("vllm_0.32.0_completions_stream_usage.txt"), "requests": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers["Content-Length"])
            state["requests"].append(json.loads(self.rfile.read(n)))
            body = state["body"]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return local_http(Handler), state


class TritonReplay(pb_grpc.GRPCInferenceServiceServicer):
    """Model 'demo' answering each streamed request with the given captured responses."""

    def __init__(self, responses):
        self.responses = responses
        self.requests = []

    def ModelReady(self, request, context):
        return pb.ModelReadyResponse(ready=request.name == "demo")

    def ModelStreamInfer(self, request_iterator, context):
        for request in request_iterator:
            self.requests.append(request)
            for resp in self.responses:
                yield pb.ModelStreamInferResponse(infer_response=resp)


def emptied(responses):
    """The captured stream with every text_output emptied (BYTES: a 4-byte zero length)."""
    out = copy.deepcopy(responses)
    for resp in out:
        resp.raw_output_contents[0] = b"\0\0\0\0"
    return out


@pytest.fixture
def triton_server():
    servers = []

    def start(responses):
        svc = TritonReplay(responses)
        srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(svc, srv)
        port = srv.add_insecure_port("127.0.0.1:0")
        srv.start()
        servers.append(srv)
        return "127.0.0.1:%d" % port, svc

    yield start
    for srv in servers:
        srv.stop(0)


def run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        m.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_openai_answer(openai_server, capsys):
    url, state = openai_server
    rc, out = run_module({"url": url, "model": "tiny", "protocol": "openai"}, capsys)
    assert rc == 0, out
    assert out["changed"] is False
    assert out["tokens"] == 8 and out["tokens_source"] == "usage"
    assert out["text"].strip()
    assert 0 <= out["ttft_s"] <= out["latency_s"]
    sent = state["requests"][0]
    assert sent["prompt"] == "machine learning is" and sent["max_tokens"] == 16
    assert sent["stream"] is True


def test_openai_empty_answer_fails(openai_server, capsys):
    url, state = openai_server
    # The captured stream with every text emptied: the server answered, but with nothing.
    lines = []
    for line in fixture("vllm_0.32.0_completions_stream_usage.txt").splitlines():
        if line.startswith(b"data: {"):
            ev = json.loads(line[6:])
            for c in ev["choices"]:
                c["text"] = ""
            line = b"data: " + json.dumps(ev).encode()
        lines.append(line)
    state["body"] = b"\n".join(lines) + b"\n"
    rc, out = run_module({"url": url, "model": "tiny", "protocol": "openai"}, capsys)
    assert rc == 1 and out["failed"]
    assert "empty text" in out["msg"]


def test_api_key_is_not_returned(openai_server, capsys):
    url, _state = openai_server
    rc, out = run_module(
        {"url": url, "model": "tiny", "protocol": "openai", "api_key": "sk-CANARY-123"}, capsys
    )
    assert rc == 0
    assert "sk-CANARY-123" not in json.dumps(out)


def test_bad_max_tokens(capsys):
    rc, out = run_module({"url": "x", "model": "m", "max_tokens": 0}, capsys)
    assert rc == 1 and "max_tokens must be at least 1" in out["msg"]


def test_triton_stream(triton_server, triton_stream, triton_request_decoder, capsys):
    url, svc = triton_server(triton_stream)
    rc, out = run_module(
        {"url": "grpc://" + url, "model": "demo", "protocol": "triton", "max_tokens": 8}, capsys
    )
    assert rc == 0, out
    # the real backend streams one token per response and flags the last one final
    texts = [bytes(r.raw_output_contents[0][4:]).decode() for r in triton_stream]
    assert out["text"] == "".join(texts) and out["text"].strip()
    assert out["tokens"] == len(triton_stream) == 8 and out["tokens_source"] == "stream_chunks"
    assert out["finish_reason"] == "final_response" and out["responses"] == 8
    req = triton_request_decoder(svc.requests[0])
    assert req["text_input"] == "machine learning is"
    assert req["stream"] is True and req["exclude_input_in_output"] is True
    assert req["parameters"]["triton_enable_empty_final_response"].bool_param is True
    assert req["sampling_parameters"]["max_tokens"] == 8


def test_triton_unknown_model(triton_server, triton_stream, capsys):
    url, _state = triton_server(triton_stream)
    rc, out = run_module({"url": url, "model": "nope", "protocol": "triton"}, capsys)
    assert rc == 1 and "'nope' is not ready" in out["msg"]


def test_triton_empty_answer_fails(triton_server, triton_stream, capsys):
    url, _state = triton_server(emptied(triton_stream))
    rc, out = run_module({"url": url, "model": "demo", "protocol": "triton"}, capsys)
    assert rc == 1 and "empty text" in out["msg"]
