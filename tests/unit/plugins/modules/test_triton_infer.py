# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""triton_infer end to end through main(): a real local HTTP server replays captured vLLM 0.32.0
streams (OpenAI path); a real gRPC server built from tritonclient's stubs answers ModelReady and
ModelStreamInfer (Triton path)."""

import http.server
import json
import os
import sys
from concurrent import futures

import grpc
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import triton_infer as m
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "unit", "fixtures", "triton_infer")
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "triton_standin"))
import protocol as standin_protocol  # noqa: E402


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


class TritonLike(pb_grpc.GRPCInferenceServiceServicer):
    """Decoupled model 'demo' that streams the given deltas (stand-in protocol helpers)."""

    def __init__(self, deltas):
        self.deltas = deltas
        self.requests = []

    def ModelReady(self, request, context):
        return pb.ModelReadyResponse(ready=request.name == "demo")

    def ModelStreamInfer(self, request_iterator, context):
        for request in request_iterator:
            req = standin_protocol.parse_request(request)
            self.requests.append(req)
            for resp in standin_protocol.stream_responses("demo", req, iter(self.deltas)):
                yield pb.ModelStreamInferResponse(infer_response=resp)


@pytest.fixture
def triton_server():
    servers = []

    def start(deltas):
        svc = TritonLike(deltas)
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


def test_triton_stream(triton_server, capsys):
    url, svc = triton_server([" machine", "", " learning", " rocks"])
    rc, out = run_module(
        {"url": "grpc://" + url, "model": "demo", "protocol": "triton", "max_tokens": 3}, capsys
    )
    assert rc == 0, out
    assert out["text"] == " machine learning rocks"
    assert out["tokens"] == 3 and out["tokens_source"] == "stream_chunks"
    assert out["finish_reason"] == "final_response"
    req = svc.requests[0]
    assert req["stream"] and req["exclude_input"] and req["empty_final"]
    assert req["sampling"]["max_tokens"] == 3


def test_triton_unknown_model(triton_server, capsys):
    url, _state = triton_server(["x"])
    rc, out = run_module({"url": url, "model": "nope", "protocol": "triton"}, capsys)
    assert rc == 1 and "'nope' is not ready" in out["msg"]


def test_triton_empty_answer_fails(triton_server, capsys):
    url, _state = triton_server([])
    rc, out = run_module({"url": url, "model": "demo", "protocol": "triton"}, capsys)
    assert rc == 1 and "empty text" in out["msg"]
