# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Logic of the purge module: which paths a purge removes, and the checks that keep it from
removing more than the collection's own files. Pure functions but remove()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import os
import shutil

# A purge removes what the collection installed under folders of its own; a path this shallow
# is a system folder (/opt, /var/lib, /home/x), never one of them.
MIN_DEPTH = 3


def depth(path):
    return len([part for part in os.path.normpath(path).split(os.sep) if part])


def validate(paths, parents):
    """Errors for paths a purge must not touch: relative, shallower than MIN_DEPTH parts
    (paths) or 2 parts (parents, removed only when empty), or with '..'."""
    errors = []
    for kind, items, least in (("paths", paths, MIN_DEPTH), ("empty_parents", parents, 2)):
        for path in items:
            text = str(path)
            if not os.path.isabs(text) or ".." in text.split("/"):
                errors.append("%s: %r is not an absolute path without '..'" % (kind, text))
            elif depth(text) < least:
                errors.append(
                    "%s: %r is too shallow to be the collection's own (at least %d parts, e.g. "
                    "/opt/llmserve/x): check the variable that sets it" % (kind, text, least)
                )
    return errors


def plan(paths, parents, exists, listdir):
    """What a purge does: {"remove": [...], "absent": [...], "parents": [...]} where the
    parents (deepest first) are those that would be empty once ``remove`` is gone.

    ``exists(path)`` and ``listdir(path)`` read the host (injected for the tests)."""
    unique = []
    for path in (os.path.normpath(str(p)) for p in paths):
        if path not in unique:
            unique.append(path)
    remove = [p for p in unique if exists(p)]
    gone = set(remove)
    empty = []
    for parent in sorted({os.path.normpath(str(p)) for p in parents}, key=lambda p: (-depth(p), p)):
        if not exists(parent):
            continue
        left = [name for name in listdir(parent) if os.path.join(parent, name) not in gone]
        if not left:
            empty.append(parent)
            gone.add(parent)
    return {"remove": remove, "absent": [p for p in unique if p not in remove], "parents": empty}


def remove(path):
    """Remove a file, a link or a whole tree."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
