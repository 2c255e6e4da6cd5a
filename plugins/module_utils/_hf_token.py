# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the Hugging Face token goes, and how a secret is recognised.

The serving role (llmserve.triton.triton_vllm) reads the token from the variable
``llmserve_hf_token`` and writes it only to a mode-0600 ``token`` file in the Hugging Face
home it mounts (roles/triton_vllm/tasks/hf_token.yml): never an engine arg, a command line,
an environment variable of the server, model.json or the log. Messages name that variable,
not ``HF_TOKEN``, which nothing here reads (HF_TOKEN_HOW: one wording for every message).

The one list of secret key names (SECRET_KEYS, tested with is_secret_key) and the one token
pattern (HF_TOKEN_RE) live here: the engine-arg checks and renderings (_engine_args), the
serving_plan module's masking and the model repository writer (_model_repo, through
find_secret) all import them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import re

HF_TOKEN_VAR = "llmserve_hf_token"

# Keys whose value is a secret, wherever they appear (an engine arg, a backend parameter, a
# key of a nested mapping): refused as input, never written to model.json, config.pbtxt or a
# command line, their values masked in module output. Compared by is_secret_key.
SECRET_KEYS = ("hf_token", "token", "use_auth_token", "api_key")
# A Hugging Face access token (user or fine-grained) in any value.
HF_TOKEN_RE = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")

# How to set it, kept out of shell history and the inventory's plain text by ansible-vault.
HF_TOKEN_HOW = (
    "set %s from ansible-vault: put `%s: hf_...` in a file made with `ansible-vault create "
    "hf_token.yml` and add `-e @hf_token.yml --ask-vault-pass` (or keep it vault-encrypted in "
    "the inventory's group_vars); it is written only to a 0600 token file on the host"
    % (HF_TOKEN_VAR, HF_TOKEN_VAR)
)


def is_secret_key(key):
    """True when ``key`` names a secret: one of SECRET_KEYS, compared without surrounding
    blanks, in lower case and with ``-`` read as ``_`` (``HF-Token`` is ``hf_token``)."""
    return str(key).strip().lower().replace("-", "_") in SECRET_KEYS


def find_secret(value, path=""):
    """Return (path, secret value) of the first secret in a nested value, or None.

    A secret is the value of a key that is_secret_key names (at any depth), or a string that
    holds a Hugging Face token (HF_TOKEN_RE). ``path`` is dotted: ``engine_args.hf_token``,
    ``parameters.HF``, ``a.0.b``.
    """
    if isinstance(value, dict):
        for key, val in value.items():
            if is_secret_key(key):
                return "%s%s" % (path, key), val
            found = find_secret(val, "%s%s." % (path, key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, val in enumerate(value):
            found = find_secret(val, "%s%d." % (path, i))
            if found:
                return found
    elif isinstance(value, str):
        match = HF_TOKEN_RE.search(value)
        if match:
            return path.rstrip(".") or "value", match.group(0)
    return None
