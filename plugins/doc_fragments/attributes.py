# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)


class ModuleDocFragment(object):
    # The attributes of a module that changes nothing on the host (it reads, probes or
    # decides): llmserve.triton.attributes.read_only
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    description: >-
      Runs in check mode as in a normal run: the module changes nothing on the host (it
      reads, probes or decides), so it does the same work and reports the same result.
    support: full
  diff_mode:
    description: The module changes nothing, so there is no diff.
    support: none
"""
