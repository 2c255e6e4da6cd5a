#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: purge
short_description: Remove what the collection installed, and say what was removed
version_added: 1.0.0
description:
  - Removes the given files and folders (whole trees) that exist, then the given parent
    folders that are left empty, deepest first, and returns what it removed - the teardown's
    purge (C(teardown.yml -e teardown_purge=true)) prints it.
  - Refuses, before removing anything, a relative path, a path with C(..), a path of fewer
    than three parts (O(paths)) or two parts (O(empty_parents)) - a purge removes the
    collection's own folders, never C(/opt) or C(/var/lib) themselves.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Reports what it would remove and removes nothing.
    support: full
  diff_mode:
    description: The paths present before and after, one per line.
    support: full
options:
  paths:
    description: Files or folders to remove (a folder with everything in it).
    type: list
    elements: path
    required: true
  empty_parents:
    description:
      - Folders the collection created to hold O(paths); each is removed when nothing else is
        left in it once O(paths) are gone (another program's file keeps it).
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Purge the serving software and its caches
  llmserve.triton.purge:
    paths:
      - /opt/llmserve/vllm-cpu
      - /var/cache/llmserve
    empty_parents:
      - /opt/llmserve
  register: purged

- name: Say what the purge removed
  ansible.builtin.debug:
    msg: "Removed: {{ (purged.removed + purged.removed_parents) | join(', ') or 'nothing' }}"
"""

RETURN = r"""
removed:
  description: The paths of O(paths) that existed and were removed (would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/opt/llmserve/vllm-cpu, /var/cache/llmserve]
absent:
  description: The paths of O(paths) that did not exist.
  returned: success
  type: list
  elements: str
removed_parents:
  description: The folders of O(empty_parents) left empty and removed, deepest first.
  returned: success
  type: list
  elements: str
  sample: [/opt/llmserve]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._purge import (
    plan,
    remove,
    validate,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            empty_parents=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    paths, parents = module.params["paths"], module.params["empty_parents"]
    errors = validate(paths, parents)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    todo = plan(paths, parents, os.path.lexists, os.listdir)
    gone = todo["remove"] + todo["parents"]
    result = {
        "changed": bool(gone),
        "removed": todo["remove"],
        "absent": todo["absent"],
        "removed_parents": todo["parents"],
    }
    if module._diff:
        before = sorted(todo["remove"] + todo["parents"])
        result["diff"] = {
            "before_header": "present before the purge",
            "after_header": "present after the purge",
            "before": "".join(p + "\n" for p in before),
            "after": "",
        }
    if module.check_mode or not gone:
        module.exit_json(**result)
    for path in todo["remove"]:
        try:
            remove(path)
        except OSError as exc:
            module.fail_json(msg="removing %s failed: %s" % (path, exc), **result)
    for path in todo["parents"]:
        try:
            os.rmdir(path)
        except OSError as exc:
            module.fail_json(msg="removing the empty folder %s failed: %s" % (path, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
