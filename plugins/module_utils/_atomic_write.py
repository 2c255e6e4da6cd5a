# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes of the modules: a temp file beside the destination, then the module's atomic_move
(a new file gets the umask's mode, an existing one keeps its own); the temp file is removed
when anything fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import os
import tempfile


def write_text(module, path, content):
    """Replace ``path`` with ``content`` (text, UTF-8) through ``module.atomic_move``."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
