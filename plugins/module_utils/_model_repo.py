# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Logic of the triton_model_repo module: render and plan a Triton model repository.

Layout written for each model (Triton's vLLM backend):

    <repository>/<name>/config.pbtxt      backend "vllm"; instance_group KIND_MODEL when
                                          tensor_parallel_size > 1 (vLLM places the GPUs);
                                          with io, the backend's inputs and outputs
                                          (_triton_vllm_io, for a server without auto-complete)
    <repository>/<name>/<version>/model.json   the vLLM engine args, rendered by
                                          _engine_args.to_model_json (their one rendering
                                          for Triton's vLLM backend, beside the CLI flags)

Rendering and planning are pure; reading the current state is a few small helpers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import hashlib
import json
import os
import re

from ansible_collections.llmserve.triton.plugins.module_utils._engine_args import to_model_json
from ansible_collections.llmserve.triton.plugins.module_utils._hf_token import (
    HF_TOKEN_HOW,
    find_secret,
)
from ansible_collections.llmserve.triton.plugins.module_utils._model_control import DIGEST_PARAM
from ansible_collections.llmserve.triton.plugins.module_utils._triton_vllm_io import (
    render_io_pbtxt,
)

HEADER = "# Managed by llmserve.triton.triton_model_repo -- local edits are overwritten.\n"
# A served model name: the Triton model name (its directory in the repository), also the name
# clients use with the vllm runtimes; the serving plan checks the served name with it.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_PARAM_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class ModelRepoError(ValueError):
    """Bad model specification; the message names the model and the field.

    ``secret`` holds a secret value found in the input so the caller can mask it everywhere.
    """

    def __init__(self, msg, secret=None):
        super().__init__(msg)
        self.secret = secret


def _pbtxt_string(value):
    return json.dumps(str(value))


def _param_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def render_config_pbtxt(
    name, tensor_parallel_size=1, parameters=None, instance_count=1, model_json=None, io=None
):
    """Return config.pbtxt text for a vLLM-backend model (protobuf text format).

    With io (_triton_vllm_io.declared_io), the backend's inputs, outputs, transaction policy
    and batch size are declared, for a server that runs without auto-complete.

    With model_json (the text of the model.json beside it), its sha256 is the parameter
    DIGEST_PARAM: Triton then reports which model.json a loaded model runs
    (triton_model_control reloads a model only when it changed).
    """
    parameters = dict(parameters or {})
    if model_json is not None:
        parameters[DIGEST_PARAM] = hashlib.sha256(model_json.encode("utf-8")).hexdigest()
    lines = [HEADER.rstrip("\n"), "name: %s" % _pbtxt_string(name), 'backend: "vllm"']
    if int(tensor_parallel_size) > 1:
        lines += [
            "",
            "# tensor_parallel_size %d: one model instance; vLLM spreads it over the GPUs."
            % int(tensor_parallel_size),
            "instance_group [",
            "  {",
            "    count: %d" % int(instance_count),
            "    kind: KIND_MODEL",
            "  }",
            "]",
        ]
    if io is not None:
        lines += render_io_pbtxt(io)
    for key in sorted(parameters):
        lines += [
            "",
            "parameters: {",
            "  key: %s" % _pbtxt_string(key),
            "  value: {",
            "    string_value: %s" % _pbtxt_string(_param_value(parameters[key])),
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def normalize_models(models):
    """Validate the `models` option; return a list of dicts with defaults filled in."""
    if not isinstance(models, list):
        raise ModelRepoError("models must be a list of {name, model, engine_args} entries")
    out, seen = [], set()
    for i, spec in enumerate(models):
        if not isinstance(spec, dict):
            raise ModelRepoError("models[%d] must be a mapping, got %r" % (i, spec))
        name = str(spec.get("name") or "")
        if not MODEL_NAME_RE.match(name):
            raise ModelRepoError(
                "models[%d].name %r is not a valid Triton model name (letters, digits, _ . -)"
                % (i, name)
            )
        if name in seen:
            raise ModelRepoError("models[%d].name %r is listed twice" % (i, name))
        seen.add(name)
        model = spec.get("model")
        texts = _given_texts(i, name, spec)
        if texts and not model:
            model = texts["engine_args"].get("model")
        if not model:
            raise ModelRepoError(
                "models[%d] (%s) needs model: a Hugging Face id or path" % (i, name)
            )
        engine_args = (texts or {}).get("engine_args") or spec.get("engine_args") or {}
        params = spec.get("parameters") or {}
        if not isinstance(engine_args, dict) or not isinstance(params, dict):
            raise ModelRepoError(
                "models[%d] (%s): engine_args and parameters are mappings" % (i, name)
            )
        for key in params:
            if not _PARAM_KEY_RE.match(str(key)):
                raise ModelRepoError("models[%d] (%s): bad parameter name %r" % (i, name, key))
        secret = find_secret(
            {
                "model": model,
                "engine_args": engine_args,
                "parameters": params,
                "config_pbtxt": (texts or {}).get("config_pbtxt"),
            }
        )
        if secret:
            raise ModelRepoError(
                "models[%d] (%s): %s holds a secret (Hugging Face token); it is never written "
                "into the model repository: remove it there and %s"
                % (i, name, secret[0], HF_TOKEN_HOW),
                secret=secret[1],
            )
        version = spec.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelRepoError("models[%d] (%s): version must be a positive integer" % (i, name))
        tp = engine_args.get("tensor_parallel_size", spec.get("tensor_parallel_size", 1)) or 1
        if texts and str(texts["engine_args"].get("model")) != str(model):
            raise ModelRepoError(
                "models[%d] (%s): model %r differs from the model %r of its model_json"
                % (i, name, model, texts["engine_args"].get("model"))
            )
        entry = {
            "name": name,
            "model": str(model),
            "engine_args": {k: v for k, v in engine_args.items() if k != "model"},
            "parameters": params,
            "version": version,
            "tensor_parallel_size": int(tp),
        }
        if texts:
            entry.update(model_json=texts["model_json"], config_pbtxt=texts["config_pbtxt"])
        out.append(entry)
    return out


def _given_texts(i, name, spec):
    """A spec's pre-rendered texts (both or neither), with model.json parsed; else None."""
    model_json, config = spec.get("model_json"), spec.get("config_pbtxt")
    if model_json is None and config is None:
        return None
    if model_json is None or config is None:
        raise ModelRepoError(
            "models[%d] (%s): give both model_json and config_pbtxt (the serving plan's "
            "texts), or neither" % (i, name)
        )
    try:
        args = json.loads(model_json)
    except ValueError as exc:
        raise ModelRepoError(
            "models[%d] (%s): model_json is not JSON: %s" % (i, name, exc)
        ) from None
    if not isinstance(args, dict):
        raise ModelRepoError("models[%d] (%s): model_json must be a JSON object" % (i, name))
    if not str(config).startswith(HEADER):
        raise ModelRepoError(
            "models[%d] (%s): config_pbtxt must be rendered by llmserve.triton (its header "
            "line is missing)" % (i, name)
        )
    return {"engine_args": args, "model_json": str(model_json), "config_pbtxt": str(config)}


def render_model(spec):
    """The texts of one model's repository entry: {"config_pbtxt", "model_json"}.

    The one renderer of both files: the serving plan (_serving_plan) calls it once and hands
    the texts on; a spec that already carries them (from the plan) is not rendered again.
    """
    if spec.get("model_json") is not None and spec.get("config_pbtxt") is not None:
        return {"config_pbtxt": spec["config_pbtxt"], "model_json": spec["model_json"]}
    model_json = to_model_json(spec["engine_args"], spec["model"])
    config = render_config_pbtxt(
        spec["name"],
        spec["tensor_parallel_size"],
        spec["parameters"],
        model_json=model_json,
        io=spec.get("io"),
    )
    return {"config_pbtxt": config, "model_json": model_json}


def desired_files(repository, models):
    """Return [(path, content)] for every file the repository must hold."""
    files = []
    for spec in models:
        base = os.path.join(repository, spec["name"])
        texts = render_model(spec)
        files.append((os.path.join(base, "config.pbtxt"), texts["config_pbtxt"]))
        files.append((os.path.join(base, str(spec["version"]), "model.json"), texts["model_json"]))
    return files


def collisions(repository, models, reader=None):
    """Models whose name the repository already gives to another model: [(name, old, new)].

    A switch that keeps the served name but changes the model would hand clients a different
    model under a name they know; the caller refuses it unless told to replace. Also a
    directory of that name not written by this module (no managed header) is a collision.
    """
    reader = reader or read_text
    found = []
    for spec in models:
        base = os.path.join(repository, spec["name"])
        config = reader(os.path.join(base, "config.pbtxt"))
        current = reader(os.path.join(base, str(spec["version"]), "model.json"))
        if config is not None and not config.startswith(HEADER):
            found.append((spec["name"], "a model not written by llmserve.triton", spec["model"]))
            continue
        try:
            old = json.loads(current).get("model") if current else None
        except (ValueError, AttributeError):
            old = None
        if old is not None and str(old) != spec["model"]:
            found.append((spec["name"], str(old), spec["model"]))
    return found


def read_text(path):
    """Current content of a file, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "<binary content>"


def plan(repository, models, exclusive=False, reader=read_text, lister=None):
    """Compare the desired repository with the current one.

    Return {"writes": [(path, before, after)], "removals": [dir], "keep": [path]}; a file
    whose content is already right goes to "keep". With exclusive, every directory in the
    repository that is not a listed model is planned for removal (plain files stay).
    """
    lister = lister or _list_dirs
    result = {"writes": [], "removals": [], "keep": []}
    for path, content in desired_files(repository, models):
        before = reader(path)
        if before == content:
            result["keep"].append(path)
        else:
            result["writes"].append((path, before, content))
    if exclusive:
        names = {m["name"] for m in models}
        result["removals"] = [
            os.path.join(repository, d) for d in sorted(lister(repository)) if d not in names
        ]
    return result


def _list_dirs(repository):
    try:
        return [d for d in os.listdir(repository) if os.path.isdir(os.path.join(repository, d))]
    except FileNotFoundError:
        return []


def diffs(planned):
    """Ansible diff entries (before/after with headers) for a plan."""
    out = []
    for path, before, after in planned["writes"]:
        out.append(
            {
                "before_header": path if before is not None else "%s (absent)" % path,
                "after_header": path,
                "before": before or "",
                "after": after,
            }
        )
    for path in planned["removals"]:
        out.append(
            {
                "before_header": path,
                "after_header": "%s (removed: not in models, exclusive)" % path,
                "before": "model directory %s\n" % os.path.basename(path),
                "after": "",
            }
        )
    return out
