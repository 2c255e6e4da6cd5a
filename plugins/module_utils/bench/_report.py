# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""results.csv / report.md rendering, decode roofline and baseline comparison (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import csv
import io

CSV_METRICS = (
    "output_token_throughput",
    "request_throughput",
    "goodput",
    "ttft_ms_p50",
    "ttft_ms_p90",
    "ttft_ms_p99",
    "itl_ms_p50",
    "itl_ms_p90",
    "itl_ms_p99",
    "request_latency_ms_p50",
    "request_latency_ms_p90",
    "request_latency_ms_p99",
    "request_count",
    "error_count",
)
SERVER_METRICS = (
    "output_token_throughput",
    "generation_tokens",
    "client_server_token_ratio",
    "ttft_ms_mean",
    "ttft_ms_p50",
    "itl_ms_mean",
    "itl_ms_p50",
    "tpot_ms_mean",
    "e2e_ms_mean",
    "gpu_utilization",
    "gpu_memory_used_bytes",
)
ITL_FAMILY = "vllm:inter_token_latency_seconds"
TPOT_FAMILY = "vllm:time_per_output_token_seconds"
# metric -> True when higher is better (used by the baseline comparison)
HIGHER_IS_BETTER = {
    "output_token_throughput": True,
    "request_throughput": True,
    "goodput": True,
    "ttft_ms_p50": False,
    "ttft_ms_p99": False,
    "itl_ms_p50": False,
    "itl_ms_p99": False,
    "request_latency_ms_p50": False,
    "request_latency_ms_p99": False,
}
BATCH_NOTE = (
    'For an LLM server "batch size" is not one number: the client decides how many requests '
    "are in flight (concurrency, or the request rate), and the server decides how many of "
    "them it schedules together (vLLM `max_num_seqs`, bounded by the KV cache). The effective "
    "batch is min(concurrency, max_num_seqs); requests beyond it queue and show up as TTFT."
)


def _mean(row, key, section="metrics"):
    val = (row.get(section) or {}).get(key)
    return val.get("mean") if isinstance(val, dict) else val


def _fmt(val, digits=2):
    if val is None:
        return ""
    if isinstance(val, float):
        return "%.*f" % (digits, val)
    return str(val)


def _load(row):
    if row.get("request_rate"):
        return "rate %g/s" % row["request_rate"]
    return "c=%s" % row.get("concurrency")


def csv_text(rows):
    """One line per point: mean of every metric over the repeats, spread and server figures."""
    buf = io.StringIO()
    header = (
        ["id", "server_args", "concurrency", "request_rate", "input_tokens", "output_tokens"]
        + ["repeats"]
        + list(CSV_METRICS)
        + ["%s_spread" % m for m in ("output_token_throughput", "ttft_ms_p50", "itl_ms_p50")]
        + ["server_%s" % m for m in SERVER_METRICS]
        + ["fidelity", "unstable"]
    )
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        server = " ".join("%s=%s" % kv for kv in sorted((r.get("server") or {}).items()))
        line = [r["id"], server, r.get("concurrency"), r.get("request_rate")]
        line += [r["input_tokens"], r["output_tokens"], r.get("repeats")]
        line += [_fmt(_mean(r, m), 4) for m in CSV_METRICS]
        line += [
            _fmt((r["metrics"].get(m) or {}).get("spread"), 4)
            for m in ("output_token_throughput", "ttft_ms_p50", "itl_ms_p50")
        ]
        line += [_fmt(_mean(r, m, "server_metrics"), 4) for m in SERVER_METRICS]
        line += [_fmt(r.get("fidelity"), 4), " ".join(r.get("unstable") or [])]
        w.writerow(line)
    return buf.getvalue()


def _server_q(row, key):
    """A server quantile for the report: the value, or '< bound' / '> bound' when it lies in
    the histogram's lowest / +Inf bucket (only the bound is known)."""
    val = _mean(row, key, "server_metrics")
    if val is not None:
        return _fmt(val)
    for where, sign in (("below", "<"), ("above", ">")):
        bound = _mean(row, "%s_%s" % (key, where), "server_metrics")
        if bound is not None:
            return "%s %g" % (sign, round(bound, 3))
    return ""


def server_section(rows):
    """The server's own figures per point, which families they come from and which the
    server lacks (Triton's vLLM backend exports 8 vLLM families, vLLM's server 39)."""
    rows = [r for r in rows if r.get("server_metrics")]
    if not rows:
        return []
    source = next(
        (r["server_inter_token_source"] for r in rows if r.get("server_inter_token_source")), None
    )
    inter = "tpot" if source == TPOT_FAMILY else "itl"
    label = "TPOT" if inter == "tpot" else "ITL"
    md = ["", "## Server side (its Prometheus metrics, same window)", ""]
    md.append(
        "| point | server tok/s | client/server tokens | TTFT mean | TTFT p50 | %s mean | %s p50 "
        "| e2e mean | requests |" % (label, label)
    )
    md.append("|" + "---|" * 9)
    for r in rows:
        requests = _mean(r, "ttft_observations", "server_metrics")
        md.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                r["id"],
                _fmt(_mean(r, "output_token_throughput", "server_metrics"), 1),
                _fmt(_mean(r, "client_server_token_ratio", "server_metrics"), 3),
                _fmt(_mean(r, "ttft_ms_mean", "server_metrics")),
                _server_q(r, "ttft_ms_p50"),
                _fmt(_mean(r, inter + "_ms_mean", "server_metrics")),
                _server_q(r, inter + "_ms_p50"),
                _fmt(_mean(r, "e2e_ms_mean", "server_metrics")),
                _fmt(requests, 0),
            )
        )
    md.append("")
    md.append(
        "Times in ms, from the server's histograms (means exact: sum / count). `client/server "
        "tokens`: output tokens the client counted / tokens the server generated in the run."
    )
    if source == TPOT_FAMILY:
        r = rows[0]
        obs = _mean(r, "tpot_observations", "server_metrics")
        tokens = _mean(r, "generation_tokens", "server_metrics")
        reqs = _mean(r, "ttft_observations", "server_metrics")
        fact = ""
        if obs is not None and tokens is not None and reqs is not None:
            fact = " In %s: %d observations for %d tokens over %d requests%s." % (
                r["id"],
                obs,
                tokens,
                reqs,
                " (one per token after the first)" if obs == tokens - reqs else "",
            )
        md.append(
            "This server exports no `%s`: the %s columns are `%s`, which NVIDIA's vLLM backend "
            "for Triton fills with vLLM's per-token inter-token latencies.%s"
            % (ITL_FAMILY, label, TPOT_FAMILY, fact)
        )
    elif source is None:
        md.append(
            "This server exports no inter-token histogram (`%s`, `%s`)." % (ITL_FAMILY, TPOT_FAMILY)
        )
    absent = sorted({f for r in rows for f in r.get("server_absent_families") or []})
    if absent:
        md.append("Absent on this server: %s." % ", ".join("`%s`" % f for f in absent))
    if any(
        _mean(r, k + "_ms_p50_below", "server_metrics") is not None
        for r in rows
        for k in ("ttft", "itl", "tpot")
    ):
        md.append(
            "`< x`: the median lies in the histogram's lowest bucket (upper bound x ms); only "
            "the bound is known."
        )
    return md


def agreement_lines(rows):
    """One line per point: tokens the client counted against tokens the server generated in
    the same runs, and both rates (printed by the role after each sweep)."""
    lines = []
    for r in rows:
        counted = _mean(r, "output_tokens_total")
        generated = _mean(r, "generation_tokens", "server_metrics")
        if generated is None:
            lines.append(
                "%s: no server token counter (no metrics URL, or the scrape failed)" % r["id"]
            )
            continue
        lines.append(
            "%s: client counted %s output tokens, server generated %s (client/server %s); "
            "%s vs %s tokens/s"
            % (
                r["id"],
                _fmt(counted, 0) or "?",
                _fmt(generated, 0),
                _fmt(_mean(r, "client_server_token_ratio", "server_metrics"), 3) or "n/a",
                _fmt(_mean(r, "output_token_throughput"), 1) or "?",
                _fmt(_mean(r, "output_token_throughput", "server_metrics"), 1) or "?",
            )
        )
    absent = sorted({f for r in rows for f in r.get("server_absent_families") or []})
    if absent:
        lines.append("server metrics absent: " + ", ".join(absent))
    return lines


def roofline(gpu, weights_bytes, rows):
    """Single-stream decode roofline: every token reads all weights once, so tokens/s can
    not exceed aggregate memory bandwidth / weight bytes. Measured = 1000 / ITL p50 of the
    concurrency-1 point(s)."""
    if not gpu or not gpu.get("bandwidth_gbps") or not weights_bytes:
        return None
    count = int(gpu.get("count") or 1)
    agg = float(gpu["bandwidth_gbps"]) * 1e9 * count
    bound = agg / float(weights_bytes)
    single = [r for r in rows if r.get("concurrency") == 1 and _mean(r, "itl_ms_p50")]
    measured = 1000.0 / _mean(single[0], "itl_ms_p50") if single else None
    return {
        "gpu_name": gpu.get("name"),
        "gpu_count": count,
        "aggregate_bandwidth_gbps": agg / 1e9,
        "weights_bytes": int(weights_bytes),
        "roofline_tokens_per_s": bound,
        "measured_tokens_per_s": measured,
        "efficiency": measured / bound if measured else None,
    }


def compare(rows, baseline_rows, metrics, threshold):
    """Per matching point id and metric: relative change and whether it regressed."""
    base = {r["id"]: r for r in baseline_rows}
    out = []
    for r in rows:
        b = base.get(r["id"])
        if not b:
            continue
        for m in metrics:
            now, then = _mean(r, m), _mean(b, m)
            if now is None or not then:
                continue
            change = (now - then) / abs(then)
            worse = -change if HIGHER_IS_BETTER.get(m, True) else change
            out.append(
                {
                    "id": r["id"],
                    "metric": m,
                    "baseline": then,
                    "current": now,
                    "change": change,
                    "regressed": worse > threshold,
                }
            )
    return out


def markdown(
    meta, rows, failures, roof=None, comparison=None, threshold=None, plots=(), capacity=None
):
    """The human report; `capacity` is results.json's capacity section (a capacity search)."""
    md = ["# Benchmark %s" % meta.get("run_id", ""), ""]
    md.append(
        "Model `%s` on `%s` (runtime %s), %s %s, profile `%s`, %s repeat(s) per point after a "
        "discarded warm-up."
        % (
            meta.get("model"),
            meta.get("host"),
            meta.get("runtime"),
            meta.get("engine"),
            meta.get("engine_version"),
            meta.get("profile"),
            meta.get("repeats"),
        )
    )
    md += ["", "## Batch size", "", BATCH_NOTE]
    if meta.get("max_num_seqs"):
        md.append("Server `max_num_seqs` for this run: %s." % meta["max_num_seqs"])
    if capacity:
        md += capacity_section(capacity, plots)
    md += ["", "## Results (mean over repeats)", ""]
    md.append(
        "| point | load | in/out | out tok/s | req/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 "
        "| latency p50 | latency p99 | errors | server tok/s | client/server | spread tok/s |"
    )
    md.append("|" + "---|" * 15)
    for r in rows:
        flag = " ⚠" if r.get("unstable") else ""
        md.append(
            "| %s%s | %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                r["id"],
                flag,
                _load(r),
                r["input_tokens"],
                r["output_tokens"],
                _fmt(_mean(r, "output_token_throughput"), 1),
                _fmt(_mean(r, "request_throughput")),
                _fmt(_mean(r, "ttft_ms_p50")),
                _fmt(_mean(r, "ttft_ms_p99")),
                _fmt(_mean(r, "itl_ms_p50")),
                _fmt(_mean(r, "itl_ms_p99")),
                _fmt(_mean(r, "request_latency_ms_p50")),
                _fmt(_mean(r, "request_latency_ms_p99")),
                _fmt(_mean(r, "error_count"), 0),
                _fmt(_mean(r, "output_token_throughput", "server_metrics"), 1),
                _fmt(r.get("fidelity"), 3),
                "%.1f%%" % (100 * r["metrics"]["output_token_throughput"]["spread"])
                if "output_token_throughput" in r["metrics"]
                else "",
            )
        )
    bursty = [r["id"] for r in rows if r.get("bursty_delivery")]
    if bursty:
        md += [
            "",
            "⚠ Client ITL under a tenth of the server's own time between tokens in %s: the "
            "streamed tokens reached the client in bursts, so its ITL (and a TTFT close to the "
            "request latency) measure the delivery, not generation; see the server side below."
            % ", ".join(bursty),
        ]
    if any(_mean(r, "goodput") is not None for r in rows):
        md += ["", "Goodput (requests/s meeting %s):" % meta.get("slo"), ""]
        md += ["- %s: %s" % (r["id"], _fmt(_mean(r, "goodput"))) for r in rows]
    unstable = [r for r in rows if r.get("unstable")]
    if unstable:
        md += ["", "## Unstable points", ""]
        md += [
            "- ⚠ %s: repeats differ by more than %.0f%% in %s"
            % (r["id"], 100 * float(meta.get("threshold", 0.1)), ", ".join(r["unstable"]))
            for r in unstable
        ]
    md += [
        "",
        "Times in ms. `server tok/s` is vLLM's own `generation_tokens_total` increase over the "
        "client's measured window; `client/server` is their ratio (1.0 = the client counted "
        "exactly the tokens the server generated; genai-perf, and AIPerf against Triton's "
        "generate endpoint, re-tokenize the text; AIPerf against an OpenAI server takes the "
        "server's usage figures with --use-server-token-count).",
    ]
    md += server_section(rows)
    if failures:
        md += ["", "## Failed points", ""]
        md += ["- %s: %s" % (f["id"], f.get("error")) for f in failures]
    md += ["", "## Decode roofline", ""]
    if roof:
        md.append(
            "%d x %s: %.0f GB/s aggregate / %.2f GB of weights = %.1f tokens/s upper bound for "
            "one stream; measured %s tokens/s (efficiency %s)."
            % (
                roof["gpu_count"],
                roof["gpu_name"],
                roof["aggregate_bandwidth_gbps"],
                roof["weights_bytes"] / 1e9,
                roof["roofline_tokens_per_s"],
                _fmt(roof["measured_tokens_per_s"], 1),
                "%.1f%%" % (100 * roof["efficiency"]) if roof["efficiency"] else "n/a",
            )
        )
    else:
        md.append("Not computed: no GPU facts (CPU runtime) or no weight size for this model.")
    if comparison is not None:
        md += ["", "## Against baseline %s" % meta.get("baseline", ""), ""]
        md.append("| point | metric | baseline | current | change | |")
        md.append("|---|---|---|---|---|---|")
        for c in comparison:
            md.append(
                "| %s | %s | %.3f | %.3f | %+.1f%% | %s |"
                % (
                    c["id"],
                    c["metric"],
                    c["baseline"],
                    c["current"],
                    100 * c["change"],
                    "REGRESSION" if c["regressed"] else "ok",
                )
            )
        if not comparison:
            md.append("No point of this run matches a point of the baseline.")
        md.append("")
        md.append("Regression threshold: %.0f%%." % (100 * float(threshold or 0)))
    plots = [p for p in plots if not p.startswith("capacity")]
    if plots:
        md += ["", "## Plots", ""]
        md += ["![%s](%s)" % (p, p) for p in plots]
    return "\n".join(md) + "\n"


# ---- capacity under an SLO (benchmark_search=capacity) --------------------------------------


BY_SETTING_PLOT = "capacity_by_setting.png"


def capacity_plot_name(search_id):
    return "capacity_%s.png" % search_id


def _server_label(server):
    return " ".join("%s=%s" % kv for kv in sorted((server or {}).items())) or "default"


def _g(val, unit=""):
    return "-" if val is None else "%g%s" % (val, unit)


def _cost_line(cost):
    """How the cost at capacity was computed, or why there is none."""
    if not cost:
        return None
    if cost.get("usd_per_hour") is None:
        return "No cost per token: %s." % cost.get("note", "no hourly price")
    where = ", ".join(
        x
        for x in (
            "machine type %s" % cost["machine_type"] if cost.get("machine_type") else "",
            "price read on %s" % cost["read_on"] if cost.get("read_on") else "",
            "source: %s" % cost["source"] if cost.get("source") else "",
        )
        if x
    )
    if cost.get("usd_per_million_output_tokens") is None:
        return (
            "No cost per token: no goodput at the capacity (hourly price $%g)."
            % (cost["usd_per_hour"])
        )
    return (
        "Cost at capacity: $%g/h (%s) / (%.1f output tokens/s of %s x 3600) x 10^6 = "
        "**$%.4g per million output tokens**."
        % (
            cost["usd_per_hour"],
            where or "benchmark_hourly_price_usd",
            cost["tokens_per_s"],
            cost.get("basis") or "goodput",
            cost["usd_per_million_output_tokens"],
        )
    )


def _uncertainty(search):
    rel = search.get("relative_uncertainty")
    if rel is None:
        return "-"
    return "+%.1f %%" % (100 * rel)


def capacity_section(capacity, plots=()):
    """Markdown of results.json's capacity section: the answer per search (server setting
    and lengths), the best setting, the cost, and per search the points it measured."""
    unit = " req/s" if capacity["load"] == "request_rate" else ""
    md = ["", "## Capacity under the SLO", ""]
    md.append(
        "Highest %s meeting every SLO (%s), searched over %s..%s%s to +-%g %% within %d "
        "runs. `first failing` is the lowest measured load above the capacity that fails; "
        "the boundary lies between the two. Goodput: output tokens/s of the requests "
        "meeting the SLO's per-request limits (the tool's goodput x output length), at the "
        "capacity."
        % (
            capacity["load"].replace("_", " "),
            capacity["slo"],
            _g(capacity["bracket"][0]),
            _g(capacity["bracket"][1]),
            unit,
            100 * capacity["precision"],
            capacity["budget"],
        )
    )
    md += [
        "",
        "| server | in/out | capacity | first failing | uncertainty | goodput tok/s "
        "| $ / M output tokens | runs | stopped |",
        "|" + "---|" * 9,
    ]
    for s in capacity["searches"]:
        good = s.get("goodput") or {}
        cost = s.get("cost") or {}
        md.append(
            "| %s | %d/%d | %s | %s | %s | %s | %s | %d | %s |"
            % (
                _server_label(s["server"]),
                s["input_tokens"],
                s["output_tokens"],
                "**%s**" % _g(s["capacity"]) if s["capacity"] is not None else "none",
                _g(s["first_failing"]),
                _uncertainty(s),
                _fmt(good.get("value"), 1) or "-",
                "%.4g" % cost["usd_per_million_output_tokens"]
                if cost.get("usd_per_million_output_tokens") is not None
                else "-",
                s["points_used"],
                s["stop"],
            )
        )
    for b in capacity.get("best") or []:
        if (b.get("compared") or 0) > 1:
            md += [
                "",
                "**Best server setting** for %d/%d: `%s`, capacity %s%s (%d settings compared)."
                % (
                    b["input_tokens"],
                    b["output_tokens"],
                    _server_label(b["server"]),
                    _g(b["capacity"]),
                    unit,
                    b["compared"],
                ),
            ]
    if BY_SETTING_PLOT in plots:
        md += ["", "![%s](%s)" % (BY_SETTING_PLOT, BY_SETTING_PLOT)]
    costs = {_cost_line(s.get("cost")) for s in capacity["searches"]} - {None}
    if len(costs) == 1:
        md += ["", costs.pop()]
    for s in capacity["searches"]:
        md += _search_detail(capacity, s, plots, unit)
    return md


def _search_detail(capacity, s, plots, unit):
    md = [
        "",
        "### %s, %d/%d" % (_server_label(s["server"]), s["input_tokens"], s["output_tokens"]),
        "",
    ]
    md.append("Stopped (%s): %s." % (s["stop"], s["message"]))
    rel = s.get("relative_uncertainty")
    if s["stop"] == "precision" and rel and rel > capacity["precision"] + 1e-9:
        md.append("The bracket is two adjacent client counts: no integer concurrency lies between.")
    for note in s.get("notes") or []:
        md.append("Note: %s." % note)
    line = _cost_line(s.get("cost"))
    if line and len(capacity["searches"]) > 1:
        md.append(line)
    names = [x["name"] for x in capacity.get("slos") or []]
    limits = {x["name"]: x["limit"] for x in capacity.get("slos") or []}
    md += [
        "",
        "| load | runs | verdict | %s |" % " | ".join("%s (<= %g)" % (n, limits[n]) for n in names),
        "|" + "---|" * (3 + len(names)),
    ]
    for p in sorted(s["points"], key=lambda p: p["load"]):
        mark = " ⬅ capacity" if p["load"] == s["capacity"] else ""
        vals = []
        for n in names:
            v = (p.get("values") or {}).get(n)
            text = "-" if v is None else ("%.4g" % v)
            vals.append("**%s**" % text if n in (p.get("failed") or []) else text)
        md.append(
            "| %s%s%s | %s | %s | %s |"
            % (
                _g(p["load"]),
                unit,
                mark,
                ", ".join(p.get("runs") or []),
                p["verdict"]
                if p["verdict"] == p["leaning"]
                else "%s (leaning %s)" % (p["verdict"], p["leaning"]),
                " | ".join(vals),
            )
        )
    md.append("")
    md.append(
        "runs: why the search measured the load (min: the lower end; bracket: growing "
        "towards the boundary; interpolate / straddle / close: narrowing from the curve's "
        "estimates; bisect: halving; repeat: another run of an uncertain point). Bold: over "
        "its limit. Values are the means over the runs."
    )
    name = capacity_plot_name(s["id"])
    if name in plots:
        md += ["", "![%s](%s)" % (name, name)]
    return md


# ---- Triton overhead: the same sweep against triton_cpu and vllm_cpu ---------------------


def _point_key(row):
    return (
        row.get("concurrency"),
        row.get("request_rate"),
        row["input_tokens"],
        row["output_tokens"],
    )


def _diff(a, b):
    return None if a is None or b is None else a - b


def _ratio(a, b):
    return None if a is None or not b else a / b


def _inter_token(row):
    """(server mean ms between tokens, its family): ITL where exported, Triton's TPOT else."""
    for key, family in (("itl_ms_mean", ITL_FAMILY), ("tpot_ms_mean", TPOT_FAMILY)):
        val = _mean(row, key, "server_metrics")
        if val is not None:
            return val, family
    return None, None


def overhead(triton_rows, vllm_rows):
    """Triton against plain vLLM, per load point measured in both runs (same concurrency or
    rate and lengths): tokens/s ratios (client and server counts), TTFT and ITL p50
    differences as the client saw them, and the server's own TTFT and inter-token means."""
    base = {_point_key(r): r for r in vllm_rows}
    out = []
    for t in triton_rows:
        v = base.get(_point_key(t))
        if v is None:
            continue
        t_gap, t_family = _inter_token(t)
        v_gap, v_family = _inter_token(v)
        out.append(
            {
                "load": _load(t),
                "lengths": "%d/%d" % (t["input_tokens"], t["output_tokens"]),
                "tps_triton": _mean(t, "output_token_throughput"),
                "tps_vllm": _mean(v, "output_token_throughput"),
                "tps_ratio": _ratio(
                    _mean(t, "output_token_throughput"), _mean(v, "output_token_throughput")
                ),
                "server_tps_ratio": _ratio(
                    _mean(t, "output_token_throughput", "server_metrics"),
                    _mean(v, "output_token_throughput", "server_metrics"),
                ),
                "ttft_p50_triton": _mean(t, "ttft_ms_p50"),
                "ttft_p50_vllm": _mean(v, "ttft_ms_p50"),
                "ttft_p50_diff_ms": _diff(_mean(t, "ttft_ms_p50"), _mean(v, "ttft_ms_p50")),
                "itl_p50_triton": _mean(t, "itl_ms_p50"),
                "itl_p50_vllm": _mean(v, "itl_ms_p50"),
                "itl_p50_diff_ms": _diff(_mean(t, "itl_ms_p50"), _mean(v, "itl_ms_p50")),
                "server_ttft_mean_diff_ms": _diff(
                    _mean(t, "ttft_ms_mean", "server_metrics"),
                    _mean(v, "ttft_ms_mean", "server_metrics"),
                ),
                "server_gap_triton": t_gap,
                "server_gap_vllm": v_gap,
                "server_gap_families": (t_family, v_family),
                "bursty": bool(t.get("bursty_delivery") or v.get("bursty_delivery")),
                "token_ratio_triton": _mean(t, "client_server_token_ratio", "server_metrics"),
                "token_ratio_vllm": _mean(v, "client_server_token_ratio", "server_metrics"),
            }
        )
    return out


def overhead_table(diffs):
    """Markdown lines for overhead(): one row per load point, then what the columns mean."""
    md = [
        "| load | in/out | out tok/s triton / vllm | ratio | server-count ratio "
        "| TTFT p50 triton / vllm | diff | ITL p50 triton / vllm | diff "
        "| server TTFT mean diff | server gap triton / vllm | client/server tokens triton / vllm |",
        "|" + "---|" * 12,
    ]
    for d in diffs:
        md.append(
            "| %s | %s | %s / %s | %s | %s | %s / %s | %s | %s / %s | %s | %s | %s / %s | %s / %s |"
            % (
                d["load"],
                d["lengths"],
                _fmt(d["tps_triton"], 1) or "-",
                _fmt(d["tps_vllm"], 1) or "-",
                _fmt(d["tps_ratio"], 3) or "-",
                _fmt(d["server_tps_ratio"], 3) or "-",
                _fmt(d["ttft_p50_triton"]) or "-",
                _fmt(d["ttft_p50_vllm"]) or "-",
                ("%+.2f" % d["ttft_p50_diff_ms"]) if d["ttft_p50_diff_ms"] is not None else "-",
                _fmt(d["itl_p50_triton"]) or "-",
                _fmt(d["itl_p50_vllm"]) or "-",
                (("%+.2f" % d["itl_p50_diff_ms"]) if d["itl_p50_diff_ms"] is not None else "-")
                + (" ⚠" if d["bursty"] else ""),
                ("%+.2f" % d["server_ttft_mean_diff_ms"])
                if d["server_ttft_mean_diff_ms"] is not None
                else "-",
                _fmt(d["server_gap_triton"]) or "-",
                _fmt(d["server_gap_vllm"]) or "-",
                _fmt(d["token_ratio_triton"], 3) or "-",
                _fmt(d["token_ratio_vllm"], 3) or "-",
            )
        )
    families = {f for d in diffs for f in d["server_gap_families"] if f}
    md += [
        "",
        "ratio: Triton / vLLM output tokens/s as the client counted them; server-count ratio: "
        "the same from each server's vllm:generation_tokens_total. diff: Triton minus vLLM, ms "
        "(p50 of the client's per-request values). server gap: mean ms between tokens from each "
        "server's own histogram (%s)." % ", ".join(sorted(families) or ["none exported"]),
    ]
    if any(d["bursty"] for d in diffs):
        md.append(
            "⚠ the client's ITL is under a tenth of the server's time per token: tokens reached "
            "it in bursts, so that ITL difference measures delivery, not generation."
        )
    return md
