# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the bench modules share: the error they fail with and their side effects.

The sweep and report logic (_run_sweep, _render_report) takes a host object for everything
that touches the outside (commands, executable lookup, HTTP, TCP probes, the clock, atomic
file moves, warnings). ModuleHost is that object on an AnsibleModule; unit tests pass fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 (ansible-test sanity requires it)

import socket
import time

from ansible_collections.llmserve.triton.plugins.module_utils._http import open_server_url


class BenchError(Exception):
    """The module fails with str(self) as msg and the keys of `result` (may be empty)."""

    def __init__(self, msg, result=None):
        super().__init__(msg)
        self.result = dict(result or {})


def reachable(url, timeout=5.0):
    """None when a TCP connection to the host:port of `url` opens, else the reason."""
    hostport = url.split("://", 1)[-1].split("/", 1)[0]
    host, _sep, port = hostport.rpartition(":")
    if not host:
        host, port = hostport, "443" if url.startswith("https") else "80"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        return None
    except (OSError, ValueError) as exc:
        return str(exc)


class ModuleHost:
    """The side effects of the bench modules, done through an AnsibleModule."""

    def __init__(self, module):
        self.module = module

    def run_command(self, argv, cwd=None, environ_update=None):
        """(rc, stdout, stderr); a command that cannot start fails the module."""
        return self.module.run_command(argv, cwd=cwd, environ_update=environ_update)

    def which(self, name):
        """Path of executable `name`; fails the module when it is not found."""
        return self.module.get_bin_path(name, required=True)

    def fetch_text(self, url):
        return open_server_url(url, timeout=10).read().decode("utf-8", "replace")

    def reachable(self, url):
        return reachable(url)

    def clock(self):
        return time.monotonic()

    def atomic_move(self, src, dest):
        self.module.atomic_move(src, dest)

    def warn(self, msg):
        self.module.warn(msg)
