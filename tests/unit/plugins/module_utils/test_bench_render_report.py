# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/_render_report: what bench_report does, on a real genai-perf 0.0.16 export, with
file moves and warnings on a fake host."""

import json
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as bp
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _render_report as rr
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
)

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


class FakeHost:
    def __init__(self):
        self.moved, self.warnings = [], []

    def atomic_move(self, src, dest):
        self.moved.append(os.path.basename(dest))
        os.replace(src, dest)

    def warn(self, msg):
        self.warnings.append(msg)


def _params(src, **kw):
    p = dict(
        src=str(src),
        baseline=None,
        regression_metrics=["output_token_throughput", "ttft_ms_p50", "itl_ms_p50"],
        regression_threshold=0.1,
        gpu=None,
        weights_bytes=None,
        meta=None,
        plots=False,
    )
    p.update(kw)
    return p


def _row():
    client = bp.parse_export_file(
        os.path.join(FIX, "genai_perf_0.0.16_chat_c1", "profile_export_genai_perf.json"),
        "genai-perf",
        8,
    )
    point = {"id": "default__in32-out16__c1", "concurrency": 1}
    point.update(input_tokens=32, output_tokens=16)
    return bs.aggregate(point, [{"client": client}], 0.1)


def _results(path, rows, meta=None):
    path.mkdir(exist_ok=True)
    (path / "results.json").write_text(json.dumps({"meta": meta or {}, "rows": rows}))
    return path


def test_renders_then_is_fresh(tmp_path):
    src = _results(tmp_path / "run", [_row()], {"model": "tiny"})
    host = FakeHost()
    result = rr.render_report(_params(src, meta={"host": "ci"}), False, host)
    assert result == {
        "changed": True,
        "files": ["results.csv", "report.md"],
        "roofline": None,
    }
    assert host.moved == ["results.csv", "report.md", rr.DIGEST_FILE]
    assert "default__in32-out16__c1" in (src / "results.csv").read_text()
    again = FakeHost()
    assert rr.render_report(_params(src, meta={"host": "ci"}), False, again) == dict(
        result, changed=False
    )
    assert again.moved == []
    # other inputs: rendered again; identical contents are not rewritten
    third = FakeHost()
    assert rr.render_report(_params(src, meta={"host": "ci2"}), False, third)["changed"]
    assert third.moved == ["report.md", rr.DIGEST_FILE]
    # a file of the last rendering gone: rendered again
    os.remove(str(src / "results.csv"))
    assert rr.render_report(_params(src, meta={"host": "ci2"}), False, FakeHost())["changed"]


def test_check_mode_writes_nothing(tmp_path):
    src = _results(tmp_path, [_row()])
    host = FakeHost()
    result = rr.render_report(_params(src), True, host)
    assert result == {"changed": False, "files": [], "roofline": None}
    assert host.moved == [] and os.listdir(str(src)) == ["results.json"]


def test_plots_without_matplotlib_warn(tmp_path, monkeypatch):
    def no_matplotlib(rows, out_dir):
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(rr.plots, "render", no_matplotlib)
    host = FakeHost()
    result = rr.render_report(_params(_results(tmp_path, [_row()]), plots=True), False, host)
    assert result["files"] == ["results.csv", "report.md"]
    assert host.warnings == ["plots skipped, matplotlib is missing: No module named 'matplotlib'"]


def test_no_plots_without_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(rr.plots, "render", pytest.fail)
    result = rr.render_report(_params(_results(tmp_path, []), plots=True), False, FakeHost())
    assert result["files"] == ["results.csv", "report.md"]


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"src": "/nonexistent/run"}, "cannot read the results in /nonexistent/run: "),
        (
            {"baseline": "/b", "regression_metrics": ["ttft_ms_p50", "speed"]},
            "benchmark_regression_metrics: unknown speed; use ",
        ),
        ({"baseline": "/nonexistent/b"}, "baseline /nonexistent/b has no readable results.json: "),
    ],
)
def test_bad_inputs(tmp_path, kw, msg):
    params = _params(_results(tmp_path, [_row()]))
    params.update(kw)
    with pytest.raises(BenchError) as err:
        rr.render_report(params, False, FakeHost())
    assert str(err.value).startswith(msg) and err.value.result == {}


def test_unreadable_src_is_reported_before_the_metric_names(tmp_path):
    params = _params(tmp_path / "none", baseline="/b", regression_metrics=["speed"])
    with pytest.raises(BenchError, match="cannot read the results"):
        rr.render_report(params, False, FakeHost())


def test_regression_raises_with_the_result(tmp_path):
    row = _row()
    src = _results(tmp_path / "run", [row])
    fast = json.loads(json.dumps(row))
    fast["metrics"]["output_token_throughput"]["mean"] *= 1.5
    base = _results(tmp_path / "base", [fast])
    with pytest.raises(BenchError) as err:
        rr.render_report(_params(src, baseline=str(base)), False, FakeHost())
    assert str(err.value).startswith(
        "regression against baseline %s beyond 10%%: default__in32-out16__c1 "
        "output_token_throughput -33.3%%" % base
    )
    result = err.value.result
    assert result["changed"] is True and result["files"] == ["results.csv", "report.md"]
    assert [c["metric"] for c in result["regressions"]] == ["output_token_throughput"]
    assert len(result["comparison"]) == 3
    report = (src / "report.md").read_text()
    assert "REGRESSION" in report and str(base) in report  # meta carries the baseline
    # an identical baseline: no regression
    result = rr.render_report(_params(src, baseline=str(src)), False, FakeHost())
    assert result["regressions"] == []
