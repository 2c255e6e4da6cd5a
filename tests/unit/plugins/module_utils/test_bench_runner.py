# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runner: warm-up discarded, repeats, resume, failure recording. The load generator is
replaced by a function that drops a real captured export where the tool would write it."""

import os
import shutil

from ansible_collections.llmserve.triton.plugins.module_utils import _bench_runner as br
from ansible_collections.llmserve.triton.plugins.module_utils import _bench_sweep as bs

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


def _read(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


class FakeTool:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def __call__(self, cmd, cwd):
        self.calls.append(cmd)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            return 1, "", "ERROR: failed to connect to all addresses"
        out = cmd[cmd.index("--artifact-dir") + 1]
        shutil.copy(
            os.path.join(FIX, "genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json"), out
        )
        return 0, "ok", ""


def _ctx(ws):
    return {
        "engine": "genai-perf",
        "version": "0.0.16",
        "exe": "genai-perf",
        "target": {"kind": "openai", "url": "h:8000", "model": "tiny"},
        "options": {"seed": 1, "num_prompts": 8},
        "workspace": ws,
        "threshold": 0.1,
        "metrics_url": "http://h:8000/metrics",
        "model": "tiny",
        "warmup_requests": 2,
    }


def _points():
    cfg = bs.validate(bs.resolve_profile("ci_small", {"concurrency": [1, 2]}))
    return bs.plan(cfg)


def _metrics():
    texts = [_read("vllm_metrics_before.prom"), _read("vllm_metrics_after.prom")]
    state = {"n": 0}

    def fetch(url):
        state["n"] += 1
        return texts[(state["n"] + 1) % 2]  # before, after, before, after ...

    return fetch


def test_sweep_runs_warmup_plus_repeats_and_resumes(tmp_path):
    ws = str(tmp_path)
    tool = FakeTool()
    clock = iter(range(1000)).__next__
    summary = br.Runner(_ctx(ws), tool, _metrics(), clock).run(_points())
    assert summary["ran"] == ["default__in32-out16__c1", "default__in32-out16__c2"]
    assert len(tool.calls) == 2 * (1 + 2)  # warm-up + 2 repeats per point
    warm = tool.calls[0]
    assert warm[warm.index("--request-count") + 1] == "2"
    rows, failures = br.collect(ws, _points())
    assert len(rows) == 2 and not failures
    # server counters diffed around each measured run: 128 tokens between the scrapes
    assert rows[0]["server_metrics"]["generation_tokens"]["mean"] == 128.0
    assert rows[0]["fidelity"] is not None
    # a second run does nothing
    tool2 = FakeTool()
    summary = br.Runner(_ctx(ws), tool2, _metrics(), clock).run(_points())
    assert summary["ran"] == [] and len(summary["skipped"]) == 2 and tool2.calls == []


def test_failure_is_recorded_and_rerun_completes_only_missing(tmp_path):
    ws = str(tmp_path)
    clock = iter(range(1000)).__next__
    tool = FakeTool(fail_on=5)  # point 1: calls 1-3; point 2: warm-up 4, rep1 fails
    summary = br.Runner(_ctx(ws), tool, _metrics(), clock).run(_points())
    assert summary["ran"] == ["default__in32-out16__c1"]
    assert summary["failed"]["id"] == "default__in32-out16__c2"
    assert "rc=1" in summary["failed"]["error"]
    assert "failed to connect" in summary["failed"]["error"]
    rows, failures = br.collect(ws, _points())
    assert [r["id"] for r in rows] == ["default__in32-out16__c1"]
    assert failures[0]["status"] == "failed"
    tool2 = FakeTool()
    summary = br.Runner(_ctx(ws), tool2, _metrics(), clock).run(_points())
    assert summary["skipped"] == ["default__in32-out16__c1"]
    assert summary["ran"] == ["default__in32-out16__c2"]
    assert len(tool2.calls) == 1 + 2
    assert bs.point_state(ws, "default__in32-out16__c2") == "done"
