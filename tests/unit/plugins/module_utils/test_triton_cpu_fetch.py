# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _triton_cpu_fetch: the backend read from a folder, a .tar.gz laid out like
GitHub's archive of a commit (a top folder), and a .zip; checked by the tree digest."""

import io
import os
import tarfile
import zipfile

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _triton_cpu_fetch as f
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import TritonCpuError

FILES = {
    "src/model.py": b"import utils.metrics\n",
    "src/utils/metrics.py": b"BUCKETS = 1\n",
    "src/utils/__pycache__/metrics.cpython-311.pyc": b"\0",
    "samples/model_repository/vllm_model/1/model.json": b"{}",
    "README.md": b"# vllm backend\n",
}


def checkout(tmp_path):
    for rel, content in FILES.items():
        path = tmp_path / "vllm_backend" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return str(tmp_path / "vllm_backend")


def targz(top="vllm_backend-c70d654"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for rel, content in FILES.items():
            info = tarfile.TarInfo("%s/%s" % (top, rel))
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_folder_and_archives_give_the_same_files_and_digest(tmp_path):
    from_dir = f.backend_from_dir(checkout(tmp_path))
    from_tar = f.backend_from_archive(targz(), "archive.tar.gz")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, content in FILES.items():
            zf.writestr("vllm_backend-r26.01/" + rel, content)
    from_zip = f.backend_from_archive(buf.getvalue(), "archive.zip")
    assert sorted(from_dir["files"]) == ["model.py", "utils/metrics.py"]
    assert from_dir["files"] == from_tar["files"] == from_zip["files"]
    assert from_dir["digest"] == from_tar["digest"] == from_zip["digest"]


def test_checksum_mismatch_names_both_digests_and_the_variable(tmp_path):
    backend = f.backend_from_dir(checkout(tmp_path))
    with pytest.raises(TritonCpuError) as exc:
        f.check_digest(backend, "0" * 64, "r26.01 from /srv/x")
    msg = str(exc.value)
    assert "checksum mismatch" in msg and backend["digest"] in msg and "0" * 64 in msg
    assert "triton_vllm_backend_checksum" in msg
    assert f.check_digest(backend, backend["digest"], "x") is backend


def test_missing_folder_and_foreign_content_are_refused(tmp_path):
    with pytest.raises(TritonCpuError, match="does not exist"):
        f.backend_from_dir(str(tmp_path / "nowhere"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "README.md").write_text("not a backend")
    with pytest.raises(TritonCpuError, match="holds no model.py"):
        f.backend_from_dir(str(tmp_path / "other"))
    with pytest.raises(TritonCpuError, match="not a readable"):
        f.backend_from_archive(b"<html>404</html>", "https://example.org/x.tar.gz")


def test_write_backend_and_replace_dir(tmp_path):
    backend = f.backend_from_archive(targz(), "a.tar.gz")
    new = tmp_path / "server.new"
    f.write_backend(backend, str(new / "vllm"))
    assert (new / "vllm" / "utils" / "metrics.py").read_bytes() == b"BUCKETS = 1\n"
    final = tmp_path / "server"
    final.mkdir()
    (final / "old").write_text("old")
    f.replace_dir(str(new), str(final))
    assert sorted(os.listdir(final)) == ["vllm"] and not os.path.exists(str(final) + ".old")


def test_cache_name_keeps_the_archive_name():
    url = "https://github.com/triton-inference-server/vllm_backend/archive/c70d654.tar.gz"
    assert f.cache_name(url) == "vllm_backend-c70d654.tar.gz"


def plan_backend(kind, src, digest):
    return {"release": "r26.01", "kind": kind, "src": src, "sha256": digest}


def test_local_backend_of_a_folder_an_archive_and_a_download_source(tmp_path):
    digest = f.backend_from_archive(targz(), "a.tar.gz")["digest"]
    assert f.local_backend(plan_backend("dir", checkout(tmp_path), digest))["digest"] == digest
    archive = tmp_path / "vllm_backend-r26.01.tar.gz"
    archive.write_bytes(targz())
    assert f.local_backend(plan_backend("archive", str(archive), digest))["digest"] == digest
    assert f.local_backend(plan_backend("url", "https://example.org/x.tar.gz", digest)) is None
    with pytest.raises(TritonCpuError, match="triton_vllm_backend_src .* does not exist"):
        f.local_backend(plan_backend("archive", str(tmp_path / "gone.tar.gz"), digest))
    with pytest.raises(TritonCpuError, match="checksum mismatch"):
        f.local_backend(plan_backend("archive", str(archive), "1" * 64))


def test_cached_backend_only_when_the_cache_holds_the_expected_tree(tmp_path):
    url = "https://github.com/triton-inference-server/vllm_backend/archive/c70d654.tar.gz"
    digest = f.backend_from_archive(targz(), "a.tar.gz")["digest"]
    b = plan_backend("release", url, digest)
    assert f.cached_backend(b, str(tmp_path)) is None
    (tmp_path / f.cache_name(url)).write_bytes(targz())
    assert f.cached_backend(b, str(tmp_path))["digest"] == digest
    assert f.cached_backend(dict(b, sha256="2" * 64), str(tmp_path)) is None
    (tmp_path / f.cache_name(url)).write_bytes(b"truncated download")
    assert f.cached_backend(b, str(tmp_path)) is None


def test_downloaded_backend_is_checked(tmp_path):
    digest = f.backend_from_archive(targz(), "a.tar.gz")["digest"]
    b = plan_backend("url", "https://example.org/x.tar.gz", digest)
    assert f.downloaded_backend(b, targz())["digest"] == digest
    with pytest.raises(TritonCpuError, match="checksum mismatch"):
        f.downloaded_backend(dict(b, sha256="3" * 64), targz())
