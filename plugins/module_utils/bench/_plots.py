# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PNG plots of a sweep (matplotlib, imported lazily; runs on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import os


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
