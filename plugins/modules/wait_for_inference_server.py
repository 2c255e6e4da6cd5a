#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the llmserve.triton collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r"""
---
module: wait_for_inference_server
short_description: Wait until a Triton or vLLM server serves a model, or explain why it failed
version_added: 1.0.0
description:
  - Probes a Triton Inference Server (C(/v2/health/ready) then C(/v2/models/<model>/ready)) or a
    vLLM OpenAI-compatible server (C(/health) then C(/v1/models) listing the model) until every
    probe answers, for at most O(wait) seconds per invocation.
  - Meant to be called repeatedly with the same O(started_at) so that the role can print a
    progress line (elapsed time, process or container state, last log line) after each
    invocation; the overall deadline is O(started_at) + O(timeout).
  - For Triton, a model that the server reports C(UNAVAILABLE) with a reason (explicit model
    control keeps the server up when a load fails) fails the wait at once, with that reason.
  - Watches the server process through a pidfile, a systemd unit or a Docker container. When
    the process is gone, or the overall deadline passes, the module fails with the last
    O(log_lines) log lines and the likely cause (out of memory, unknown engine argument,
    gated model without token, model not found, invalid engine argument value, port in use).
author:
  - llmserve.triton contributors (@llmserve)
options:
  url:
    description: Base HTTP URL of the server, for example V(http://127.0.0.1:8000).
    type: str
    required: true
  kind:
    description: V(openai) for vLLM's OpenAI-compatible server, V(triton) for Triton.
    type: str
    choices: [openai, triton]
    required: true
  model:
    description: Served model name that must be ready (Triton) or listed (vLLM).
    type: str
    required: true
  wait:
    description: Seconds this invocation waits at most before returning RV(ready=false).
    type: float
    default: 30
  timeout:
    description: Overall deadline in seconds, counted from O(started_at).
    type: float
    default: 1800
  started_at:
    description:
      - Epoch seconds when the wait began (the first invocation's RV(started_at)). Omitted,
        the wait starts now.
    type: float
  interval:
    description: Seconds between probe rounds.
    type: float
    default: 2
  pidfile:
    description: Pidfile of the server process (supervised daemon).
    type: path
  systemd_unit:
    description: systemd unit that runs the server.
    type: str
  container:
    description: Docker container that runs the server (uses the C(docker) CLI).
    type: str
  log_file:
    description: Server log file (with O(pidfile)); with O(systemd_unit) the journal is read and
      with O(container) C(docker logs).
    type: path
  log_lines:
    description: How many log lines a failure shows.
    type: int
    default: 50
notes:
  - Give at most one of O(pidfile), O(systemd_unit), O(container). Without any, only the HTTP
    probes are checked and only the deadline can fail the wait.
extends_documentation_fragment:
  - llmserve.triton.attributes.read_only
"""

EXAMPLES = r"""
- name: Wait for vLLM on the CPU (one invocation, up to 30 minutes)
  llmserve.triton.wait_for_inference_server:
    url: http://127.0.0.1:8000
    kind: openai
    model: demo
    wait: 1800
    pidfile: /opt/llmserve/vllm-cpu/run/server.pid
    log_file: /opt/llmserve/vllm-cpu/log/vllm.log

- name: One 30-second step of a wait for Triton (repeat with the same started_at)
  llmserve.triton.wait_for_inference_server:
    url: http://127.0.0.1:8000
    kind: triton
    model: llama3-70b
    container: triton
    started_at: "{{ wait_started | default(omit) }}"
  register: ready
"""

RETURN = r"""
ready:
  description: Whether every probe answered.
  returned: always
  type: bool
started_at:
  description: Epoch seconds when the overall wait began (pass it to the next invocation).
  returned: always
  type: float
elapsed:
  description: Seconds since O(started_at).
  returned: always
  type: float
process:
  description: Process or container state (running, detail, oom_killed, exit_code).
  returned: always
  type: dict
waiting_for:
  description: The first probe that did not answer yet (empty when ready).
  returned: always
  type: str
last_log_line:
  description: Last line of the server log.
  returned: always
  type: str
progress:
  description: One-line progress summary (elapsed, state, awaited probe, last log line).
  returned: always
  type: str
models:
  description: Model ids listed by C(/v1/models) (O(kind=openai)).
  returned: always
  type: list
  elements: str
cause:
  description: Likely cause of a failure (on failure only).
  returned: failed
  type: str
log_tail:
  description: The last O(log_lines) log lines (on failure only).
  returned: failed
  type: list
  elements: str
"""

import time
from http.client import HTTPException

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._http import open_server_url
from ansible_collections.llmserve.triton.plugins.module_utils._model_control import parse_index
from ansible_collections.llmserve.triton.plugins.module_utils._readiness import (
    classify_failure,
    current_run,
    docker_state,
    failure_message,
    listed_models,
    parse_systemctl_show,
    pid_alive_from_stat,
    probe_ok,
    probe_plan,
    progress_line,
    systemd_state,
    tail,
    unavailable_reason,
)


def read_small(path):
    """A small file or a procfs file (procfs files cannot seek from their end)."""
    try:
        with open(path, "rb") as f:
            return f.read(65536).decode("utf-8", "replace")
    except OSError:
        return ""


def read_text(path, limit=256 * 1024):
    """The last `limit` bytes of a log file."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def process_state(module):
    p = module.params
    if p["pidfile"]:
        pid_text = read_small(p["pidfile"]).strip()
        if not pid_text.isdigit():
            return {"running": False, "detail": "no pidfile %s" % p["pidfile"], "oom_killed": False}
        running = pid_alive_from_stat(read_small("/proc/%s/stat" % pid_text))
        detail = "process %s %s" % (pid_text, "running" if running else "gone")
        return {"running": running, "detail": detail, "oom_killed": False}
    if p["systemd_unit"]:
        props = "ActiveState,SubState,MainPID,ExecMainStatus,Result"
        rc, out, err = module.run_command(["systemctl", "show", p["systemd_unit"], "-p", props])
        return systemd_state(parse_systemctl_show(out))
    if p["container"]:
        rc, out, err = module.run_command(
            ["docker", "inspect", "--format", "{{json .State}}", p["container"]]
        )
        return docker_state(out if rc == 0 else "")
    return {"running": True, "detail": "no process to watch", "oom_killed": False}


def log_text(module, count):
    p = module.params
    if p["log_file"]:
        return read_text(p["log_file"])
    if p["systemd_unit"]:
        rc, out, err = module.run_command(
            ["journalctl", "-u", p["systemd_unit"], "-n", str(count), "--no-pager", "-o", "cat"]
        )
        return out
    if p["container"]:
        rc, out, err = module.run_command(["docker", "logs", "--tail", str(count), p["container"]])
        return out + err
    return ""


def model_unavailable(module, base):
    """Triton's reason for a model it failed to load, or '' (explicit model control leaves the
    server up with the model UNAVAILABLE; the reason holds the backend's own error)."""
    try:
        resp = open_server_url(
            base.rstrip("/") + "/v2/repository/index", method="POST", data=b"{}", timeout=5
        )
        index = parse_index(resp.read())
    except (OSError, HTTPException, ValueError):
        return ""
    entry = index.get(module.params["model"]) or {}
    return unavailable_reason(entry)


def probe(module, plan):
    """(ready, waiting_for, models) after one round of probes."""
    p = module.params
    models = []
    for name, url in plan:
        try:
            resp = open_server_url(url, method="GET", timeout=5, validate_certs=False)
            status, body = resp.getcode(), resp.read()
        except (OSError, HTTPException, ValueError) as exc:  # refused, HTTP error: not ready
            status, body = getattr(exc, "code", None), b""
        if name == "model listed":
            models = listed_models(body)
        if not probe_ok(name, status, body, p["model"]):
            return False, "%s (%s)" % (name, url), models
    return True, "", models


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            kind=dict(type="str", required=True, choices=["openai", "triton"]),
            model=dict(type="str", required=True),
            wait=dict(type="float", default=30),
            timeout=dict(type="float", default=1800),
            started_at=dict(type="float"),
            interval=dict(type="float", default=2),
            pidfile=dict(type="path"),
            systemd_unit=dict(type="str"),
            container=dict(type="str"),
            log_file=dict(type="path"),
            log_lines=dict(type="int", default=50),
        ),
        mutually_exclusive=[("pidfile", "systemd_unit", "container")],
        supports_check_mode=True,
    )
    p = module.params
    plan = probe_plan(p["kind"], p["url"], p["model"])
    started_at = p["started_at"] or time.time()
    deadline = started_at + p["timeout"]
    step_end = min(time.time() + p["wait"], deadline)
    load_error = ""
    while True:
        ready, waiting_for, models = probe(module, plan)
        state = process_state(module)
        if not ready and p["kind"] == "triton":
            load_error = model_unavailable(module, p["url"])
        now = time.time()
        if ready or load_error or not state["running"] or now >= step_end:
            break
        time.sleep(min(p["interval"], max(0.0, step_end - now)))
    elapsed = now - started_at
    # The root cause often lies far above the last lines (tracebacks of the processes that
    # died after it): classify on the whole current run, show the last log_lines.
    run_lines = current_run(tail(log_text(module, max(p["log_lines"], 2000)), 2000))
    lines = run_lines[-p["log_lines"] :] if p["log_lines"] > 0 else []
    last = run_lines[-1] if run_lines else ""
    result = dict(
        changed=False,
        ready=ready,
        started_at=started_at,
        elapsed=round(elapsed, 1),
        process=state,
        waiting_for=waiting_for,
        last_log_line=last,
        models=models,
        progress=progress_line(elapsed, p["timeout"], state["detail"], waiting_for, last)
        if not ready
        else "ready after %.0fs: %s" % (elapsed, state["detail"]),
    )
    if ready:
        module.exit_json(**result)
    if load_error or not state["running"] or now >= deadline:
        if load_error:
            reason = "Triton could not load model %s: %s" % (p["model"], load_error[-1500:])
        elif not state["running"]:
            reason = "The server stopped before it was ready"
        else:
            reason = "The server was not ready within %ds" % p["timeout"]
        classified = classify_failure(
            ([load_error] if load_error else []) + run_lines,
            state.get("oom_killed"),
            state.get("exit_code"),
        )
        result.update(cause=classified["cause"], log_tail=lines)
        module.fail_json(msg=failure_message(reason, state["detail"], lines, classified), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
