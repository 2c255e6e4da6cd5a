# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""gpu_facts module end to end, with a FAKE nvidia-smi script replaying captured outputs."""

import json
import os
import shlex
import stat

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.module_utils import _gpu_probe
from ansible_collections.llmserve.triton.plugins.modules import gpu_facts

FIX = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "nvidia_smi"))


def fix(name):
    return shlex.quote(os.path.join(FIX, name))


def fake_nvidia_smi(tmp_path, query, plain=None, query_rc=0, plain_rc=0):
    """Write a FAKE nvidia-smi (test stand-in) that replays fixture files."""
    plain_cmd = "cat %s" % fix(plain) if plain else "true"
    script = tmp_path / "fake-nvidia-smi"
    script.write_text(
        "#!/bin/sh\n# FAKE nvidia-smi for unit tests: replays captured output.\n"
        + 'echo "$@" >> %s\n' % shlex.quote(str(tmp_path / "calls.log"))
        + '\ncase "$1" in --query-gpu=*) cat %s; exit %d;; esac\n' % (fix(query), query_rc)
        + "%s\nexit %d\n" % (plain_cmd, plain_rc)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def pci_tree(tmp_path, devices):
    root = tmp_path / "pci"
    root.mkdir()
    for addr, (vendor, cls) in devices.items():
        (root / addr).mkdir()
        (root / addr / "vendor").write_text(vendor + "\n")
        (root / addr / "class").write_text(cls + "\n")
    return str(root)


def run(capsys, check=False, **args):
    args["_ansible_check_mode"] = check
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        gpu_facts.main()
    res = json.loads(capsys.readouterr().out)
    res["rc"] = exc.value.code
    return res


@pytest.mark.parametrize("check", [False, True])
def test_real_h100(tmp_path, capsys, check):
    smi = fake_nvidia_smi(tmp_path, "h100_real_query.txt", "h100_real_plain.txt")
    res = run(capsys, check=check, nvidia_smi_path=smi, sysfs_pci_path=str(tmp_path / "none"))
    assert res["rc"] == 0 and res["changed"] is False
    fact = res["ansible_facts"]["llmserve_gpu"]
    assert fact["present"] is True and fact["count"] == 1
    assert fact["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    assert fact["memory_total_mib"] == fact["memory_per_gpu_mib"] == 81559
    assert fact["driver_version"] == "580.159.04" and fact["cuda_version"] == "13.0"
    assert fact["gpus"][0]["memory_bandwidth_gbps"] == 3350
    assert fact["gpus"][0]["short_name"] == "H100 80GB (SXM)"
    assert fact["reason"] == "" and res["nvidia_smi_path"] == smi
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == (
        "--query-gpu=index,name,uuid,memory.total,driver_version,compute_cap,pci.bus_id "
        "--format=csv,noheader,nounits"
    )
    assert calls[1] == ""  # plain nvidia-smi for the CUDA version


def test_real_h200(tmp_path, capsys):
    # Replays what nvidia-smi printed on a real H200 machine (its PCI function as sysfs has it).
    smi = fake_nvidia_smi(tmp_path, "h200_real_query.txt", "h200_real_plain.txt")
    pci = pci_tree(tmp_path, {"0000:00:06.0": ("0x10de", "0x030200")})
    res = run(capsys, nvidia_smi_path=smi, sysfs_pci_path=pci)
    assert res["rc"] == 0 and res["changed"] is False
    assert res["nvidia_pci_devices"] == ["0000:00:06.0"]
    assert res["ansible_facts"]["llmserve_gpu"] == {
        "present": True,
        "count": 1,
        "gpus": [
            {
                "index": 0,
                "name": "NVIDIA H200",
                "uuid": "GPU-7489da36-6a26-e030-b844-456d278e3338",
                "memory_total_mib": 143771,
                "driver_version": "580.159.04",
                "compute_cap": "9.0",
                "pci_bus_id": "00000000:00:06.0",
                "short_name": "H200",
                "memory_bandwidth_gbps": 4800,
            }
        ],
        "memory_total_mib": 143771,
        "memory_per_gpu_mib": 143771,
        "driver_version": "580.159.04",
        "cuda_version": "13.0",
        "reason": "",
    }


def test_unknown_gpu_model_has_null_spec(tmp_path, capsys):
    query = tmp_path / "l4.txt"
    with open(os.path.join(FIX, "h100_real_query.txt")) as fh:
        query.write_text(fh.read().replace("NVIDIA H100 80GB HBM3", "NVIDIA L4"))
    smi = fake_nvidia_smi(tmp_path, str(query), "h100_real_plain.txt")
    (gpu,) = run(capsys, nvidia_smi_path=smi)["ansible_facts"]["llmserve_gpu"]["gpus"]
    assert gpu["name"] == "NVIDIA L4"
    assert gpu["short_name"] is None and gpu["memory_bandwidth_gbps"] is None


def test_a6000x4(tmp_path, capsys):
    smi = fake_nvidia_smi(tmp_path, "a6000x4_paperspace_query.txt", "a6000x4_paperspace_plain.txt")
    fact = run(capsys, nvidia_smi_path=smi)["ansible_facts"]["llmserve_gpu"]
    assert fact["count"] == 4 and fact["memory_total_mib"] == 4 * 49140
    assert fact["cuda_version"] == "12.2"
    assert [g["memory_bandwidth_gbps"] for g in fact["gpus"]] == [768] * 4


def test_old_driver_without_compute_cap(tmp_path, capsys):
    # An old driver rejects compute_cap with the message the real H100 gave for a bad field;
    # without it, it answers the A6000 table minus that column.
    rejected = tmp_path / "rejected.txt"
    with open(os.path.join(FIX, "h100_real_bad_field.txt")) as fh:
        rejected.write_text(fh.read().replace("bogus.field", "compute_cap"))
    table = tmp_path / "six_columns.txt"
    with open(os.path.join(FIX, "a6000x4_paperspace_query.txt")) as fh:
        rows = [line.split(", ") for line in fh.read().splitlines()]
    table.write_text("".join(", ".join(r[:5] + r[6:]) + "\n" for r in rows))
    script = tmp_path / "fake-nvidia-smi"
    script.write_text(
        "#!/bin/sh\n# FAKE old nvidia-smi for unit tests\n"
        'echo "$@" >> %s\n'
        % (tmp_path / "calls.log")
        + 'case "$1" in *compute_cap*) cat %s; exit 2;; --query-gpu=*) cat %s;; esac\n'
        % (rejected, table)
    )
    script.chmod(0o755)
    res = run(capsys, nvidia_smi_path=str(script))
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert "compute_cap" in calls[0] and "compute_cap" not in calls[1]
    fact = res["ansible_facts"]["llmserve_gpu"]
    assert fact["count"] == 4 and {g["compute_cap"] for g in fact["gpus"]} == {None}
    assert fact["memory_per_gpu_mib"] == 49140


def test_unparsable_table_fails_cleanly(tmp_path, capsys):
    smi = fake_nvidia_smi(tmp_path, "h100_real_plain.txt")
    res = run(capsys, nvidia_smi_path=smi)
    assert res["rc"] == 1 and res["failed"] is True
    assert res["msg"].startswith("cannot parse the output of %s --query-gpu=" % smi)


def test_driver_not_loaded(tmp_path, capsys):
    smi = fake_nvidia_smi(tmp_path, "no_driver_loaded.txt", "no_driver_loaded.txt", 9, 9)
    pci = pci_tree(
        tmp_path,
        {"0000:00:06.0": ("0x10de", "0x030200"), "0000:00:07.0": ("0x10de", "0x040300")},
    )
    res = run(capsys, nvidia_smi_path=smi, sysfs_pci_path=pci)
    fact = res["ansible_facts"]["llmserve_gpu"]
    assert res["rc"] == 0 and fact["present"] is False and fact["gpus"] == []
    assert "driver is not loaded" in fact["reason"]
    assert "1 NVIDIA PCI device(s) present (0000:00:06.0)" in fact["reason"]
    assert res["nvidia_pci_devices"] == ["0000:00:06.0"]


def test_no_devices(tmp_path, capsys):
    smi = fake_nvidia_smi(tmp_path, "no_devices.txt", "no_devices.txt", 6, 6)
    fact = run(capsys, nvidia_smi_path=smi)["ansible_facts"]["llmserve_gpu"]
    assert fact["present"] is False and "no NVIDIA GPU" in fact["reason"]


def test_no_nvidia_smi(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(_gpu_probe, "EXTRA_DIRS", [str(tmp_path)])
    pci = pci_tree(tmp_path, {"0000:00:02.0": ("0x8086", "0x030000")})
    res = run(capsys, sysfs_pci_path=pci)
    fact = res["ansible_facts"]["llmserve_gpu"]
    assert res["rc"] == 0 and fact["present"] is False and fact["count"] == 0
    assert fact["reason"] == "nvidia-smi not found in PATH (no NVIDIA driver installed)"
    assert res["nvidia_pci_devices"] == [] and res["nvidia_smi_path"] is None


def test_given_path_not_executable(tmp_path, capsys):
    res = run(capsys, nvidia_smi_path=str(tmp_path / "missing"), sysfs_pci_path=str(tmp_path))
    assert "is not an executable file" in res["ansible_facts"]["llmserve_gpu"]["reason"]


def test_hung_nvidia_smi_times_out(tmp_path, capsys):
    script = tmp_path / "fake-nvidia-smi"
    script.write_text("#!/bin/sh\n# FAKE nvidia-smi that hangs like a GPU off the bus\nsleep 30\n")
    script.chmod(0o755)
    res = run(capsys, nvidia_smi_path=str(script), timeout=1)
    assert res["ansible_facts"]["llmserve_gpu"]["reason"] == "nvidia-smi did not answer within 1s"
