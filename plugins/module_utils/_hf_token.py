# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the Hugging Face token goes: one wording for every message that asks for it.

The serving role (llmserve.triton.triton_vllm) reads the token from the variable
``triton_vllm_hf_token`` and writes it only to a mode-0600 ``token`` file in the Hugging Face
home it mounts (roles/triton_vllm/tasks/hf_token.yml): never an engine arg, a command line,
an environment variable of the server, model.json or the log. Messages name that variable,
not ``HF_TOKEN``, which nothing here reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

HF_TOKEN_VAR = "triton_vllm_hf_token"

# How to set it, kept out of shell history and the inventory's plain text by ansible-vault.
HF_TOKEN_HOW = (
    "set %s from ansible-vault: put `%s: hf_...` in a file made with `ansible-vault create "
    "hf_token.yml` and add `-e @hf_token.yml --ask-vault-pass` (or keep it vault-encrypted in "
    "the inventory's group_vars); it is written only to a 0600 token file on the host"
    % (HF_TOKEN_VAR, HF_TOKEN_VAR)
)
