# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capacity search of genai_perf_sweep (O(search.mode=capacity)): the loop that measures
what _capacity_search proposes, with the sweep's runner and resume store.

validate(params) -> the search config (_capacity_plan.validate_search's) or None (grid).
groups(params, cfg) -> the searches of this call: one per server configuration
  (O(only_server), else all) and length pair, {id, server, input_tokens, output_tokens}.
plan(params, cfg, scfg, check_mode) -> the planning result: the search plan (bracket,
  budget, precision, SLOs) and each search's state in the store.
run_search(params, cfg, scfg, result, host) -> the module result; BenchError when the lower
  end violates the SLO or the server stopped answering (with the result, after results.json).

Resume. The k-th run of load x is points/<point id>/rep<k>/ as in the grid sweep (point ids
from _sweep.point_id: the same load of the same server and lengths is the same point). The
search reads rep<k> when it is there (result.json; failed.json for a run that failed while
the server answered) and measures it otherwise. next_point() is a function of what was
recorded, so replaying the store takes the same steps and measures only what is missing: an
interrupted search resumes, a finished one measures nothing, and a search with other
settings reuses every run it asks for again. search_<id>.json keeps each search's state and
answer (rewritten after every step); results.json gathers every search of the plan.

A run that fails while the server answers (the tool timed out, no request succeeded) is a
failed measurement of that load: recorded as None, it fails the error-rate SLO. When the
server does not answer any more, the search stops with an error and resumes on a re-run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import json
import os

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_plan as cplan
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _capacity_search as cs
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as cmds
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_sweep as rsweep
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _runner as runner
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _slo as slo_mod
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as sweep
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
)

STATE_FILE = "search_%s.json"
FAILED_FILE = "failed.json"


class ServerGone(Exception):
    """A run failed and the target does not answer: stop, keep what was measured."""


def validate(params):
    """validate_search() of O(search) and O(slo): None for the grid, else the search config;
    BenchError naming the variable for the first bad input."""
    s = params.get("search") or {}
    try:
        return cplan.validate_search(
            search=s.get("mode") or "grid",
            slo=params["slo"],
            precision=s.get("precision"),
            budget=s.get("budget"),
            min_load=s.get("min"),
            max_load=s.get("max"),
            load=s.get("load") or "concurrency",
            max_repeats=s.get("max_repeats"),
            noise=0.0 if s.get("noise") is None else s.get("noise"),
        )
    except (cplan.SearchError, slo_mod.SloError) as exc:
        raise BenchError(str(exc)) from exc


def groups(params, cfg, every_server=False):
    """The searches: per server configuration (those of O(only_server) unless every_server)
    and length pair."""
    out, only = [], None if every_server else params.get("only_server")
    for server in sweep.server_configs(cfg):
        if only is not None and server != only:
            continue
        for inp, outp in cfg["lengths"]:
            gid = "%s__in%d-out%d" % (sweep.server_slug(server), inp, outp)
            out.append(dict(id=gid, server=server, input_tokens=inp, output_tokens=outp))
    return out


def load_point(cfg, scfg, group, load):
    """The sweep point of `load` in a search: one run (the search asks for repeats)."""
    conc = int(load) if scfg["load"] == "concurrency" else None
    p = {
        "server": group["server"],
        "input_tokens": group["input_tokens"],
        "output_tokens": group["output_tokens"],
        "concurrency": conc,
        "request_rate": None if conc else float(load),
        "request_count": max(cfg["request_count"], 2 * (conc or 1)),
        "repeats": 1,
    }
    p["id"] = sweep.point_id(p)
    return p


def _repeats(state, load):
    key = int(round(load)) if state["config"]["integer"] else float(load)
    for point in state["points"]:
        if point["load"] == key:
            return len(point["repeats"])
    return 0


def rep_dir(ws, pid, rep):
    return os.path.join(sweep.point_dir(ws, pid), "rep%d" % rep)


def stored_run(ws, pid, rep):
    """(True, client record) for a finished run, (True, None) for a failed one, (False, None)
    when the store lacks it."""
    d = rep_dir(ws, pid, rep)
    data = sweep.load_json(os.path.join(d, "result.json"))
    if data and data.get("client"):
        return True, data["client"]
    if sweep.load_json(os.path.join(d, FAILED_FILE)):
        return True, None
    return False, None


def write_point(ws, point, threshold):
    """point.json of a search point: the aggregate of its finished runs, or the failure when
    every run failed (the rows and failures of results.json)."""
    pdir = sweep.point_dir(ws, point["id"])
    reps, errors = [], []
    k = 1
    while True:
        d = os.path.join(pdir, "rep%d" % k)
        data = sweep.load_json(os.path.join(d, "result.json"))
        failed = sweep.load_json(os.path.join(d, FAILED_FILE))
        if data and data.get("client"):
            reps.append(data)
        elif failed:
            errors.append(failed.get("error"))
        else:
            break
        k += 1
    if reps:
        row = sweep.aggregate(dict(point, repeats=len(reps)), reps, threshold)
        row["measured_s"] = sum(r["client"].get("duration_s") or 0.0 for r in reps)
        row["wall_s"] = sum(r.get("wall_s") or 0.0 for r in reps)
        row["failed_runs"] = len(errors)
    else:
        row = {"id": point["id"], "status": "failed", "error": "; ".join(errors)}
    runner.write_json(os.path.join(pdir, "point.json"), row)


def replay(ws, cfg, scfg, group, measure=None):
    """Run one search over the store; `measure(point, rep)` -> record or None measures what
    the store lacks (None: stop there). Returns (state, step, runs): the state, the last
    step (done, or the first missing run when measure is None) and every run taken, each
    {id, load, rep, reason, measured}."""
    state = cs.new_search(scfg)
    runs = []
    while True:
        step = cs.next_point(state)
        if step["done"]:
            return state, step, runs
        point = load_point(cfg, scfg, group, step["load"])
        rep = _repeats(state, step["load"]) + 1
        have, rec = stored_run(ws, point["id"], rep)
        if not have:
            if measure is None:
                return state, step, runs
            rec = measure(point, rep)
        runs.append(
            dict(
                id=point["id"], load=step["load"], rep=rep, reason=step["reason"], measured=not have
            )
        )
        cs.record(state, step["load"], None if rec is None else [rec], step["reason"])
        if measure is not None:
            save_state(ws, group, state)


def save_state(ws, group, state, answer=None):
    data = {"group": group, "state": state}
    if answer is not None:
        data["result"] = answer
    runner.write_json(os.path.join(ws, STATE_FILE % group["id"]), data)


def plan(params, cfg, scfg, check_mode=False):
    """The planning result of a capacity search: the plan text and figures, and per search
    the runs the store holds and whether a run would measure more (check mode: changed)."""
    ws = params["workspace"]
    searches = []
    for group in groups(params, cfg, every_server=True):
        _state, step, runs = replay(ws, cfg, scfg, group)
        searches.append(
            dict(
                group,
                request_count=cfg["request_count"],
                state="done" if step["done"] else ("started" if runs else "missing"),
                stored_runs=len(runs),
            )
        )
    result = dict(
        changed=False,
        plan=[],
        servers=sweep.server_configs(cfg),
        search_plan=cplan.plan(scfg),
        searches=searches,
    )
    if check_mode:
        result["changed"] = any(s["state"] != "done" for s in searches)
    return result


def cost(goodput, price):
    """Cost per million output tokens at the capacity: hourly price / (goodput tokens/s x
    3600) x 1e6, with where the price comes from; None without a price."""
    price = dict(price or {})
    if price.get("usd_per_hour") in (None, ""):
        if not price.get("machine_type"):
            return None
        why = " (%s)" % price["source"] if price.get("source") else ""
        return dict(
            price,
            usd_per_hour=None,
            usd_per_million_output_tokens=None,
            note="no hourly price known for machine type %s%s: set benchmark_hourly_price_usd"
            % (price["machine_type"], why),
        )
    hourly = float(price["usd_per_hour"])
    value = (goodput or {}).get("value")
    per_million = hourly / (value * 3600.0) * 1e6 if value else None
    return dict(
        price,
        usd_per_hour=hourly,
        usd_per_million_output_tokens=per_million,
        tokens_per_s=value,
        basis=(goodput or {}).get("source"),
    )


def answer(cfg, scfg, group, state, price):
    """The search's result (_capacity_search.result) with its server, lengths, the point id
    of every load and the cost at the capacity."""
    res = cs.result(state)
    res.update(
        id=group["id"],
        server=group["server"],
        input_tokens=group["input_tokens"],
        output_tokens=group["output_tokens"],
        cost=cost(res["goodput"], price),
    )
    for p in res["points"]:
        p["id"] = load_point(cfg, scfg, group, p["load"])["id"]
    return res


def best(searches):
    """Per length pair, the search (server setting) with the highest capacity (then
    goodput); None where no search found one."""
    out = []
    pairs = []
    for s in searches:
        pair = (s["input_tokens"], s["output_tokens"])
        if pair not in pairs:
            pairs.append(pair)
    for inp, outp in pairs:
        found = [
            s
            for s in searches
            if (s["input_tokens"], s["output_tokens"]) == (inp, outp) and s["capacity"] is not None
        ]
        if not found:
            out.append(dict(input_tokens=inp, output_tokens=outp, id=None, server=None))
            continue
        top = max(found, key=lambda s: (s["capacity"], (s["goodput"] or {}).get("value") or 0))
        out.append(
            dict(
                input_tokens=inp,
                output_tokens=outp,
                id=top["id"],
                server=top["server"],
                capacity=top["capacity"],
                goodput=top["goodput"],
                compared=len(found),
            )
        )
    return out


def gather(ws, cfg, scfg, params, price):
    """The answers of every search of the plan in the store (as recorded; recomputed for
    one that stopped half-way), with the rows and failures of their points (results.json)."""
    searches, ids = [], []
    for group in groups(params, cfg, every_server=True):
        data = sweep.load_json(os.path.join(ws, STATE_FILE % group["id"]))
        if not data or not data.get("state"):
            continue
        res = data.get("result") or answer(cfg, scfg, group, data["state"], price)
        searches.append(res)
        points = sorted(res["points"], key=lambda p: p["load"])
        ids += [p["id"] for p in points if p["id"] not in ids]
    rows, failures = [], []
    for pid in ids:
        data = sweep.load_json(os.path.join(sweep.point_dir(ws, pid), "point.json"))
        if data:
            (rows if data.get("status") == "ok" else failures).append(data)
    return searches, rows, failures


def check_points(cfg, scfg, gs):
    """Points whose commands the flag check builds: the bracket ends of every search."""
    pts = []
    for g in gs:
        pts.append(load_point(cfg, scfg, g, scfg["min"]))
        pts.append(load_point(cfg, scfg, g, scfg["max"]))
    return pts


class Measurer:
    """measure(point, rep) for replay(): the warm-up before a load's first run, the run in
    rep<k>/, failed.json when it fails while the server answers, point.json after."""

    def __init__(self, params, run, host):
        self.params, self.run, self.host = params, run, host
        self.ws = params["workspace"]
        self.measured = []

    def __call__(self, point, rep):
        d = rep_dir(self.ws, point["id"], rep)
        warm = int(self.run.ctx.get("warmup_requests") or 0)
        try:
            if rep == 1 and warm:
                wdir = os.path.join(sweep.point_dir(self.ws, point["id"]), "warmup")
                self.run._run_tool(
                    self.run.command(point, wdir, max(warm, point.get("concurrency") or 1)), wdir
                )
            rec = self.run.measure(point, d)["client"]
        except (runner.PointError, cmds.CommandError, OSError) as exc:
            why = self.host.reachable(self.params["target"]["url"])
            if why:
                raise ServerGone(
                    "run %s/rep%d failed (%s) and the benchmark target %s does not answer "
                    "(%s)" % (point["id"], rep, exc, self.params["target"]["url"], why)
                ) from exc
            os.makedirs(d, exist_ok=True)
            runner.write_json(os.path.join(d, FAILED_FILE), {"error": str(exc)})
            rec = None
        self.measured.append("%s/rep%d" % (point["id"], rep))
        write_point(self.ws, point, self.params["threshold"])
        return rec


def results_meta(params, cfg, scfg, version, old, wall_s, gs):
    meta = rsweep.results_meta(params, cfg, version, old, 0.0)
    meta.pop("sweep_wall_s", None)
    meta.update(
        search="capacity",
        search_plan=cplan.plan(scfg)["text"],
        plan=[g["id"] for g in gs],
        repeats=1,
    )
    meta["search_wall_s"] = (old.get("meta") or {}).get("search_wall_s", 0.0) + wall_s
    return meta


def summary(scfg, searches, price):
    """results.json's capacity: the search settings, every search's answer, the best."""
    return {
        "load": scfg["load"],
        "slo": slo_mod.describe(scfg["slo"]),
        "slos": scfg["slo"],
        "precision": scfg["precision"],
        "bracket": [scfg["min"], scfg["max"]],
        "budget": scfg["budget"],
        "max_repeats": scfg["max_repeats"],
        "noise": scfg["noise"],
        "price": price or None,
        "searches": searches,
        "best": best(searches),
    }


def run_search(params, cfg, scfg, result, host):
    """Search every group of this call, write the store and results.json; the module result.
    Raises BenchError before anything runs when the inputs are wrong, and with the result
    when a lower end violates the SLO or the server stopped answering."""
    ws = params["workspace"]
    price = params.get("price")
    gs = groups(params, cfg)
    todo = [g for g in gs if not replay(ws, cfg, scfg, g)[1]["done"]]
    ctx, version = rsweep.prepare(
        params,
        cfg,
        check_points(cfg, scfg, gs),
        host,
        rsweep.goodput_slo(params, scfg["slo"]),
        probe=False,
    )
    result["engine_version"] = version
    if todo:
        why = host.reachable(params["target"]["url"])
        if why:
            raise BenchError(
                "benchmark target %s is unreachable (%s): is the model served? check "
                "benchmark_url / the serving role" % (params["target"]["url"], why)
            )
    os.makedirs(ws, exist_ok=True)
    run = runner.Runner(
        ctx, rsweep.run_command_for(params, host, ctx["env"]), host.fetch_text, host.clock
    )
    measure = Measurer(params, run, host)
    t0 = host.clock()
    answers, reused, gone = [], [], None
    for group in gs:
        try:
            state, _step, runs = replay(ws, cfg, scfg, group, measure)
        except ServerGone as exc:
            gone = str(exc)
            break
        res = answer(cfg, scfg, group, state, price)
        save_state(ws, group, state, res)
        answers.append(res)
        reused += ["%s/rep%d" % (r["id"], r["rep"]) for r in runs if not r["measured"]]
        if res["stop"] == "min_violates":
            break
    wall = host.clock() - t0
    searches, rows, failures = gather(ws, cfg, scfg, params, price)
    path = os.path.join(ws, "results.json")
    old = sweep.load_json(path) or {}
    capacity = summary(scfg, searches, price)
    data = dict(
        meta=results_meta(params, cfg, scfg, version, old, wall, groups(params, cfg, True)),
        rows=rows,
        failures=failures,
        capacity=capacity,
    )
    data = json.loads(json.dumps(data))
    same = all(old.get(k) == data[k] for k in ("rows", "failures", "capacity"))
    if measure.measured or not same:
        runner.write_json(path, data)
    result.update(
        changed=bool(measure.measured),
        ran=measure.measured,
        reused=reused,
        skipped=[],
        failed=None,
        wall_s=wall,
        results_path=path,
        rows=rows,
        capacity=capacity,
        searches=answers,
        token_agreement=report.agreement_lines(rows),
    )
    if gone:
        result["failed"] = {"error": gone}
        raise BenchError(
            "capacity search stopped: %s (the runs so far are kept in %s; re-run to resume)"
            % (gone, ws),
            result,
        )
    violated = [a for a in answers if a["stop"] == "min_violates"]
    if violated:
        result["failed"] = {"id": violated[0]["id"], "error": violated[0]["error"]}
        raise BenchError("%s: %s" % (violated[0]["id"], violated[0]["error"]), result)
    return result
