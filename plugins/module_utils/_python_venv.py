# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Logic of the python_venv module: what a venv should hold (the spec), the install steps
that put it there, and the runner that takes them with uv or pip.

A venv's spec (packages, the ones installed first from an index of their own, dependencies
left out, metadata aliases, the main index, the Python version) is recorded in a state file
inside it after a successful install; the same spec again is a no-op that starts no
installer. The installer is not part of the spec: switching it does not reinstall (the
state notes which one installed it).

Steps (plan_steps): each ``preinstall`` requirement without dependencies, from its own extra
index (only that package is looked up there); then either the packages with their
dependencies, or, when some are left out, the packages without dependencies followed by
their ``Requires-Dist`` for this platform (no extras, first level; markers evaluated in the
venv with ``packaging``, or the copy pip vendors) minus the excluded ones;
then the aliases (metadata-only distributions, for a package that looks itself up under
another name). Everything but Installer is pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import fcntl
import json
import os
import re
import shutil
import subprocess

from ansible_collections.llmserve.triton.plugins.module_utils import _pip_sources as sources

STATE_FILE = ".llmserve-install.json"
INSTALLER_MARK = "llmserve.triton"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Run with the venv's Python: the first-level Requires-Dist of the named distributions that
# apply on this platform (markers evaluated without extras), as [name, requirement] rows.
REQUIRES_SNIPPET = """
import importlib.metadata as md, json, sys
try:
    from packaging.requirements import Requirement
except ImportError:  # the copy pip vendors (the venv's pip): nothing extra installed for it
    from pip._vendor.packaging.requirements import Requirement
rows = []
for dist in json.loads(sys.argv[1]):
    for line in md.requires(dist) or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        rows.append([req.name, str(req).split(";", 1)[0].strip()])
print(json.dumps(rows))
"""
VERSION_SNIPPET = (
    "import sys, sysconfig; print('%d.%d' % sys.version_info[:2]); "
    "print(sysconfig.get_paths()['purelib'])"
)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement):
    """The distribution name of a requirement string (``tritonclient[grpc]==2.46.0``)."""
    m = _NAME.match(requirement)
    if not m:
        raise ValueError("not a requirement: %r" % requirement)
    return m.group(1)


def validate(params):
    """Errors in the module's parameters, each naming the option."""
    errors = []
    for opt in ("packages",):
        for req in params[opt]:
            try:
                requirement_name(req)
            except ValueError:
                errors.append("%s: %r is not a requirement (name[extras]specifier)" % (opt, req))
    for i, pre in enumerate(params["preinstall"]):
        if not pre.get("requirement"):
            errors.append("preinstall[%d].requirement is empty" % i)
    for name, version in params["aliases"].items():
        if not _NAME.match(name) or not str(version).strip() or re.search(r"[\s/]", str(version)):
            errors.append(
                "aliases: %r: %r is not a distribution name and version" % (name, version)
            )
    if not params["packages"]:
        errors.append("packages is empty: name at least one requirement")
    return errors


def unpinned(requirements):
    """The requirements not pinned to one version (``==``/``===``) or to a URL (``@``)."""
    return [r for r in requirements if not re.search(r"===?|\s@\s", r)]


def spec_of(params, python_version, redacted=True):
    """What the venv should hold: redacted (credentials in index URLs masked), as the state
    file records and the module returns it; plan_steps() takes the unredacted one."""
    hide = sources.redact if redacted else (lambda url: url)
    return {
        "packages": list(params["packages"]),
        "preinstall": [
            {"requirement": p["requirement"], "index_url": hide(p.get("index_url") or "")}
            for p in params["preinstall"]
        ],
        "exclude_dependencies": sorted(set(canonical(x) for x in params["exclude_dependencies"])),
        "aliases": dict(sorted((k, str(v)) for k, v in params["aliases"].items())),
        "index_url": hide(params["index_url"] or ""),
        "python": python_version,
    }


def installed_spec(state):
    """The spec a state file records (the installer it notes is not part of it)."""
    if not isinstance(state, dict):
        return None
    return {k: v for k, v in state.items() if k != "installed_with"}


def summary(spec, installer, path, state):
    """One line on what the module does or did with the venv at path; state is "would"
    (check mode), "installed" or "holds"."""
    wanted = [pre["requirement"] for pre in spec["preinstall"]] + list(spec["packages"])
    if state == "holds":
        return "%s holds %s" % (path, ", ".join(wanted))
    verb = "Check mode, nothing downloaded: would fetch" if state == "would" else "installed"
    return "%s %s with %s into %s" % (verb, ", ".join(wanted), installer, path)


def plan_steps(spec):
    """The install steps of spec: {"install": [args], "extra_index_url": str} or
    {"dependencies_of": [names], "pins": [requirements]} (installed from the Requires-Dist
    read after the packages are in) or {"aliases": {name: version}}."""
    steps = []
    excluding = bool(spec["exclude_dependencies"])
    for pre in spec["preinstall"]:
        steps.append(
            {"install": ["--no-deps", pre["requirement"]], "extra_index_url": pre["index_url"]}
        )
    pins = [pre["requirement"] for pre in spec["preinstall"]]
    if excluding:
        steps.append({"install": ["--no-deps"] + spec["packages"], "extra_index_url": ""})
        steps.append(
            {"dependencies_of": [requirement_name(p) for p in spec["packages"]], "pins": pins}
        )
    else:
        steps.append({"install": pins + spec["packages"], "extra_index_url": ""})
    if spec["aliases"]:
        steps.append({"aliases": spec["aliases"]})
    return steps


def wanted_dependencies(rows, exclude, own):
    """Requirements from REQUIRES_SNIPPET rows minus the excluded names and the packages
    themselves (``own``: names), each once, in order."""
    skip = set(canonical(x) for x in exclude) | set(canonical(x) for x in own)
    out = []
    for name, req in rows:
        if canonical(name) not in skip and req not in out:
            out.append(req)
    return out


def dist_info(name, version):
    """The .dist-info folder name of a distribution (its name normalized, with underscores:
    uv reads ``a-b-1.0.dist-info`` as distribution ``a`` at version ``b-1.0`` and fails)."""
    return "%s-%s.dist-info" % (canonical(name).replace("-", "_"), version)


def alias_files(purelib, name, version):
    """{path: content} of a metadata-only distribution ``name`` at ``version``."""
    d = os.path.join(purelib, dist_info(name, version))
    return {
        os.path.join(d, "METADATA"): "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
        % (name, version),
        os.path.join(d, "INSTALLER"): INSTALLER_MARK + "\n",
    }


def stale_aliases(entries, name, version, installer_of):
    """dist-info folders in ``entries`` (a purelib listing) of alias ``name`` at another
    version that this module wrote (``installer_of(entry)`` is INSTALLER_MARK)."""
    keep = dist_info(name, version)
    prefix = canonical(name)
    out = []
    for entry in entries:
        if not entry.endswith(".dist-info") or entry == keep:
            continue
        if canonical(entry[: -len(".dist-info")].rsplit("-", 1)[0]) != prefix:
            continue
        if installer_of(entry) == INSTALLER_MARK:
            out.append(entry)
    return sorted(out)


def tail(text, lines=15):
    return " | ".join(sources.redact(text).strip().splitlines()[-lines:])


class InstallError(Exception):
    pass


def _run(argv, env):
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    out, err = (b.decode("utf-8", "replace") for b in (proc.stdout, proc.stderr))
    return proc.returncode, out, err


class Installer:
    """Takes the steps of plan_steps() in a venv, with uv (pinned, installed on first use into
    ``<tools_dir>/uv-<version>``) or the venv's pip; pip's and uv's caches under cache_dir.

    ``run(argv, env) -> (rc, stdout, stderr)``; ``write(path, text)`` writes a file."""

    def __init__(self, params, env, run=_run, write=None):
        self.p = params
        self.env = dict(env)
        self.run_fn = run
        self.write = write
        self.commands = []
        self.warnings = []
        self._reach = {}
        self._pip_conf = None
        self.cache_env = (
            sources.cache_environment(params["cache_dir"]) if params["cache_dir"] else {}
        )

    # ---- paths ----
    @property
    def python(self):
        return os.path.join(self.p["path"], "bin", "python")

    @property
    def uv_venv(self):
        return os.path.join(self.p["tools_dir"], "uv-%s" % self.p["uv_version"])

    @property
    def uv(self):
        return os.path.join(self.uv_venv, "bin", "uv")

    # ---- running ----
    def run(self, argv, env=None, what=None, shown=None):
        self.commands.append(sources.redact(shown or " ".join(argv)))
        rc, out, err = self.run_fn(argv, self.env if env is None else env)
        if rc != 0:
            raise InstallError("%s failed (rc %d): %s" % (what or argv[0], rc, tail(err or out)))
        return out

    def interpreter(self, python):
        """(X.Y, purelib) of an interpreter, or None when it does not run."""
        try:
            rc, out, _err = self.run_fn([python, "-c", VERSION_SNIPPET], self.env)
        except OSError:
            return None
        lines = out.split()
        return (lines[0], lines[1]) if rc == 0 and len(lines) == 2 else None

    def venv_interpreter(self):
        """(X.Y, purelib) of the venv's interpreter, or None (missing, or it does not run)."""
        return self.interpreter(self.python) if os.path.exists(self.python) else None

    def ensure_venv(self, base_version, have):
        """The venv's (X.Y, purelib): ``have`` (venv_interpreter()) when it runs the base's
        Python version, else from the venv created (again, --clear)."""
        if have and have[0] == base_version:
            return have
        argv = [self.p["python"], "-m", "venv"] + (
            ["--clear"] if os.path.exists(self.p["path"]) else []
        )
        self.run(argv + [self.p["path"]], what="creating the venv %s" % self.p["path"])
        return self.interpreter(self.python)

    def ensure_uv(self):
        """Install the pinned uv into its tools venv once; True when it did. Under a lock in
        tools_dir: two installs started together (the benchmark role's in the background
        beside the serving venv's) must not build the same tools venv at once."""
        if os.path.exists(self.uv):
            return False
        os.makedirs(self.p["tools_dir"], 0o755, exist_ok=True)  # two at once: both may create it
        with open(
            os.path.join(self.p["tools_dir"], ".uv-%s.lock" % self.p["uv_version"]), "w"
        ) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(self.uv):  # the other one installed it meanwhile
                return False
            return self._install_uv()

    def _install_uv(self):
        self.run([self.p["python"], "-m", "venv", self.uv_venv], what="creating the venv of uv")
        env = dict(self.env, PIP_NO_INPUT="1", **self.cache_env)
        pip = [os.path.join(self.uv_venv, "bin", "python"), "-m", "pip", "install", "-q"]
        self.run(
            pip + ["--disable-pip-version-check", "uv==%s" % self.p["uv_version"]],
            env,
            "installing uv",
        )
        return True

    @property
    def pip_conf(self):
        """pip's effective settings in the task's environment (read once)."""
        if self._pip_conf is None:
            text = self.run([self.python, "-m", "pip", "config", "list"], what="pip config list")
            self._pip_conf = sources.parse_pip_config(text)
        return self._pip_conf

    def _reachable(self, url):
        if url not in self._reach:
            conf = self.pip_conf
            timeout = min(float(conf.get("timeout") or 10), 10.0)
            self._reach[url] = sources.reachable(url, timeout=timeout, cafile=conf.get("cert"))
        return self._reach[url]

    def install(self, args, extra_index_url=""):
        """``pip install args`` with the installer (the spec's index wins over pip's)."""
        index_url = self.p["index_url"]
        if self.p["installer"] == "uv":
            settings = sources.uv_settings(self.pip_conf, index_url, [extra_index_url])
            cmd, extra_env, warnings = sources.uv_command(
                self.uv, self.python, settings, args, self._reachable
            )
            self.warnings += [w for w in warnings if w not in self.warnings]
            env = sources.uv_environment(self.env, extra_env, self.p["cache_dir"])
        else:
            cmd = [self.python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            cmd += ["--index-url", index_url] if index_url else []
            cmd += ["--extra-index-url", extra_index_url] if extra_index_url else []
            cmd += list(args)
            env = dict(self.env, PIP_NO_INPUT="1", **self.cache_env)
        self.run(cmd, env, "installing %s" % " ".join(a for a in args if not a.startswith("-")))

    def take(self, steps, purelib):
        for step in steps:
            if "install" in step:
                self.install(step["install"], step["extra_index_url"])
            elif "dependencies_of" in step:
                argv = [self.python, "-c", REQUIRES_SNIPPET, json.dumps(step["dependencies_of"])]
                shown = "%s -c <Requires-Dist of %s>" % (
                    self.python,
                    " ".join(step["dependencies_of"]),
                )
                out = self.run(argv, what="reading Requires-Dist", shown=shown)
                reqs = wanted_dependencies(
                    json.loads(out), self.p["exclude_dependencies"], step["dependencies_of"]
                )
                self.install(step["pins"] + reqs)
            else:
                for name, version in step["aliases"].items():
                    self.write_alias(purelib, name, version)

    def write_alias(self, purelib, name, version):
        def installer_of(entry):
            try:
                with open(os.path.join(purelib, entry, "INSTALLER")) as f:
                    return f.read().strip()
            except OSError:
                return None

        for entry in stale_aliases(os.listdir(purelib), name, version, installer_of):
            shutil.rmtree(os.path.join(purelib, entry))
        for path, text in alias_files(purelib, name, version).items():
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            self.write(path, text)
