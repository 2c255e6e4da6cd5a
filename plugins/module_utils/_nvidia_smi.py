# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parsers for nvidia-smi output, shared by the gpu_facts module and its tests.

build_fact adds to each GPU its specification from _gpu_specs (the one copy of that table).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import re

from ansible_collections.llmserve.triton.plugins.module_utils._gpu_specs import gpu_spec

# The order of QUERY_FIELDS is the column order of the CSV output.
QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "memory.total",
    "driver_version",
    "compute_cap",
    "pci.bus_id",
)
# Field in the query -> key in the fact.
FACT_KEYS = {
    "index": "index",
    "name": "name",
    "uuid": "uuid",
    "memory.total": "memory_total_mib",
    "driver_version": "driver_version",
    "compute_cap": "compute_cap",
    "pci.bus_id": "pci_bus_id",
}
# Old drivers do not know every field; these may be dropped from the query and read as null.
OPTIONAL_FIELDS = ("compute_cap",)
# Values nvidia-smi prints for a field it cannot report on this GPU.
_UNAVAILABLE = ("[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]")

_CUDA_RE = re.compile(r"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")
_DRIVER_RE = re.compile(r"Driver Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")
_INVALID_FIELD_RE = re.compile(r'Field "([^"]+)" is not a valid field to query')

NVIDIA_PCI_VENDOR = "0x10de"
# PCI base class 0x03: display controllers (VGA 0x0300, 3D controller 0x0302 for data-centre GPUs).
_DISPLAY_CLASS_PREFIX = "0x03"


class NvidiaSmiParseError(ValueError):
    """nvidia-smi printed something that is not the expected CSV."""


def query_command(binary, fields=QUERY_FIELDS):
    """The argv that queries the GPU table."""
    return [binary, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"]


def _value(raw):
    raw = raw.strip()
    return None if raw in _UNAVAILABLE else raw


def _convert(field, raw):
    value = _value(raw)
    if value is None:
        return None
    if field == "index":
        return int(value)
    if field == "memory.total":
        # Without `nounits` the value reads "81559 MiB"; accept both.
        return int(value.split()[0])
    return value


def parse_query(text, fields=QUERY_FIELDS):
    """Parse `nvidia-smi --query-gpu=FIELDS --format=csv,noheader,nounits`.

    Returns one dict per GPU, keyed by FACT_KEYS, with every key of FACT_KEYS present
    (null when the field was not queried or nvidia-smi reports it unavailable).
    Raises NvidiaSmiParseError on a line with the wrong number of columns or a bad number.
    GPU names never contain commas, so a plain split is exact.
    """
    gpus = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cols = [c.strip() for c in line.split(",")]
        if len(cols) != len(fields):
            raise NvidiaSmiParseError(
                "line %d: expected %d comma-separated fields (%s), got %d: %r"
                % (lineno, len(fields), ",".join(fields), len(cols), line)
            )
        gpu = dict.fromkeys(FACT_KEYS.values())
        for pos, field in enumerate(fields):
            raw = cols[pos]
            try:
                gpu[FACT_KEYS[field]] = _convert(field, raw)
            except ValueError:
                raise NvidiaSmiParseError(
                    "line %d: field %s is not a number: %r" % (lineno, field, raw)
                ) from None
        gpus.append(gpu)
    return sorted(gpus, key=lambda g: g["index"] if g["index"] is not None else -1)


def invalid_field(text):
    """The field an old nvidia-smi rejected ('Field "x" is not a valid field to query.')."""
    match = _INVALID_FIELD_RE.search(text or "")
    return match.group(1) if match else None


def parse_cuda_version(text):
    """CUDA version from the banner of plain `nvidia-smi` (or from `nvidia-smi -q`)."""
    match = _CUDA_RE.search(text or "")
    return match.group(1) if match else None


def parse_driver_version(text):
    """Driver version from the banner of plain `nvidia-smi` (or from `nvidia-smi -q`)."""
    match = _DRIVER_RE.search(text or "")
    return match.group(1) if match else None


def driver_branch(version):
    """Major branch of a driver version ('535.104.05' -> 535), or None."""
    if not version:
        return None
    head = str(version).split(".", 1)[0]
    return int(head) if head.isdigit() else None


def failure_reason(rc, stdout, stderr):
    """A one-line reason for a failed nvidia-smi call."""
    text = " ".join(((stdout or "") + " " + (stderr or "")).split())
    if "No devices were found" in text:
        return "nvidia-smi found no NVIDIA GPU (rc=%s)" % rc
    if "couldn't communicate with the NVIDIA driver" in text:
        return "the NVIDIA driver is not loaded: nvidia-smi could not talk to it (rc=%s)" % rc
    return "nvidia-smi failed (rc=%s): %s" % (rc, text[:300] or "no output")


def is_nvidia_display_device(vendor, pci_class):
    """True for an NVIDIA GPU in sysfs terms (vendor 0x10de, class 0x03xxxx)."""
    return (vendor or "").strip().lower() == NVIDIA_PCI_VENDOR and (
        pci_class or ""
    ).strip().lower().startswith(_DISPLAY_CLASS_PREFIX)


def build_fact(gpus=None, cuda_version=None, driver_version=None, reason=""):
    """The `llmserve_gpu` fact: totals over the GPUs, or an empty one with a reason.

    Each GPU also carries its specification by name (_gpu_specs.SPEC_KEYS: short_name,
    memory_bandwidth_gbps), null for a GPU the table does not know.
    """
    gpus = [dict(gpu, **gpu_spec(gpu.get("name"))) for gpu in gpus or []]
    memories = [g["memory_total_mib"] for g in gpus if g.get("memory_total_mib") is not None]
    if gpus and not driver_version:
        driver_version = gpus[0].get("driver_version")
    return {
        "present": bool(gpus),
        "count": len(gpus),
        "gpus": gpus,
        "memory_total_mib": sum(memories),
        "memory_per_gpu_mib": min(memories) if memories else 0,
        "driver_version": driver_version,
        "cuda_version": cuda_version,
        "reason": reason if not gpus else "",
    }
