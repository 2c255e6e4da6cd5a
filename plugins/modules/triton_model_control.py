#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: triton_model_control
short_description: Make a running Triton server serve exactly the models of its repository
version_added: 1.0.0
description:
  - For a Triton server started with C(--model-control-mode=explicit), loads the listed
    models that are not loaded (or whose C(model.json) changed) and unloads the loaded models
    that are not listed, through Triton's repository API (C(POST /v2/repository/index),
    C(/v2/repository/models/<m>/load), C(/unload)), without restarting the server - the
    automated form of the tutorial's C(triton remove -m all) and C(triton start).
  - Whether a loaded model runs the current files is read from the server itself, in the
    loaded config's C(llmserve_model_json_sha256) parameter that
    M(llmserve.triton.triton_model_repo) writes; a re-run with nothing changed loads nothing.
  - With O(order=unload_first) (the default, memory-safe on GPUs) the old models are unloaded
    and the loads are started in the background; the module returns once Triton reports them
    C(LOADING) (or failed), so that the readiness wait
    (M(llmserve.triton.wait_for_inference_server)) can print progress while a large model
    loads. With O(order=load_first) the module waits until the new models are C(READY) and
    only then unloads the old ones.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Reports the loads and unloads it would do.
    support: full
  diff_mode:
    description: Shows the loaded models before and after.
    support: full
options:
  url:
    description: Triton's HTTP base URL, for example V(http://127.0.0.1:8000).
    type: str
    required: true
  repository:
    description: The model repository on this host (where each model's C(model.json) is read).
    type: path
    required: true
  models:
    description: Names of the models that must be served (directories of O(repository)).
    type: list
    elements: str
    required: true
  version:
    description: Model version folder holding C(model.json).
    type: int
    default: 1
  unload_others:
    description: Unload loaded models that are not in O(models).
    type: bool
    default: true
  order:
    description: Unload before loading (frees GPU memory first) or load before unloading.
    type: str
    choices: [unload_first, load_first]
    default: unload_first
  timeout:
    description: Seconds to wait for an unload, a load to start, or (load_first) a load to finish.
    type: int
    default: 1800
  state_dir:
    description: Folder for the background loads' answers (one small JSON file per model).
    type: path
    default: /var/lib/llmserve/model-control
  server_pid:
    description:
      - PID of the tritonserver process, as this host sees it (the service's main PID, or a
        container's C(State.Pid)). With it an unload also waits until the model's
        Python-backend stub processes have exited (Triton reports the model unloaded before
        they have, and on a GPU their memory is not free until then), and ends those that
        outlive O(stub_exit_timeout) with SIGKILL, by PID.
    type: int
  stub_exit_timeout:
    description: Seconds an unloaded model's stub processes may take to exit.
    type: int
    default: 60
notes:
  - An unreachable server is not an error. The module then reports C(reachable=false) and
    does nothing (a server that is starting loads the repository's models itself).
  - In check mode a listed model whose C(model.json) is not written yet is reported as a load.
seealso:
  - module: llmserve.triton.triton_model_repo
  - module: llmserve.triton.wait_for_inference_server
"""

EXAMPLES = r"""
- name: Switch the running Triton to the repository's model
  llmserve.triton.triton_model_control:
    url: http://127.0.0.1:8000
    repository: /opt/llmserve/model_repository
    models: [mixtral]
"""

RETURN = r"""
reachable:
  description: Whether the server answered.
  returned: always
  type: bool
actions:
  description: The loads and unloads done (or planned in check mode), with why.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "unload", "model": "demo", "why": "not in the repository"}]
killed:
  description: PIDs of unloaded models' stub processes that did not exit in time and were killed.
  returned: always
  type: list
  elements: int
loaded:
  description: Models READY or LOADING after the module ran.
  returned: always
  type: list
  elements: str
"""

import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from http.client import HTTPException

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._http import open_server_url
from ansible_collections.llmserve.triton.plugins.module_utils._model_control import (
    active_models,
    config_digest,
    load_failure,
    parse_index,
    parse_stats,
    plan_actions,
    stub_pids,
)

# Runs detached: POSTs one load and records Triton's answer, so a load that takes minutes
# neither blocks the play nor dies with it.
LOADER = r"""
import http.client, json, os, sys, urllib.parse
url, out, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
u = urllib.parse.urlsplit(url)
try:
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    conn.request("POST", u.path, body=b"{}", headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    res = {"status": resp.status, "body": resp.read().decode("utf-8", "replace")}
except Exception as e:
    res = {"status": None, "body": str(e)}
with open(out + ".tmp", "w") as f:
    json.dump(res, f)
os.replace(out + ".tmp", out)
"""


def http(url, method="GET", data=None, timeout=10):
    resp = open_server_url(url, method=method, data=data, timeout=timeout, validate_certs=False)
    return resp.read()


def read_index(base):
    return parse_index(http(base + "/v2/repository/index", "POST", b"{}"))


def read_loaded(base):
    return parse_stats(http(base + "/v2/models/stats"))


def loaded_digest(base, name):
    try:
        return config_digest(http(base + "/v2/models/%s/config" % name))
    except Exception:  # noqa: BLE001 - a model without config answer runs unknown files
        return None


def file_digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def wait_index(base, name, done, timeout, result_file=None):
    """Poll the index until done(state) or the loader finished; return (index, loader result)."""
    deadline = time.time() + timeout
    while True:
        index = read_index(base)
        state = (index.get(name) or {}).get("state", "")
        res = None
        if result_file and os.path.exists(result_file):
            with open(result_file, encoding="utf-8") as f:
                res = json.load(f)
        if done(state) or res is not None or time.time() >= deadline:
            return index, res
        time.sleep(0.5)


def start_load(module, base, name, p):
    """Start the load in a background process; wait until Triton reports the model LOADING (or
    READY, for load_first), or the load answered. Returns (index, the load's answer or None)."""
    os.makedirs(p["state_dir"], mode=0o750, exist_ok=True)
    result_file = os.path.join(p["state_dir"], "load-%s.json" % name)
    if os.path.exists(result_file):
        os.unlink(result_file)
    url = base + "/v2/repository/models/%s/load" % name
    # The shell starts the loader in the background with its output detached, and returns.
    module.run_command(
        ["/bin/sh", "-c", '"$@" </dev/null >/dev/null 2>&1 &', "llmserve-load"]
        + [sys.executable, "-c", LOADER, url, result_file, str(p["timeout"])],
        check_rc=True,
    )
    wanted = ("READY",) if p["order"] == "load_first" else ("READY", "LOADING")
    return wait_index(base, name, lambda s: s in wanted, p["timeout"], result_file)


def process_table():
    """[(pid, ppid, argv)] of the host's processes, from /proc."""
    table = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except (OSError, ValueError, IndexError):
            continue
        table.append((int(entry), ppid, argv))
    return table


def end_stubs(server_pid, name, version, timeout):
    """Wait until the model's stub processes are gone; SIGKILL what outlives the timeout."""
    deadline = time.time() + timeout
    while True:
        pids = stub_pids(process_table(), server_pid, name, version)
        if not pids:
            return []
        if time.time() >= deadline:
            break
        time.sleep(0.5)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids


def wait_unloaded(base, name, timeout):
    """Until the model is neither READY/LOADING in the index nor loaded per the stats."""
    deadline = time.time() + timeout
    while name in active_models(read_index(base), read_loaded(base)):
        if time.time() >= deadline:
            raise TimeoutError("model %s still loaded after %ds" % (name, timeout))
        time.sleep(0.5)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            repository=dict(type="path", required=True),
            models=dict(type="list", elements="str", required=True),
            version=dict(type="int", default=1),
            unload_others=dict(type="bool", default=True),
            order=dict(type="str", choices=["unload_first", "load_first"], default="unload_first"),
            timeout=dict(type="int", default=1800),
            state_dir=dict(type="path", default="/var/lib/llmserve/model-control"),
            server_pid=dict(type="int"),
            stub_exit_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    base = p["url"].rstrip("/")
    try:
        index = read_index(base)
        loaded = read_loaded(base)
    except Exception as exc:  # noqa: BLE001 - not running (yet): nothing to switch
        module.exit_json(
            changed=False, reachable=False, actions=[], loaded=[], killed=[], error=str(exc)
        )
    desired = {}
    for name in p["models"]:
        path = os.path.join(p["repository"], name, str(p["version"]), "model.json")
        digest = file_digest(path)
        # In check mode the repository may not be written yet: the model then counts as new.
        if digest is None and not module.check_mode:
            module.fail_json(msg="model %r has no %s: write the repository first" % (name, path))
        desired[name] = digest
    before = active_models(index, loaded)
    digests = {n: loaded_digest(base, n) for n in desired if n in before}
    actions = plan_actions(index, desired, digests, p["order"], p["unload_others"], loaded)
    result = dict(changed=bool(actions), reachable=True, actions=actions, loaded=before, killed=[])
    if module._diff:
        after = sorted(set(before) - {a["model"] for a in actions if a["action"] == "unload"})
        after = sorted(set(after) | {a["model"] for a in actions if a["action"] == "load"})
        result["diff"] = {
            "before_header": "%s loaded models" % base,
            "after_header": "%s loaded models" % base,
            "before": "".join(n + "\n" for n in before),
            "after": "".join(n + "\n" for n in after),
        }
    if module.check_mode or not actions:
        module.exit_json(**result)
    try:
        for act in actions:
            if act["action"] == "unload":
                http(base + "/v2/repository/models/%s/unload" % act["model"], "POST", b"{}")
                wait_unloaded(base, act["model"], p["timeout"])
                if p["server_pid"]:
                    result["killed"] += end_stubs(
                        p["server_pid"], act["model"], p["version"], p["stub_exit_timeout"]
                    )
                continue
            index, res = start_load(module, base, act["model"], p)
            if res is not None and res.get("status") != 200:
                module.fail_json(msg=load_failure(act["model"], index, res.get("body")), **result)
    except (OSError, HTTPException, ValueError) as exc:
        module.fail_json(msg="Triton model control at %s failed: %s" % (base, exc), **result)
    result["loaded"] = active_models(read_index(base), read_loaded(base))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
