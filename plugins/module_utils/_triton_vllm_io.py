# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inputs and outputs of NVIDIA's vLLM backend, per release, as its auto_complete_config
declares them (src/model.py, _auto_complete_inputs_and_outputs), with the two settings it adds
(decoupled transaction policy, max_batch_size 0).

Why: Triton fills a model's configuration by starting a Python-backend stub that imports the
backend's model.py - and with it vLLM - only to ask it for these lists, then starts a second
stub for the model itself. A config.pbtxt that declares them lets the server run with
``--disable-auto-complete-config``: one vLLM import fewer per model load (measured on 2 cores
with the demo model: ready in 24-26 s instead of 31-34 s). Data, checked against the backend's
own source by the unit tests; a release not listed here keeps Triton's auto-complete.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

_BOOL = "TYPE_BOOL"
_STRING = "TYPE_STRING"

# name, data type, dims, optional
BACKEND_IO = {
    "r26.01": {
        "inputs": [
            ("text_input", _STRING, [1], False),
            ("image", _STRING, [-1], True),
            ("stream", _BOOL, [1], True),
            ("sampling_parameters", _STRING, [1], True),
            ("exclude_input_in_output", _BOOL, [1], True),
            ("return_finish_reason", _BOOL, [1], True),
            ("return_cumulative_logprob", _BOOL, [1], True),
            ("return_logprobs", _BOOL, [1], True),
            ("return_num_input_tokens", _BOOL, [1], True),
            ("return_num_output_tokens", _BOOL, [1], True),
            ("embedding_request", _STRING, [1], True),
        ],
        "outputs": [
            ("text_output", _STRING, [-1], False),
            ("finish_reason", _STRING, [-1], False),
            ("cumulative_logprob", "TYPE_FP32", [-1], False),
            ("logprobs", _STRING, [-1], False),
            ("num_input_tokens", "TYPE_UINT32", [1], False),
            ("num_output_tokens", "TYPE_UINT32", [-1], False),
        ],
    },
}


def declared_io(release):
    """The backend's inputs and outputs for ``release`` ({inputs, outputs}), or None."""
    return BACKEND_IO.get(str(release or ""))


def auto_complete(runtime, release):
    """Whether Triton auto-completes the model configuration, and why: {enabled, reason};
    None for the runtimes without Triton."""
    if runtime == "triton":
        return {
            "enabled": True,
            "reason": "the container's Triton asks its vLLM backend for the inputs and outputs "
            "(declared by the collection for the triton_cpu runtime's backend only)",
        }
    if runtime != "triton_cpu":
        return None
    if declared_io(release) is None:
        return {
            "enabled": True,
            "reason": "the inputs and outputs of vLLM backend %s are not known to the "
            "collection: Triton asks the backend for them (one more vLLM import per load)"
            % (release or "(unknown release)"),
        }
    return {
        "enabled": False,
        "reason": "config.pbtxt declares the inputs and outputs of vLLM backend %s, so "
        "Triton starts no stub only to ask for them (--disable-auto-complete-config)" % release,
    }


def render_io_pbtxt(io):
    """The config.pbtxt lines that declare ``io`` (declared_io's value) and the settings the
    backend's auto-complete would add."""
    lines = ["", "max_batch_size: 0", "model_transaction_policy {", "  decoupled: true", "}"]
    for section, key in (("input", "inputs"), ("output", "outputs")):
        entries = []
        for name, data_type, dims, optional in io[key]:
            entries.append(
                '  { name: "%s" data_type: %s dims: [ %s ]%s }'
                % (
                    name,
                    data_type,
                    ", ".join(str(d) for d in dims),
                    " optional: true" if optional else "",
                )
            )
        lines += ["", "%s [" % section, ",\n".join(entries), "]"]
    return lines
