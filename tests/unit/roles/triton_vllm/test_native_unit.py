# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CPU runtimes' systemd unit template renders (as Ansible's template module does: trim_blocks)
into a unit that systemd's own `systemd-analyze verify` accepts, with argv and environment
values that need quoting/escaping."""

import os
import shutil
import subprocess
import sys

import jinja2
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
TEMPLATES = os.path.join(ROOT, "roles", "triton_vllm", "templates")


def render(**extra):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True)
    values = dict(
        ansible_managed="Ansible managed",
        llmserve_serving_plan={"name": "demo"},
        triton_vllm_cpu_user="root",
        triton_vllm_cpu_group="root",
        triton_vllm_cpu_stop_timeout=30,
        __triton_vllm_svc={
            "name": "llmserve-vllm-cpu",
            "description": "vLLM CPU server",
            "state_dir": "/tmp",
            "log_file": "/tmp/llmserve-unit-test.log",
            "env": {"HF_HOME": "/var/lib/llmserve/hf", "X": 'a "q" 50% $H'},
            "argv": [sys.executable, "-c", 'print("x y")', "100%", "$HOME"],
        },
    )
    values.update(extra)
    return env.get_template("native.service.j2").render(**values)


def test_escaping():
    text = render()
    exec_start = 'ExecStart="' + sys.executable + '" "-c" "print(\\"x y\\")" "100%%" "$$HOME"'
    assert exec_start in text
    assert 'Environment="X=a \\"q\\" 50%% $H"' in text
    assert "User=root" in text and "KillMode=control-group" in text
    assert "\n\n\n" not in text


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    unit = tmp_path / "llmserve-vllm-cpu.service"
    unit.write_text(render())
    res = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "llmserve-vllm-cpu.service" not in res.stderr, res.stderr
