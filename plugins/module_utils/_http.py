# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Requests to the inference server: never through a proxy when the server is on loopback.

The modules talk to the server on the host they run on (127.0.0.1 by default). An
``https_proxy``/``http_proxy`` in the environment without a ``no_proxy`` for loopback (common
on hosts behind a corporate proxy, and how the e2e suite cuts a host off the network) would
send those requests to the proxy, and a readiness wait would wait its whole timeout for a
server that answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import ipaddress
from urllib.parse import urlsplit

# gRPC channel option that turns off the proxy taken from the environment.
GRPC_NO_PROXY = [("grpc.enable_http_proxy", 0)]


def is_loopback(url):
    """Whether ``url`` (or a bare host:port, as gRPC targets are) names a loopback host."""
    text = str(url)
    host = urlsplit(text if "//" in text else "//" + text).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_server_url(url, **kwargs):
    """ansible's open_url, without a proxy for a loopback server."""
    from ansible.module_utils.urls import open_url

    kwargs.setdefault("use_proxy", not is_loopback(url))
    return open_url(url, **kwargs)


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def no_proxy_environment(url, environ):
    """Environment updates for a program (a load generator) that talks to ``url``: loopback
    added to ``no_proxy``/``NO_PROXY`` when ``url`` is on loopback (keeping what ``environ``
    has there); {} otherwise."""
    if not is_loopback(url):
        return {}
    out = {}
    for name in ("no_proxy", "NO_PROXY"):
        have = [h.strip() for h in str(environ.get(name) or "").split(",") if h.strip()]
        out[name] = ",".join(have + [h for h in LOOPBACK_NAMES if h not in have])
    return out


def grpc_channel_args(target):
    """channel_args for tritonclient's gRPC client: no proxy for a loopback target."""
    return list(GRPC_NO_PROXY) if is_loopback(target) else None
