#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

DOCUMENTATION = r"""
---
module: bench_report
short_description: Render a benchmark run's results.csv, report.md and plots, compare to a baseline
version_added: "1.0.0"
description:
  - Reads C(results.json) written by M(llmserve.triton.genai_perf_sweep) (usually fetched to
    the controller) and writes C(results.csv), C(report.md) and PNG plots (output throughput,
    TTFT and ITL p50/p99 against concurrency, throughput-latency Pareto front) next to it.
  - Adds the single-stream decode roofline when GPU facts and the model's weight size are
    given, and a comparison with an earlier run when O(baseline) is set; fails when a chosen
    metric regressed by more than O(regression_threshold).
  - Plots need matplotlib (a controller requirement); run it on the controller.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Computes the comparison and writes nothing.
    support: full
  diff_mode:
    description: The outputs are generated reports; there is no diff.
    support: none
options:
  src:
    description: Directory holding C(results.json); the outputs are written there.
    type: path
    required: true
  baseline:
    description: Directory (or C(results.json) path) of an earlier run to compare with.
    type: path
  regression_metrics:
    description: Metrics compared with the baseline.
    type: list
    elements: str
    default: [output_token_throughput, ttft_ms_p50, itl_ms_p50]
  regression_threshold:
    description: Relative worsening that counts as a regression (0.1 = 10%).
    type: float
    default: 0.1
  gpu:
    description: GPU facts for the roofline, C(name), C(count), C(bandwidth_gbps) (per GPU, GB/s).
    type: dict
  weights_bytes:
    description: Bytes of model weights read per decoded token.
    type: int
  meta:
    description: Extra facts shown in the report header (host, runtime, max_num_seqs, run_id).
    type: dict
  plots:
    description: Render the PNG plots.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Render the report of a fetched run and compare it with a baseline
  llmserve.triton.bench_report:
    src: benchmarks/20260101T000000-gpu1-llama3-70b
    baseline: benchmarks/20251201T000000-gpu1-llama3-70b
    regression_threshold: 0.05
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: Files written (names relative to O(src)).
  returned: always
  type: list
  elements: str
regressions:
  description: Metric comparisons that regressed beyond the threshold.
  returned: when a baseline is given
  type: list
  elements: dict
comparison:
  description: Every metric comparison with the baseline.
  returned: when a baseline is given
  type: list
  elements: dict
roofline:
  description: Decode roofline and measured efficiency (null without GPU facts).
  returned: always
  type: dict
"""

import hashlib
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report


def _load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f)


def _write(module, path, text):
    """temp file + atomic_move; returns True when the content changed."""
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old == text:
        return False
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    module.atomic_move(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            baseline=dict(type="path"),
            regression_metrics=dict(
                type="list",
                elements="str",
                default=["output_token_throughput", "ttft_ms_p50", "itl_ms_p50"],
            ),
            regression_threshold=dict(type="float", default=0.1),
            gpu=dict(type="dict"),
            weights_bytes=dict(type="int"),
            meta=dict(type="dict"),
            plots=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        data = _load(p["src"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read the results in %s: %s" % (p["src"], exc))
    rows, failures = data.get("rows") or [], data.get("failures") or []
    meta = dict(data.get("meta") or {})
    meta.update(p["meta"] or {})
    comparison = None
    if p["baseline"]:
        unknown = [m for m in p["regression_metrics"] if m not in report.HIGHER_IS_BETTER]
        if unknown:
            module.fail_json(
                msg="benchmark_regression_metrics: unknown %s; use %s"
                % (", ".join(unknown), ", ".join(sorted(report.HIGHER_IS_BETTER)))
            )
        try:
            base = _load(p["baseline"])
        except (OSError, ValueError) as exc:
            module.fail_json(
                msg="baseline %s has no readable results.json: %s" % (p["baseline"], exc)
            )
        meta["baseline"] = p["baseline"]
        comparison = report.compare(
            rows, base.get("rows") or [], p["regression_metrics"], p["regression_threshold"]
        )
    roof = report.roofline(p["gpu"], p["weights_bytes"], rows)
    result = dict(changed=False, files=[], roofline=roof)
    if comparison is not None:
        result["comparison"] = comparison
        result["regressions"] = [c for c in comparison if c["regressed"]]
    # nothing to do when the inputs are those of the last rendering and its files exist
    digest = hashlib.sha256(
        json.dumps([data, {k: v for k, v in p.items() if k != "src"}], sort_keys=True).encode()
    ).hexdigest()
    digest_path = os.path.join(p["src"], ".report_digest")
    last = None
    if os.path.exists(digest_path):
        with open(digest_path) as f:
            last = json.load(f)
    fresh = bool(last and last.get("digest") == digest) and all(
        os.path.exists(os.path.join(p["src"], n)) for n in last.get("files", [])
    )
    if fresh:
        result["files"] = last["files"]
    elif not module.check_mode:
        plots = []
        if p["plots"] and rows:
            try:
                from ansible_collections.llmserve.triton.plugins.module_utils.bench import (
                    _plots,
                )

                plots = _plots.render(rows, p["src"])
            except ImportError as exc:
                module.warn("plots skipped, matplotlib is missing: %s" % exc)
        outputs = {
            "results.csv": report.csv_text(rows),
            "report.md": report.markdown(
                meta, rows, failures, roof, comparison, p["regression_threshold"], plots
            ),
        }
        for name, text in outputs.items():
            _write(module, os.path.join(p["src"], name), text)
        result["files"] = list(outputs) + plots
        result["changed"] = True
        _write(module, digest_path, json.dumps({"digest": digest, "files": result["files"]}))
    if result.get("regressions"):
        worst = ", ".join(
            "%s %s %+.1f%%" % (c["id"], c["metric"], 100 * c["change"])
            for c in result["regressions"]
        )
        module.fail_json(
            msg="regression against baseline %s beyond %.0f%%: %s"
            % (p["baseline"], 100 * p["regression_threshold"], worst),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
