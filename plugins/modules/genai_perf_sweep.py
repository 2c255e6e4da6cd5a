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
  - With O(search.mode=capacity) it searches, per server configuration and length pair, the
    highest load (concurrency or request rate) that meets every SLO of O(slo), to the
    relative precision O(search.precision), within O(search.budget) runs. Each load the
    search proposes is measured like a sweep point (warm-up, server scrapes) and kept in the
    same resume store, so an interrupted search resumes and a finished one measures nothing.
    results.json then carries the capacity, its bracket and relative uncertainty, goodput
    and the cost per million output tokens at the capacity (with O(price)), every point
    with its verdict, and why the search stopped. A lower end that already violates the SLO
    fails the module with the measured values. In check mode it returns the search plan.
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
    description:
      - SLOs, metric to limit. C(ttft_ms), C(itl_ms), C(request_latency_ms) with a statistic
        suffix C(_avg), C(_p50), C(_p90) or C(_p99) (a bare name is the p99), in ms, and
        C(error_rate), a fraction of requests.
      - The grid sweep passes the per-request limits to the tool's C(--goodput). The
        capacity search judges every point against all of them; empty means TTFT p99 at
        most 2000 ms, ITL p99 at most 200 ms and an error rate at most 0.01, and
        C(error_rate) is 0.01 unless set.
    type: dict
  search:
    description: The capacity search (C(mode=capacity)); C(grid) (default) runs the sweep's points.
    type: dict
    suboptions:
      mode:
        description: C(grid) or C(capacity).
        type: str
        choices: [grid, capacity]
        default: grid
      load:
        description: What the search varies, client C(concurrency) or C(request_rate) (req/s).
        type: str
        choices: [concurrency, request_rate]
        default: concurrency
      min:
        description: Lower end of the bracket (default 1 client, 0.5 req/s); it must meet the SLOs.
        type: raw
      max:
        description: Upper end of the bracket (default 256 clients, 128 req/s).
        type: raw
      precision:
        description: Relative precision of the answer, in (0, 0.5] (default 0.05).
        type: raw
      budget:
        description:
          - Most runs the search may take, repeats included (default the plan's worst case,
            so repeats spend only what the estimates saved).
        type: raw
      max_repeats:
        description: Most runs of one load whose verdict is uncertain (default 3).
        type: raw
      noise:
        description: Prior relative std of a single run's latencies (0 = none).
        type: raw
  price:
    description: Hourly price of the machine, for the cost per million output tokens at capacity.
    type: dict
    suboptions:
      usd_per_hour:
        description: US dollars per hour (null = unknown).
        type: float
      machine_type:
        description: Machine type the price is for.
        type: str
      read_on:
        description: Date the price was read.
        type: str
      source:
        description: Where the price comes from.
        type: str
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

- name: Highest concurrency meeting TTFT p99 <= 500 ms and ITL p99 <= 50 ms, +-5 %
  llmserve.triton.genai_perf_sweep:
    engine: aiperf
    profile: ci_small
    target:
      url: http://127.0.0.1:8000
      model: demo
      metrics_url: http://127.0.0.1:8000/metrics
    slo: {ttft_ms_p99: 500, itl_ms_p99: 50}
    search: {mode: capacity, min: 1, max: 64}
    price: {usd_per_hour: 1.89, machine_type: A6000, read_on: "2026-09-20"}
    workspace: /var/lib/llmserve/bench/capacity

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
  description: Ids of the points measured by this run (capacity search, C(<point id>/rep<k>)).
  returned: when not planning only
  type: list
  elements: str
reused:
  description: Runs the capacity search took from the resume store instead of measuring.
  returned: when a capacity search ran
  type: list
  elements: str
search_plan:
  description: The capacity search's plan (bracket, budget, worst case, precision, SLOs, text).
  returned: with O(search.mode=capacity)
  type: dict
searches:
  description:
    - Planning, each search (server configuration and length pair) with its state in the store.
    - After a run, the answer of each search of this call (capacity, first_failing,
      relative_uncertainty, goodput, cost, points, points_used, stop, message, notes).
  returned: with O(search.mode=capacity)
  type: list
  elements: dict
capacity:
  description:
    - results.json's capacity section (settings, every search in the store, the best per
      length pair).
  returned: when a capacity search ran
  type: dict
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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _commands as cmds
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_search as search
from ansible_collections.llmserve.triton.plugins.module_utils.bench import _run_sweep as sweep
from ansible_collections.llmserve.triton.plugins.module_utils.bench._module_support import (
    BenchError,
    ModuleHost,
)


def argument_spec():
    target_spec = dict(
        url=dict(type="str", required=True),
        kind=dict(type="str", choices=list(cmds.TARGET_KINDS), default="openai"),
        model=dict(type="str", required=True),
        endpoint_type=dict(type="str", choices=["chat", "completions"], default="chat"),
        tokenizer=dict(type="str", no_log=False),
        metrics_url=dict(type="str"),
    )
    return dict(
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
        search=dict(
            type="dict",
            options=dict(
                mode=dict(type="str", choices=["grid", "capacity"], default="grid"),
                load=dict(
                    type="str", choices=["concurrency", "request_rate"], default="concurrency"
                ),
                min=dict(type="raw"),
                max=dict(type="raw"),
                precision=dict(type="raw"),
                budget=dict(type="raw"),
                max_repeats=dict(type="raw"),
                noise=dict(type="raw"),
            ),
        ),
        price=dict(
            type="dict",
            options=dict(
                usd_per_hour=dict(type="float"),
                machine_type=dict(type="str"),
                read_on=dict(type="str"),
                source=dict(type="str"),
            ),
        ),
        extra_args=dict(type="list", elements="str"),
        environment=dict(type="dict", no_log=True),
        timeout=dict(type="int", default=1800),
        plan_only=dict(type="bool", default=False),
        meta=dict(type="dict"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        cfg, points = sweep.validate(p)
        scfg = search.validate(p)
        planning = p["plan_only"] or module.check_mode
        check = planning and not p["plan_only"]
        if scfg is None:
            result = sweep.plan(p, cfg, points, check_mode=check)
            if not planning:
                result = sweep.run_sweep(p, cfg, points, result, ModuleHost(module))
        else:
            result = search.plan(p, cfg, scfg, check_mode=check)
            if not planning:
                result = search.run_search(p, cfg, scfg, result, ModuleHost(module))
    except BenchError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
