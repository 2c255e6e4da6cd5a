# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/triton_vllm/files/install_vllm_cpu.py: the translation of pip's effective
configuration (captured ``pip config list`` output) into uv's flags and environment, the uv
command line (unreachable indexes, offline fallback), the marker comparison that ignores the
installer, and a real no-op re-run against an existing marker."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCRIPT = os.path.join(ROOT, "roles", "triton_vllm", "files", "install_vllm_cpu.py")


@pytest.fixture(scope="module")
def ivc():
    spec = importlib.util.spec_from_file_location("install_vllm_cpu", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# `pip config list` on the development machine: files (global.*) and PIP_* variables (:env:.*).
CAPTURED = """\
:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.default-timeout='180'
:env:.disable-pip-version-check='1'
:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels'
"""


def test_parse_captured(ivc):
    assert ivc.parse_pip_config(CAPTURED) == {
        "cert": "/etc/ssl/certs/ca-certificates.crt",
        "timeout": "180",
        "find-links": ["/opt/wheels"],
        "constraint": ["/etc/xdg/pip/constraints.txt"],
        "extra-index-url": ["file:///opt/pypi/simple", "file:///opt/pypi-more/simple"],
    }


def test_parse_precedence_env_over_install_over_global(ivc):
    text = "\n".join(
        [
            ":env:.index-url='https://env.example/simple'",
            "global.index-url='https://global.example/simple'",
            "install.index-url='https://install.example/simple'",
            "global.timeout='30'",
            "install.timeout='60'",
            r"global.find_links='/a\n/b'",  # underscores; repr of a newline-separated value
            "download.index-url='https://download.example/simple'",  # not pip install's section
            "global.trusted-host='mirror.example other.example'",
            "global.retries='7'",
            "global.no-index='false'",
            "global.user='true'",  # not a source setting: ignored
            "garbage line",
        ]
    )
    conf = ivc.parse_pip_config(text)
    assert conf["index-url"] == "https://env.example/simple"
    assert conf["timeout"] == "60"
    assert conf["find-links"] == ["/a", "/b"]
    assert conf["trusted-host"] == ["mirror.example", "other.example"]
    assert conf["retries"] == "7"
    assert conf["no-index"] == "false"
    assert "user" not in conf


def test_parse_empty(ivc):
    assert ivc.parse_pip_config("") == {}


def test_uv_settings_captured(ivc):
    s = ivc.uv_settings(
        ivc.parse_pip_config(CAPTURED), "", ["https://download.pytorch.org/whl/cpu"]
    )
    assert s["main"] == ivc.PYPI_SIMPLE
    assert s["extra"] == [
        "file:///opt/pypi/simple",
        "file:///opt/pypi-more/simple",
        "https://download.pytorch.org/whl/cpu",
    ]
    assert s["find_links"] == ["/opt/wheels"]
    assert s["flags"] == ["--constraint", "/etc/xdg/pip/constraints.txt"]
    assert s["env"] == {
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "UV_HTTP_TIMEOUT": "180",
    }


def test_uv_settings_role_index_wins(ivc):
    conf = {
        "index-url": "https://pip.example/simple",
        "extra-index-url": ["https://x/simple"],
        "trusted-host": ["x"],
        "retries": "3",
        "client-cert": "/c.pem",
        "timeout": "15.5",
    }
    s = ivc.uv_settings(conf, "https://role.example/simple", ["", "https://x/simple"])
    assert s["main"] == "https://role.example/simple"
    assert s["extra"] == ["https://x/simple"]  # no duplicate, no empty entry
    assert s["flags"] == ["--allow-insecure-host", "x"]
    assert s["env"] == {
        "SSL_CLIENT_CERT": "/c.pem",
        "UV_HTTP_TIMEOUT": "15",
        "UV_HTTP_RETRIES": "3",
    }


def test_uv_settings_no_index(ivc):
    conf = {
        "no-index": "1",
        "index-url": "https://pip.example/simple",
        "extra-index-url": ["https://x/simple"],
        "find-links": ["/w"],
    }
    s = ivc.uv_settings(conf)
    assert s["main"] is None and s["extra"] == [] and s["find_links"] == ["/w"]
    cmd = ivc.uv_command("uv", "/v/bin/python", s, ["pkg"])[0]
    assert "--no-index" in cmd and "--index-url" not in cmd
    # The role's own index still wins over pip's no-index.
    assert ivc.uv_settings(conf, "https://role/simple")["main"] == "https://role/simple"


def test_uv_command_all_reachable(ivc):
    s = ivc.uv_settings(ivc.parse_pip_config(CAPTURED))
    cmd, env = ivc.uv_command("/t/uv", "/v/bin/python", s, ["--no-deps", "torch==2.13.0+cpu"])
    assert cmd == [
        "/t/uv",
        "pip",
        "install",
        "--no-config",
        "--python",
        "/v/bin/python",
        "--index-strategy",
        "unsafe-best-match",
        "--compile-bytecode",
        "--index-url",
        ivc.PYPI_SIMPLE,
        "--extra-index-url",
        "file:///opt/pypi/simple",
        "--extra-index-url",
        "file:///opt/pypi-more/simple",
        "--find-links",
        "/opt/wheels",
        "--constraint",
        "/etc/xdg/pip/constraints.txt",
        "--no-deps",
        "torch==2.13.0+cpu",
    ]
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"


def test_uv_command_compile_bytecode_optional(ivc):
    s = ivc.uv_settings({})
    assert "--compile-bytecode" not in ivc.uv_command("uv", "py", s, [], compile_bytecode=False)[0]


def test_uv_command_unreachable_extra_left_out(ivc, capsys):
    s = ivc.uv_settings({}, "", ["https://download.pytorch.org/whl/cpu"])
    cmd = ivc.uv_command("uv", "py", s, ["torch"], lambda u: "pytorch" not in u)[0]
    assert "https://download.pytorch.org/whl/cpu" not in cmd
    assert "--offline" not in cmd
    assert "unreachable" in capsys.readouterr().err


def test_uv_command_main_unreachable_goes_offline(ivc):
    s = ivc.uv_settings({"extra-index-url": ["https://x/simple"], "find-links": ["/gone", "/w"]})
    cmd = ivc.uv_command("uv", "py", s, ["pkg"], lambda u: u == "/w")[0]
    assert cmd[cmd.index("--index-url") + 1] == ivc.PYPI_SIMPLE
    assert "--offline" in cmd
    # Offline: the extra index stays (its cached pages are used), a missing folder goes.
    assert "https://x/simple" in cmd
    assert "/gone" not in cmd and "/w" in cmd


def test_reachable_local(ivc, tmp_path):
    assert ivc.reachable(str(tmp_path))
    assert ivc.reachable(tmp_path.as_uri())
    assert not ivc.reachable(str(tmp_path / "missing"))
    assert not ivc.reachable((tmp_path / "missing").as_uri())


def test_reachable_http(ivc, local_http):
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802
            self.send_response(404 if "missing" in self.path else 200)
            self.end_headers()

        def log_message(self, *a):
            pass

    base = local_http(H)
    assert ivc.reachable(base + "/simple")
    assert ivc.reachable(base + "/missing")  # answers: the host is there
    assert not ivc.reachable("http://127.0.0.1:9/simple", timeout=2)


def test_installed_spec_ignores_installer(ivc):
    spec = {"package": "vllm-cpu", "version": "0.32.0"}
    assert ivc.installed_spec(dict(spec, installed_with="pip")) == spec
    assert ivc.installed_spec(spec) == spec  # markers written before the installer option
    assert ivc.installed_spec(None) is None


def test_installer_uv_needs_binary(ivc):
    with pytest.raises(SystemExit):
        ivc.Installer("uv", "")


def _run(args):
    out = subprocess.run(
        [sys.executable, SCRIPT] + args, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_marker_of_other_installer_is_a_noop(ivc, tmp_path, installer):
    """A venv installed with pip is not reinstalled when uv is chosen, and the other way."""
    marker = tmp_path / "m.json"
    args = ["--version", "0.32.0", "--torch", "torch==2.13.0+cpu", "--marker", str(marker)]
    spec = _run(args + ["--check"])["spec"]
    other = "pip" if installer == "uv" else "uv"
    marker.write_text(json.dumps(dict(spec, installed_with=other)))
    res = _run(args + ["--installer", installer, "--uv", "/nonexistent/uv"])
    assert res["changed"] is False
    # A changed spec is an install.
    assert _run(args[:1] + ["0.33.0"] + args[2:] + ["--check"])["changed"] is True


def test_installer_uv_runs_with_pip_sources_only(ivc, tmp_path, monkeypatch):
    """Installer('uv') with a stand-in uv binary: its argv and environment as run."""
    fake = tmp_path / "uv"
    rec = tmp_path / "rec.json"
    fake.write_text(
        "#!%s\nimport json, os, sys\njson.dump({'argv': sys.argv[1:], 'env': dict(os.environ)},"
        " open(%r, 'w'))\n" % (sys.executable, str(rec))
    )
    fake.chmod(0o755)
    monkeypatch.setenv("UV_INDEX_URL", "https://not-pip.example/simple")
    monkeypatch.setenv("UV_FIND_LINKS", "/not-pip")
    monkeypatch.setattr(ivc, "pip_config_text", lambda: CAPTURED)
    inst = ivc.Installer("uv", str(fake), str(tmp_path / "cache"))
    inst._reach = {ivc.PYPI_SIMPLE: True}  # no network in unit tests
    inst.install("--no-deps", "pkg==1", index_url="", extra_index_url="")
    got = json.loads(rec.read_text())
    assert "UV_INDEX_URL" not in got["env"] and "UV_FIND_LINKS" not in got["env"]
    assert got["env"]["UV_CACHE_DIR"] == str(tmp_path / "cache" / "uv")
    assert got["env"]["PIP_CACHE_DIR"] == str(tmp_path / "cache" / "pip")
    assert got["env"]["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    argv = got["argv"]
    assert argv[:3] == ["pip", "install", "--no-config"]
    assert argv[argv.index("--python") + 1] == sys.executable
    assert "--compile-bytecode" in argv
    assert argv[-2:] == ["--no-deps", "pkg==1"]
    # Local sources of the captured configuration that do not exist here are left out.
    for loc in ("/opt/wheels", "file:///opt/pypi/simple"):
        assert (loc in argv) == ivc.reachable(loc)
