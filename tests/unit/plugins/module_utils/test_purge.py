# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_purge: what a purge removes, which parents it leaves, which paths it refuses; remove() on
a real tree."""

import os

from ansible_collections.llmserve.triton.plugins.module_utils._purge import (
    plan,
    remove,
    validate,
)


def host(tree):
    """exists/listdir over a set of paths (folders are the prefixes of the others)."""
    every = set()
    for path in tree:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            every.add("/" + "/".join(parts[:i]))

    def listdir(path):
        return sorted({p[len(path) + 1 :].split("/")[0] for p in every if p.startswith(path + "/")})

    return every.__contains__, listdir


def test_removes_what_exists_and_the_parents_left_empty_deepest_first():
    exists, listdir = host(
        [
            "/opt/llmserve/vllm-cpu/bin/python",
            "/opt/llmserve/tools/uv-0.13.9/bin/uv",
            "/var/lib/llmserve/models/demo/config.json",
        ]
    )
    out = plan(
        [
            "/opt/llmserve/vllm-cpu",
            "/opt/llmserve/tools",
            "/var/cache/llmserve",
            "/var/lib/llmserve/models/demo",
            "/opt/llmserve/vllm-cpu/",
        ],
        ["/opt/llmserve", "/var/lib/llmserve", "/var/lib/llmserve/models", "/var/log/llmserve"],
        exists,
        listdir,
    )
    assert out["remove"] == [
        "/opt/llmserve/vllm-cpu",
        "/opt/llmserve/tools",
        "/var/lib/llmserve/models/demo",
    ]
    assert out["absent"] == ["/var/cache/llmserve"]
    # models/ empties first, which empties /var/lib/llmserve; a missing parent is no parent.
    assert out["parents"] == ["/var/lib/llmserve/models", "/var/lib/llmserve", "/opt/llmserve"]


def test_a_file_of_someone_else_keeps_its_parent():
    exists, listdir = host(["/opt/llmserve/vllm-cpu/bin/python", "/opt/llmserve/notes.txt"])
    out = plan(["/opt/llmserve/vllm-cpu"], ["/opt/llmserve"], exists, listdir)
    assert out["remove"] == ["/opt/llmserve/vllm-cpu"]
    assert out["parents"] == []


def test_refuses_shallow_relative_and_dotdot_paths():
    errors = validate(
        ["/opt", "/var/lib", "relative/dir", "/opt/llmserve/../x", "/opt/llmserve/vllm-cpu"],
        ["/", "/opt/llmserve"],
    )
    assert len(errors) == 5
    assert "paths: '/opt' is too shallow" in errors[0]
    assert "'relative/dir' is not an absolute path" in errors[2]
    assert "'/opt/llmserve/../x'" in errors[3]
    assert errors[4].startswith("empty_parents: '/' is too shallow")
    assert validate(["/opt/llmserve/vllm-cpu"], ["/opt/llmserve"]) == []


def test_remove_takes_trees_files_and_links(tmp_path):
    tree = tmp_path / "a" / "b"
    tree.mkdir(parents=True)
    (tree / "f").write_text("x")
    link = tmp_path / "link"
    os.symlink(str(tree), str(link))
    remove(str(link))  # the link, not what it points to
    assert not os.path.lexists(str(link)) and (tree / "f").exists()
    remove(str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()
    (tmp_path / "file").write_text("y")
    remove(str(tmp_path / "file"))
    assert not (tmp_path / "file").exists()
