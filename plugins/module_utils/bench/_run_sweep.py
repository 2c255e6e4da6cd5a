# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the genai_perf_sweep module does, apart from its argument spec and exit.

validate(params) -> (cfg, points): the sweep config and its planned points, or BenchError.
plan(params, cfg, points, check_mode) -> the planning result (matrix with states).
run_sweep(params, cfg, points, result, host) -> the final result, or BenchError (with the
result when a point failed). `params` are the module's parameters; every side effect goes
through `host` (see _module_support.ModuleHost).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import os

from ansible_collections.llmserve.triton.plugins.module_utils import _http
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as cmds
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _runner as runner
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo_mod
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as sweep
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
)

# module options that override the named profile's values
OVERRIDES = ("concurrency", "request_rates", "lengths", "repeats", "request_count")
OVERRIDES += ("num_prompts", "seed", "warmup_requests")


def goodput_slo(params, slos=None):
    """The per-request limits for the tools' --goodput ({ttft_ms: 2000, ...}) from O(slo),
    whose keys may carry a statistic (ttft_ms_p99) and error_rate (not a per-request limit),
    or from the capacity search's parsed `slos`; None without SLOs."""
    if slos is None:
        if not params["slo"]:
            return None
        slos = slo_mod.parse_slo(params["slo"], default_error_rate=None)
    limits = slo_mod.goodput_limits(slos)
    # 2000, not 2000.0, on the command line
    return {k: int(v) if float(v).is_integer() else v for k, v in limits.items()} or None


def validate(params):
    """Resolve the profile with the overrides, validate it, plan it and check that the
    engine can talk to the target kind and that O(slo) names known metrics. Returns
    (cfg, points); raises BenchError whose message names the offending variable."""
    overrides = {k: params[k] for k in OVERRIDES}
    overrides["engine_args"] = params["engine_args_sweep"]
    try:
        cfg = sweep.validate(
            sweep.resolve_profile(params["profile"], overrides), params["max_model_len"]
        )
        points = sweep.plan(cfg)
        cmds.check_target(params["engine"], params["target"]["kind"])
        goodput_slo(params)
    except (sweep.SweepError, cmds.CommandError, slo_mod.SloError) as exc:
        raise BenchError(str(exc)) from exc
    return cfg, points


def plan(params, cfg, points, check_mode=False):
    """The planning result: every point with its state on disk and the server configs.
    In check mode `changed` says whether a run would measure anything."""
    ws = params["workspace"]
    planned = [dict(pt, state=sweep.point_state(ws, pt["id"])) for pt in points]
    result = dict(changed=False, plan=planned, servers=sweep.server_configs(cfg))
    if check_mode:
        result["changed"] = any(pt["state"] != "done" for pt in planned)
    return result


def selected(params, points):
    """The points this run measures: those of O(only_server) when it is set."""
    if params["only_server"] is None:
        return list(points)
    return [pt for pt in points if pt["server"] == params["only_server"]]


def engine_version(params, exe, env, host):
    """O(engine_version), else what `exe --version` prints."""
    if params["engine_version"]:
        return params["engine_version"]
    _rc, out, err = host.run_command([exe, "--version"], environ_update=env)
    try:
        return ".".join(str(x) for x in cmds.parse_version(out + err))
    except cmds.CommandError as exc:
        raise BenchError("cannot tell the version of %s: %s" % (exe, (out + err)[-500:])) from exc


def check_flags(params, version, exe, points, opts, help_text):
    """Build every point's command and refuse flags the installed tool's --help lacks."""
    ws = params["workspace"]
    for pt in points:
        cmd = cmds.build_command(params["engine"], version, exe, pt, params["target"], ws, opts)
        bad = cmds.unsupported_flags(cmd[1:], help_text)
        if bad:
            raise BenchError(
                "%s %s does not support %s: fix benchmark_extra_args or install a "
                "version that has them" % (params["engine"], version, ", ".join(bad))
            )


def check_reachable(params, points, host):
    """Refuse to start when points remain to measure and the target does not answer."""
    url = params["target"]["url"]
    if any(sweep.point_state(params["workspace"], pt["id"]) != "done" for pt in points):
        why = host.reachable(url)
        if why:
            raise BenchError(
                "benchmark target %s is unreachable (%s): is the model served? check "
                "benchmark_url / the serving role" % (url, why)
            )


def results_meta(params, cfg, version, old, wall_s):
    """meta of results.json: O(meta) plus the sweep's facts; the wall time adds up over
    resumed runs."""
    meta = dict(params["meta"] or {})
    meta.update(
        profile=cfg["profile"],
        engine=params["engine"],
        engine_version=version,
        repeats=cfg["repeats"],
        threshold=params["threshold"],
        slo=params["slo"],
        plan=[pt["id"] for pt in sweep.plan(cfg)],
    )
    meta["sweep_wall_s"] = (old.get("meta") or {}).get("sweep_wall_s", 0.0) + wall_s
    return meta


def prepare(params, cfg, points, host, slo=None, probe=True):
    """Find the tool and its version, refuse flags its --help lacks (every command of
    `points`) and, with `probe`, an unreachable target when `points` has work left; the
    Runner context. Returns (ctx, version); raises BenchError before anything runs."""
    ws = params["workspace"]
    exe = params["executable"] or host.which(params["engine"])
    env = dict(params["environment"] or {})
    # The tools (their own HTTP/gRPC clients) take the proxy of the environment: not for a
    # server on loopback.
    env.update(_http.no_proxy_environment(params["target"]["url"], dict(os.environ, **env)))
    version = engine_version(params, exe, env, host)
    opts = dict(seed=cfg["seed"], num_prompts=cfg["num_prompts"], slo=slo)
    opts["extra_args"] = params["extra_args"]
    try:
        table = cmds.flag_table(params["engine"], version)
        _rc, out, err = host.run_command(
            [exe] + table["subcommand"] + ["--help"], environ_update=dict(env, COLUMNS="300")
        )
        check_flags(params, version, exe, points, opts, out + err)
    except cmds.CommandError as exc:
        raise BenchError(str(exc)) from exc
    if probe:
        check_reachable(params, points, host)
    ctx = dict(
        engine=params["engine"],
        version=version,
        exe=exe,
        target=params["target"],
        options=opts,
        workspace=ws,
        threshold=params["threshold"],
        metrics_url=params["target"]["metrics_url"],
        model=params["target"]["model"],
        warmup_requests=cfg["warmup_requests"],
        env=env,
    )
    return ctx, version


def run_command_for(params, host, env):
    """run_cmd of the Runner: the tool under `timeout`, in its artifact dir."""

    def run_cmd(cmd, cwd):
        full = ["timeout", str(params["timeout"])] + cmd
        return host.run_command(full, cwd=cwd, environ_update=env)

    return run_cmd


def run_sweep(params, cfg, points, result, host):
    """Measure the selected points that are not done yet, write results.json and return the
    module result (`result` is plan()'s, extended). Raises BenchError before anything runs
    when the inputs are wrong, and with the result when a point failed."""
    ws = params["workspace"]
    points = selected(params, points)
    ctx, version = prepare(params, cfg, points, host, goodput_slo(params))
    result["engine_version"] = version
    os.makedirs(ws, exist_ok=True)
    run_cmd = run_command_for(params, host, ctx["env"])
    summary = runner.Runner(ctx, run_cmd, host.fetch_text, host.clock).run(points)
    rows, failures = runner.collect(ws, sweep.plan(cfg))
    path = os.path.join(ws, "results.json")
    old = sweep.load_json(path) or {}
    meta = results_meta(params, cfg, version, old, summary["wall_s"])
    if summary["ran"] or summary["failed"] or not old or old.get("rows") != rows:
        runner.write_json(path, dict(meta=meta, rows=rows, failures=failures))
    result.update(summary, results_path=path, rows=rows, changed=bool(summary["ran"]))
    result["token_agreement"] = report.agreement_lines(rows)
    if summary["failed"]:
        raise BenchError(
            "benchmark point %s failed: %s (finished points are kept in %s; re-run to "
            "complete the missing ones)"
            % (summary["failed"]["id"], summary["failed"]["error"], ws),
            result,
        )
    return result
