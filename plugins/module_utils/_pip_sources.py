# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pip's package sources handed to uv (pure functions but reachable()).

uv reads none of pip's configuration. parse_pip_config() reads pip's effective install
settings from ``pip config list`` (files and ``PIP_*`` variables), uv_settings() turns them
into uv's sources, flags and environment (the caller's own index options win over pip's),
uv_command() builds ``uv pip install`` with them: both installers take packages from the same
places. An index or find-links location that cannot be reached is left out with a warning,
as pip does; when the main index cannot be reached uv runs ``--offline`` from its cache."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import os
import re
import urllib.error as urlerror
import urllib.parse as urlparse
import urllib.request as urlrequest
from ast import literal_eval

from ansible.module_utils.urls import open_url

PYPI_SIMPLE = "https://pypi.org/simple"
# pip's options that uv gets, by pip's option name (config keys, PIP_* variables).
MULTI_VALUED = ("extra-index-url", "find-links", "constraint", "trusted-host")
SINGLE_VALUED = ("index-url", "no-index", "cert", "client-cert", "timeout", "retries")
# uv's own settings that would change the sources: dropped from its environment
# (--no-config drops its files).
UV_SOURCE_VARS = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_OFFLINE",
    "UV_CONSTRAINT",
    "UV_INDEX_STRATEGY",
    "UV_CONFIG_FILE",
)
ALIASES = {
    "default-timeout": "timeout",
    "constraints": "constraint",
    "i": "index-url",
    "f": "find-links",
    "c": "constraint",
}
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.IGNORECASE)


def redact(text):
    """``text`` with the credentials of every URL in it (``user:token@``) masked."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", str(text))


def credentials(text):
    """The credentials (``user:token``, and the token alone) of the URLs in ``text``: a module
    adds them to its no_log values, so that they are masked in the returned arguments too."""
    out = []
    for m in _CREDENTIALS.finditer(str(text)):
        userinfo = m.group("userinfo")
        out += [userinfo] + ([userinfo.split(":", 1)[1]] if ":" in userinfo else [])
    return [c for c in out if c]


def _normalize_key(key):
    key = key.lower().replace("_", "-").lstrip("-")
    return ALIASES.get(key, key)


def parse_pip_config(text):
    """pip's effective install settings from ``pip config list`` output.

    Lines are ``<section>.<key>=<python repr of the value>``; sections ``:env:`` (PIP_*
    variables) win over ``install`` over ``global``, as in pip. Multi-valued options are split
    on whitespace. Returns {option: str or list} for the options uv is given."""
    rank = {"global": 0, "install": 1, ":env:": 2}
    best = {}
    for line in text.splitlines():
        line = line.strip()
        if "=" not in line or "." not in line.split("=", 1)[0]:
            continue
        name, raw = line.split("=", 1)
        section, key = name.rsplit(".", 1) if not name.startswith(":env:.") else (":env:", name[6:])
        if section not in rank:
            continue
        key = _normalize_key(key)
        if key not in MULTI_VALUED + SINGLE_VALUED:
            continue
        try:
            value = literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        if not isinstance(value, str):
            value = str(value)
        if key in best and best[key][0] > rank[section]:
            continue
        best[key] = (rank[section], value)
    out = {}
    for key, (_rank, value) in best.items():
        out[key] = value.split() if key in MULTI_VALUED else value.strip()
    return out


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def uv_settings(pip_conf, index_url="", extra_index_urls=()):
    """uv's flags and environment for the sources of ``pip install`` with ``pip_conf``
    (parse_pip_config) and the caller's own index options (they win over pip's: index_url
    replaces pip's index-url; extra_index_urls come after pip's extra indexes).

    Returns {"main": str or None, "extra": [...], "find_links": [...], "flags": [...],
    "env": {...}}; "main" is None with no-index (no index at all, find-links only)."""
    flags, env = [], {}
    no_index = _truthy(pip_conf.get("no-index", "")) and not index_url
    main = None if no_index else (index_url or pip_conf.get("index-url") or PYPI_SIMPLE)
    extra = [] if no_index else list(pip_conf.get("extra-index-url", []))
    extra += [u for u in extra_index_urls if u and u not in extra]
    for c in pip_conf.get("constraint", []):
        flags += ["--constraint", c]
    for h in pip_conf.get("trusted-host", []):
        flags += ["--allow-insecure-host", h]
    if pip_conf.get("cert"):
        env["SSL_CERT_FILE"] = pip_conf["cert"]
    if pip_conf.get("client-cert"):
        env["SSL_CLIENT_CERT"] = pip_conf["client-cert"]
    if pip_conf.get("timeout"):
        env["UV_HTTP_TIMEOUT"] = str(int(float(pip_conf["timeout"])))
    if pip_conf.get("retries"):
        env["UV_HTTP_RETRIES"] = str(int(float(pip_conf["retries"])))
    return {
        "main": main,
        "extra": extra,
        "find_links": list(pip_conf.get("find-links", [])),
        "flags": flags,
        "env": env,
    }


def uv_command(uv, python, settings, args, reachable_fn=lambda url: True, compile_bytecode=True):
    """argv, environment and warnings of ``uv pip install`` for ``settings`` (uv_settings).

    uv's own configuration files are not read (``--no-config``; uv_environment() drops the
    UV_SOURCE_VARS variables): pip's settings are the only source. pip looks at every index
    and takes the best match: so does uv with ``--index-strategy unsafe-best-match``;
    ``--compile-bytecode`` as pip does (unless ``compile_bytecode`` is false). An index or
    find-links location that ``reachable_fn`` refuses is left out with a warning (pip warns
    and goes on; uv would fail); when the main index is refused, uv runs ``--offline``
    (cached index pages and wheels only)."""
    cmd = [uv, "pip", "install", "--no-config", "--python", python]
    cmd += ["--index-strategy", "unsafe-best-match"]
    # pip writes the .pyc files at install time; uv only when asked. Without them every start
    # of a server that is not root (it cannot write them into the root-owned venv) compiles.
    if compile_bytecode:
        cmd.append("--compile-bytecode")
    warnings = []
    offline = False
    # pip merges the files of a version from every index; uv takes a version's files from the
    # first index that has it, and ranks extra indexes before --index-url. The main index goes
    # first (also as the first extra index): a mirror among the extra indexes that holds some
    # of a release's files (one wheel of several) cannot hide the others.
    main = settings["main"]
    if main is None:
        cmd.append("--no-index")
    elif reachable_fn(main):
        cmd += ["--index-url", main, "--extra-index-url", main]
    else:
        offline = True
        cmd += ["--index-url", main, "--extra-index-url", main, "--offline"]
        warnings.append(
            "index %s unreachable: uv runs offline, from its cache" % redact(settings["main"])
        )
    for url in [u for u in settings["extra"] if u != main]:
        if offline or reachable_fn(url):
            cmd += ["--extra-index-url", url]
        else:
            warnings.append("index %s unreachable, left out" % redact(url))
    for loc in settings["find_links"]:
        if reachable_fn(loc):
            cmd += ["--find-links", loc]
        else:
            warnings.append("find-links %s unreachable, left out" % redact(loc))
    cmd += settings["flags"] + list(args)
    return cmd, dict(settings["env"]), warnings


def uv_environment(base_env, settings_env, cache_dir=""):
    """The environment uv runs with: ``base_env`` without uv's source variables, plus the
    translated settings and the caches under ``cache_dir``."""
    env = {k: v for k, v in base_env.items() if k not in UV_SOURCE_VARS}
    env.update(settings_env)
    if cache_dir:
        env.update(cache_environment(cache_dir))
    return env


def cache_environment(cache_dir):
    """pip's and uv's caches under ``cache_dir`` (pip/, uv/)."""
    return {
        "PIP_CACHE_DIR": os.path.join(cache_dir, "pip"),
        "UV_CACHE_DIR": os.path.join(cache_dir, "uv"),
    }


def reachable(url, timeout=10.0, cafile=None):
    """Whether an index or find-links location answers (a folder for a local one)."""
    parsed = urlparse.urlparse(url)
    if parsed.scheme in ("", "file"):
        return os.path.isdir(urlrequest.url2pathname(parsed.path) if parsed.scheme else url)
    try:
        open_url(url.rstrip("/") + "/", method="HEAD", timeout=timeout, ca_path=cafile).close()
        return True
    except Exception as exc:  # pylint: disable=broad-except
        # An HTTP error status still means the host answers (e.g. 404 for the root page of a
        # find-links server); only connection failures count as unreachable.
        return isinstance(exc, urlerror.HTTPError)
