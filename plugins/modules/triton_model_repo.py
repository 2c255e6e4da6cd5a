#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: triton_model_repo
short_description: Write Triton Inference Server model repository entries for the vLLM backend
version_added: 1.0.0
description:
  - Writes C(<repository>/<name>/config.pbtxt) (C(backend "vllm"); an C(instance_group) of
    kind C(KIND_MODEL) only when C(tensor_parallel_size) in O(models[].engine_args) is greater
    than 1; optional backend C(parameters) such as C(REPORT_CUSTOM_METRICS)) and
    C(<repository>/<name>/<version>/model.json) (the vLLM engine args) for each listed model.
  - Files are written through a temporary file and an atomic move, only when their content
    changes, so a second run reports no change.
  - With O(exclusive=true) every model directory in the repository that is not listed is
    removed (like C(triton remove -m all) followed by adding the listed models).
  - A Hugging Face token is never written; a model entry that holds one is rejected (a key
    C(hf_token), C(token), C(use_auth_token) or C(api_key) in any case and at any depth, or
    a value that contains a C(hf_...) token), and the token is masked in the output.
  - config.pbtxt carries the sha256 of the model.json beside it as the parameter
    C(llmserve_model_json_sha256), so that a running Triton reports which model.json each
    loaded model runs (M(llmserve.triton.triton_model_control) reloads only what changed).
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
  diff_mode:
    description: Shows each file's content before and after, and the directories removed.
    support: full
options:
  repository:
    description: Model repository directory (created when missing).
    type: path
    required: true
  models:
    description: Models the repository must hold.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Triton model name (the directory name); letters, digits, C(_ . -).
        type: str
        required: true
      model:
        description:
          - Hugging Face model id or local path, written as C(model) in model.json. Required
            unless O(models[].model_json) is given (then it must match its C(model)).
        type: str
      engine_args:
        description:
          - vLLM engine args written to model.json (validate them first with
            M(llmserve.triton.serving_plan)).
          - C(tensor_parallel_size) greater than 1 adds a C(KIND_MODEL) instance group.
        type: dict
        default: {}
      parameters:
        description:
          - Backend parameters for config.pbtxt, for example C(REPORT_CUSTOM_METRICS=true).
            Values are written as strings (booleans as C(true)/C(false)).
        type: dict
        default: {}
      version:
        description: Model version directory holding model.json.
        type: int
        default: 1
      model_json:
        description:
          - The model.json text as M(llmserve.triton.serving_plan) rendered it (its
            C(repository_models)); written as given, with O(models[].config_pbtxt). Both or
            neither; O(models[].engine_args) and O(models[].parameters) are then not used.
        type: str
      config_pbtxt:
        description: The config.pbtxt text as M(llmserve.triton.serving_plan) rendered it.
        type: str
  exclusive:
    description:
      - Remove every directory in O(repository) that is not a listed model. Plain files stay.
    type: bool
    default: false
  replace:
    description:
      - Allow a listed model to take a name that the repository already gives to another
        model (a different C(model) in its model.json, or a directory not written by this
        module). Without it such a name collision fails before anything is written, so that
        clients never get a different model under a name they know.
    type: bool
    default: false
  mode:
    description: Mode of the written files.
    type: raw
    default: "0644"
  directory_mode:
    description: Mode of the repository, model and version directories.
    type: raw
    default: "0755"
  owner:
    description: Owner of the files and directories (unchanged when omitted).
    type: str
  group:
    description: Group of the files and directories (unchanged when omitted).
    type: str
seealso:
  - module: llmserve.triton.serving_plan
"""

EXAMPLES = r"""
- name: Write the Llama 3 70B entry over 4 GPUs and drop any other model
  llmserve.triton.triton_model_repo:
    repository: /opt/triton/model_repository
    exclusive: true
    models:
      - name: llama3-70b
        model: meta-llama/Meta-Llama-3-70B-Instruct
        engine_args:
          gpu_memory_utilization: 0.85
          tensor_parallel_size: 4
          max_model_len: 8192
        parameters:
          REPORT_CUSTOM_METRICS: true

- name: Write the texts of the serving plan as they are (llmserve.triton.serving_plan)
  llmserve.triton.triton_model_repo:
    repository: "{{ llmserve_serving_plan.repository }}"
    exclusive: true
    models: "{{ llmserve_serving_plan.repository_models }}"
"""

RETURN = r"""
repository:
  description: The model repository directory.
  returned: always
  type: str
  sample: /opt/triton/model_repository
models:
  description: Names of the models the repository holds after the run.
  returned: always
  type: list
  elements: str
  sample: [llama3-70b]
written:
  description: Files whose content was (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: [/opt/triton/model_repository/llama3-70b/config.pbtxt]
removed:
  description: Model directories removed (or that would be) because of O(exclusive).
  returned: always
  type: list
  elements: str
  sample: [/opt/triton/model_repository/old_model]
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._atomic_write import write_text
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import (
    ModelRepoError,
    collisions,
    desired_files,
    diffs,
    normalize_models,
    plan,
)


def _attrs(module, path, mode, changed):
    changed = module.set_mode_if_different(path, mode, changed)
    changed = module.set_owner_if_different(path, module.params["owner"], changed)
    return module.set_group_if_different(path, module.params["group"], changed)


def _mkdirs(module, path, changed):
    if not os.path.isdir(path):
        _mkdirs(module, os.path.dirname(path), changed)
        if not module.check_mode:
            os.mkdir(path)
        changed = True
    if os.path.isdir(path):
        changed = _attrs(module, path, module.params["directory_mode"], changed)
    return changed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repository=dict(type="path", required=True),
            models=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    model=dict(type="str"),
                    engine_args=dict(type="dict", default={}),
                    parameters=dict(type="dict", default={}),
                    version=dict(type="int", default=1),
                    model_json=dict(type="str"),
                    config_pbtxt=dict(type="str"),
                ),
            ),
            exclusive=dict(type="bool", default=False),
            replace=dict(type="bool", default=False),
            mode=dict(type="raw", default="0644"),
            directory_mode=dict(type="raw", default="0755"),
            owner=dict(type="str"),
            group=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    repo = module.params["repository"]
    try:
        models = normalize_models(module.params["models"])
    except ModelRepoError as exc:
        if exc.secret:
            module.no_log_values.add(str(exc.secret))
        module.fail_json(msg=str(exc))
    if os.path.exists(repo) and not os.path.isdir(repo):
        module.fail_json(msg="repository %s exists and is not a directory" % repo)

    clashes = [] if module.params["replace"] else collisions(repo, models)
    if clashes:
        module.fail_json(
            msg="; ".join(
                "model name %r is already given to %s in %s; %s would be served under the same "
                "name: give it another name (model_repo_served_name), or set "
                "model_repo_replace: true to replace it" % (name, old, repo, new)
                for name, old, new in clashes
            ),
            collisions=[{"name": n, "current": o, "requested": w} for n, o, w in clashes],
        )
    planned = plan(repo, models, module.params["exclusive"])
    changed = bool(planned["writes"] or planned["removals"])
    dirs = sorted({os.path.dirname(path) for path, _content in desired_files(repo, models)})
    dirs = sorted(set(dirs) | {repo})
    for path in dirs:
        changed = _mkdirs(module, path, changed)
    if not module.check_mode:
        for path, _before, after in planned["writes"]:
            write_text(module, path, after)
        for path in planned["removals"]:
            shutil.rmtree(path)
    for path, _content in desired_files(repo, models):
        if os.path.exists(path):
            changed = _attrs(module, path, module.params["mode"], changed)

    result = dict(
        changed=changed,
        repository=repo,
        models=[m["name"] for m in models],
        written=[p for p, _b, _a in planned["writes"]],
        removed=planned["removals"],
    )
    if module._diff:
        result["diff"] = diffs(planned)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
