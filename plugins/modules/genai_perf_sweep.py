#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

DOCUMENTATION = r"""
---
module: genai_perf_sweep
short_description: Run a resumable genai-perf or AIPerf sweep against an LLM server
version_added: "1.0.0"
description:
  - Plans a benchmark sweep from a named profile plus overrides (concurrency list, request
    rate list, input/output length pairs, server engine-arg values), validates it, and runs
    it point by point with genai-perf or AIPerf.
  - Every point gets a discarded warm-up run, then O(repeats) measured runs. Around every
    measured run the server's Prometheus metrics are scraped, so each point carries the
    server's own token counts next to the client's figures.
  - Results are written under O(workspace) as they finish. A point whose result exists is
    skipped, so an interrupted sweep resumes where it stopped; a failing point is recorded
    with its error and the module fails.
  - In check mode, or with O(plan_only=true), it only validates the inputs and returns the
    planned matrix.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Returns the planned matrix without measuring.
    support: full
  diff_mode:
    description: Results are data files, not configuration; there is no diff.
    support: none
options:
  engine:
    description: Load generator.
    type: str
    choices: [genai-perf, aiperf]
    default: genai-perf
  executable:
    description: Path of the C(genai-perf) or C(aiperf) command.
    type: path
  engine_version:
    description:
      - Version of the load generator, which selects the flag table.
      - Detected with C(--version) when omitted.
    type: str
  profile:
    description:
      - Named profile the sweep starts from.
      - C(tutorial), C(batch16), C(max_num_seqs_900) or C(ci_small).
    type: str
    default: tutorial
  concurrency:
    description: Client concurrency values; overrides the profile's.
    type: list
    elements: raw
  request_rates:
    description: Request rates (requests/s) swept in addition to the concurrency values.
    type: list
    elements: raw
  lengths:
    description: Input/output token length pairs, e.g. C([[128, 128], [2048, 2048]]).
    type: list
    elements: raw
  engine_args_sweep:
    description:
      - Server engine args to sweep, arg name to list of values. The caller redeploys the
        server for each combination and runs the matching points with O(only_server).
    type: dict
  only_server:
    description: Run only the points of this engine-arg combination (C({}) = the default server).
    type: dict
  repeats:
    description: Measured runs per point.
    type: int
  request_count:
    description: Requests per measured run (at least twice the concurrency).
    type: int
  num_prompts:
    description: Distinct synthetic prompts.
    type: int
  seed:
    description: Random seed of the synthetic prompts.
    type: int
  warmup_requests:
    description: Requests of the discarded warm-up run (0 = no warm-up).
    type: int
  target:
    description: The server to measure.
    type: dict
    required: true
    suboptions:
      url:
        description:
          - C(host:port) of Triton's gRPC port (kind kserve), Triton's HTTP base URL (kind
            triton_generate) or the OpenAI base URL (kind openai).
        type: str
        required: true
      kind:
        description:
          - C(kserve) is Triton's KServe gRPC port, streaming (genai-perf only).
          - C(openai) is an OpenAI-compatible server such as vLLM's (both engines).
          - C(triton_generate) is Triton's HTTP generate extension,
            C(POST /v2/models/<model>/generate_stream) (SSE), through AIPerf's C(template)
            endpoint (AIPerf only; AIPerf has no KServe gRPC client). Tokens are counted
            with O(target.tokenizer), since Triton returns no usage counts.
        type: str
        choices: [kserve, openai, triton_generate]
        default: openai
      model:
        description: Served model name.
        type: str
        required: true
      endpoint_type:
        description: OpenAI endpoint for kind openai.
        type: str
        choices: [chat, completions]
        default: chat
      tokenizer:
        description: Tokenizer (HF id or local path) the client counts tokens with.
        type: str
      metrics_url:
        description: Prometheus endpoint (Triton C(:8002/metrics) or vLLM C(/metrics)).
        type: str
  max_model_len:
    description: The served model's context length; longer input+output pairs are refused.
    type: int
  workspace:
    description: Directory that holds the sweep's results; reused to resume.
    type: path
    required: true
  threshold:
    description: Relative spread between repeats above which a point is flagged unstable.
    type: float
    default: 0.1
  slo:
    description: Optional SLOs for goodput, keys C(ttft_ms), C(itl_ms), C(request_latency_ms).
    type: dict
  extra_args:
    description: Extra flags passed to the load generator (checked against its C(--help)).
    type: list
    elements: str
  environment:
    description: Extra environment for the load generator (e.g. C(LD_LIBRARY_PATH), C(HF_TOKEN)).
    type: dict
  timeout:
    description: Seconds one run of the load generator may take.
    type: int
    default: 1800
  plan_only:
    description: Validate and return the planned matrix without running anything.
    type: bool
    default: false
  meta:
    description: Free-form facts stored with the results (model, host, runtime, ...).
    type: dict
notes:
  - genai-perf 0.0.16 passes C(--warmup-request-count) to perf_analyzer 2.46, which rejects
    it; warm-up is therefore always a separate, discarded profile run.
"""

EXAMPLES = r"""
- name: Tutorial profile against Triton's gRPC port
  llmserve.triton.genai_perf_sweep:
    executable: /opt/llmserve/bench/bin/genai-perf
    profile: tutorial
    target:
      kind: kserve
      url: localhost:8001
      model: vllm_model
      tokenizer: meta-llama/Meta-Llama-3-8B-Instruct
      metrics_url: http://localhost:8002/metrics
    workspace: /var/lib/llmserve/bench/run1

- name: AIPerf against Triton's HTTP generate_stream (AIPerf has no KServe gRPC)
  llmserve.triton.genai_perf_sweep:
    engine: aiperf
    executable: /opt/llmserve/bench/aiperf/bin/aiperf
    profile: tutorial
    target:
      kind: triton_generate
      url: http://127.0.0.1:8000
      model: demo
      tokenizer: /var/lib/llmserve/models/demo
      metrics_url: http://127.0.0.1:8002/metrics
    workspace: /var/lib/llmserve/bench/run3

- name: Small sweep with AIPerf against vLLM's OpenAI server
  llmserve.triton.genai_perf_sweep:
    engine: aiperf
    executable: /opt/llmserve/aiperf/bin/aiperf
    profile: ci_small
    concurrency: [1, 4]
    repeats: 2
    target:
      url: http://127.0.0.1:8000
      model: demo
      metrics_url: http://127.0.0.1:8000/metrics
    workspace: /var/lib/llmserve/bench/run2
"""

RETURN = r"""
plan:
  description: Every planned point with its state (done, failed, missing) before this run.
  returned: always
  type: list
  elements: dict
engine_version:
  description: Version of the load generator used.
  returned: when the executable was found
  type: str
ran:
  description: Ids of the points measured by this run.
  returned: when not planning only
  type: list
  elements: str
skipped:
  description: Ids of the points whose results already existed.
  returned: when not planning only
  type: list
  elements: str
failed:
  description: The point that failed (id, error), if any.
  returned: when not planning only
  type: dict
results_path:
  description: Path of results.json (all finished points of the plan).
  returned: when not planning only
  type: str
rows:
  description: Aggregated results of the finished points.
  returned: when not planning only
  type: list
  elements: dict
token_agreement:
  description:
    - Per finished point, the output tokens the client counted against the tokens the server
      generated (its Prometheus counter) in the same runs, their ratio and both rates; then
      the vLLM metric families the server lacks.
  returned: when not planning only
  type: list
  elements: str
"""

import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as cmds
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _report as report
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _runner as runner
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _sweep as sweep

OVERRIDES = ("concurrency", "request_rates", "lengths", "repeats", "request_count")
OVERRIDES += ("num_prompts", "seed", "warmup_requests")


def _reachable(url, timeout=5.0):
    hostport = url.split("://", 1)[-1].split("/", 1)[0]
    host, _sep, port = hostport.rpartition(":")
    if not host:
        host, port = hostport, "443" if url.startswith("https") else "80"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        return None
    except (OSError, ValueError) as exc:
        return str(exc)


def main():
    target_spec = dict(
        url=dict(type="str", required=True),
        kind=dict(type="str", choices=list(cmds.TARGET_KINDS), default="openai"),
        model=dict(type="str", required=True),
        endpoint_type=dict(type="str", choices=["chat", "completions"], default="chat"),
        tokenizer=dict(type="str", no_log=False),
        metrics_url=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type="str", choices=list(cmds.ENGINES), default="genai-perf"),
            executable=dict(type="path"),
            engine_version=dict(type="str"),
            profile=dict(type="str", default="tutorial"),
            concurrency=dict(type="list", elements="raw"),
            request_rates=dict(type="list", elements="raw"),
            lengths=dict(type="list", elements="raw"),
            engine_args_sweep=dict(type="dict"),
            only_server=dict(type="dict"),
            repeats=dict(type="int"),
            request_count=dict(type="int"),
            num_prompts=dict(type="int"),
            seed=dict(type="int"),
            warmup_requests=dict(type="int"),
            target=dict(type="dict", required=True, options=target_spec),
            max_model_len=dict(type="int"),
            workspace=dict(type="path", required=True),
            threshold=dict(type="float", default=0.1),
            slo=dict(type="dict"),
            extra_args=dict(type="list", elements="str"),
            environment=dict(type="dict", no_log=True),
            timeout=dict(type="int", default=1800),
            plan_only=dict(type="bool", default=False),
            meta=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    overrides = {k: p[k] for k in OVERRIDES}
    overrides["engine_args"] = p["engine_args_sweep"]
    try:
        cfg = sweep.validate(sweep.resolve_profile(p["profile"], overrides), p["max_model_len"])
        points = sweep.plan(cfg)
        cmds.check_target(p["engine"], p["target"]["kind"])
    except (sweep.SweepError, cmds.CommandError) as exc:
        module.fail_json(msg=str(exc))
    ws = p["workspace"]
    plan = [dict(pt, state=sweep.point_state(ws, pt["id"])) for pt in points]
    if p["only_server"] is not None:
        points = [pt for pt in points if pt["server"] == p["only_server"]]
    result = dict(changed=False, plan=plan, servers=sweep.server_configs(cfg))
    if p["plan_only"] or module.check_mode:
        result["changed"] = any(pt["state"] != "done" for pt in plan) and not p["plan_only"]
        module.exit_json(**result)

    exe = p["executable"] or module.get_bin_path(p["engine"], required=True)
    env = dict(p["environment"] or {})
    version = p["engine_version"]
    if not version:
        rc, out, err = module.run_command([exe, "--version"], environ_update=env)
        try:
            version = ".".join(str(x) for x in cmds.parse_version(out + err))
        except cmds.CommandError:
            module.fail_json(msg="cannot tell the version of %s: %s" % (exe, (out + err)[-500:]))
    result["engine_version"] = version
    opts = dict(seed=cfg["seed"], num_prompts=cfg["num_prompts"], slo=p["slo"])
    opts["extra_args"] = p["extra_args"]
    table = cmds.flag_table(p["engine"], version)
    rc, out, err = module.run_command(
        [exe] + table["subcommand"] + ["--help"], environ_update=dict(env, COLUMNS="300")
    )
    try:
        for pt in points:
            cmd = cmds.build_command(p["engine"], version, exe, pt, p["target"], ws, opts)
            bad = cmds.unsupported_flags(cmd[1:], out + err)
            if bad:
                module.fail_json(
                    msg="%s %s does not support %s: fix benchmark_extra_args or install a "
                    "version that has them" % (p["engine"], version, ", ".join(bad))
                )
    except cmds.CommandError as exc:
        module.fail_json(msg=str(exc))
    if any(sweep.point_state(ws, pt["id"]) != "done" for pt in points):
        why = _reachable(p["target"]["url"])
        if why:
            module.fail_json(
                msg="benchmark target %s is unreachable (%s): is the model served? check "
                "benchmark_url / the serving role" % (p["target"]["url"], why)
            )

    def run_cmd(cmd, cwd):
        full = ["timeout", str(p["timeout"])] + cmd
        return module.run_command(full, cwd=cwd, environ_update=env)

    def fetch_text(url):
        return open_url(url, timeout=10).read().decode("utf-8", "replace")

    ctx = dict(
        engine=p["engine"],
        version=version,
        exe=exe,
        target=p["target"],
        options=opts,
        workspace=ws,
        threshold=p["threshold"],
        metrics_url=p["target"]["metrics_url"],
        model=p["target"]["model"],
        warmup_requests=cfg["warmup_requests"],
    )
    os.makedirs(ws, exist_ok=True)
    summary = runner.Runner(ctx, run_cmd, fetch_text, time.monotonic).run(points)
    rows, failures = runner.collect(ws, sweep.plan(cfg))
    meta = dict(p["meta"] or {})
    meta.update(
        profile=cfg["profile"],
        engine=p["engine"],
        engine_version=version,
        repeats=cfg["repeats"],
        threshold=p["threshold"],
        slo=p["slo"],
        plan=[pt["id"] for pt in sweep.plan(cfg)],
    )
    old = sweep.load_json(os.path.join(ws, "results.json")) or {}
    meta["sweep_wall_s"] = (old.get("meta") or {}).get("sweep_wall_s", 0.0) + summary["wall_s"]
    path = os.path.join(ws, "results.json")
    if summary["ran"] or summary["failed"] or not old or old.get("rows") != rows:
        runner.write_json(path, dict(meta=meta, rows=rows, failures=failures))
    result.update(summary, results_path=path, rows=rows, changed=bool(summary["ran"]))
    result["token_agreement"] = report.agreement_lines(rows)
    if summary["failed"]:
        module.fail_json(
            msg="benchmark point %s failed: %s (finished points are kept in %s; re-run to "
            "complete the missing ones)"
            % (summary["failed"]["id"], summary["failed"]["error"], ws),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
