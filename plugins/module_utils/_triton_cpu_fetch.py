# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading NVIDIA's vLLM backend from a folder, a local archive or a URL, and checking it by
its tree digest (plugins/module_utils/_triton_cpu.py tree_digest). Small I/O helpers shared by
the serving_runtime module (can the backend be had?) and triton_cpu_install (lay it out)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import zipfile

from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import (
    TritonCpuError,
    backend_src_root,
    tree_digest,
)

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dir_files(root):
    """{relative path: absolute path} of the regular files under root (no __pycache__)."""
    out = {}
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            path = os.path.join(base, name)
            if os.path.isfile(path) and not os.path.islink(path):
                out[os.path.relpath(path, root).replace(os.sep, "/")] = path
    return out


def backend_from_dir(path):
    """{"files": {rel: bytes}, "digest"} of the backend in a folder (its src/ or itself)."""
    if not os.path.isdir(path):
        raise TritonCpuError(
            "triton_vllm_backend_src %s does not exist or is not a folder: set it to a checkout "
            "or release archive of triton-inference-server/vllm_backend (a folder with "
            "src/model.py), or leave it empty for the pinned release archive" % path
        )
    listing = dir_files(path)
    root = backend_src_root(list(listing))
    if root is None:
        raise TritonCpuError(
            "triton_vllm_backend_src %s holds no model.py (neither in src/ nor at its top): "
            "it is not NVIDIA's vLLM backend" % path
        )
    prefix = root + "/" if root else ""
    files = {}
    for rel, full in listing.items():
        if rel.startswith(prefix):
            with open(full, "rb") as f:
                files[rel[len(prefix) :]] = f.read()
    return _with_digest(files)


def backend_from_archive(data, label):
    """The backend inside a .tar(.gz) or .zip archive given as bytes."""
    files = {}
    try:
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = {
                    i.filename: zf.read(i) for i in zf.infolist() if not i.filename.endswith("/")
                }
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                members = {}
                for m in tf.getmembers():
                    if m.isfile():
                        members[m.name] = tf.extractfile(m).read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TritonCpuError(
            "%s is not a readable .tar.gz or .zip archive: %s" % (label, exc)
        ) from None
    root = backend_src_root(list(members))
    if root is None:
        raise TritonCpuError(
            "%s holds no src/model.py: it is not an archive of NVIDIA's vLLM backend" % label
        )
    prefix = root + "/" if root else ""
    for name, content in members.items():
        name = name.lstrip("./")
        if name.startswith(prefix) and "__pycache__" not in name.split("/"):
            rel = name[len(prefix) :]
            if rel and not rel.startswith("/") and ".." not in rel.split("/"):
                files[rel] = content
    return _with_digest(files)


def _with_digest(files):
    entries = [(rel, hashlib.sha256(content).hexdigest()) for rel, content in files.items()]
    return {"files": files, "digest": tree_digest(entries)}


def check_digest(backend, expected, label):
    """Refuse a backend whose tree digest is not the expected one."""
    if expected and backend["digest"] != expected:
        raise TritonCpuError(
            "checksum mismatch for NVIDIA's vLLM backend from %s: its src/ tree digest is "
            "sha256:%s, expected sha256:%s. Point triton_vllm_backend_src at the release that "
            "triton_vllm_backend_release names, or, for a copy you changed on purpose, set "
            "triton_vllm_backend_checksum to its digest" % (label, backend["digest"], expected)
        )
    return backend


def label_of(b):
    """How a plan's backend is named in messages: release and source."""
    return "%s from %s" % (b["release"], b["src"])


def local_backend(b):
    """The backend of a folder or local-archive source (plan kinds dir, archive), checked by its
    tree digest; None for a source to download (kinds release, url)."""
    if b["kind"] == "dir":
        return check_digest(backend_from_dir(b["src"]), b["sha256"], label_of(b))
    if b["kind"] == "archive":
        if not os.path.isfile(b["src"]):
            raise TritonCpuError(
                "triton_vllm_backend_src %s does not exist: set it to a release archive of "
                "triton-inference-server/vllm_backend, a checkout folder, or leave it empty"
                % b["src"]
            )
        with open(b["src"], "rb") as f:
            return check_digest(backend_from_archive(f.read(), b["src"]), b["sha256"], label_of(b))
    return None


def cached_backend(b, cache_dir):
    """The downloaded archive of a release or URL source from the cache when it holds the
    expected tree; None otherwise (a stale or damaged copy is downloaded again)."""
    path = os.path.join(cache_dir or "/nonexistent", cache_name(b["src"]))
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            backend = backend_from_archive(f.read(), path)
    except TritonCpuError:
        return None
    return backend if backend["digest"] == b["sha256"] else None


def downloaded_backend(b, data):
    """The backend of a downloaded archive (bytes), checked by its tree digest."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise TritonCpuError("%s is larger than 64 MiB: not a backend archive" % b["src"])
    return check_digest(backend_from_archive(data, b["src"]), b["sha256"], label_of(b))


def write_backend(backend, dest):
    """Write the backend's files into dest (a new, empty folder)."""
    for rel, content in sorted(backend["files"].items()):
        path = os.path.join(dest, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o644)


def cache_name(url):
    """File name under the download cache for an archive URL."""
    base = posixpath.basename(url.split("?", 1)[0]) or "archive"
    return "vllm_backend-%s" % base


def replace_dir(new, final):
    """Move the folder `new` to `final`, replacing what was there."""
    old = final + ".old"
    if os.path.lexists(old):
        shutil.rmtree(old)
    if os.path.lexists(final):
        os.rename(final, old)
    os.rename(new, final)
    if os.path.lexists(old):
        shutil.rmtree(old)
