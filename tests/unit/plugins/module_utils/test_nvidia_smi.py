# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nvidia-smi parsers on real (h100_real_*) and real-format captured outputs."""

import json
import os

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _nvidia_smi as smi
from ansible_collections.llmserve.triton.plugins.module_utils._gpu_specs import (
    GPU_SPECS,
    SPEC_KEYS,
)

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "nvidia_smi")


def fixture(name):
    with open(os.path.join(FIX, name)) as fh:
        return fh.read()


def test_real_h100_capture():
    gpus = smi.parse_query(fixture("h100_real_query.txt"))
    assert gpus == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-751505f1-c74f-b84b-5ac0-cbba72cccc7b",
            "memory_total_mib": 81559,
            "driver_version": "580.159.04",
            "compute_cap": "9.0",
            "pci_bus_id": "00000000:00:06.0",
        }
    ]
    # The fact adds the GPU's specification, looked up by the name nvidia-smi printed.
    (gpu,) = smi.build_fact(gpus)["gpus"]
    assert gpu == dict(gpus[0], short_name="H100 80GB (SXM)", memory_bandwidth_gbps=3350)
    plain = fixture("h100_real_plain.txt")
    assert smi.parse_cuda_version(plain) == "13.0"
    assert smi.parse_driver_version(plain) == "580.159.04"
    # `nvidia-smi -q` spells the same facts with padded colons.
    detail = fixture("h100_real_q_head40.txt")
    assert smi.parse_cuda_version(detail) == "13.0"
    assert smi.parse_driver_version(detail) == "580.159.04"


def test_module_run_on_real_h100_matches_parser_on_capture():
    # The module ran on a second H100 machine; everything but the GPU's UUID must match what
    # the parser makes of the first machine's capture. That run predates the GPU
    # specification keys (SPEC_KEYS), which are compared on their own.
    with open(os.path.join(FIX, "h100_real_gpu_facts_module.json")) as fh:
        result = json.load(fh)
    live = result["ansible_facts"]["llmserve_gpu"]
    plain = fixture("h100_real_plain.txt")
    parsed = smi.build_fact(
        smi.parse_query(fixture("h100_real_query.txt")),
        cuda_version=smi.parse_cuda_version(plain),
        driver_version=smi.parse_driver_version(plain),
    )
    assert live["gpus"][0]["uuid"] != parsed["gpus"][0]["uuid"]
    for gpu in (live["gpus"][0], parsed["gpus"][0]):
        gpu.pop("uuid")
    spec = {key: parsed["gpus"][0].pop(key) for key in SPEC_KEYS}
    assert spec == {"short_name": "H100 80GB (SXM)", "memory_bandwidth_gbps": 3350}
    assert live == parsed
    assert result["nvidia_pci_devices"] == ["0000:00:06.0"]
    assert result["changed"] is False and result["nvidia_smi_path"] == "/usr/bin/nvidia-smi"


def test_real_h100_with_units_matches_nounits():
    with_units = fixture("h100_real_query_header_units.txt").splitlines()[1]
    assert smi.parse_query(with_units) == smi.parse_query(fixture("h100_real_query.txt"))


def test_real_invalid_field_message():
    assert smi.invalid_field(fixture("h100_real_bad_field.txt")) == "bogus.field"
    assert smi.invalid_field(fixture("h100_real_query.txt")) is None


def test_real_h200_capture():
    gpus = smi.parse_query(fixture("h200_real_query.txt"))
    assert gpus == [
        {
            "index": 0,
            "name": "NVIDIA H200",
            "uuid": "GPU-7489da36-6a26-e030-b844-456d278e3338",
            "memory_total_mib": 143771,
            "driver_version": "580.159.04",
            "compute_cap": "9.0",
            "pci_bus_id": "00000000:00:06.0",
        }
    ]
    plain = fixture("h200_real_plain.txt")
    fact = smi.build_fact(
        gpus,
        cuda_version=smi.parse_cuda_version(plain),
        driver_version=smi.parse_driver_version(plain),
    )
    assert fact == {
        "present": True,
        "count": 1,
        "gpus": [dict(gpus[0], short_name="H200", memory_bandwidth_gbps=4800)],
        "memory_total_mib": 143771,
        "memory_per_gpu_mib": 143771,
        "driver_version": "580.159.04",
        "cuda_version": "13.0",
        "reason": "",
    }
    # `nvidia-smi -L` names the same GPU.
    assert "GPU 0: NVIDIA H200 (UUID: %s)" % gpus[0]["uuid"] in fixture("h200_real_list.txt")


@pytest.mark.parametrize("name", ["h100_real_query.txt", "h200_real_query.txt"])
def test_spec_memory_is_what_real_nvidia_smi_reports(name):
    # The table's memory_gib is nvidia-smi's memory.total / 1024, checked on real captures.
    (gpu,) = smi.parse_query(fixture(name))
    assert GPU_SPECS[gpu["name"]]["memory_gib"] == round(gpu["memory_total_mib"] / 1024.0, 2)


def test_unknown_gpu_has_null_spec():
    line = fixture("h100_real_query.txt").replace("NVIDIA H100 80GB HBM3", "NVIDIA L4")
    (gpu,) = smi.build_fact(smi.parse_query(line))["gpus"]
    assert gpu["name"] == "NVIDIA L4" and gpu["memory_total_mib"] == 81559
    assert gpu["short_name"] is None and gpu["memory_bandwidth_gbps"] is None
    # A GPU whose name the driver cannot report has no specification either.
    line = fixture("h100_real_query.txt").replace("NVIDIA H100 80GB HBM3", "[N/A]")
    (gpu,) = smi.build_fact(smi.parse_query(line))["gpus"]
    assert gpu["name"] is None and gpu["memory_bandwidth_gbps"] is None


@pytest.mark.parametrize(
    "name,count,model,mib,cap,driver,bandwidth",
    [
        ("a6000x4_paperspace_query.txt", 4, "NVIDIA RTX A6000", 49140, "8.6", "535.129.03", 768),
        ("a100_80gb_x8_query.txt", 8, "NVIDIA A100-SXM4-80GB", 81920, "8.0", "535.183.01", 2039),
        ("h100_80gb_x8_query.txt", 8, "NVIDIA H100 80GB HBM3", 81559, "9.0", "535.104.05", 3350),
        ("h200_x8_query.txt", 8, "NVIDIA H200", 143771, "9.0", "550.90.07", 4800),
    ],
)
def test_gpu_models(name, count, model, mib, cap, driver, bandwidth):
    gpus = smi.parse_query(fixture(name))
    assert [g["index"] for g in gpus] == list(range(count))
    assert {g["name"] for g in gpus} == {model}
    assert {g["compute_cap"] for g in gpus} == {cap}
    assert len({g["uuid"] for g in gpus}) == count
    assert len({g["pci_bus_id"] for g in gpus}) == count
    fact = smi.build_fact(gpus)
    assert fact["present"] is True and fact["count"] == count
    assert fact["memory_total_mib"] == count * mib
    assert fact["memory_per_gpu_mib"] == mib
    assert fact["driver_version"] == driver and fact["reason"] == ""
    assert smi.driver_branch(fact["driver_version"]) == int(driver.split(".")[0])
    assert {g["memory_bandwidth_gbps"] for g in fact["gpus"]} == {bandwidth}


@pytest.mark.parametrize(
    "name,cuda,driver",
    [
        ("a6000x4_paperspace_plain.txt", "12.2", "535.129.03"),
        ("h200_x8_plain_head.txt", "12.4", "550.90.07"),
    ],
)
def test_banner_versions(name, cuda, driver):
    text = fixture(name)
    assert smi.parse_cuda_version(text) == cuda
    assert smi.parse_driver_version(text) == driver


def test_gpus_sorted_by_index_and_min_memory():
    lines = fixture("h200_x8_query.txt").splitlines()[:2]
    mixed = lines[1] + "\n" + fixture("h100_real_query.txt")
    gpus = smi.parse_query(mixed)
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA H200"]
    fact = smi.build_fact(gpus)
    assert fact["memory_per_gpu_mib"] == 81559
    assert fact["memory_total_mib"] == 81559 + 143771


def test_unavailable_values_are_null():
    line = fixture("h100_real_query.txt").replace(", 81559,", ", [N/A],")
    line = line.replace(", 9.0,", ", [Not Supported],")
    gpu = smi.parse_query(line)[0]
    assert gpu["memory_total_mib"] is None and gpu["compute_cap"] is None
    assert smi.build_fact([gpu])["memory_total_mib"] == 0


def test_query_without_optional_field():
    # What an old driver answers once compute_cap is dropped from the query.
    fields = [f for f in smi.QUERY_FIELDS if f != "compute_cap"]
    line = "0, NVIDIA RTX A6000, GPU-3c7b5a0e-9f2d-4d6c-8e55-1b2f0a6c7d11, 49140, 470.82.01, "
    line += "00000000:00:05.0"
    gpu = smi.parse_query(line, fields)[0]
    assert gpu["compute_cap"] is None and gpu["pci_bus_id"] == "00000000:00:05.0"
    assert smi.query_command("/usr/bin/nvidia-smi", fields)[1] == (
        "--query-gpu=index,name,uuid,memory.total,driver_version,pci.bus_id"
    )


@pytest.mark.parametrize(
    "text,match",
    [
        ("0, NVIDIA H100 80GB HBM3, GPU-x, 81559", "expected 7 comma-separated fields"),
        ("zero, NVIDIA H100, GPU-x, 81559, 580.159.04, 9.0, 00000000:00:06.0", "index"),
        (fixture("h100_real_plain.txt"), "line 1"),
    ],
)
def test_malformed_output_raises(text, match):
    with pytest.raises(smi.NvidiaSmiParseError, match=match):
        smi.parse_query(text)


def test_empty_output_is_no_gpu():
    assert smi.parse_query("\n") == []
    fact = smi.build_fact([], reason="nvidia-smi listed no GPU")
    assert fact == {
        "present": False,
        "count": 0,
        "gpus": [],
        "memory_total_mib": 0,
        "memory_per_gpu_mib": 0,
        "driver_version": None,
        "cuda_version": None,
        "reason": "nvidia-smi listed no GPU",
    }


def test_failure_reasons():
    assert "driver is not loaded" in smi.failure_reason(9, fixture("no_driver_loaded.txt"), "")
    assert "no NVIDIA GPU" in smi.failure_reason(6, fixture("no_devices.txt"), "")
    assert smi.failure_reason(2, "", "") == "nvidia-smi failed (rc=2): no output"


@pytest.mark.parametrize(
    "vendor,cls,expected",
    [
        ("0x10de\n", "0x030200\n", True),  # 3D controller: data-centre GPU
        ("0x10de\n", "0x030000\n", True),  # VGA: RTX A6000
        ("0x10de\n", "0x040300\n", False),  # the GPU's HDMI audio function
        ("0x8086\n", "0x030000\n", False),  # Intel graphics
        ("", "", False),
    ],
)
def test_pci_display_device(vendor, cls, expected):
    assert smi.is_nvidia_display_device(vendor, cls) is expected


def test_driver_branch():
    assert smi.driver_branch("535.104.05") == 535
    assert smi.driver_branch(None) is None and smi.driver_branch("unknown") is None
