# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GPU specifications by the name nvidia-smi prints: the collection's one copy of this table.

Published through the gpu_facts module (every GPU of the llmserve_gpu fact carries its
short_name and memory_bandwidth_gbps, null for a GPU not listed here); roles read that fact,
not this table. memory_gib is what nvidia-smi reports as memory.total (MiB / 1024), not the
marketing "GB" figure; memory bandwidth is the vendor's datasheet figure (GB/s, decimal).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

GPU_SPECS = {
    "NVIDIA RTX A6000": {
        "short_name": "RTX A6000",
        "memory_gib": 47.99,  # 49140 MiB, 48 GB GDDR6
        "memory_bandwidth_gbps": 768,
    },
    "NVIDIA A100-SXM4-80GB": {
        "short_name": "A100 80GB",
        "memory_gib": 80.0,  # 81920 MiB, 80 GB HBM2e
        "memory_bandwidth_gbps": 2039,
    },
    "NVIDIA A100 80GB PCIe": {
        "short_name": "A100 80GB PCIe",
        "memory_gib": 80.0,
        "memory_bandwidth_gbps": 1935,
    },
    "NVIDIA H100 80GB HBM3": {
        "short_name": "H100 80GB (SXM)",
        "memory_gib": 79.65,  # 81559 MiB (captured nvidia-smi), 80 GB HBM3
        "memory_bandwidth_gbps": 3350,
    },
    "NVIDIA H200": {
        "short_name": "H200",
        "memory_gib": 140.4,  # 143771 MiB, 141 GB HBM3e
        "memory_bandwidth_gbps": 4800,
    },
}

# Keys of the table that every GPU of the llmserve_gpu fact carries (null when unknown).
SPEC_KEYS = ("short_name", "memory_bandwidth_gbps")


def gpu_spec(name):
    """The SPEC_KEYS of the GPU called NAME by nvidia-smi; each null for an unknown GPU."""
    spec = GPU_SPECS.get((name or "").strip(), {})
    return {key: spec.get(key) for key in SPEC_KEYS}
