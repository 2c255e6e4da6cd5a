# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/_run_sweep: what genai_perf_sweep does, with its side effects on a fake host. The
load generator is replaced by a function that drops a real captured export where the tool
would write it; the server's metrics are real vLLM scrapes."""

import json
import os
import shutil
import socket

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_sweep as rs
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
    reachable,
)
from ansible_collections.llmserve.triton.plugins.modules.genai_perf_sweep import argument_spec

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
EXPORT = os.path.join(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")
C1, C4 = "default__in32-out16__c1", "default__in32-out16__c4"


def _read(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def _params(ws, **kw):
    """The module's parameters as AnsibleModule fills them: every option, defaults applied."""
    spec = argument_spec()
    p = {k: v.get("default") for k, v in spec.items()}
    p["target"] = {k: v.get("default") for k, v in spec["target"]["options"].items()}
    p["target"].update(url="h:8000", model="tiny", metrics_url="http://h:8000/metrics")
    p.update(profile="ci_small", workspace=ws)
    target = kw.pop("target", {})
    p.update(kw)
    p["target"].update(target)
    return p


class FakeHost:
    """run_command answers --version and --help like genai-perf 0.0.16 and runs profiles by
    dropping the captured export; every call is recorded."""

    def __init__(self, version_text="genai-perf 0.0.16\n", unreachable=None, fail_on=None):
        self.version_text = version_text
        self.help_text = _read("genai_perf_0.0.16_profile_help.txt")
        self.unreachable = unreachable
        self.fail_on = fail_on
        self.commands, self.profiles, self.probes, self.looked_up = [], [], [], []
        self.scrapes = [_read("vllm_metrics_before.prom"), _read("vllm_metrics_after.prom")]
        self.n_scrapes = 0
        self.now = 0.0

    def run_command(self, argv, cwd=None, environ_update=None):
        self.commands.append((argv, cwd, environ_update))
        if argv[-1] == "--version":
            return 0, self.version_text, ""
        if argv[-1] == "--help":
            return 0, self.help_text, ""
        self.profiles.append(argv)
        if self.fail_on is not None and len(self.profiles) == self.fail_on:
            return 1, "", "ERROR: failed to connect to all addresses"
        out = argv[argv.index("--artifact-dir") + 1]
        shutil.copy(EXPORT, os.path.join(out, "profile_export_genai_perf.json"))
        return 0, "ok", ""

    def which(self, name):
        self.looked_up.append(name)
        return "/usr/local/bin/" + name

    def fetch_text(self, url):
        self.n_scrapes += 1
        return self.scrapes[(self.n_scrapes + 1) % 2]  # before, after, before, after ...

    def reachable(self, url):
        self.probes.append(url)
        return self.unreachable

    def clock(self):
        self.now += 1.0
        return self.now


def _sweep(params, host):
    cfg, points = rs.validate(params)
    return rs.run_sweep(params, cfg, points, rs.plan(params, cfg, points), host)


@pytest.mark.parametrize(
    "extra,msg",
    [
        ({"concurrency": [0]}, "positive integers"),
        ({"lengths": [[2000, 100]], "max_model_len": 2048}, "max_model_len 2048"),
        ({"engine": "aiperf", "target": {"kind": "kserve"}}, "no KServe gRPC client"),
        ({"target": {"kind": "triton_generate"}}, "benchmark_target_kind=kserve"),
        ({"profile": "nope"}, "unknown benchmark_profile"),
        ({"slo": {"bogus_ms": 1}}, "benchmark_slo: unknown metric 'bogus_ms'"),
        ({"slo": {"ttft_ms_p95": 1}}, "benchmark_slo: ttft_ms_p95 asks for 'p95'"),
    ],
)
def test_validate_raises_a_clear_error(tmp_path, extra, msg):
    with pytest.raises(BenchError, match=msg) as err:
        rs.validate(_params(str(tmp_path), **extra))
    assert err.value.result == {}


@pytest.mark.parametrize(
    "slo,limits",
    [
        (None, None),
        ({}, None),
        ({"ttft_ms": 200, "itl_ms": 20}, {"ttft_ms": 200, "itl_ms": 20}),
        ({"ttft_ms_p99": 200, "ttft_ms_p50": 100, "error_rate": 0.01}, {"ttft_ms": 100}),
        ({"error_rate": 0.05}, None),
    ],
)
def test_goodput_slo_takes_the_per_request_limits(tmp_path, slo, limits):
    """--goodput gets one limit per metric (the tightest of its statistics); error_rate is
    no per-request limit."""
    assert rs.goodput_slo(_params(str(tmp_path), slo=slo)) == limits


def test_validate_returns_config_and_points(tmp_path):
    cfg, points = rs.validate(_params(str(tmp_path), engine_args_sweep={"max_num_seqs": [4, 8]}))
    assert cfg["profile"] == "ci_small" and cfg["repeats"] == 2
    assert [p["id"] for p in points][:2] == [
        "max_num_seqs-4__in32-out16__c1",
        "max_num_seqs-4__in32-out16__c4",
    ]
    assert len(points) == 4


def test_plan_states_and_check_mode_change(tmp_path):
    ws = str(tmp_path)
    params = _params(ws)
    cfg, points = rs.validate(params)
    result = rs.plan(params, cfg, points)
    assert result == {
        "changed": False,
        "plan": [dict(p, state="missing") for p in points],
        "servers": [{}],
    }
    assert rs.plan(params, cfg, points, check_mode=True)["changed"] is True
    for p in points:
        os.makedirs(os.path.join(ws, "points", p["id"]))
        with open(os.path.join(ws, "points", p["id"], "point.json"), "w") as f:
            json.dump({"status": "ok"}, f)
    done = rs.plan(params, cfg, points, check_mode=True)
    assert done["changed"] is False and {p["state"] for p in done["plan"]} == {"done"}
    assert os.listdir(ws) == ["points"]  # planning wrote nothing


def test_selected_keeps_the_points_of_only_server(tmp_path):
    params = _params(str(tmp_path), engine_args_sweep={"max_num_seqs": [4, 8]})
    _cfg, points = rs.validate(params)
    assert rs.selected(params, points) == points
    params["only_server"] = {"max_num_seqs": 8}
    assert [p["server"] for p in rs.selected(params, points)] == [{"max_num_seqs": 8}] * 2


def test_run_sweep_measures_writes_results_and_resumes(tmp_path):
    ws = str(tmp_path / "ws")
    params = _params(ws, environment={"HF_TOKEN": "x"}, meta={"host": "ci"}, timeout=60)
    host = FakeHost()
    result = _sweep(params, host)
    assert host.looked_up == ["genai-perf"]  # no executable given: looked up on PATH
    argv, _cwd, env = host.commands[0]
    assert argv == ["/usr/local/bin/genai-perf", "--version"] and env == {"HF_TOKEN": "x"}
    argv, _cwd, env = host.commands[1]
    assert argv[-2:] == ["profile", "--help"] and env == {"HF_TOKEN": "x", "COLUMNS": "300"}
    assert host.probes == ["h:8000"]
    # every profile run under `timeout`, in its artifact dir, with the environment
    assert all(a[:3] == ["timeout", "60", "/usr/local/bin/genai-perf"] for a in host.profiles)
    assert len(host.profiles) == 2 * (1 + 2)  # warm-up + 2 repeats per point
    assert result["changed"] is True and result["engine_version"] == "0.0.16"
    assert result["ran"] == [C1, C4] and result["skipped"] == [] and result["failed"] is None
    assert result["results_path"] == os.path.join(ws, "results.json")
    assert [r["id"] for r in result["rows"]] == [C1, C4]
    assert result["token_agreement"] and {p["state"] for p in result["plan"]} == {"missing"}
    assert set(result) == {
        "changed",
        "plan",
        "servers",
        "engine_version",
        "ran",
        "skipped",
        "failed",
        "wall_s",
        "results_path",
        "rows",
        "token_agreement",
    }
    with open(result["results_path"]) as f:
        saved = json.load(f)
    assert saved["rows"] == result["rows"] and saved["failures"] == []
    meta = saved["meta"]
    assert meta["host"] == "ci" and meta["profile"] == "ci_small" and meta["plan"] == [C1, C4]
    assert meta["engine"] == "genai-perf" and meta["engine_version"] == "0.0.16"
    assert meta["sweep_wall_s"] == result["wall_s"]
    # a second run measures nothing and leaves results.json as it was
    again = FakeHost()
    result = _sweep(dict(params, engine_version="0.0.16", executable="/opt/gp"), again)
    assert again.looked_up == [] and again.profiles == [] and again.probes == []
    assert [a for a, _c, _e in again.commands] == [["/opt/gp", "profile", "--help"]]
    assert result["changed"] is False and result["ran"] == [] and result["skipped"] == [C1, C4]
    with open(result["results_path"]) as f:
        assert json.load(f) == saved


def test_run_sweep_only_server(tmp_path):
    ws = str(tmp_path)
    params = _params(ws, engine_args_sweep={"max_num_seqs": [4, 8]})
    params["only_server"] = {"max_num_seqs": 8}
    result = _sweep(params, FakeHost())
    assert result["ran"] == ["max_num_seqs-8__in32-out16__c1", "max_num_seqs-8__in32-out16__c4"]
    assert len(result["plan"]) == 4  # the plan is the whole matrix


def test_failed_point_raises_with_the_result(tmp_path):
    ws = str(tmp_path)
    with pytest.raises(BenchError) as err:
        _sweep(_params(ws), FakeHost(fail_on=5))  # point 2: warm-up 4, rep1 fails
    msg = str(err.value)
    assert msg.startswith("benchmark point %s failed: genai-perf exited with rc=1" % C4)
    assert msg.endswith(
        "(finished points are kept in %s; re-run to complete the missing ones)" % ws
    )
    result = err.value.result
    assert result["changed"] is True and result["ran"] == [C1] and result["failed"]["id"] == C4
    with open(os.path.join(ws, "results.json")) as f:
        assert [x["id"] for x in json.load(f)["failures"]] == [C4]


@pytest.mark.parametrize(
    "extra,host_kw,msg",
    [
        ({}, {"version_text": "no version here"}, "cannot tell the version of "),
        ({"extra_args": ["--bogus-flag"]}, {}, "genai-perf 0.0.16 does not support --bogus-flag"),
        ({}, {"unreachable": "Connection refused"}, "h:8000 is unreachable (Connection refused)"),
        ({"engine": "aiperf", "engine_version": "0.0.1"}, {}, "older than any supported"),
    ],
)
def test_bad_setup_fails_before_measuring(tmp_path, extra, host_kw, msg):
    host = FakeHost(**host_kw)
    with pytest.raises(BenchError) as err:
        _sweep(_params(str(tmp_path / "ws"), **extra), host)
    assert msg in str(err.value) and err.value.result == {}
    assert host.profiles == [] and not os.path.exists(str(tmp_path / "ws"))


def test_version_message_names_the_executable_and_the_output_tail(tmp_path):
    with pytest.raises(BenchError) as err:
        _sweep(_params(str(tmp_path), executable="/opt/gp"), FakeHost(version_text="x" * 600))
    assert str(err.value) == "cannot tell the version of /opt/gp: " + "x" * 500


def test_reachable():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        assert reachable("http://127.0.0.1:%d/v1" % port) is None
        assert reachable("127.0.0.1:%d" % port) is None
    assert reachable("127.0.0.1:%d" % port, timeout=1)  # closed now: the reason
    assert reachable("http://127.0.0.1:notaport")
