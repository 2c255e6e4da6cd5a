# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _triton_cpu (plan, pairing, layout) on the shipped data and real listings.

Data: roles/triton_vllm/vars/triton_cpu.yml (what the role passes). Fixture:
tests/unit/fixtures/triton_cpu/nvidia_pytriton-0.7.0.members.txt = `unzip -Z1` of the real
nvidia_pytriton-0.7.0-py3-none-manylinux_2_35_x86_64.whl.
"""

import hashlib
import os
import shutil
import subprocess

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils import _triton_cpu as t

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "unit", "fixtures", "triton_cpu")
with open(os.path.join(ROOT, "roles", "triton_vllm", "vars", "triton_cpu.yml")) as _f:
    DATA = yaml.safe_load(_f)
SERVERS = DATA["__triton_vllm_triton_cpu_servers"]
RELEASES = DATA["__triton_vllm_backend_releases"]
WHEEL = "nvidia-pytriton==0.7.0"


def plan(**kw):
    args = dict(
        servers=SERVERS,
        wheel=WHEEL,
        releases=RELEASES,
        release_name="r26.01",
        vllm_version="0.32.0",
        python_minor="3.11",
    )
    args.update(kw)
    return t.resolve(**args)


def members():
    with open(os.path.join(FIX, "nvidia_pytriton-0.7.0.members.txt")) as f:
        return f.read().split()


def test_known_pairing_gives_its_measures_and_the_stub_ones():
    p = plan()
    assert p["measures"] == [
        "stub_utf8_locale",
        "vllm_inputs_data_module",
        "vllm_metrics_buckets_name",
    ]
    assert p["paired"] is True
    assert p["stub_numpy"].startswith("numpy==1.")
    assert p["backend"]["kind"] == "release"
    assert p["backend"]["src"] == RELEASES["r26.01"]["archive_url"]
    assert p["backend"]["sha256"] == RELEASES["r26.01"]["src_sha256"]
    assert all(n.split(":")[0] in t.MEASURES for n in p["measure_notes"])


def test_nvidias_own_pairing_needs_no_vllm_measure():
    assert plan(vllm_version="0.13.0")["measures"] == ["stub_utf8_locale"]


def test_unknown_pairing_names_the_versions_and_what_to_set():
    with pytest.raises(t.TritonCpuError) as exc:
        plan(vllm_version="0.33.1")
    msg = str(exc.value)
    for part in (
        "r26.01",
        "0.33.1",
        "0.32.0",
        "llmserve_vllm_cpu_version",
        "triton_vllm_triton_cpu_compat",
    ):
        assert part in msg


def test_unknown_pairing_with_declared_measures_is_accepted():
    p = plan(vllm_version="0.33.1", measures=["vllm_metrics_buckets_name"])
    assert p["paired"] is False
    assert p["measures"] == ["stub_utf8_locale", "vllm_metrics_buckets_name"]


def test_unknown_measure_is_refused():
    with pytest.raises(t.TritonCpuError, match="unknown measure.*no_such_fix"):
        plan(measures=["no_such_fix"])


@pytest.mark.parametrize("minor", ["3.7", "3.14"])
def test_python_without_stub_is_refused(minor):
    with pytest.raises(t.TritonCpuError) as exc:
        plan(python_minor=minor)
    assert "triton_vllm_cpu_python" in str(exc.value)
    assert "3.8, 3.9, 3.10, 3.11, 3.12, 3.13" in str(exc.value)


def test_other_architecture_is_refused():
    with pytest.raises(t.TritonCpuError, match="x86_64 only; this host is aarch64"):
        plan(arch="aarch64")


def test_unknown_wheel_and_release_name_the_variable():
    with pytest.raises(t.TritonCpuError, match="triton_vllm_triton_cpu_wheel"):
        plan(wheel="nvidia-pytriton==9.9")
    with pytest.raises(t.TritonCpuError, match="triton_vllm_backend_release 'r99.01'"):
        plan(release_name="r99.01")


def test_foreign_url_needs_a_checksum():
    with pytest.raises(t.TritonCpuError, match="triton_vllm_backend_checksum"):
        plan(src="https://example.org/vllm_backend.tar.gz")
    digest = "a" * 64
    p = plan(src="https://example.org/vllm_backend.tar.gz", checksum="sha256:" + digest)
    assert p["backend"]["sha256"] == digest and p["backend"]["kind"] == "url"


def test_bad_checksum_format_is_refused():
    with pytest.raises(t.TritonCpuError, match="not a sha256 digest"):
        plan(src="/srv/backend", checksum="1234")


@pytest.mark.parametrize(
    "src,kind",
    [
        ("", "release"),
        ("/srv/vllm_backend", "dir"),
        ("/srv/r26.01.tar.gz", "archive"),
        ("/srv/r26.01.zip", "archive"),
        ("https://example.org/x.tar.gz", "url"),
        ("file:///srv/x.tar.gz", "url"),
    ],
)
def test_source_kind(src, kind):
    assert t.source_kind(src) == kind


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="coreutils sha256sum missing")
def test_tree_digest_equals_the_documented_shell_pipeline(tmp_path):
    (tmp_path / "utils" / "__pycache__").mkdir(parents=True)
    (tmp_path / "model.py").write_bytes(b"print('model')\n")
    (tmp_path / "utils" / "metrics.py").write_bytes(b"x = 1\n")
    (tmp_path / "utils" / "__pycache__" / "metrics.cpython-311.pyc").write_bytes(b"\0junk")
    (tmp_path / "Z_upper.py").write_bytes(b"")
    shell = subprocess.run(
        "find . -type f -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | "
        "xargs -0 sha256sum | sha256sum",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    entries = []
    for base, _dirs, files in os.walk(tmp_path):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                entries.append(
                    (os.path.relpath(path, tmp_path), hashlib.sha256(f.read()).hexdigest())
                )
    assert t.tree_digest(entries) == shell


def test_backend_src_root_in_a_github_archive_and_a_checkout():
    names = [
        "vllm_backend-c70d654/README.md",
        "vllm_backend-c70d654/samples/model_repository/vllm_model/1/model.json",
        "vllm_backend-c70d654/src/model.py",
        "vllm_backend-c70d654/src/utils/metrics.py",
    ]
    assert t.backend_src_root(names) == "vllm_backend-c70d654/src"
    assert t.backend_src_root(["src/model.py", "README.md"]) == "src"
    assert t.backend_src_root(["model.py", "utils/request.py"]) == ""
    assert t.backend_src_root(["README.md", "docs/x.md"]) is None


def test_wheel_members_of_the_real_wheel():
    got = dict((dest, name) for name, dest in t.wheel_members(members(), "3.11"))
    stub = "pytriton/tritonserver/backends/python/triton_python_backend_stub"
    assert got[stub] == "pytriton/tritonserver/python_backend_stubs/3.11/triton_python_backend_stub"
    assert "pytriton/tritonserver/bin/tritonserver" in got
    assert "pytriton/tritonserver/backends/python/libtriton_python.so" in got
    libs = [d for d in got if d.startswith("nvidia_pytriton.libs/")]
    assert any("libtritonserver" in d for d in libs)
    assert not any("libpython" in d for d in libs)
    # PyTriton itself (pytriton/*.py, in the wheel) and the other stubs are not laid out.
    assert any(
        n.startswith("pytriton/") and n.endswith(".py") and "tritonserver" not in n
        for n in members()
    )
    assert all(d.startswith(("pytriton/tritonserver/", "nvidia_pytriton.libs/")) for d in got)
    assert not any("python_backend_stubs" in d for d in got)
    assert t.missing_members(t.wheel_members(members(), "3.11"), "3.11") == []


def test_missing_members_names_what_a_damaged_wheel_lacks():
    names = [n for n in members() if "python_backend_stubs/3.11" not in n]
    gone = t.missing_members(t.wheel_members(names, "3.11"), "3.11")
    assert gone == ["pytriton/tritonserver/backends/python/triton_python_backend_stub"]


def test_pth_lines_apply_measures_first_then_the_venv():
    files = t.pth_lines(
        ["vllm_inputs_data_module", "stub_utf8_locale"], "/opt/v/lib/python3.11/site-packages"
    )
    assert sorted(files) == ["00-llmserve-compat.pth", "zz-serving-venv.pth"]
    assert (
        "apply(['stub_utf8_locale', 'vllm_inputs_data_module'])" in files["00-llmserve-compat.pth"]
    )
    assert files["zz-serving-venv.pth"].startswith("import site; site.addsitedir(")
    assert list(t.pth_lines([], "/x")) == ["zz-serving-venv.pth"]


def test_changed_parts():
    spec = t.layout_spec(plan(), "/opt/llmserve/vllm-cpu", "c" * 64)
    assert t.changed_parts(spec, dict(spec)) == set()
    assert t.changed_parts(None, spec) == {"server", "stub_env"}
    assert t.changed_parts(spec, dict(spec, backend_sha256="0" * 64)) == {"server"}
    assert t.changed_parts(spec, dict(spec, measures=[])) == {"stub_env"}
    assert t.changed_parts(spec, dict(spec, python_minor="3.12")) == {"server", "stub_env"}
