# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the bench_report module does, apart from its argument spec and exit.

render_report(params, check_mode, host) reads a sweep's results.json (and a baseline's),
compares, renders results.csv, report.md and the plots next to it unless the last rendering
had the same inputs, and returns the module result; it raises BenchError on unreadable
inputs and, with the result, on a regression. File moves and warnings go through `host`
(see _module_support.ModuleHost).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import hashlib
import json
import os
import tempfile

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _plots as plots
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
)

DIGEST_FILE = ".report_digest"


def load_results(path):
    """The parsed results.json of `path` (a directory) or the file `path` itself."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f)


def write_text(host, path, text):
    """temp file + atomic move; returns True when the content changed."""
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old == text:
        return False
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    host.atomic_move(tmp, path)
    return True


def baseline_comparison(params, rows):
    """Per point and metric, this run against O(baseline); None without a baseline."""
    if not params["baseline"]:
        return None
    unknown = [m for m in params["regression_metrics"] if m not in report.HIGHER_IS_BETTER]
    if unknown:
        raise BenchError(
            "benchmark_regression_metrics: unknown %s; use %s"
            % (", ".join(unknown), ", ".join(sorted(report.HIGHER_IS_BETTER)))
        )
    try:
        base = load_results(params["baseline"])
    except (OSError, ValueError) as exc:
        raise BenchError(
            "baseline %s has no readable results.json: %s" % (params["baseline"], exc)
        ) from exc
    return report.compare(
        rows,
        base.get("rows") or [],
        params["regression_metrics"],
        params["regression_threshold"],
    )


def input_digest(data, params):
    """Hash of the results and every parameter but O(src): equal digests render equally."""
    inputs = [data, {k: v for k, v in params.items() if k != "src"}]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def fresh_files(src, digest):
    """The files of the last rendering when it had this digest and they all exist, else None."""
    path = os.path.join(src, DIGEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        last = json.load(f)
    if not (last and last.get("digest") == digest):
        return None
    if not all(os.path.exists(os.path.join(src, n)) for n in last.get("files", [])):
        return None
    return last["files"]


def render_plots(rows, src, host, capacity=None):
    """PNG plots of the rows and of the capacity searches (names); none, with a warning,
    without matplotlib."""
    try:
        names = plots.render(rows, src) if rows else []  # imports matplotlib
        if capacity:
            names += plots.render_capacity(capacity, rows, src)
        return names
    except ImportError as exc:
        host.warn("plots skipped, matplotlib is missing: %s" % exc)
        return []


def render_report(params, check_mode, host):
    """The module result for `params` (bench_report's options); in check mode nothing is
    written. Raises BenchError, with the result when a metric regressed."""
    src = params["src"]
    try:
        data = load_results(src)
    except (OSError, ValueError) as exc:
        raise BenchError("cannot read the results in %s: %s" % (src, exc)) from exc
    rows, failures = data.get("rows") or [], data.get("failures") or []
    capacity = data.get("capacity")
    meta = dict(data.get("meta") or {})
    meta.update(params["meta"] or {})
    comparison = baseline_comparison(params, rows)
    if comparison is not None:
        meta["baseline"] = params["baseline"]
    roof = report.roofline(params["gpu"], params["weights_bytes"], rows)
    result = dict(changed=False, files=[], roofline=roof)
    if capacity:
        result["capacity"] = [
            {k: s.get(k) for k in ("id", "capacity", "first_failing", "stop", "cost")}
            for s in capacity.get("searches") or []
        ]
        result["best"] = capacity.get("best")
    if comparison is not None:
        result["comparison"] = comparison
        result["regressions"] = [c for c in comparison if c["regressed"]]
    # nothing to do when the inputs are those of the last rendering and its files exist
    digest = input_digest(data, params)
    fresh = fresh_files(src, digest)
    if fresh is not None:
        result["files"] = fresh
    elif not check_mode:
        wanted = params["plots"] and (rows or capacity)
        pngs = render_plots(rows, src, host, capacity) if wanted else []
        outputs = {
            "results.csv": report.csv_text(rows),
            "report.md": report.markdown(
                meta,
                rows,
                failures,
                roof,
                comparison,
                params["regression_threshold"],
                pngs,
                capacity,
            ),
        }
        for name, text in outputs.items():
            write_text(host, os.path.join(src, name), text)
        result["files"] = list(outputs) + pngs
        result["changed"] = True
        write_text(
            host,
            os.path.join(src, DIGEST_FILE),
            json.dumps({"digest": digest, "files": result["files"]}),
        )
    if result.get("regressions"):
        worst = ", ".join(
            "%s %s %+.1f%%" % (c["id"], c["metric"], 100 * c["change"])
            for c in result["regressions"]
        )
        raise BenchError(
            "regression against baseline %s beyond %.0f%%: %s"
            % (params["baseline"], 100 * params["regression_threshold"], worst),
            result,
        )
    return result
