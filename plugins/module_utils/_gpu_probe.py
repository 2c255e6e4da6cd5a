# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the host's NVIDIA GPUs: nvidia-smi (parsed by _nvidia_smi) and the PCI bus.

Shared by the modules gpu_facts (the fact llmserve_gpu on its own) and serving_runtime (which
reads the GPUs itself when asked, one module run instead of two). Host access goes through
the callables passed in (``run_command`` as AnsibleModule.run_command, ``which`` as
AnsibleModule.get_bin_path), so the functions run on captured output in the unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import os

from ansible_collections.llmserve.triton.plugins.module_utils._nvidia_smi import (
    OPTIONAL_FIELDS,
    QUERY_FIELDS,
    NvidiaSmiParseError,
    build_fact,
    failure_reason,
    invalid_field,
    is_nvidia_display_device,
    parse_cuda_version,
    parse_driver_version,
    parse_query,
    query_command,
)

EXTRA_DIRS = ["/usr/bin", "/usr/local/nvidia/bin", "/usr/lib/wsl/lib"]
SYSFS_PCI = "/sys/bus/pci/devices"
TIMEOUT = 60


def _read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def nvidia_pci_devices(sysfs_path):
    """PCI addresses of NVIDIA display devices under a sysfs devices directory."""
    try:
        names = sorted(os.listdir(sysfs_path))
    except OSError:
        return []
    return [
        name
        for name in names
        if is_nvidia_display_device(
            _read(os.path.join(sysfs_path, name, "vendor")),
            _read(os.path.join(sysfs_path, name, "class")),
        )
    ]


def _run(run_command, argv, timeout):
    # coreutils timeout: a GPU that fell off the bus can hang nvidia-smi for minutes.
    return run_command(["timeout", str(timeout)] + argv)


def gather(run_command, binary, timeout=TIMEOUT):
    """Run nvidia-smi; return (fact, error) where error is a parse failure message or None."""
    fields = list(QUERY_FIELDS)
    while True:
        argv = query_command(binary, fields)
        rc, out, err = _run(run_command, argv, timeout)
        dropped = invalid_field(out + err) if rc != 0 else None
        if dropped not in OPTIONAL_FIELDS or dropped not in fields:
            break
        fields.remove(dropped)
    if rc == 124:
        return build_fact(reason="nvidia-smi did not answer within %ss" % timeout), None
    rc_plain, banner, dummy = _run(run_command, [binary], timeout)
    if rc_plain != 0:
        banner = ""
    cuda, driver = parse_cuda_version(banner), parse_driver_version(banner)
    if rc != 0:
        reason = failure_reason(rc, out, err)
        return build_fact(cuda_version=cuda, driver_version=driver, reason=reason), None
    try:
        gpus = parse_query(out, fields)
    except NvidiaSmiParseError as exc:
        return None, "cannot parse the output of %s: %s" % (" ".join(argv), exc)
    reason = "" if gpus else "nvidia-smi listed no GPU"
    return build_fact(gpus, cuda_version=cuda, driver_version=driver, reason=reason), None


def probe(run_command, which, nvidia_smi_path=None, sysfs_pci_path=None, timeout=TIMEOUT):
    """Return {fact, nvidia_pci_devices, nvidia_smi_path, error}: the llmserve_gpu fact (None
    with error set when nvidia-smi's output cannot be parsed)."""
    pci = nvidia_pci_devices(sysfs_pci_path or SYSFS_PCI)
    binary = nvidia_smi_path
    if binary and not os.access(binary, os.X_OK):
        binary = None
        missing = "%s is not an executable file" % nvidia_smi_path
    elif not binary:
        binary = which("nvidia-smi", opt_dirs=EXTRA_DIRS)
        missing = "nvidia-smi not found in PATH (no NVIDIA driver installed)"
    error = None
    if binary:
        fact, error = gather(run_command, binary, timeout)
    else:
        fact = build_fact(reason=missing)
    if fact is not None and not fact["present"] and pci:
        fact["reason"] += "; %d NVIDIA PCI device(s) present (%s)" % (len(pci), ", ".join(pci))
    return {"fact": fact, "nvidia_pci_devices": pci, "nvidia_smi_path": binary, "error": error}
