# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runner: warm-up discarded, repeats, resume, failure recording. The load generator is
replaced by a function that drops a real captured export where the tool would write it."""

import os
import shutil

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _runner as br
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


def _read(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


GENAI_PERF_EXPORT = ("genai_perf_0.0.16_chat_c2", "profile_export_genai_perf.json")


class FakeTool:
    """Drops the captured export FIX/<export> into the artifact dir, named as the tool would."""

    def __init__(self, fail_on=None, export=GENAI_PERF_EXPORT, name=GENAI_PERF_EXPORT[-1]):
        self.calls = []
        self.fail_on = fail_on
        self.export = export
        self.name = name

    def __call__(self, cmd, cwd):
        self.calls.append(cmd)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            return 1, "", "ERROR: failed to connect to all addresses"
        out = cmd[cmd.index("--artifact-dir") + 1]
        shutil.copy(os.path.join(FIX, *self.export), os.path.join(out, self.name))
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


def test_server_rate_is_over_the_client_rates_window(tmp_path):
    # A real AIPerf export whose rates are over a window (0.286 s) longer than its
    # benchmark_duration (0.152 s): the server's 128 tokens become a rate over the same window,
    # so client and server agree (fidelity 1) as they counted the same 128 tokens.
    ctx = dict(_ctx(str(tmp_path)), engine="aiperf", version="0.13.0", exe="aiperf")
    tool = FakeTool(
        export=("aiperf_windowed_c4_profile_export_aiperf.json",),
        name="profile_export_aiperf.json",
    )
    points = _points()[:1]
    br.Runner(ctx, tool, _metrics(), iter(range(1000)).__next__).run(points)
    rows, failures = br.collect(str(tmp_path), points)
    assert not failures
    row = rows[0]
    assert row["metrics"]["output_tokens_total"]["mean"] == 128.0
    assert row["server_metrics"]["generation_tokens"]["mean"] == 128.0
    assert row["fidelity"] == pytest.approx(1.0)
