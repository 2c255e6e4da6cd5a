# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure functions reproduce what the roles printed on a real H100 host.

tests/device/captured-h100/ holds the output of tests/device/run.sh on one NVIDIA H100 80GB
HBM3 (driver 580.159.04), 2026-11-25: its nvidia-smi query and the playbook logs. Parsing
that query and running the same engine-config build must give the decisions and the numbers
the role printed there.
"""

import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils import _nvidia_smi as smi
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import (
    GIB,
    ConfigError,
    build,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
CAPTURE = os.path.join(ROOT, "tests", "device", "captured-h100")
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]


def read(name):
    with open(os.path.join(CAPTURE, name)) as fh:
        return fh.read()


def words(text):
    return " ".join(text.split())


def host_fact():
    """The llmserve_gpu fact of the captured host, from its nvidia-smi query."""
    fact = smi.build_fact(smi.parse_query(read("nvidia-smi-query.txt")))
    assert fact["present"] and fact["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    return fact


def host_gpus():
    fact = host_fact()
    return {
        "gpu_count": fact["count"],
        "gpu_memory_bytes": fact["memory_per_gpu_mib"] / 1024.0 * GIB,
    }


def test_driver_kept_and_gpus_reported_as_captured():
    log = words(read("apply.log"))
    fact = host_fact()
    branch = smi.driver_branch(fact["driver_version"])
    assert "driver %s (branch %s, min 550): keep" % (fact["driver_version"], branch) in log
    gpu = fact["gpus"][0]
    assert (
        "GPUs: %d x %s, %d MiB each" % (fact["count"], gpu["name"], gpu["memory_total_mib"]) in log
    )


def test_mixtral_fit_on_the_real_h100_matches_the_role_output():
    res = build("mixtral", PRESETS, "triton", "24.05", **host_gpus())
    log = words(read("apply.log"))
    assert "%s: tensor_parallel_size %d" % (res["hf_id"], res["tensor_parallel_size"]) in log
    assert words(res["fit"]["summary"]) in log


def test_llama3_70b_refusal_on_the_real_h100_matches_the_role_output():
    with pytest.raises(ConfigError) as err:
        build("llama3-70b", PRESETS, "triton", "24.05", **host_gpus())
    (message,) = err.value.errors
    assert "does not fit: needs" in message
    assert message in read("toolarge.log")
