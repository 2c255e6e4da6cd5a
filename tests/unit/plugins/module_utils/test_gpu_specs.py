# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_gpu_specs: the collection's one GPU table, and what the llmserve_gpu fact takes from it."""

import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils._gpu_specs import (
    GPU_SPECS,
    SPEC_KEYS,
    gpu_spec,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
with open(os.path.join(ROOT, "roles/llmserve/defaults/main.yml")) as _fh:
    MACHINE_TYPES = yaml.safe_load(_fh)["llmserve_machine_types"]


def test_every_entry_is_complete():
    for name, spec in GPU_SPECS.items():
        assert name.startswith("NVIDIA "), name
        assert set(spec) == set(SPEC_KEYS) | {"memory_gib"}, name
        assert isinstance(spec["memory_bandwidth_gbps"], int) and spec["memory_bandwidth_gbps"] > 0
        assert spec["memory_gib"] > 0 and spec["short_name"]


def test_machine_types_and_gpu_specs_agree():
    # The contract's Paperspace machine types name GPUs of the table, with the same memory.
    machine_types = MACHINE_TYPES
    for name, m in machine_types.items():
        assert m["gpu_name"] in GPU_SPECS, name
        assert GPU_SPECS[m["gpu_name"]]["memory_gib"] == m["gpu_memory_gib"], name
    for required in ("A6000x4", "A100-80Gx8", "H100x8"):
        assert required in machine_types


@pytest.mark.parametrize(
    "name,expected",
    [
        ("NVIDIA H200", {"short_name": "H200", "memory_bandwidth_gbps": 4800}),
        (" NVIDIA RTX A6000 ", {"short_name": "RTX A6000", "memory_bandwidth_gbps": 768}),
        ("NVIDIA L4", {"short_name": None, "memory_bandwidth_gbps": None}),
        ("", {"short_name": None, "memory_bandwidth_gbps": None}),
        (None, {"short_name": None, "memory_bandwidth_gbps": None}),
    ],
)
def test_gpu_spec(name, expected):
    assert gpu_spec(name) == expected


def test_one_copy_of_the_table():
    # No role, playbook or inventory keeps its own copy (issue 10: roles read the fact).
    hits = []
    for top in ("roles", "playbooks", "inventory"):
        for folder, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".yml", ".yaml", ".j2")):
                    with open(os.path.join(folder, name)) as fh:
                        if "memory_bandwidth_gbps:" in fh.read():
                            hits.append(os.path.relpath(os.path.join(folder, name), ROOT))
    assert hits == []
