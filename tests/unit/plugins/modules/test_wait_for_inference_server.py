# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wait_for_inference_server against a real local HTTP server (standard library) that answers
with vLLM's captured /v1/models body, a real pidfile, and real captured failure logs."""

import http.server
import json
import os
import subprocess
import sys
import time

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import wait_for_inference_server as m

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "fixtures", "readiness")


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


@pytest.fixture
def server(local_http):
    """A server that answers /health and /v1/models like vLLM (ready=True) or 503s."""
    state = {"ready": True}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not state["ready"]:
                self.send_response(503)
                self.end_headers()
                return
            body = fixture("vllm_v1_models.json") if self.path == "/v1/models" else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return local_http(Handler), state


def run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        m.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(p)


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_ready(server, tmp_path, capsys):
    url, _requests = server
    args = dict(
        url=url,
        kind="openai",
        model="demo",
        pidfile=write(tmp_path, "pid", "%d\n" % os.getpid()),
        log_file=write(tmp_path, "log", fixture("vllm_cpu_healthy_start.log")),
    )
    rc, out = run_module(args, capsys)
    assert rc == 0 and out["ready"] is True, out
    assert out["models"] == ["demo"]
    assert out["process"]["running"] is True
    assert out["progress"].startswith("ready after")


def test_model_not_listed_keeps_waiting(server, tmp_path, capsys):
    url, _requests = server
    args = dict(url=url, kind="openai", model="llama3-70b", wait=1, interval=0.2)
    t0 = time.time()
    rc, out = run_module(args, capsys)
    assert rc == 0 and out["ready"] is False
    assert time.time() - t0 >= 1
    assert out["waiting_for"].startswith("model listed")
    assert out["progress"].startswith("waiting 0m0")


def test_dead_process_fails_with_cause_and_log(server, tmp_path, capsys):
    url, state = server
    state["ready"] = False
    args = dict(
        url=url,
        kind="openai",
        model="llama3-8b",
        pidfile=write(tmp_path, "pid", "%d\n" % dead_pid()),
        log_file=write(tmp_path, "log", fixture("vllm_gated_no_token.log")),
        log_lines=50,
    )
    rc, out = run_module(args, capsys)
    assert rc == 1 and out["failed"] is True
    assert out["cause"] == "gated_model_without_token"
    assert len(out["log_tail"]) == 50
    assert "Last 50 log lines" in out["msg"] and out["log_tail"][-1] in out["msg"]


def test_supervised_oom_log(server, tmp_path, capsys):
    url, state = server
    state["ready"] = False
    args = dict(
        url=url,
        kind="openai",
        model="demo",
        pidfile=write(tmp_path, "pid", ""),  # the supervisor removes it when the server exits
        log_file=write(tmp_path, "log", fixture("vllm_cpu_oom_killed_supervised.log")),
    )
    rc, out = run_module(args, capsys)
    assert rc == 1 and out["cause"] == "out_of_memory"
    assert "killed by SIGKILL" in out["msg"]


def test_deadline(server, tmp_path, capsys):
    url, state = server
    state["ready"] = False
    args = dict(url=url, kind="triton", model="m", timeout=5, started_at=time.time() - 10)
    rc, out = run_module(args, capsys)
    assert rc == 1 and "not ready within 5s" in out["msg"]
    assert out["waiting_for"].startswith("server ready (%s/v2/health/ready)" % url)


def test_ansible_doc_renders_and_matches_spec():
    from unittest import mock

    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    fqcn = "llmserve.triton.wait_for_inference_server"
    out = subprocess.run(
        [doc, "--json", fqcn], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    options = json.loads(out)[fqcn]["doc"]["options"]
    captured = {}

    class Stop(Exception):
        pass

    def fake(**kwargs):
        captured.update(kwargs["argument_spec"])
        raise Stop

    with mock.patch.object(m, "AnsibleModule", side_effect=fake), pytest.raises(Stop):
        m.main()
    assert set(options) == set(captured)
    for name, entry in captured.items():
        assert options[name].get("type", "str") == entry.get("type", "str"), name
        assert options[name].get("default") == entry.get("default"), name
