# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_http: loopback servers are reached without the environment's proxy."""

import http.server
import threading

import pytest
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible_collections.llmserve.triton.plugins.module_utils._http import (
    grpc_channel_args,
    is_loopback,
    no_proxy_environment,
    open_server_url,
)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:8000/v2/health/ready", True),
        ("http://127.8.9.1:8000", True),
        ("http://[::1]:8000/v1", True),
        ("http://localhost:8000", True),
        ("127.0.0.1:8001", True),  # a gRPC target
        ("[::1]:8001", True),
        ("http://10.0.0.5:8000", False),
        ("http://gpu-host.example.com:8000", False),
        ("gpu-host:8001", False),
    ],
)
def test_is_loopback(url, expected):
    assert is_loopback(url) is expected


def test_grpc_channel_args_turn_the_proxy_off_for_loopback_only():
    assert grpc_channel_args("127.0.0.1:8001") == [("grpc.enable_http_proxy", 0)]
    assert grpc_channel_args("gpu-host:8001") is None


def test_a_loopback_server_answers_with_a_dead_proxy_in_the_environment(monkeypatch):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ready")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/v2/health/ready" % server.server_address[1]
    try:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        assert open_server_url(url, timeout=5).read() == b"ready"
        # The same request through the environment's proxy fails: the bypass is what works.
        with pytest.raises((OSError, UrlsConnectionError)):
            open_server_url(url, timeout=5, use_proxy=True).read()
    finally:
        server.shutdown()


def test_no_proxy_environment_adds_loopback_for_a_loopback_target_only():
    env = no_proxy_environment("127.0.0.1:8001", {"no_proxy": "corp.example, 10.0.0.1"})
    assert env["no_proxy"] == "corp.example,10.0.0.1,localhost,127.0.0.1,::1"
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
    assert no_proxy_environment("http://localhost:8000", {"NO_PROXY": "localhost"})["NO_PROXY"] == (
        "localhost,127.0.0.1,::1"
    )
    assert no_proxy_environment("http://server.example:8000", {}) == {}


def test_a_load_generator_reaches_a_loopback_server_past_a_dead_proxy(local_http):
    """A child process (as genai-perf and AIPerf run) with a dead proxy in its environment:
    with the updates it reaches the loopback server, without them it goes to the proxy."""
    import http.server
    import subprocess
    import sys

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"up")

        def log_message(self, *a):
            pass

    base = local_http(H)
    env = {
        "http_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "PATH": "/usr/bin:/bin",
    }
    code = (
        "import urllib.request, sys; "
        "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
    )
    fixed = dict(env, **no_proxy_environment(base, env))
    out = subprocess.run(
        [sys.executable, "-c", code, base], env=fixed, capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == "up", out.stderr
    out = subprocess.run(
        [sys.executable, "-c", code, base], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0  # the dead proxy, as the tools would meet it
