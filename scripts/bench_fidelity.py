#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark fidelity and overhead figures of finished runs (prints figures; not a test).

    scripts/bench_fidelity.py benchmarks/<run>/ [benchmarks/<run2>/ ...]

(a) fidelity: per point, the client's output tokens/s against the rate of the server's own
    counter (vllm:generation_tokens_total over the window of the client's rates), as a ratio;
    1.0 means both counted the same tokens. genai-perf re-tokenizes the streamed text, so its
    ratio drifts from 1; AIPerf with --use-server-token-count takes the server's usage (not
    against Triton's generate endpoint, which returns no usage). "tokens ratio": the tokens
    the client counted / the tokens the server generated in the same runs (no window involved).
    Works for Triton (triton, triton_cpu) and vLLM runs alike; the vLLM metric families the
    server lacks (Triton's vLLM backend exports 8 of vLLM's 39) are listed.
(b) overhead: the sweep's wall time (every load-generator run, warm-ups included, tool start
    and scrapes) against the sum of the measured windows the numbers come from.
"""

import json
import os
import platform
import sys


def _mean(row, key, section="metrics"):
    val = (row.get(section) or {}).get(key)
    return val.get("mean") if isinstance(val, dict) else None


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %s CPU(s) %s, Python %s" % (
        platform.platform(),
        cpus,
        model,
        platform.python_version(),
    )


def report(path):
    rpath = path if path.endswith(".json") else os.path.join(path, "results.json")
    with open(rpath) as f:
        data = json.load(f)
    meta = data.get("meta") or {}
    print(
        "\n## %s — %s %s, profile %s, model %s"
        % (
            meta.get("run_id") or path,
            meta.get("engine"),
            meta.get("engine_version"),
            meta.get("profile"),
            meta.get("served_name") or meta.get("model"),
        )
    )
    print(
        "%-32s %12s %12s %8s %13s"
        % ("point", "client tok/s", "server tok/s", "ratio", "tokens ratio")
    )
    measured = 0.0
    absent = set()
    for row in data.get("rows") or []:
        c = _mean(row, "output_token_throughput")
        s = _mean(row, "output_token_throughput", "server_metrics")
        ratio = c / s if c and s else None
        tokens = _mean(row, "client_server_token_ratio", "server_metrics")
        print(
            "%-32s %12s %12s %8s %13s%s"
            % (
                row["id"],
                "%.1f" % c if c else "-",
                "%.1f" % s if s else "-",
                "%.3f" % ratio if ratio else "-",
                "%.3f" % tokens if tokens else "-",
                "  (client ITL: tokens arrived in bursts)" if row.get("bursty_delivery") else "",
            )
        )
        measured += row.get("measured_s") or 0.0
        absent.update(row.get("server_absent_families") or [])
    if absent:
        print("server lacks: %s" % ", ".join(sorted(absent)))
    wall = meta.get("sweep_wall_s")
    if wall:
        print(
            "sweep wall %.1f s, measured windows %.1f s: %.1f%% of the wall time is measured "
            "(overhead x%.1f)"
            % (wall, measured, 100 * measured / wall, wall / measured if measured else 0)
        )
    for f in data.get("failures") or []:
        print("failed point %s: %s" % (f.get("id"), f.get("error")))


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    print("Machine: %s" % machine())
    for path in argv:
        report(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
