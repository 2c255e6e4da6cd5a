# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_pip_sources: the translation of pip's effective configuration (captured ``pip config
list`` output) into uv's flags and environment, the uv command line (unreachable indexes,
offline fallback, warnings), credentials masked, reachability of local and HTTP sources."""

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _pip_sources


@pytest.fixture(scope="module")
def ivc():
    return _pip_sources


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
    cmd, env, warnings = ivc.uv_command(
        "/t/uv", "/v/bin/python", s, ["--no-deps", "torch==2.13.0+cpu"]
    )
    assert warnings == []
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
        "--extra-index-url",  # the main index first: uv ranks extra indexes before it
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


def test_uv_command_unreachable_extra_left_out(ivc):
    s = ivc.uv_settings({}, "", ["https://u:tok@download.pytorch.org/whl/cpu"])
    cmd, _env, warnings = ivc.uv_command("uv", "py", s, ["torch"], lambda u: "pytorch" not in u)
    assert not [a for a in cmd if "pytorch" in a]
    assert "--offline" not in cmd
    assert warnings == ["index https://***@download.pytorch.org/whl/cpu unreachable, left out"]


def test_uv_command_main_unreachable_goes_offline(ivc):
    s = ivc.uv_settings({"extra-index-url": ["https://x/simple"], "find-links": ["/gone", "/w"]})
    cmd, _env, warnings = ivc.uv_command("uv", "py", s, ["pkg"], lambda u: u == "/w")
    assert cmd[cmd.index("--index-url") + 1] == ivc.PYPI_SIMPLE
    assert [w.split(" ", 1)[0] for w in warnings] == ["index", "find-links"]
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


def test_redact(ivc):
    text = "uv --index-url https://user:s3cr3t@idx.example/simple --extra-index-url http://t@x/y /p"
    out = ivc.redact(text)
    assert "s3cr3t" not in out and "t@x" not in out
    assert (
        out == "uv --index-url https://***@idx.example/simple --extra-index-url http://***@x/y /p"
    )


def test_credentials(ivc):
    assert ivc.credentials("https://user:s3cr3t@idx/simple") == ["user:s3cr3t", "s3cr3t"]
    assert ivc.credentials("https://tok@idx/simple http://a:b@x/") == ["tok", "a:b", "b"]
    assert ivc.credentials("https://idx/simple") == []


def test_uv_environment_drops_uv_sources(ivc):
    base = {"UV_INDEX_URL": "https://not-pip/simple", "UV_FIND_LINKS": "/x", "PATH": "/bin"}
    env = ivc.uv_environment(base, {"SSL_CERT_FILE": "/c"}, "/cache")
    assert env == {
        "PATH": "/bin",
        "SSL_CERT_FILE": "/c",
        "PIP_CACHE_DIR": "/cache/pip",
        "UV_CACHE_DIR": "/cache/uv",
    }
