#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: deploy_state
short_description: Record a converged native deploy, or tell whether the host still is one
version_added: 1.0.0
description:
  - Keeps the record that lets a converged re-run of the serving role skip its install, layout
    and service tasks on the native runtimes (C(triton_cpu), C(vllm_cpu)), with honest drift
    detection.
  - O(operation=record) (at the end of a verified deploy) writes a root-only JSON state file
    holding one sha256 per part of O(inputs) and a fingerprint of the host made from O(spec)
    - sha256, owner and mode of each file, every file of each tree, owner and mode of each
    directory, the names in each venv's site-packages, the Debian packages, the service
    account, and the server process (PID and start time, C(/proc/PID/stat) field 22, read from
    the supervisor's pidfiles or systemd's C(MainPID), never by process name) plus the other
    runtime's service (not running).
  - O(operation=check) compares that record with the current O(inputs) and a fresh fingerprint
    and returns RV(converged) with the RV(reasons) when it is false. With O(invalidate=true) a
    differing record is removed, so that a deploy that fails half-way is never taken for a
    converged one.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: >-
      O(operation=check) makes the same decision and removes nothing; O(operation=record)
      reports whether it would write the file.
    support: full
  diff_mode:
    description: The state file holds digests; there is no useful diff.
    support: none
options:
  path:
    description: The state file (written mode 0600; a missing folder is created mode 0700).
    type: path
    required: true
  operation:
    description: C(check) compares, C(record) writes the record.
    type: str
    choices: [check, record]
    default: check
  invalidate:
    description: With O(operation=check), remove a record that differs (not in check mode).
    type: bool
    default: false
  inputs:
    description:
      - What the deploy is computed from, by part (for example C(vars), C(model), C(plan),
        C(source)); only a sha256 of each part is stored, and a differing part is named in
        RV(reasons). Pass digests rather than secrets.
    type: dict
    required: true
  spec:
    description: What to fingerprint on the host.
    type: dict
    required: true
    suboptions:
      files:
        description: Managed files (sha256, owner, mode; absent is recorded as such).
        type: list
        elements: path
        default: []
      trees:
        description: Managed folders whose every file is hashed (small ones only).
        type: list
        elements: path
        default: []
      dirs:
        description: Managed directories (owner and mode).
        type: list
        elements: path
        default: []
      venvs:
        description: Python venvs (interpreter, C(pyvenv.cfg), names in site-packages).
        type: list
        elements: path
        default: []
      packages:
        description: Debian packages that must stay installed (read from C(/var/lib/dpkg/status)).
        type: list
        elements: str
        default: []
      users:
        description: Accounts (uid, gid, home, shell).
        type: list
        elements: str
        default: []
      groups:
        description: Groups (gid).
        type: list
        elements: str
        default: []
      service_manager:
        description: C(auto) (systemd when it is PID 1), C(systemd) or C(daemon).
        type: str
        choices: [auto, systemd, daemon]
        default: auto
      service:
        description: The server's service, C(name) (systemd unit without C(.service)) and
          C(run_dir) (the supervisor's pidfiles).
        type: dict
        required: true
      stopped:
        description: Services that must not run (same keys as O(spec.service)).
        type: list
        elements: dict
        default: []
"""

EXAMPLES = r"""
- name: Compare the host with the last converged deploy
  llmserve.triton.deploy_state:
    path: /var/lib/llmserve/triton_vllm-deploy-state.json
    operation: check
    invalidate: true
    inputs:
      vars: "{{ my_role_vars }}"
      model: "{{ llmserve_serving_plan }}"
    spec:
      files: [/var/lib/llmserve/triton-cpu/server.json]
      trees: [/opt/llmserve/model_repository]
      venvs: [/opt/llmserve/vllm-cpu]
      packages: [python3-venv]
      users: [llmserve]
      service: {name: llmserve-triton-cpu, run_dir: /var/lib/llmserve/triton-cpu/run}
      stopped: [{name: llmserve-vllm-cpu, run_dir: /var/lib/llmserve/vllm-cpu/run}]
  register: converged

- name: Record the deploy once it is verified
  llmserve.triton.deploy_state:
    path: /var/lib/llmserve/triton_vllm-deploy-state.json
    operation: record
    inputs:
      vars: "{{ my_role_vars }}"
      model: "{{ llmserve_serving_plan }}"
    spec:
      service: {name: llmserve-triton-cpu, run_dir: /var/lib/llmserve/triton-cpu/run}
"""

RETURN = r"""
converged:
  description: The record exists and equals the current inputs and host (O(operation=check)).
  returned: always
  type: bool
reasons:
  description: Why the host is not the recorded converged deploy, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["file /var/lib/llmserve/triton-cpu/server.json changed", "server PID 123 is gone"]
recorded:
  description: A state file was there when the module started.
  returned: always
  type: bool
invalidated:
  description: The differing record was removed (O(invalidate=true)).
  returned: always
  type: bool
server_pid:
  description: The server's PID as the fingerprint saw it (null when none runs).
  returned: always
  type: int
service_manager:
  description: The service manager O(spec.service_manager) resolves to on this host.
  returned: always
  type: str
  choices: [systemd, daemon]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._deploy_state import (
    DeployStateError,
    compare,
    host_fingerprint,
    load_state,
    parse_systemctl_show,
    render_state,
    server_pid,
    state_document,
    systemctl_show_argv,
    use_systemd,
    write_state,
)

DPKG_STATUS = "/var/lib/dpkg/status"


def read_host(module, spec):
    systemd_show = None
    if use_systemd(spec["service_manager"]):
        units = [s["name"] + ".service" for s in [spec["service"]] + spec["stopped"]]
        rc, out, err = module.run_command(systemctl_show_argv(units))
        if rc != 0:
            module.fail_json(msg="systemctl show failed (exit %s): %s" % (rc, (err or out).strip()))
        systemd_show = parse_systemctl_show(out)
    dpkg = None
    if spec["packages"] and os.path.isfile(DPKG_STATUS):
        with open(DPKG_STATUS, encoding="utf-8", errors="replace") as f:
            dpkg = f.read()
    return host_fingerprint(spec, systemd_show=systemd_show, dpkg_status=dpkg)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            operation=dict(type="str", choices=["check", "record"], default="check"),
            invalidate=dict(type="bool", default=False),
            inputs=dict(type="dict", required=True),
            spec=dict(
                type="dict",
                required=True,
                options=dict(
                    files=dict(type="list", elements="path", default=[]),
                    trees=dict(type="list", elements="path", default=[]),
                    dirs=dict(type="list", elements="path", default=[]),
                    venvs=dict(type="list", elements="path", default=[]),
                    packages=dict(type="list", elements="str", default=[]),
                    users=dict(type="list", elements="str", default=[]),
                    groups=dict(type="list", elements="str", default=[]),
                    service_manager=dict(
                        type="str", choices=["auto", "systemd", "daemon"], default="auto"
                    ),
                    service=dict(type="dict", required=True),
                    stopped=dict(type="list", elements="dict", default=[]),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for svc in [p["spec"]["service"]] + p["spec"]["stopped"]:
        if not svc.get("name") or not svc.get("run_dir"):
            module.fail_json(msg="spec.service and spec.stopped entries need name and run_dir")
    try:
        host = read_host(module, p["spec"])
    except DeployStateError as exc:
        module.fail_json(msg=str(exc))
    recorded = load_state(p["path"])
    reasons = compare(recorded, p["inputs"], host)
    result = dict(
        changed=False,
        converged=not reasons,
        reasons=reasons,
        recorded=recorded is not None,
        invalidated=False,
        server_pid=server_pid(host),
        service_manager="systemd" if use_systemd(p["spec"]["service_manager"]) else "daemon",
    )
    if p["operation"] == "record":
        if reasons:
            result["changed"] = True
            if not module.check_mode:
                write_state(p["path"], render_state(state_document(p["inputs"], host)))
        result["converged"], result["reasons"] = True, []
    elif reasons and p["invalidate"] and recorded is not None:
        result["changed"] = result["invalidated"] = True
        if not module.check_mode:
            os.unlink(p["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
