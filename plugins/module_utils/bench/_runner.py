# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a planned sweep point by point: warm-up (discarded), N repeats, server-metric
scrapes around each measured run, results on disk so an interrupted sweep resumes.

Side effects go through injected callables (run_cmd, fetch_text, clock) so the logic is
unit-testable; the module passes AnsibleModule.run_command and a urllib fetch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import json
import os
import shutil
import tempfile

from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as cmds
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _metrics as metrics
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _parse as parse
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as sweep


class PointError(Exception):
    """A point could not be measured (tool failed, server gone, no export)."""


def write_json(path, data):
    """Atomic JSON write (temp file in the same dir, then rename)."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _tail(text, lines=15):
    return "\n".join((text or "").strip().splitlines()[-lines:])


def token_agreement(client, server):
    """Output tokens the client counted / tokens the server generated in the same run (1.0:
    they agree; genai-perf and AIPerf without server usage re-tokenize the text)."""
    counted, generated = client.get("output_tokens_total"), server.get("generation_tokens")
    if counted is None or not generated:
        return None
    return float(counted) / float(generated)


class Runner:
    def __init__(self, ctx, run_cmd, fetch_text, clock):
        """ctx: engine, version, exe, target, options, workspace, threshold, metrics_url,
        model, env (dict), warmup_requests."""
        self.ctx = ctx
        self.run_cmd = run_cmd
        self.fetch_text = fetch_text
        self.clock = clock

    def command(self, point, out_dir, request_count=None):
        p = dict(point)
        if request_count is not None:
            p["request_count"] = request_count
        opts = dict(self.ctx.get("options") or {})
        opts.setdefault("num_prompts", p["request_count"])
        return cmds.build_command(
            self.ctx["engine"],
            self.ctx["version"],
            self.ctx["exe"],
            p,
            self.ctx["target"],
            out_dir,
            opts,
        )

    def _scrape(self):
        url = self.ctx.get("metrics_url")
        if not url:
            return None
        try:
            return metrics.snapshot(self.fetch_text(url), self.ctx.get("model"))
        except Exception:  # a missing scrape must not lose the client measurement
            return None

    def _run_tool(self, cmd, out_dir):
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)  # a half-written attempt from an interrupted run
        os.makedirs(out_dir)
        with open(os.path.join(out_dir, "command.txt"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        rc, out, err = self.run_cmd(cmd, out_dir)
        with open(os.path.join(out_dir, "tool.log"), "w") as f:
            f.write(out or "")
            f.write(err or "")
        if rc != 0:
            detail = _tail(err, 2) or _tail(out, 2)
            if len(detail) > 600:
                detail = detail[:200] + " ... " + detail[-380:]
            if self.ctx["engine"] == "aiperf":
                detail = self._aiperf_errors(out_dir) or detail
            raise PointError("%s exited with rc=%s: %s" % (self.ctx["engine"], rc, detail))

    def _aiperf_errors(self, out_dir):
        path = os.path.join(out_dir, "profile_export.jsonl")
        if not os.path.exists(path):
            return None
        msgs = set()
        with open(path) as f:
            for line in f:
                err = (json.loads(line) if line.strip() else {}).get("error")
                if err:
                    msgs.add("%s %s" % (err.get("code", ""), err.get("type", "")))
        return ("request errors: " + "; ".join(sorted(msgs))) if msgs else None

    def measure(self, point, rep_dir):
        cmd = self.command(point, rep_dir)
        before = self._scrape()
        t0 = self.clock()
        self._run_tool(cmd, rep_dir)
        t1 = self.clock()
        after = self._scrape()
        try:
            export = parse.find_export(rep_dir, self.ctx["engine"])
            client = parse.parse_export_file(export, self.ctx["engine"], point["request_count"])
        except parse.ExportError as exc:
            raise PointError(str(exc)) from exc
        if not client.get("request_count"):
            raise PointError("no request succeeded (%s errors)" % client.get("error_count"))
        slo = (self.ctx.get("options") or {}).get("slo")
        jsonl = os.path.join(os.path.dirname(export), "profile_export.jsonl")
        if slo and client.get("goodput") is None and os.path.exists(jsonl):
            client["goodput"] = parse.goodput_from_records(
                parse.aiperf_request_records(jsonl), slo, client.get("duration_s")
            )
        server, families = {}, None
        if before and after:
            server = metrics.diff(before, after, parse.rate_window_s(client) or (t1 - t0))
            families = metrics.family_report(after)
            agreement = token_agreement(client, server)
            if agreement is not None:
                server["client_server_token_ratio"] = agreement
        result = {
            "client": client,
            "server": server,
            "server_families": families,
            "command": cmd,
            "wall_s": t1 - t0,
            "engine": self.ctx["engine"],
            "engine_version": self.ctx["version"],
        }
        write_json(os.path.join(rep_dir, "result.json"), result)
        return result

    def run_point(self, point):
        """Measure one point (skipping repeats already on disk). Returns (row, ran_any)."""
        ws = self.ctx["workspace"]
        pdir = sweep.point_dir(ws, point["id"])
        reps = []
        ran = False
        done = [r for r in range(1, point["repeats"] + 1) if sweep.repeat_done(ws, point["id"], r)]
        warm = int(self.ctx.get("warmup_requests") or 0)
        if warm and not done:
            # the first profile after a (re)start is unreliable: run one and discard it
            self._run_tool(
                self.command(
                    point, os.path.join(pdir, "warmup"), max(warm, point.get("concurrency") or 1)
                ),
                os.path.join(pdir, "warmup"),
            )
            ran = True
        for rep in range(1, point["repeats"] + 1):
            rep_dir = os.path.join(pdir, "rep%d" % rep)
            if rep in done:
                reps.append(sweep.load_json(os.path.join(rep_dir, "result.json")))
                continue
            reps.append(self.measure(point, rep_dir))
            ran = True
        row = sweep.aggregate(point, reps, self.ctx.get("threshold", 0.1))
        row["measured_s"] = sum(r["client"].get("duration_s") or 0.0 for r in reps)
        row["wall_s"] = sum(r.get("wall_s") or 0.0 for r in reps)
        write_json(os.path.join(pdir, "point.json"), row)
        return row, ran

    def run(self, points):
        """Run the points in order; stop at the first failure and record it."""
        ws = self.ctx["workspace"]
        summary = {"ran": [], "skipped": [], "failed": None}
        t0 = self.clock()
        for point in points:
            if sweep.point_state(ws, point["id"]) == "done":
                summary["skipped"].append(point["id"])
                continue
            try:
                _row, ran = self.run_point(point)
            except (PointError, cmds.CommandError, OSError) as exc:
                failure = {"id": point["id"], "status": "failed", "error": str(exc)}
                write_json(os.path.join(sweep.point_dir(ws, point["id"]), "point.json"), failure)
                summary["failed"] = failure
                break
            (summary["ran"] if ran else summary["skipped"]).append(point["id"])
        summary["wall_s"] = self.clock() - t0
        return summary


def collect(workspace, points):
    """Rows of every finished point (in plan order) and the failures, from disk."""
    rows, failures = [], []
    for point in points:
        data = sweep.load_json(os.path.join(sweep.point_dir(workspace, point["id"]), "point.json"))
        if not data:
            continue
        (rows if data.get("status") == "ok" else failures).append(data)
    return rows, failures
