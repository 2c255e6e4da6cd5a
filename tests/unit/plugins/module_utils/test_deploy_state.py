# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _deploy_state (the converged fast path's record), on captured data.

Fixtures (tests/unit/plugins/module_utils/fixtures/deploy_state/), captured on the CI machine
kind (Debian 12, supervised daemons, no systemd):
- triton_cpu_daemon_state.json: the state file that site.yml (triton_cpu, demo model) recorded
  at /var/lib/llmserve/triton_vllm-native.json after a verified deploy
- proc_stat_tritonserver.txt, proc_stat_supervisor.txt: /proc/PID/stat of that deploy's
  tritonserver and its supervisor (the PIDs and start times the state file holds)
- proc_stat_paren_comm.txt: a process whose command name is "x) (y z" (set via /proc/PID/comm)
- proc_stat_zombie.txt: an exited child not yet reaped (state Z)
- dpkg_status_excerpt.txt: the paragraphs of /var/lib/dpkg/status for the packages the role
  installs (g++ and python3-dev among them)
The `systemctl show` text is written in the format of systemd 252's `systemctl show -p`
(key=value lines, one blank-line separated block per unit): this machine has no systemd.
"""

import json
import os
import shutil

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _deploy_state as ds

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "deploy_state")


def fixture(name):
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        return f.read()


def fake_proc(tmp_path, stats):
    """A /proc stand-in: {pid: captured stat text}."""
    root = tmp_path / "proc"
    for pid, text in stats.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "stat").write_text(text)
    return str(root)


def test_parse_proc_stat_field_22_of_real_processes():
    assert ds.parse_proc_stat(fixture("proc_stat_tritonserver.txt")) == ("S", 2672939)
    assert ds.parse_proc_stat(fixture("proc_stat_supervisor.txt")) == ("S", 2672935)
    # The command name holds ") (": fields are counted after the last ')'.
    assert ds.parse_proc_stat(fixture("proc_stat_paren_comm.txt")) == ("S", 2747046)
    assert ds.parse_proc_stat(fixture("proc_stat_zombie.txt"))[0] == "Z"


def test_process_fingerprint_live_gone_zombie(tmp_path):
    proc = fake_proc(
        tmp_path,
        {26851: fixture("proc_stat_tritonserver.txt"), 16659: fixture("proc_stat_zombie.txt")},
    )
    assert ds.process_fingerprint(26851, proc) == {"pid": 26851, "start": 2672939}
    assert ds.process_fingerprint(16659, proc) is None  # a zombie is not a server
    assert ds.process_fingerprint(4242, proc) is None
    assert ds.process_fingerprint(None, proc) is None


def test_parse_dpkg_status_real_excerpt():
    got = ds.parse_dpkg_status(
        fixture("dpkg_status_excerpt.txt"), ["g++", "libnuma1", "python3-dev", "no-such-pkg"]
    )
    assert got["g++"] == "4:12.2.0-3 amd64"
    assert got["libnuma1"] == "2.0.16-1 amd64"
    assert got["python3-dev"].startswith("3.11.2-1")
    assert got["no-such-pkg"] is None


def test_parse_dpkg_status_removed_package_is_not_installed():
    text = fixture("dpkg_status_excerpt.txt").replace(
        "Package: libnuma1\nStatus: install ok installed",
        "Package: libnuma1\nStatus: deinstall ok config-files",
    )
    assert "deinstall ok config-files" in text
    assert ds.parse_dpkg_status(text, ["libnuma1"]) == {"libnuma1": None}


SYSTEMCTL_SHOW = """Id=llmserve-triton-cpu.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled
MainPID=26851

Id=llmserve-vllm-cpu.service
LoadState=not-found
ActiveState=inactive
UnitFileState=
MainPID=0
"""


def test_systemctl_show_and_unit_fingerprint(tmp_path):
    assert ds.systemctl_show_argv(["a.service"]) == [
        "systemctl",
        "show",
        "-p",
        "Id,LoadState,ActiveState,UnitFileState,MainPID",
        "a.service",
    ]
    units = ds.parse_systemctl_show(SYSTEMCTL_SHOW)
    assert sorted(units) == ["llmserve-triton-cpu.service", "llmserve-vllm-cpu.service"]
    proc = fake_proc(tmp_path, {26851: fixture("proc_stat_tritonserver.txt")})
    fp = ds.systemd_unit_fingerprint(units["llmserve-triton-cpu.service"], proc)
    assert fp == {
        "active": "active",
        "enabled": "enabled",
        "main": {"pid": 26851, "start": 2672939},
    }
    assert ds.systemd_unit_fingerprint(units["llmserve-vllm-cpu.service"], proc) is None


@pytest.fixture
def host(tmp_path):
    """A small deployed host: scripts, a config, a model repository, a venv, a daemon."""
    root = tmp_path / "host"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "supervisor.py").write_text("print('hi')\n")
    (root / "state").mkdir()
    (root / "state" / "server.json").write_text('{"argv": ["tritonserver"]}\n')
    (root / "repo" / "demo" / "1").mkdir(parents=True)
    (root / "repo" / "demo" / "config.pbtxt").write_text('backend: "vllm"\n')
    (root / "repo" / "demo" / "1" / "model.json").write_text('{"model": "/models/demo"}\n')
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "vllm-0.32.0+cpu.dist-info").mkdir()
    (root / "venv" / "bin").mkdir()
    (root / "venv" / "bin" / "python").write_text("")
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "run").mkdir()
    (root / "run" / "server.pid").write_text("26851\n")
    (root / "run" / "supervisor.pid").write_text("26850\n")
    (root / "other-run").mkdir()
    proc = fake_proc(
        tmp_path,
        {26851: fixture("proc_stat_tritonserver.txt"), 26850: fixture("proc_stat_supervisor.txt")},
    )
    spec = {
        "files": [
            str(root / "bin" / "supervisor.py"),
            str(root / "state" / "server.json"),
            str(root / "absent"),
        ],
        "trees": [str(root / "repo")],
        "dirs": [str(root / "state"), str(root / "run")],
        "venvs": [str(root / "venv")],
        "packages": ["g++", "libnuma1"],
        "users": ["root"],
        "groups": ["root"],
        "service": {"name": "llmserve-triton-cpu", "run_dir": str(root / "run")},
        "stopped": [{"name": "llmserve-vllm-cpu", "run_dir": str(root / "other-run")}],
    }
    inputs = {"vars": {"triton_vllm_cpu_port": 8000}, "model": {"name": "demo"}}

    def fingerprint():
        return ds.host_fingerprint(spec, dpkg_status=fixture("dpkg_status_excerpt.txt"), proc=proc)

    return {"root": root, "spec": spec, "inputs": inputs, "fp": fingerprint, "proc": proc}


def test_record_then_compare_is_converged(host):
    doc = ds.state_document(host["inputs"], host["fp"]())
    # What the module writes and reads back.
    doc = json.loads(ds.render_state(doc))
    assert ds.compare(doc, host["inputs"], host["fp"]()) == []
    assert ds.server_pid(doc["host"]) == 26851


def test_compare_names_each_difference(host):
    root = host["root"]
    doc = json.loads(ds.render_state(ds.state_document(host["inputs"], host["fp"]())))
    (root / "state" / "server.json").write_text('{"argv": ["tritonserver", "--x"]}\n')
    (root / "repo" / "demo" / "1" / "model.json").write_text('{"model": "/models/demo2"}\n')
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "numpy-2.0.0.dist-info").mkdir()
    os.chmod(str(root / "run"), 0o700)
    (root / "run" / "server.pid").write_text("123\n")
    inputs = dict(host["inputs"], model={"name": "demo2"})
    reasons = ds.compare(doc, inputs, host["fp"]())
    assert reasons == [
        "the model facts changed",
        "file %s/state/server.json changed" % root,
        "directory %s/run changed" % root,
        "file %s/repo/demo/1/model.json changed" % root,
        "venv %s/venv: installed packages differ (+numpy-2.0.0.dist-info)" % root,
        "server %s/run/server.pid: PID 26851 is gone" % root,
    ]


def test_compare_server_restarted_with_same_pid(host, tmp_path):
    doc = ds.state_document(host["inputs"], host["fp"]())
    # Same PID, later start time: a restarted process that reused the number.
    stat = fixture("proc_stat_tritonserver.txt").replace(" 2672939 ", " 2999999 ")
    (tmp_path / "proc" / "26851" / "stat").write_text(stat)
    reasons = ds.compare(doc, host["inputs"], host["fp"]())
    assert reasons == [
        "server %s/run/server.pid: PID 26851 was restarted (start time 2999999, 2672939 recorded)"
        % host["root"]
    ]


def test_compare_other_runtime_running_and_removed_file(host, tmp_path):
    root = host["root"]
    doc = ds.state_document(host["inputs"], host["fp"]())
    (root / "other-run" / "server.pid").write_text("26850\n")
    (root / "bin" / "supervisor.py").unlink()
    reasons = ds.compare(doc, host["inputs"], host["fp"]())
    assert reasons == [
        "file %s/bin/supervisor.py is gone" % root,
        "the other CPU runtime's service runs (%s/other-run/server.pid)" % root,
    ]


def test_compare_without_record_or_with_another_format(host):
    assert ds.compare(None, host["inputs"], host["fp"]()) == ["no converged deploy is recorded"]
    assert ds.compare({"format": None}, host["inputs"], host["fp"]()) == [
        "the state file has another format"
    ]


def test_captured_state_file_and_its_own_host_compare_equal(tmp_path):
    """The recorded file of a real deploy: its server section names the captured processes,
    and a fingerprint equal to its host section is converged."""
    doc = json.loads(fixture("triton_cpu_daemon_state.json"))
    assert doc["format"] == ds.FORMAT
    assert sorted(doc["inputs"]) == ["model", "plan", "runtime", "source", "spec", "vars"]
    assert doc["host"]["server"] == {
        "/var/lib/llmserve/triton-cpu/run/server.pid": {"pid": 26851, "start": 2672939},
        "/var/lib/llmserve/triton-cpu/run/supervisor.pid": {"pid": 26850, "start": 2672935},
    }
    assert ds.server_pid(doc["host"]) == 26851
    # The token file was absent, the demo model and the repository hashed file by file.
    assert doc["host"]["files"]["/var/lib/llmserve/hf/token"] is None
    assert "demo/1/model.json" in doc["host"]["trees"]["/opt/llmserve/model_repository"]
    assert (
        "vllm-0.32.0+cpu.dist-info"
        in (
            doc["host"]["venvs"]["/opt/llmserve/vllm-cpu"]["site_packages"][
                "lib/python3.11/site-packages"
            ]
        )
    )
    # Equal inputs digests and host: converged.
    fake = dict(doc)
    fake["inputs"] = ds.inputs_digests({"x": 1})
    assert ds.compare(fake, {"x": 1}, doc["host"]) == []
    assert ds.compare(doc, {"x": 1}, doc["host"])[0].startswith("the model facts changed")


def test_write_state_is_root_only_and_atomic(tmp_path):
    path = tmp_path / "new" / "state.json"
    ds.write_state(str(path), ds.render_state({"format": 1}))
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o600"
    assert oct(os.stat(str(path.parent)).st_mode & 0o777) == "0o700"
    assert ds.load_state(str(path)) == {"format": 1}
    path.write_text("{not json")
    assert ds.load_state(str(path)) == {"format": None}
    assert ds.load_state(str(tmp_path / "absent.json")) is None
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_tree_fingerprint_links_and_limit(tmp_path):
    root = tmp_path / "t"
    (root / "a").mkdir(parents=True)
    (root / "a" / "f").write_text("x")
    os.symlink("a", str(root / "link"))
    got = ds.tree_fingerprint(str(root))
    assert got["link"] == "-> a" and len(got["a/f"]) == 64
    with pytest.raises(ds.DeployStateError, match="more than 1 files"):
        for i in range(3):
            (root / ("g%d" % i)).write_text("y")
        ds.tree_fingerprint(str(root), max_files=1)
    assert ds.tree_fingerprint(str(tmp_path / "none")) is None
    shutil.rmtree(str(root))


def test_use_systemd(tmp_path):
    assert ds.use_systemd("systemd", str(tmp_path / "none"))
    assert not ds.use_systemd("daemon", str(tmp_path))
    assert ds.use_systemd("auto", str(tmp_path))
    assert not ds.use_systemd("auto", str(tmp_path / "none"))
