# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Report rendering, roofline, baseline comparison and plots on rows from real exports."""

import csv
import io
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as bp
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _plots as bpl
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as br
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as bs

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "bench")


def _rows():
    rows = []
    for conc, d in ((1, "genai_perf_0.0.16_chat_c1"), (2, "genai_perf_0.0.16_chat_c2")):
        client = bp.parse_export_file(
            os.path.join(FIX, d, "profile_export_genai_perf.json"), "genai-perf", 8
        )
        point = {"id": "default__in32-out16__c%d" % conc, "concurrency": conc}
        point.update(input_tokens=32, output_tokens=16)
        rows.append(bs.aggregate(point, [{"client": client}], 0.1))
    return rows


def test_csv_holds_the_measured_numbers():
    rows = _rows()
    table = list(csv.DictReader(io.StringIO(br.csv_text(rows))))
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    for line, row in zip(table, rows, strict=True):
        tps = row["metrics"]["output_token_throughput"]["mean"]
        assert float(line["output_token_throughput"]) == pytest.approx(tps, rel=1e-4)
        assert float(line["itl_ms_p99"]) == pytest.approx(
            row["metrics"]["itl_ms_p99"]["mean"], rel=1e-4
        )


def test_markdown_mentions_batch_and_each_point():
    rows = _rows()
    md = br.markdown({"model": "tiny", "max_num_seqs": 256}, rows, [{"id": "x", "error": "boom"}])
    assert "max_num_seqs" in md and "concurrency" in md
    for r in rows:
        assert r["id"] in md
        assert "%.1f" % r["metrics"]["output_token_throughput"]["mean"] in md
    assert "- x: boom" in md
    assert "Not computed" in md


def test_roofline():
    rows = _rows()
    itl = rows[0]["metrics"]["itl_ms_p50"]["mean"]
    roof = br.roofline({"name": "H100", "count": 2, "bandwidth_gbps": 3350}, 140e9, rows)
    assert roof["roofline_tokens_per_s"] == pytest.approx(2 * 3350e9 / 140e9)
    assert roof["measured_tokens_per_s"] == pytest.approx(1000 / itl)
    assert roof["efficiency"] == pytest.approx(
        roof["measured_tokens_per_s"] / roof["roofline_tokens_per_s"]
    )
    assert br.roofline(None, 1, rows) is None


def test_baseline_regression_direction():
    rows = _rows()
    worse = _rows()
    worse[0]["metrics"]["output_token_throughput"]["mean"] *= 0.8  # 20% less throughput
    worse[1]["metrics"]["ttft_ms_p50"]["mean"] *= 1.05  # 5% slower: within 10%
    cmp_ = br.compare(worse, rows, ["output_token_throughput", "ttft_ms_p50"], 0.1)
    bad = [(c["id"], c["metric"]) for c in cmp_ if c["regressed"]]
    assert bad == [("default__in32-out16__c1", "output_token_throughput")]
    better = _rows()
    better[1]["metrics"]["ttft_ms_p50"]["mean"] *= 0.5
    assert not any(c["regressed"] for c in br.compare(better, rows, ["ttft_ms_p50"], 0.1))


def test_plots_written(tmp_path):
    names = bpl.render(_rows(), str(tmp_path))
    assert set(names) == {
        "throughput_vs_concurrency.png",
        "ttft_vs_concurrency.png",
        "itl_vs_concurrency.png",
        "pareto.png",
    }
    for n in names:
        with open(tmp_path / n, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_pareto_front():
    pts = [(100, 50), (200, 80), (150, 90), (50, 40), (200, 70)]
    assert bpl.pareto_front(pts) == [(50, 40), (100, 50), (200, 70)]
