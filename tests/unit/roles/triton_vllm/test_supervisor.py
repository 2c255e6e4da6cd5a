# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/triton_vllm/files/llmserve_supervisor.py with real processes: a stand-in "server"
(python) that starts a worker in its own session, as vLLM's engine processes escape the
server's process group. Checks start, no restart on an unchanged config, restart on a changed
one, stop of every process (workers and strays included), and the no-restart-on-early-exit rule.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SUP = os.path.join(ROOT, "roles", "triton_vllm", "files", "llmserve_supervisor.py")

SERVER = """
import os, subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                          start_new_session=True)
print("server", os.getpid(), "worker", worker.pid, flush=True)
time.sleep(600)
"""


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def marked(marker):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if marker.encode() in f.read().split(b"\0") and alive(int(entry)):
                        out.append(int(entry))
            except OSError:
                pass
    return out


def sup(*args):
    res = subprocess.run(
        [sys.executable, SUP, *args], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(res.stdout)


@pytest.fixture
def setup(tmp_path):
    marker = "LLMSERVE_SERVICE=test-%s" % uuid.uuid4().hex[:8]
    key, value = marker.split("=")
    cfg = {
        "name": "test",
        "argv": [sys.executable, "-c", SERVER],
        "env": {key: value},
        "cwd": str(tmp_path),
        "log_file": str(tmp_path / "server.log"),
        "run_dir": str(tmp_path / "run"),
        "stop_timeout": 5,
        "min_uptime": 0,
    }
    path = tmp_path / "server.json"
    path.write_text(json.dumps(cfg))
    yield cfg, path, marker
    sup("stop", "--run-dir", cfg["run_dir"], "--timeout", "2", "--sweep-env", marker)


def wait_for(cond, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_start_keep_restart_stop(setup):
    cfg, path, marker = setup
    assert sup("ensure", "--config", str(path), "--check") == {"action": "started", "changed": True}
    assert marked(marker) == []
    first = sup("ensure", "--config", str(path))
    assert first["changed"] is True and first["action"] == "started"
    pid = first["server_pid"]
    assert alive(pid)
    assert wait_for(lambda: len(marked(marker)) == 2)  # server + its worker in another session
    again = sup("ensure", "--config", str(path))
    assert again == {"action": "none", "changed": False, "server_pid": pid}

    before = marked(marker)
    cfg["argv"] = cfg["argv"] + ["--changed"]
    path.write_text(json.dumps(cfg))
    restarted = sup("ensure", "--config", str(path))
    assert restarted["action"] == "restarted" and restarted["server_pid"] != pid
    assert not any(alive(p) for p in before), "old server or worker survived the restart"
    assert wait_for(lambda: len(marked(marker)) == 2)

    stopped = sup("stop", "--run-dir", cfg["run_dir"], "--sweep-env", marker)
    assert stopped["changed"] is True
    assert marked(marker) == []
    assert not os.path.exists(os.path.join(cfg["run_dir"], "server.pid"))
    assert sup("stop", "--run-dir", cfg["run_dir"], "--sweep-env", marker)["changed"] is False
    with open(cfg["log_file"]) as f:
        log = f.read()
    assert log.count("] started test (pid") == 2 and "stopped on request" in log


def test_sweep_finds_strays_without_pidfiles(setup, tmp_path):
    cfg, path, marker = setup
    key, value = marker.split("=")
    stray = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env=dict(os.environ, **{key: value}),
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: stray.pid in marked(marker))
        check = sup("stop", "--run-dir", cfg["run_dir"], "--sweep-env", marker, "--check")
        assert check["changed"] is True and check["swept"] == [stray.pid]
        assert sup("stop", "--run-dir", cfg["run_dir"], "--sweep-env", marker)["changed"]
        stray.wait(timeout=10)
        assert stray.returncode is not None
    finally:
        if stray.poll() is None:
            stray.kill()


def test_early_exit_is_not_restarted(tmp_path):
    cfg = {
        "name": "early",
        "argv": [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
        "env": {},
        "log_file": str(tmp_path / "server.log"),
        "run_dir": str(tmp_path / "run"),
        "min_uptime": 60,
    }
    path = tmp_path / "server.json"
    path.write_text(json.dumps(cfg))
    # `ensure` may also fail when the server exits before it is seen running: both are valid.
    with contextlib.suppress(subprocess.CalledProcessError):
        sup("ensure", "--config", str(path))
    assert wait_for(lambda: "not restarting" in (tmp_path / "server.log").read_text())
    log = (tmp_path / "server.log").read_text()
    assert "boom" in log and "server exited with code 3" in log
    assert wait_for(lambda: not os.path.exists(os.path.join(cfg["run_dir"], "server.pid")))
    st = sup("status", "--run-dir", cfg["run_dir"])
    assert st["running"] is False and st["status"] == "exited" and st["exit_code"] == 3
