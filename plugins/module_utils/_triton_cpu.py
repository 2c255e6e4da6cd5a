# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the triton_cpu runtime: NVIDIA's Triton server (from the nvidia-pytriton
wheel) with NVIDIA's vLLM backend over the vLLM CPU venv.

What is decided here, from data (roles/triton_vllm/vars/triton_cpu.yml) and the host's facts:
which server build and backend release are used, whether they are paired with the installed
vLLM, which compatibility measures that pairing needs, which files of the wheel are laid out,
and the stub environment's ``.pth`` lines. Every refusal names the variable to set.

Layout under ``dest`` (the wheel's relative paths are kept, so the binaries' RPATH
(``$ORIGIN/../../../nvidia_pytriton.libs``) finds the shared libraries without
LD_LIBRARY_PATH)::

    server/pytriton/tritonserver/bin/tritonserver
    server/pytriton/tritonserver/backends/python/   libtriton_python.so, utils, stub
    server/pytriton/tritonserver/backends/vllm/     NVIDIA's vLLM backend (model.py, utils/)
    server/nvidia_pytriton.libs/                    shared libraries (not libpython3.13)
    stub-env/                                       EXECUTION_ENV_PATH of every model
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import hashlib
import os
import posixpath
import re

# Compatibility measures: name -> (what it does, the error it prevents). Each is applied only
# when the data says the installed versions need it.
MEASURES = {
    "stub_utf8_locale": (
        "set LC_CTYPE to C.UTF-8 in the stub (it runs Python isolated, so LANG has no effect)",
        "UnicodeDecodeError: 'ascii' codec can't decode byte 0xe2 (torch inductor at import vllm)",
    ),
    "vllm_inputs_data_module": (
        "alias the module vllm.inputs.data to vllm.inputs (TokensPrompt moved)",
        "ModuleNotFoundError: No module named 'vllm.inputs.data'",
    ),
    "vllm_metrics_buckets_name": (
        "give vllm.v1.metrics.loggers the name build_1_2_5_buckets from vllm.v1.metrics.buckets",
        "ImportError: cannot import name 'build_1_2_5_buckets' from 'vllm.v1.metrics.loggers'",
    ),
}
STUB_ENV = "stub-env"
SERVER_DIR = "server"
TRITON_ROOT = "pytriton/tritonserver"
LIBS_DIR = "nvidia_pytriton.libs"
COMPAT_MODULE = "llmserve_triton_compat"
MARKER = ".llmserve-triton-cpu.json"
_DIGEST_RE = re.compile(r"^(sha256:)?[0-9a-f]{64}$")
_URL_RE = re.compile(r"^(https?|file)://")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


class TritonCpuError(ValueError):
    """A refusal: the message names the variable to set and the fix."""


def normalize_digest(value):
    """'sha256:<hex>' or '<hex>' -> '<hex>' (lower case); '' stays ''."""
    value = str(value or "").strip().lower()
    return value[7:] if value.startswith("sha256:") else value


def tree_digest(entries):
    """Digest of a file tree from [(relative path, sha256 hex of the content)].

    Equal to ``find . -type f -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum`` run inside the tree, so a user can check a copy by hand.
    """
    rows = []
    for rel, digest in entries:
        rel = rel.replace(os.sep, "/")
        while rel.startswith("./"):
            rel = rel[2:]
        if "__pycache__" not in rel.split("/"):
            rows.append((("./" + rel).encode("utf-8"), digest.encode("ascii")))
    text = b"".join(b"%s  %s\n" % (digest, path) for path, digest in sorted(rows))
    return hashlib.sha256(text).hexdigest()


def backend_src_root(names):
    """The folder inside an archive or checkout that holds the backend's model.py.

    NVIDIA's repository keeps it in ``src/`` (a GitHub archive adds a top folder); a folder
    that already is ``src`` is accepted too. Returns the prefix ('' for the top) or None.
    """
    candidates = sorted(
        posixpath.dirname(n.replace(os.sep, "/").lstrip("./"))
        for n in names
        if posixpath.basename(n) == "model.py"
    )
    for prefix in candidates:
        if prefix == "src" or prefix.endswith("/src") or prefix == "":
            return prefix
    return None


def source_kind(src):
    """'release' (empty: the pinned archive), 'url', 'archive' (a local file) or 'dir'."""
    src = str(src or "").strip()
    if not src:
        return "release"
    if _URL_RE.match(src):
        return "url"
    if src.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    return "dir"


def _version_key(version):
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", str(version))[:3])


def pairing(release, vllm_version):
    """Compatibility measures of a backend release with a vLLM version, or None if unknown.

    ``release["pairings"]`` maps a vLLM version (exact, or ``0.32.*``) to a list of measures.
    """
    base = str(vllm_version).split("+", 1)[0]
    table = release.get("pairings") or {}
    if base in table:
        return list(table[base] or [])
    for pattern, measures in table.items():
        if pattern.endswith(".*") and base.startswith(pattern[:-1]):
            return list(measures or [])
    return None


def resolve(
    servers,
    wheel,
    releases,
    release_name,
    vllm_version,
    python_minor,
    arch="x86_64",
    src="",
    checksum="",
    measures=None,
):
    """Validate a triton_cpu request and return its plan (a dict), or raise TritonCpuError.

    servers/releases: the data; wheel: the key of the server build (``nvidia-pytriton==0.7.0``);
    release_name: the backend release; vllm_version: the vLLM of the serving venv;
    python_minor: the venv's Python (``3.11``); src/checksum: triton_vllm_backend_src and
    triton_vllm_backend_checksum; measures: triton_vllm_triton_cpu_compat (None: from data).
    """
    server = (servers or {}).get(wheel)
    if not server:
        raise TritonCpuError(
            "triton_vllm_triton_cpu_wheel %r has no data (known builds: %s): set it to one of "
            "those" % (wheel, ", ".join(sorted(servers or {})) or "none")
        )
    if arch and server.get("arch") and arch != server["arch"]:
        raise TritonCpuError(
            "%s carries a Triton server for %s only; this host is %s: use a GPU host with "
            "triton_vllm_runtime: triton, or vllm_cpu here" % (wheel, server["arch"], arch)
        )
    stubs = [str(v) for v in server.get("stub_pythons") or []]
    if str(python_minor) not in stubs:
        raise TritonCpuError(
            "Python %s (triton_vllm_cpu_python) has no Triton Python-backend stub in %s "
            "(stubs for Python %s): set triton_vllm_cpu_python to one of those interpreters"
            % (python_minor, wheel, ", ".join(sorted(stubs, key=_version_key)))
        )
    release = (releases or {}).get(release_name)
    if not release:
        raise TritonCpuError(
            "triton_vllm_backend_release %r is unknown (known: %s): set it to the release of "
            "NVIDIA's vLLM backend that triton_vllm_backend_src holds"
            % (release_name, ", ".join(sorted(releases or {})) or "none")
        )
    kind = source_kind(src)
    digest = normalize_digest(checksum) or normalize_digest(release.get("src_sha256"))
    if checksum and not _DIGEST_RE.match(str(checksum).strip().lower()):
        raise TritonCpuError(
            "triton_vllm_backend_checksum %r is not a sha256 digest (64 hex digits, optionally "
            "prefixed with sha256:)" % checksum
        )
    if kind == "url" and not checksum and src != release.get("archive_url"):
        raise TritonCpuError(
            "triton_vllm_backend_src is the URL %s: set triton_vllm_backend_checksum to the "
            "sha256 tree digest of its src/ folder (README: 'Triton on the CPU'), so that what "
            "is downloaded is what you meant" % src
        )
    paired = pairing(release, vllm_version)
    if measures is None:
        if paired is None:
            known = ", ".join(sorted(release.get("pairings") or {}, key=_version_key))
            raise TritonCpuError(
                "NVIDIA's vLLM backend %s is not known to work with vLLM %s (known pairings: "
                "vLLM %s; NVIDIA pairs it with %s): set llmserve_vllm_cpu_version to a paired "
                "version or triton_vllm_backend_release to a release paired with %s; to try "
                "anyway, set triton_vllm_triton_cpu_compat to the list of measures to apply "
                "(possibly [])"
                % (release_name, vllm_version, known or "none", release.get("vllm"), vllm_version)
            )
        measures = paired
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise TritonCpuError(
            "triton_vllm_triton_cpu_compat: unknown measure(s) %s (known: %s)"
            % (", ".join(map(str, unknown)), ", ".join(sorted(MEASURES)))
        )
    stub_measures = ["stub_utf8_locale"] if server.get("stub_utf8_locale") else []
    measures = sorted(set(stub_measures) | set(measures))
    return {
        "wheel": wheel,
        "filename": server["filename"],
        "sha256": normalize_digest(server["sha256"]),
        "triton_version": str(server.get("triton_version", "")),
        "python_minor": str(python_minor),
        "stub_numpy": server.get("stub_numpy") or "",
        "backend": {
            "release": release_name,
            "kind": kind,
            "src": src if kind != "release" else release.get("archive_url", ""),
            "sha256": digest,
            "vllm_paired": release.get("vllm"),
        },
        "vllm_version": str(vllm_version),
        "paired": paired is not None,
        "measures": measures,
        "measure_notes": ["%s: %s" % (m, MEASURES[m][0]) for m in measures],
    }


def wheel_members(names, python_minor):
    """Map the wheel's members to paths under ``server/``: [(member, relative destination)].

    Kept: the server binary, the Python backend, the stub for ``python_minor`` (moved into
    backends/python/ where the backend looks for it) and the shared libraries, except the
    bundled libpython 3.13 that only PyTriton's own proxy uses.
    """
    out = []
    stub = "%s/python_backend_stubs/%s/triton_python_backend_stub" % (TRITON_ROOT, python_minor)
    for name in names:
        if name.endswith("/"):
            continue
        if name == "%s/bin/tritonserver" % TRITON_ROOT or name.startswith(
            "%s/backends/python/" % TRITON_ROOT
        ):
            out.append((name, name))
        elif name == stub:
            out.append((name, "%s/backends/python/triton_python_backend_stub" % TRITON_ROOT))
        elif name.startswith(LIBS_DIR + "/") and not posixpath.basename(name).startswith(
            "libpython"
        ):
            out.append((name, name))
    return out


def missing_members(members, python_minor):
    """What a usable layout needs and the member list lacks (a wrong or damaged wheel)."""
    dests = {dest for _name, dest in members}
    need = [
        "%s/bin/tritonserver" % TRITON_ROOT,
        "%s/backends/python/libtriton_python.so" % TRITON_ROOT,
        "%s/backends/python/triton_python_backend_stub" % TRITON_ROOT,
    ]
    gone = [n for n in need if n not in dests]
    if not any(d.startswith(LIBS_DIR + "/") for d in dests):
        gone.append(LIBS_DIR + "/")
    return gone


def pth_lines(measures, serving_site):
    """The stub environment's two .pth files: {file name: text}.

    ``00-llmserve-compat.pth`` applies the measures first; ``zz-serving-venv.pth`` then adds
    the serving venv's site-packages with its own .pth files, after the stub environment's own
    packages (numpy 1.x must win over the venv's numpy 2.x).
    """
    files = {}
    if measures:
        files["00-llmserve-compat.pth"] = "import %s; %s.apply(%r)\n" % (
            COMPAT_MODULE,
            COMPAT_MODULE,
            sorted(measures),
        )
    files["zz-serving-venv.pth"] = "import site; site.addsitedir(%r)\n" % serving_site
    return files


def layout_paths(dest, minor):
    """Where the layout under ``dest`` puts the server, its backends and the stub environment
    (the install module writes them; the serving plan starts the server from them)."""
    root = os.path.join(dest, SERVER_DIR, TRITON_ROOT)
    return {
        "tritonserver": os.path.join(root, "bin", "tritonserver"),
        "backend_directory": os.path.join(root, "backends"),
        "stub_env": os.path.join(dest, STUB_ENV),
        "stub_site": os.path.join(dest, STUB_ENV, "lib", "python%s" % minor, "site-packages"),
    }


def layout_spec(plan, serving_venv, compat_sha256):
    """What the marker file records: a re-run with an equal spec changes nothing."""
    return {
        "wheel": plan["wheel"],
        "wheel_sha256": plan["sha256"],
        "python_minor": plan["python_minor"],
        "stub_numpy": plan["stub_numpy"],
        "backend_release": plan["backend"]["release"],
        "backend_sha256": plan["backend"]["sha256"],
        "measures": sorted(plan["measures"]),
        "serving_venv": serving_venv,
        "compat_sha256": compat_sha256,
    }


def changed_parts(old, new):
    """Which parts of the layout a spec change touches: subset of {'server', 'stub_env'}."""
    old = old or {}
    parts = set()
    if any(
        old.get(k) != new.get(k)
        for k in ("wheel", "wheel_sha256", "python_minor", "backend_release", "backend_sha256")
    ):
        parts.add("server")
    if any(
        old.get(k) != new.get(k)
        for k in ("python_minor", "stub_numpy", "measures", "serving_venv", "compat_sha256")
    ):
        parts.add("stub_env")
    return parts
