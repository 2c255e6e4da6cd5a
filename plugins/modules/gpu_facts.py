#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Gather NVIDIA GPU facts through nvidia-smi
version_added: 1.0.0
description:
  - Runs C(nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version,compute_cap,pci.bus_id
    --format=csv,noheader,nounits) and plain C(nvidia-smi) (for the CUDA version the driver
    supports) and returns the GPUs with their totals as the C(llmserve_gpu) fact.
  - A host without a GPU, without C(nvidia-smi) or with a driver that is not loaded is not an
    error - the fact then has C(present=false), an empty C(gpus) list and a C(reason).
  - Also lists the NVIDIA display devices on the PCI bus (from sysfs), so a caller can tell
    "no GPU" from "GPU present but no working driver".
  - An old C(nvidia-smi) that does not know C(compute_cap) is queried again without it.
  - Each GPU also carries its specification, looked up by the name C(nvidia-smi) prints in the
    collection's GPU table (C(plugins/module_utils/_gpu_specs.py), its only copy) - the
    vendor's memory bandwidth in GB/s and a short name, both null for a GPU the table does not
    list. Roles read these from the fact (for example the benchmark role's decode roofline).
  - Read-only; changes nothing on the host.
author:
  - llmserve.triton contributors (@llmserve)
extends_documentation_fragment:
  - llmserve.triton.attributes.read_only
attributes:
  facts:
    description: Returns the C(llmserve_gpu) fact.
    support: full
options:
  nvidia_smi_path:
    description:
      - Path of C(nvidia-smi). By default it is looked up in C(PATH) and the usual driver
        directories.
    type: path
  sysfs_pci_path:
    description: Directory of PCI devices in sysfs, scanned for NVIDIA display devices.
    type: path
    default: /sys/bus/pci/devices
  timeout:
    description: Seconds each C(nvidia-smi) call may take (a hung driver must not hang the play).
    type: int
    default: 60
notes:
  - Memory is reported in MiB as C(nvidia-smi) prints it (for example 81559 for an H100 80GB).
seealso:
  - module: llmserve.triton.serving_plan
"""

EXAMPLES = r"""
- name: Gather GPU facts
  llmserve.triton.gpu_facts:

- name: Show the GPUs
  ansible.builtin.debug:
    msg: >-
      {{ llmserve_gpu.count }} x {{ llmserve_gpu.gpus[0].name | default('none') }},
      driver {{ llmserve_gpu.driver_version }}, CUDA {{ llmserve_gpu.cuda_version }}
      {{ llmserve_gpu.reason }}
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: complex
  contains:
    llmserve_gpu:
      description: The NVIDIA GPUs of the host and their totals.
      returned: always
      type: complex
      contains:
        present:
          description: Whether at least one GPU answered through C(nvidia-smi).
          type: bool
          sample: true
        count:
          description: Number of GPUs.
          type: int
          sample: 8
        gpus:
          description:
            - One entry per GPU, sorted by index, with C(index), C(name), C(uuid),
              C(memory_total_mib), C(driver_version), C(compute_cap) and C(pci_bus_id).
              A field the driver cannot report is null.
            - From the collection's GPU table, by C(name) - C(short_name) and
              C(memory_bandwidth_gbps) (the vendor's datasheet figure, GB/s); both null for a
              GPU the table does not list.
          type: list
          elements: dict
          sample:
            - index: 0
              name: NVIDIA H100 80GB HBM3
              uuid: GPU-751505f1-c74f-b84b-5ac0-cbba72cccc7b
              memory_total_mib: 81559
              driver_version: 580.159.04
              compute_cap: "9.0"
              pci_bus_id: 00000000:00:06.0
              short_name: H100 80GB (SXM)
              memory_bandwidth_gbps: 3350
        memory_total_mib:
          description: Sum of the GPUs' memory in MiB (0 without GPUs).
          type: int
          sample: 652472
        memory_per_gpu_mib:
          description: Smallest GPU memory in MiB (0 without GPUs).
          type: int
          sample: 81559
        driver_version:
          description: NVIDIA driver version, or null.
          type: str
          sample: 580.159.04
        cuda_version:
          description: Highest CUDA version the driver supports (nvidia-smi banner), or null.
          type: str
          sample: "13.0"
        reason:
          description: Why no GPU is reported; empty when GPUs are present.
          type: str
          sample: nvidia-smi not found in PATH (no NVIDIA driver installed)
nvidia_pci_devices:
  description: PCI addresses of NVIDIA display devices in sysfs, with or without a driver.
  returned: always
  type: list
  elements: str
  sample: ["0000:00:06.0"]
nvidia_smi_path:
  description: The C(nvidia-smi) that was run, or null when none was found.
  returned: always
  type: str
  sample: /usr/bin/nvidia-smi
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._gpu_probe import (
    SYSFS_PCI,
    TIMEOUT,
    probe,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nvidia_smi_path=dict(type="path"),
            sysfs_pci_path=dict(type="path", default=SYSFS_PCI),
            timeout=dict(type="int", default=TIMEOUT),
        ),
        supports_check_mode=True,
    )
    p = module.params
    read = probe(
        module.run_command,
        module.get_bin_path,
        p["nvidia_smi_path"],
        p["sysfs_pci_path"],
        p["timeout"],
    )
    if read["error"]:
        module.fail_json(
            msg=read["error"],
            nvidia_pci_devices=read["nvidia_pci_devices"],
            nvidia_smi_path=read["nvidia_smi_path"],
        )
    module.exit_json(
        changed=False,
        ansible_facts={"llmserve_gpu": read["fact"]},
        nvidia_pci_devices=read["nvidia_pci_devices"],
        nvidia_smi_path=read["nvidia_smi_path"],
    )


if __name__ == "__main__":
    main()
