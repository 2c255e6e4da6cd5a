# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""serving_runtime with read_gpus: the GPUs read in the same module run (FAKE nvidia-smi
replaying captured output, as in test_gpu_facts)."""

import json
import os
import shlex
import stat

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.module_utils import _gpu_probe
from ansible_collections.llmserve.triton.plugins.modules import serving_runtime

FIX = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "nvidia_smi"))


def host_path(tmp_path, monkeypatch, query=None, plain=None):
    """PATH with only a FAKE nvidia-smi (replays fixture files) when `query` is given."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if query:
        script = bindir / "nvidia-smi"
        script.write_text(
            "#!/bin/sh\n# FAKE nvidia-smi for unit tests: replays captured output.\n"
            + 'case "$1" in --query-gpu=*) cat %s; exit 0;; esac\n'
            % shlex.quote(os.path.join(FIX, query))
            + "cat %s\n" % shlex.quote(os.path.join(FIX, plain))
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % bindir)
    monkeypatch.setattr(_gpu_probe, "EXTRA_DIRS", [str(bindir)])
    monkeypatch.setattr(_gpu_probe, "SYSFS_PCI", str(tmp_path / "no-pci"))


def run(capsys, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        serving_runtime.main()
    res = json.loads(capsys.readouterr().out)
    res["rc"] = exc.value.code
    return res


def test_read_gpus_on_a_gpu_host(tmp_path, capsys, monkeypatch):
    host_path(tmp_path, monkeypatch, "h100_real_query.txt", "h100_real_plain.txt")
    res = run(capsys, runtime="vllm", read_gpus=True, gpu_count=0)
    assert res["rc"] == 0, res
    gpu = res["ansible_facts"]["llmserve_gpu"]
    assert gpu["present"] is True and gpu["count"] == 1
    # the count the choice used is the one read, not the gpu_count option
    assert res["host"]["gpu_count"] == 1
    assert res["ansible_facts"]["llmserve_runtime_choice"]["runtime"] == "vllm"


def test_read_gpus_without_a_driver(tmp_path, capsys, monkeypatch):
    host_path(tmp_path, monkeypatch)
    res = run(capsys, runtime="vllm_cpu", read_gpus=True)
    assert res["rc"] == 0, res
    gpu = res["ansible_facts"]["llmserve_gpu"]
    assert gpu["present"] is False and "nvidia-smi not found" in gpu["reason"]
    assert res["host"]["gpu_count"] == 0 and res["runtime"] == "vllm_cpu"


def test_no_gpu_fact_unless_asked(tmp_path, capsys, monkeypatch):
    host_path(tmp_path, monkeypatch, "h100_real_query.txt", "h100_real_plain.txt")
    res = run(capsys, runtime="vllm_cpu", gpu_count=0)
    assert res["rc"] == 0, res
    assert "llmserve_gpu" not in res["ansible_facts"]
