# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the triton_model_control module: which models a Triton server in explicit
model-control mode must load or unload so that it serves exactly what the repository holds.

A model's config.pbtxt carries the sha256 of its model.json as the parameter
``DIGEST_PARAM`` (written by triton_model_repo), and Triton returns the loaded config, so the
server itself says which model.json each loaded model runs: a model whose files changed is
reloaded, one that runs the current files is left alone (a re-run reloads nothing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import json

from ansible_collections.llmserve.triton.plugins.module_utils._readiness import classify_failure

DIGEST_PARAM = "llmserve_model_json_sha256"
ORDERS = ("unload_first", "load_first")
# Index states of a model that occupies the server (memory, a name).
ACTIVE = ("READY", "LOADING")


def parse_index(body):
    """POST /v2/repository/index answer -> {name: {"state", "reason", "version"}}."""
    try:
        rows = json.loads(body)
    except (TypeError, ValueError):
        return {}
    out = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("name"):
            entry = out.setdefault(row["name"], {"state": "", "reason": "", "version": None})
            # Several versions: a READY one wins over others.
            if entry["state"] != "READY":
                entry.update(
                    state=row.get("state") or "",
                    reason=row.get("reason") or "",
                    version=row.get("version"),
                )
    return out


def parse_stats(body):
    """Names of the loaded models in a GET /v2/models/stats answer. The repository index lists
    only models that still have a directory; a loaded model whose directory is gone (the
    repository was rewritten for the next model) shows up here."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return set()
    rows = data.get("model_stats") if isinstance(data, dict) else None
    return {row["name"] for row in rows or [] if isinstance(row, dict) and row.get("name")}


def active_models(index, loaded=()):
    """Models occupying the server: READY or LOADING in the index, or loaded per the stats."""
    return sorted({n for n, e in index.items() if e["state"] in ACTIVE} | set(loaded))


def config_digest(body):
    """The DIGEST_PARAM of a GET /v2/models/<m>/config answer, or None."""
    try:
        config = json.loads(body)
    except (TypeError, ValueError):
        return None
    params = config.get("parameters") if isinstance(config, dict) else None
    value = (params or {}).get(DIGEST_PARAM)
    if isinstance(value, dict):
        value = value.get("string_value")
    return value or None


def plan_actions(
    index, desired, loaded_digests, order="unload_first", unload_others=True, loaded=()
):
    """Actions that make the server serve `desired` ({name: model.json sha256}).

    index: parse_index(); loaded_digests: {name: the digest of the loaded config or None};
    loaded: parse_stats() (loaded models, also those without a directory any more).
    Returns [{"action": "load"|"unload", "model", "why"}], unloads and loads ordered by
    `order` (unload_first frees the memory before the next model loads, as the tutorial's
    `triton remove -m all`; load_first keeps serving until the new model is ready).
    """
    if order not in ORDERS:
        raise ValueError("order %r is not one of %s" % (order, ", ".join(ORDERS)))
    loads, unloads = [], []
    for name in sorted(desired):
        state = (index.get(name) or {}).get("state", "")
        if state != "READY" and name in loaded:
            state = "READY"
        if state != "READY":
            why = "not loaded" if not state else "state %s" % state
            loads.append({"action": "load", "model": name, "why": why})
        elif loaded_digests.get(name) != desired[name]:
            # Triton reloads a loaded model by loading the new one beside it: on a GPU that
            # needs the memory twice, so unload_first unloads it first.
            if order == "unload_first":
                unloads.append({"action": "unload", "model": name, "why": "model.json changed"})
            loads.append({"action": "load", "model": name, "why": "model.json changed: reload"})
    if unload_others:
        for name in active_models(index, loaded):
            if name not in desired:
                unloads.append({"action": "unload", "model": name, "why": "not in the repository"})
    return unloads + loads if order == "unload_first" else loads + unloads


def stub_pids(table, server_pid, name, version=1):
    """PIDs of a model's Python-backend stubs under the server, and of their descendants.

    table: [(pid, ppid, argv)] of the host's processes. A stub is a descendant of server_pid
    whose first argument is the model's ``<name>/<version>/model.py`` (the repository path as
    the server sees it, so also inside a container). Triton reports a model unloaded before its
    stub has exited (seconds later, or never when the stub hangs in its exit), so an unload
    waits for these PIDs, and ends them when they outlive the wait.
    """
    children = {}
    for pid, ppid, _argv in table:
        children.setdefault(ppid, []).append(pid)
    argv_of = {pid: argv for pid, _ppid, argv in table}
    suffix = "/%s/%s/model.py" % (name, version)

    def below(pid):
        out, todo = [], [pid]
        while todo:
            for child in children.get(todo.pop(), []):
                out.append(child)
                todo.append(child)
        return out

    stubs = [p for p in below(server_pid) if len(argv_of[p]) > 1 and argv_of[p][1].endswith(suffix)]
    found = []
    for stub in stubs:
        found += [stub] + below(stub)
    return sorted(set(found))


def load_failure(name, index, response_text=""):
    """The message for a model that did not load: Triton's own reason, then the likely cause
    and the fix (the readiness wait's classification)."""
    reason = (index.get(name) or {}).get("reason") or ""
    text = reason or (response_text or "").strip() or "no reason given"
    cause = classify_failure(text.splitlines())
    return "Triton could not load model %s: %s\nLikely cause: %s. %s" % (
        name,
        text[-3000:],
        cause["cause"].replace("_", " "),
        cause["hint"],
    )
