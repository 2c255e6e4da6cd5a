# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_triton_vllm_io: the vLLM backend's inputs and outputs as data, checked against the
backend's own auto_complete_config source, and the config.pbtxt lines that declare them."""

import ast
import os
import re

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils._model_repo import (
    render_config_pbtxt,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_vllm_io import (
    BACKEND_IO,
    auto_complete,
    declared_io,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# NVIDIA's vLLM backend, unmodified (the e2e suites serve with the same copy).
BACKEND_SRC = os.environ.get(
    "LLMSERVE_VLLM_BACKEND_SRC",
    os.path.join(ROOT, "..", "shared", "vendor", "vllm_backend-r26.01"),
)


def backend_lists(path):
    """The `inputs` and `outputs` list literals of _auto_complete_inputs_and_outputs."""
    with open(path) as fh:
        tree = ast.parse(fh.read())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_auto_complete_inputs_and_outputs":
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.List):
                    found[stmt.targets[0].id] = ast.literal_eval(stmt.value)
    return found


def as_tuples(entries):
    return [(e["name"], e["data_type"], e["dims"], bool(e.get("optional", False))) for e in entries]


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(BACKEND_SRC, "src", "model.py")),
    reason="NVIDIA's vLLM backend r26.01 not beside the checkout (../shared/vendor)",
)
def test_r26_01_matches_the_backends_own_auto_complete():
    lists = backend_lists(os.path.join(BACKEND_SRC, "src", "model.py"))
    assert {"inputs", "outputs"} <= set(lists)
    assert BACKEND_IO["r26.01"]["inputs"] == [tuple(t) for t in as_tuples(lists["inputs"])]
    assert BACKEND_IO["r26.01"]["outputs"] == [tuple(t) for t in as_tuples(lists["outputs"])]


def test_config_declares_every_input_and_output_with_the_backends_settings():
    io = declared_io("r26.01")
    text = render_config_pbtxt("demo", io=io, parameters={"EXECUTION_ENV_PATH": "/x"})
    assert "\nmax_batch_size: 0\n" in text
    assert "model_transaction_policy {\n  decoupled: true\n}" in text
    entry = r'\{ name: "([a-z_]+)" data_type: (TYPE_[A-Z0-9]+) dims: \[ ([-0-9, ]+) \]'
    declared = re.findall(entry + r"( optional: true)? \}", text)
    want = [
        (n, t, ", ".join(str(d) for d in dims), " optional: true" if opt else "")
        for n, t, dims, opt in io["inputs"] + io["outputs"]
    ]
    assert declared == want
    # Inputs come before outputs, each list in its own block.
    assert text.index("input [") < text.index('"text_input"') < text.index("output [")
    assert text.index("output [") < text.index('"text_output"')
    # Without io the text is the tutorial's: backend and parameters only.
    plain = render_config_pbtxt("demo")
    assert "input [" not in plain and "max_batch_size" not in plain


def test_auto_complete_is_off_only_where_the_inputs_are_known():
    assert auto_complete("triton_cpu", "r26.01")["enabled"] is False
    unknown = auto_complete("triton_cpu", "r99.01")
    assert unknown["enabled"] is True and "r99.01" in unknown["reason"]
    assert auto_complete("triton", "r26.01")["enabled"] is True  # the container keeps its own
    assert auto_complete("vllm_cpu", "r26.01") is None
    assert auto_complete("vllm", None) is None
    assert declared_io("r99.01") is None
