# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the model_repo preflight: vLLM engine args set as bare variables.

Thin: the logic is in module_utils/_engine_args.py (bare_engine_arg_vars,
bare_engine_arg_error). A filter, not a module: play variables live on the controller, so the
check needs no round trip to the host and no variable value ever leaves the controller.
Documentation: bare_engine_arg_vars.yml, bare_engine_arg_error.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

from ansible.errors import AnsibleFilterError
from ansible_collections.llmserve.triton.plugins.module_utils._engine_args import (
    bare_engine_arg_error,
    bare_engine_arg_vars,
)


def _bare_engine_arg_vars(names, ignore=None):
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise AnsibleFilterError("bare_engine_arg_vars expects a list of variable names")
    if ignore is not None and not isinstance(ignore, (str, list, tuple)):
        raise AnsibleFilterError(
            "model_repo_not_engine_args must be a list of variable names, got %s"
            % type(ignore).__name__
        )
    return bare_engine_arg_vars(names, ignore)


def _bare_engine_arg_error(values, engine_args=None):
    if not isinstance(values, dict):
        raise AnsibleFilterError("bare_engine_arg_error expects a mapping of name to value")
    return bare_engine_arg_error(values, engine_args)


class FilterModule:
    """vLLM engine args given as variables of their own (nothing reads them)."""

    def filters(self):
        return {
            "bare_engine_arg_vars": _bare_engine_arg_vars,
            "bare_engine_arg_error": _bare_engine_arg_error,
        }
