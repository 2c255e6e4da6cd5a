#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: triton_cpu_install
short_description: Lay out NVIDIA's Triton server and vLLM backend for serving on the CPU
version_added: 1.0.0
description:
  - Lays out what the C(triton_cpu) runtime runs, from the plan of
    M(llmserve.triton.serving_runtime) - the Triton server of NVIDIA's C(nvidia-pytriton) wheel
    (pinned by version and sha256; only the server binary, its shared libraries and the Python
    backend with the stub for the venv's Python; PyTriton itself is not installed), NVIDIA's
    vLLM backend (checked by its tree digest), and the stub environment that every model
    names as C(EXECUTION_ENV_PATH) (the serving venv's packages, plus what the plan's
    compatibility measures need).
  - The wheel is fetched with the serving venv's pip (so pip's index and proxy settings
    apply) into O(cache_dir) and reused from there; the backend archive likewise.
  - A marker file records what was laid out; a re-run with the same plan changes nothing and
    fetches nothing. A change rebuilds only the part it touches, in a new folder that then
    replaces the old one.
author:
  - llmserve.triton contributors (@llmserve)
attributes:
  check_mode:
    description: Can run in check mode and report what would change and be fetched.
    support: full
  diff_mode:
    description: Shows the marker (what is laid out) before and after.
    support: full
options:
  dest:
    description: Folder to lay Triton out in.
    type: path
    required: true
  plan:
    description: The C(triton_cpu) return value of M(llmserve.triton.serving_runtime).
    type: dict
    required: true
  serving_venv:
    description: The vLLM CPU venv whose packages the stub environment uses.
    type: path
    required: true
  base_python:
    description: Python that creates the stub environment (the one that created the venv).
    type: path
    required: true
  compat_source:
    description: Source of the compatibility module (C(llmserve_triton_compat.py)).
    type: str
    required: true
  cache_dir:
    description: Download cache for the wheel and the backend archive.
    type: path
    required: true
  timeout:
    description: Seconds a download may take.
    type: int
    default: 600
notes:
  - The layout keeps the wheel's relative paths, so the binaries find their libraries
    through their RPATH without C(LD_LIBRARY_PATH).
seealso:
  - module: llmserve.triton.serving_runtime
"""

EXAMPLES = r"""
- name: Lay out Triton for the CPU
  llmserve.triton.triton_cpu_install:
    dest: /opt/llmserve/triton-cpu
    plan: "{{ llmserve_runtime_choice.triton_cpu }}"
    serving_venv: /opt/llmserve/vllm-cpu
    base_python: /usr/bin/python3
    compat_source: "{{ lookup('ansible.builtin.file', 'llmserve_triton_compat.py') }}"
    cache_dir: /var/cache/llmserve
"""

RETURN = r"""
parts:
  description: The parts laid out again (C(server), C(stub_env)); empty when nothing changed.
  returned: always
  type: list
  elements: str
fetched:
  description: What was (or, in check mode, would be) downloaded.
  returned: always
  type: list
  elements: str
tritonserver:
  description: Path of the C(tritonserver) binary.
  returned: always
  type: str
backend_directory:
  description: The C(--backend-directory) of the server (holds C(python/) and C(vllm/)).
  returned: always
  type: str
stub_env:
  description: The C(EXECUTION_ENV_PATH) of the models.
  returned: always
  type: str
spec:
  description: What the marker records (wheel, backend release and digest, measures, ...).
  returned: always
  type: dict
"""

import hashlib
import json
import os
import shutil
import tempfile
import zipfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu import (
    COMPAT_MODULE,
    LIBS_DIR,
    MARKER,
    SERVER_DIR,
    TRITON_ROOT,
    TritonCpuError,
    changed_parts,
    layout_paths,
    layout_spec,
    missing_members,
    pth_lines,
    wheel_members,
)
from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu_fetch import (
    MAX_ARCHIVE_BYTES,
    cache_name,
    cached_backend,
    downloaded_backend,
    local_backend,
    replace_dir,
    sha256_file,
    write_backend,
)


def read_marker(dest):
    try:
        with open(os.path.join(dest, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run(module, argv, what):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s failed (exit %s): %s" % (what, rc, (err or out).strip()[-2000:]))
    return out


def fetch_wheel(module, plan, cache_dir, pip_python):
    """The verified wheel in the cache; downloaded with the venv's pip when missing."""
    path = os.path.join(cache_dir, plan["filename"])
    if os.path.isfile(path) and sha256_file(path) == plan["sha256"]:
        return path, False
    tmp = tempfile.mkdtemp(prefix=".wheel-", dir=cache_dir)
    try:
        run(
            module,
            [
                pip_python,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--dest",
                tmp,
                plan["wheel"],
            ],
            "pip download %s" % plan["wheel"],
        )
        got = os.path.join(tmp, plan["filename"])
        if not os.path.isfile(got):
            module.fail_json(
                msg="pip download %s did not give %s (got: %s): the wheel is built for "
                "x86_64 Linux with glibc >= 2.35 only"
                % (plan["wheel"], plan["filename"], ", ".join(os.listdir(tmp)) or "nothing")
            )
        digest = sha256_file(got)
        if digest != plan["sha256"]:
            module.fail_json(
                msg="checksum mismatch for %s: sha256 %s, expected %s (the data in "
                "roles/triton_vllm/vars/triton_cpu.yml); the index served a different file"
                % (plan["filename"], digest, plan["sha256"])
            )
        os.replace(got, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path, True


def get_backend(module, plan, cache_dir, timeout):
    """The backend's files, checked by their tree digest; (backend, fetched URL or None)."""
    b = plan["backend"]
    backend = local_backend(b) or cached_backend(b, cache_dir)
    if backend is not None:
        return backend, None
    try:
        data = open_url(b["src"], timeout=timeout).read(MAX_ARCHIVE_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - report any download failure with the URL
        module.fail_json(msg="download of NVIDIA's vLLM backend %s failed: %s" % (b["src"], exc))
    backend = downloaded_backend(b, data)
    cached = os.path.join(cache_dir, cache_name(b["src"]))
    with open(cached + ".tmp", "wb") as f:
        f.write(data)
    os.replace(cached + ".tmp", cached)
    return backend, b["src"]


def build_server(module, plan, dest, cache_dir, pip_python, timeout):
    fetched = []
    wheel, downloaded = fetch_wheel(module, plan, cache_dir, pip_python)
    if downloaded:
        fetched.append(plan["wheel"])
    backend, url = get_backend(module, plan, cache_dir, timeout)
    if url:
        fetched.append(url)
    new = os.path.join(dest, SERVER_DIR + ".new")
    shutil.rmtree(new, ignore_errors=True)
    os.makedirs(new)
    with zipfile.ZipFile(wheel) as zf:
        members = wheel_members(zf.namelist(), plan["python_minor"])
        gone = missing_members(members, plan["python_minor"])
        if gone:
            module.fail_json(msg="%s lacks %s" % (plan["filename"], ", ".join(gone)))
        for name, rel in members:
            target = os.path.join(new, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(name) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            executable = rel.endswith(("/tritonserver", "/triton_python_backend_stub"))
            os.chmod(target, 0o755 if executable or rel.startswith(LIBS_DIR) else 0o644)
    write_backend(backend, os.path.join(new, TRITON_ROOT, "backends", "vllm"))
    replace_dir(new, os.path.join(dest, SERVER_DIR))
    return fetched


def build_stub_env(module, plan, dest, base_python, serving_venv, compat_source):
    """Made in place (a venv records its own path); the marker, written last, makes an
    interrupted build be redone."""
    p = layout_paths(dest, plan["python_minor"])
    shutil.rmtree(p["stub_env"], ignore_errors=True)
    run(module, [base_python, "-m", "venv", "--without-pip", p["stub_env"]], "python -m venv")
    if not os.path.isdir(p["stub_site"]):
        module.fail_json(
            msg="%s made no %s: is it Python %s?"
            % (base_python, p["stub_site"], plan["python_minor"])
        )
    if plan["stub_numpy"]:
        run(
            module,
            [
                os.path.join(serving_venv, "bin", "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--disable-pip-version-check",
                "--target",
                p["stub_site"],
                plan["stub_numpy"],
            ],
            "pip install %s into the stub environment" % plan["stub_numpy"],
        )
    with open(os.path.join(p["stub_site"], COMPAT_MODULE + ".py"), "w", encoding="utf-8") as f:
        f.write(compat_source)
    venv_site = os.path.join(
        serving_venv, "lib", "python%s" % plan["python_minor"], "site-packages"
    )
    for name, text in pth_lines(plan["measures"], venv_site).items():
        with open(os.path.join(p["stub_site"], name), "w", encoding="utf-8") as f:
            f.write(text)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            plan=dict(type="dict", required=True),
            serving_venv=dict(type="path", required=True),
            base_python=dict(type="path", required=True),
            compat_source=dict(type="str", required=True),
            cache_dir=dict(type="path", required=True),
            timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    prm = module.params
    plan, dest = prm["plan"], prm["dest"]
    compat_sha = hashlib.sha256(prm["compat_source"].encode("utf-8")).hexdigest()
    spec = layout_spec(plan, prm["serving_venv"], compat_sha)
    old = read_marker(dest)
    p = layout_paths(dest, plan["python_minor"])
    parts = changed_parts(old, spec)
    if not os.access(p["tritonserver"], os.X_OK):
        parts.add("server")
    if not os.path.isdir(p["stub_site"]):
        parts.add("stub_env")
    result = dict(
        changed=bool(parts),
        parts=sorted(parts),
        fetched=[],
        spec=spec,
        **{k: v for k, v in p.items() if k != "stub_site"},
    )
    if module._diff:
        result["diff"] = {
            "before_header": os.path.join(dest, MARKER),
            "after_header": os.path.join(dest, MARKER),
            "before": json.dumps(old, indent=1, sort_keys=True) + "\n" if old else "",
            "after": json.dumps(spec, indent=1, sort_keys=True) + "\n",
        }
    if not parts:
        module.exit_json(**result)
    pip_python = os.path.join(prm["serving_venv"], "bin", "python")
    if module.check_mode:
        wheel_cached = os.path.isfile(os.path.join(prm["cache_dir"], plan["filename"]))
        if "server" in parts and not wheel_cached:
            result["fetched"].append(plan["wheel"])
        if "server" in parts and plan["backend"]["kind"] in ("release", "url"):
            result["fetched"].append(plan["backend"]["src"])
        module.exit_json(**result)
    if not os.access(pip_python, os.X_OK):
        module.fail_json(
            msg="the serving venv %s has no python: install it first" % prm["serving_venv"]
        )
    for folder in (dest, prm["cache_dir"]):
        os.makedirs(folder, mode=0o755, exist_ok=True)
    try:
        if "server" in parts:
            result["fetched"] = build_server(
                module, plan, dest, prm["cache_dir"], pip_python, prm["timeout"]
            )
        if "stub_env" in parts:
            build_stub_env(
                module, plan, dest, prm["base_python"], prm["serving_venv"], prm["compat_source"]
            )
    except TritonCpuError as exc:
        module.fail_json(msg=str(exc), **result)
    except OSError as exc:
        module.fail_json(msg="laying out Triton in %s failed: %s" % (dest, exc), **result)
    with open(os.path.join(dest, MARKER + ".tmp"), "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1, sort_keys=True)
    module.atomic_move(os.path.join(dest, MARKER + ".tmp"), os.path.join(dest, MARKER))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
