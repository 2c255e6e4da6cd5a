# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PNG plots of a sweep (matplotlib, imported lazily; runs on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import math
import os

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report

VERDICT_COLORS = {"pass": "tab:green", "fail": "tab:red", "uncertain": "tab:orange"}


def _m(row, key):
    val = row["metrics"].get(key)
    return val["mean"] if val else None


def pareto_front(points):
    """(throughput, latency) pairs not dominated by another (higher tput AND lower latency)."""
    front = []
    for tput, lat in sorted(points, key=lambda p: (-p[0], p[1])):
        if not front or lat < front[-1][1]:
            front.append((tput, lat))
    return sorted(front)


def _series(rows):
    """Concurrency points grouped by (server args, lengths), sorted by concurrency."""
    groups = {}
    for r in rows:
        if not r.get("concurrency"):
            continue
        server = " ".join("%s=%s" % kv for kv in sorted((r.get("server") or {}).items()))
        label = "in%d/out%d%s" % (
            r["input_tokens"],
            r["output_tokens"],
            " " + server if server else "",
        )
        groups.setdefault(label, []).append(r)
    return {k: sorted(v, key=lambda r: r["concurrency"]) for k, v in groups.items()}


def render(rows, out_dir):
    """Write the PNGs; return their file names (relative to out_dir)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    series = _series(rows)

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, name), dpi=100)
        plt.close(fig)
        written.append(name)

    if series:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, pts in series.items():
            ax.plot(
                [p["concurrency"] for p in pts],
                [_m(p, "output_token_throughput") for p in pts],
                "o-",
                label=label,
            )
        ax.set_xlabel("client concurrency")
        ax.set_ylabel("output tokens/s")
        ax.set_title("Output throughput vs concurrency")
        ax.legend(fontsize="small")
        save(fig, "throughput_vs_concurrency.png")
        for metric, title in (
            ("ttft_ms", "Time to first token"),
            ("itl_ms", "Inter-token latency"),
        ):
            fig, ax = plt.subplots(figsize=(6, 4))
            for label, pts in series.items():
                xs = [p["concurrency"] for p in pts]
                ax.plot(xs, [_m(p, metric + "_p50") for p in pts], "o-", label=label + " p50")
                ax.plot(xs, [_m(p, metric + "_p99") for p in pts], "s--", label=label + " p99")
            ax.set_xlabel("client concurrency")
            ax.set_ylabel("ms")
            ax.set_title(title + " vs concurrency")
            ax.legend(fontsize="small")
            save(fig, metric.split("_", maxsplit=1)[0] + "_vs_concurrency.png")
    pts = [
        (_m(r, "output_token_throughput"), _m(r, "request_latency_ms_p50"))
        for r in rows
        if _m(r, "output_token_throughput") and _m(r, "request_latency_ms_p50")
    ]
    if pts:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], label="points")
        front = pareto_front(pts)
        ax.plot([p[0] for p in front], [p[1] for p in front], "r-", label="Pareto front")
        ax.set_xlabel("output tokens/s")
        ax.set_ylabel("request latency p50 (ms)")
        ax.set_title("Throughput-latency Pareto front")
        ax.legend(fontsize="small")
        save(fig, "pareto.png")
    return written


def _capacity_series(search, rows):
    """Per measured load (sorted): the search's point, its row (mean over the runs) or None."""
    by_id = {r["id"]: r for r in rows}
    return [(p, by_id.get(p.get("id"))) for p in sorted(search["points"], key=lambda p: p["load"])]


def _boundary(ax, search):
    """The capacity and the first failing load: a shaded band (the uncertainty)."""
    lo, hi = search.get("capacity"), search.get("first_failing")
    if lo is not None:
        ax.axvline(lo, color="tab:green", linestyle=":", linewidth=1)
    if lo is not None and hi is not None:
        ax.axvspan(lo, hi, color="tab:green", alpha=0.12)


def _verdict_scatter(ax, xs, ys, verdicts):
    for verdict, color in VERDICT_COLORS.items():
        pts = [(x, y) for x, y, v in zip(xs, ys, verdicts, strict=True) if v == verdict]
        pts = [(x, y) for x, y in pts if y is not None]
        if pts:
            ax.scatter(
                [p[0] for p in pts], [p[1] for p in pts], color=color, zorder=3, label=verdict
            )


def render_capacity(capacity, rows, out_dir):
    """One PNG per capacity search: output throughput and goodput against the load, then
    each SLO metric against the load with its limit drawn, the measured points coloured by
    verdict and the boundary (capacity .. first failing) shaded; plus a bar chart of the
    capacity per server setting when several were searched. Returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    slos = capacity.get("slos") or []
    xlabel = "request rate (req/s)" if capacity["load"] == "request_rate" else "client concurrency"
    for search in capacity["searches"]:
        series = _capacity_series(search, rows)
        if not series:
            continue
        xs = [p["load"] for p, _r in series]
        verdicts = [p["leaning"] for p, _r in series]
        shown = [s for s in slos if s["kind"] == "latency"]
        errors = [((p.get("values") or {}).get("error_rate") or 0) for p, _r in series]
        if any(errors):
            shown += [s for s in slos if s["kind"] == "error_rate"]
        fig, axes = plt.subplots(
            1 + len(shown), 1, figsize=(6.5, 2.6 * (1 + len(shown))), sharex=True, squeeze=False
        )
        axes = [a[0] for a in axes]
        ax = axes[0]
        tput = [_m(r, "output_token_throughput") if r else None for _p, r in series]
        good = []
        for _p, r in series:
            g, osl = (_m(r, "goodput"), _m(r, "osl_avg")) if r else (None, None)
            good.append(g * osl if g is not None and osl else None)
        ax.plot(
            [x for x, y in zip(xs, tput, strict=True) if y is not None],
            [y for y in tput if y is not None],
            "-",
            color="tab:blue",
            label="output tokens/s",
        )
        _verdict_scatter(ax, xs, tput, verdicts)
        if any(g is not None for g in good):
            ax.plot(
                [x for x, y in zip(xs, good, strict=True) if y is not None],
                [y for y in good if y is not None],
                "--",
                color="tab:purple",
                label="goodput tokens/s",
            )
        _boundary(ax, search)
        ax.set_ylabel("tokens/s")
        ax.set_title(
            "%s %d/%d: capacity %s (first failing %s)"
            % (
                report._server_label(search["server"]),
                search["input_tokens"],
                search["output_tokens"],
                report._g(search["capacity"]),
                report._g(search["first_failing"]),
            ),
            fontsize="medium",
        )
        ax.legend(fontsize="x-small")
        for ax, slo in zip(axes[1:], shown, strict=True):
            vals = [(p.get("values") or {}).get(slo["name"]) for p, _r in series]
            ax.plot(
                [x for x, y in zip(xs, vals, strict=True) if y is not None],
                [y for y in vals if y is not None],
                "-",
                color="tab:gray",
            )
            _verdict_scatter(ax, xs, vals, verdicts)
            ax.axhline(slo["limit"], color="tab:red", linestyle="--", label="SLO %g" % slo["limit"])
            _boundary(ax, search)
            ax.set_ylabel(slo["name"] + (" (ms)" if slo["kind"] == "latency" else ""))
            ax.legend(fontsize="x-small")
        axes[-1].set_xlabel(xlabel)
        if max(xs) / float(min(xs)) >= 8:
            from matplotlib.ticker import ScalarFormatter

            axes[-1].set_xscale("log")
            axes[-1].xaxis.set_major_formatter(ScalarFormatter())
        fig.tight_layout()
        name = report.capacity_plot_name(search["id"])
        fig.savefig(os.path.join(out_dir, name), dpi=100)
        plt.close(fig)
        written.append(name)
    found = [s for s in capacity["searches"] if s.get("capacity") is not None]
    if len(found) > 1:
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        labels = [
            "%s\n%d/%d" % (report._server_label(s["server"]), s["input_tokens"], s["output_tokens"])
            for s in found
        ]
        caps = [s["capacity"] for s in found]
        errs = [
            [0 for _s in found],
            [(s["first_failing"] or s["capacity"]) - s["capacity"] for s in found],
        ]
        ax.bar(range(len(found)), caps, yerr=errs, capsize=4, color="tab:blue")
        ax.set_xticks(range(len(found)))
        ax.set_xticklabels(labels, fontsize="small")
        ax.set_ylabel("capacity (%s)" % xlabel)
        ax.set_title("SLO capacity per server setting (bar: capacity, whisker: first failing)")
        ax.set_ylim(0, max(caps) * 1.25 if not math.isinf(max(caps)) else None)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, report.BY_SETTING_PLOT), dpi=100)
        plt.close(fig)
        written.append(report.BY_SETTING_PLOT)
    return written
