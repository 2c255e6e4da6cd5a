# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""genai_perf_sweep and bench_report modules: planning, input errors, report rendering."""

import json
import os
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import bench_report, genai_perf_sweep

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")
TARGET = {"url": "127.0.0.1:1", "model": "tiny"}


def _run(mod, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


def test_plan_only_returns_matrix(tmp_path, capsys):
    out = _run(
        genai_perf_sweep,
        {
            "profile": "ci_small",
            "target": TARGET,
            "workspace": str(tmp_path),
            "plan_only": True,
            "engine_args_sweep": {"max_num_seqs": [4, 8]},
        },
        capsys,
    )
    assert not out.get("failed") and out["changed"] is False
    assert [p["id"] for p in out["plan"]][:2] == [
        "max_num_seqs-4__in32-out16__c1",
        "max_num_seqs-4__in32-out16__c4",
    ]
    assert {p["state"] for p in out["plan"]} == {"missing"}
    assert out["servers"] == [{"max_num_seqs": 4}, {"max_num_seqs": 8}]
    assert os.listdir(tmp_path) == []  # planning writes nothing


@pytest.mark.parametrize(
    "extra,msg",
    [
        ({"concurrency": [0]}, "positive integers"),
        ({"lengths": [[2000, 100]], "max_model_len": 2048}, "max_model_len 2048"),
        ({"engine": "aiperf", "target": dict(TARGET, kind="kserve")}, "no KServe gRPC client"),
        (
            {"engine": "genai-perf", "target": dict(TARGET, kind="triton_generate")},
            "benchmark_target_kind=kserve",
        ),
        ({"profile": "nope"}, "unknown benchmark_profile"),
    ],
)
def test_bad_inputs_fail_before_running(tmp_path, capsys, extra, msg):
    args = {"profile": "ci_small", "target": TARGET, "workspace": str(tmp_path)}
    args.update(extra)
    out = _run(genai_perf_sweep, args, capsys)
    assert out["failed"] and msg in out["msg"]


def test_unreachable_server(tmp_path, capsys):
    fake = tmp_path / "genai-perf"
    help_text = os.path.join(FIX, "genai_perf_0.0.16_profile_help.txt")
    fake.write_text(
        "#!/bin/sh\n[ \"$1\" = --version ] && echo 'genai-perf 0.0.16' && exit 0\ncat %s\n"
        % help_text
    )
    fake.chmod(0o755)
    out = _run(
        genai_perf_sweep,
        {
            "profile": "ci_small",
            "target": TARGET,
            "workspace": str(tmp_path / "ws"),
            "executable": str(fake),
        },
        capsys,
    )
    assert out["failed"] and "127.0.0.1:1 is unreachable" in out["msg"]
    out = _run(
        genai_perf_sweep,
        {
            "profile": "ci_small",
            "target": TARGET,
            "workspace": str(tmp_path / "ws"),
            "executable": str(fake),
            "extra_args": ["--bogus-flag"],
        },
        capsys,
    )
    assert out["failed"] and "does not support --bogus-flag" in out["msg"]


def test_bench_report_renders_and_is_idempotent(tmp_path, capsys):
    from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as bp
    from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs

    client = bp.parse_export_file(
        os.path.join(FIX, "genai_perf_0.0.16_chat_c1", "profile_export_genai_perf.json"),
        "genai-perf",
        8,
    )
    point = {
        "id": "default__in32-out16__c1",
        "concurrency": 1,
        "input_tokens": 32,
        "output_tokens": 16,
    }
    row = bs.aggregate(point, [{"client": client}], 0.1)
    (tmp_path / "results.json").write_text(json.dumps({"meta": {}, "rows": [row], "failures": []}))
    out = _run(bench_report, {"src": str(tmp_path)}, capsys)
    assert out["changed"] and "report.md" in out["files"] and "pareto.png" in out["files"]
    out = _run(bench_report, {"src": str(tmp_path)}, capsys)
    assert out["changed"] is False
    # a baseline 50% faster than this run: throughput regressed
    base = tmp_path / "base"
    base.mkdir()
    fast = json.loads(json.dumps(row))
    fast["metrics"]["output_token_throughput"]["mean"] *= 1.5
    (base / "results.json").write_text(json.dumps({"rows": [fast]}))
    out = _run(bench_report, {"src": str(tmp_path), "baseline": str(base)}, capsys)
    assert out["failed"] and "regression against baseline" in out["msg"]
    assert "REGRESSION" in (tmp_path / "report.md").read_text()
    shutil.rmtree(base)
