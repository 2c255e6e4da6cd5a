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
  - When C(results.json) comes from a capacity search (M(llmserve.triton.genai_perf_sweep)
    with O(llmserve.triton.genai_perf_sweep#module:search.mode=capacity)), the report gets a
    "Capacity under the SLO" section (per server setting and length pair the capacity, the
    first failing load, goodput, cost per million output tokens, every measured point with
    its verdict, why the search stopped; the best setting) and the plots
    C(capacity_<search>.png) and C(capacity_by_setting.png).
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
capacity:
  description: Per capacity search, its id, capacity, first failing load, stop reason and cost.
  returned: when the results come from a capacity search
  type: list
  elements: dict
best:
  description: Per length pair, the server setting with the highest capacity.
  returned: when the results come from a capacity search
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
    ModuleHost,
)
from ansible_collections.llmserve.triton.plugins.module_utils.bench._render_report import (
    render_report,
)


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
    try:
        result = render_report(module.params, module.check_mode, ModuleHost(module))
    except BenchError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
