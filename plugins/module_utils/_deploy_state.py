# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record of a converged native deploy, and its comparison with the host (deploy_state).

At the end of a verified deploy of a native runtime (triton_cpu, vllm_cpu) the serving role
records in a root-only JSON file (the *state file*):

- ``inputs``: one sha256 per part of what the deploy was computed from (the role's variables,
  the runtime plan, the model facts, the role's and the collection's code, the fingerprint
  spec itself), so that a differing part can be named;
- ``host``: a fingerprint of what the deploy left on the host (see host_fingerprint): sha256,
  owner and mode of each managed file, every file of the managed trees (the model
  repository, the demo model), owner and mode of the managed directories, the names in each
  venv's site-packages, the OS packages, the service account, and the server process (PID and
  start time, /proc/PID/stat field 22; never looked up by name) plus the other CPU runtime's
  service (not running).

A re-run compares the recorded state with the current inputs and a fresh fingerprint
(compare): equal means converged, and the role skips the install, layout and service tasks;
each difference is a reason, in words. Everything here is pure functions of paths and text,
tested on captured data; the module (plugins/modules/deploy_state.py) only reads the host,
runs ``systemctl show`` where systemd is the service manager, and writes the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import glob
import grp
import hashlib
import json
import os
import pwd
import stat

from ansible_collections.llmserve.triton.plugins.module_utils._triton_cpu_fetch import sha256_file

FORMAT = 1
# The pidfiles of files/llmserve_supervisor.py in a service's run dir.
DAEMON_PIDFILES = ("supervisor.pid", "server.pid")
# `systemctl show -p` properties read for each unit.
SYSTEMD_PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState", "MainPID")
# Trees are small (a model repository, the demo model); a bigger one is a wrong path.
MAX_TREE_FILES = 2000
# Names of the inputs parts, in words (the reasons name them).
PART_WORDS = {
    "runtime": "the runtime",
    "plan": "the runtime plan (llmserve_runtime_choice)",
    "model": "the model facts",
    "vars": "the role variables",
    "source": "the role's or the collection's code",
    "spec": "the list of what is fingerprinted",
}


class DeployStateError(Exception):
    pass


def digest(value):
    """sha256 of a JSON value, independent of key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_digests(inputs):
    """{part: sha256} of each top-level part of the inputs."""
    return dict((key, digest(value)) for key, value in inputs.items())


def _owner_mode(st):
    return {"uid": st.st_uid, "gid": st.st_gid, "mode": "%04o" % stat.S_IMODE(st.st_mode)}


def file_fingerprint(path):
    """{sha256, uid, gid, mode} of a regular file (followed through links), or None when it is
    absent. A directory or other non-file counts as {"type": ...}."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return {"type": "not a regular file"}
    out = _owner_mode(st)
    out["sha256"] = sha256_file(path)
    return out


def dir_fingerprint(path):
    """{uid, gid, mode} of a directory, or None when it is absent (a file there counts as
    {"type": ...})."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return {"type": "not a directory"}
    return _owner_mode(st)


def tree_fingerprint(root, max_files=MAX_TREE_FILES):
    """{relative path: sha256 (or "-> target" for a link)} of every file under root, or None
    when root is not a directory."""
    if not os.path.isdir(root):
        return None
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [
            d for d in dirnames if os.path.islink(os.path.join(dirpath, d))
        ]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = "-> " + os.readlink(full)
            elif os.path.isfile(full):
                out[rel] = sha256_file(full)
            if len(out) > max_files:
                raise DeployStateError(
                    "%s holds more than %d files: not a tree this role manages" % (root, max_files)
                )
    return out


def venv_fingerprint(venv):
    """What a venv holds, cheaply: its interpreter's presence, pyvenv.cfg's sha256 and the
    sorted names in each lib/python*/site-packages (dist-info folders carry the versions).
    None when the venv is absent."""
    if not os.path.isdir(venv):
        return None
    cfg = os.path.join(venv, "pyvenv.cfg")
    out = {
        "python": os.path.exists(os.path.join(venv, "bin", "python")),
        "pyvenv_cfg": sha256_file(cfg) if os.path.isfile(cfg) else None,
        "site_packages": {},
    }
    for site in sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages"))):
        out["site_packages"][os.path.relpath(site, venv)] = sorted(os.listdir(site))
    return out


def parse_dpkg_status(text, names):
    """{name: version} of the packages of ``names`` that /var/lib/dpkg/status (``text``)
    lists as "install ok installed"; a package not installed maps to None."""
    wanted = set(names)
    out = dict((n, None) for n in names)
    for para in text.split("\n\n"):
        fields = {}
        for line in para.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key] = value.strip()
        name = fields.get("Package")
        if name in wanted and fields.get("Status") == "install ok installed":
            arch = fields.get("Architecture", "")
            version = fields.get("Version", "")
            prev = out.get(name)
            entry = "%s %s" % (version, arch)
            out[name] = entry if prev is None else " ".join(sorted({prev, entry}))
    return out


def accounts_fingerprint(users, groups):
    """{"user NAME": [uid, gid, home, shell] or None, "group NAME": gid or None}."""
    out = {}
    for name in users:
        try:
            pw = pwd.getpwnam(name)
            out["user " + name] = [pw.pw_uid, pw.pw_gid, pw.pw_dir, pw.pw_shell]
        except KeyError:
            out["user " + name] = None
    for name in groups:
        try:
            out["group " + name] = grp.getgrnam(name).gr_gid
        except KeyError:
            out["group " + name] = None
    return out


def parse_proc_stat(text):
    """(state, start time in clock ticks since boot) from the text of /proc/PID/stat; the
    command name (field 2) may hold spaces and parentheses, so fields are counted after the
    last ')'. Field 22 is the start time."""
    rest = text.rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state), so field N is rest[N - 3].
    return rest[0], int(rest[22 - 3])


def process_fingerprint(pid, proc="/proc"):
    """{pid, start} of a live process, or None when it is gone or a zombie."""
    if not pid:
        return None
    try:
        with open(os.path.join(proc, str(pid), "stat"), encoding="ascii", errors="replace") as f:
            state, start = parse_proc_stat(f.read())
    except (OSError, ValueError, IndexError):
        return None
    if state in ("Z", "X"):
        return None
    return {"pid": int(pid), "start": start}


def read_pidfile(path):
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def daemon_processes(run_dir, proc="/proc"):
    """{pidfile name: process fingerprint or None} of a supervised daemon's run dir."""
    return dict(
        (name, process_fingerprint(read_pidfile(os.path.join(run_dir, name)), proc))
        for name in DAEMON_PIDFILES
    )


def systemctl_show_argv(units):
    return ["systemctl", "show", "-p", ",".join(SYSTEMD_PROPERTIES)] + list(units)


def parse_systemctl_show(text):
    """{unit Id: {property: value}} of `systemctl show -p ... UNIT...` (one block per unit,
    blank-line separated)."""
    out = {}
    for block in text.strip().split("\n\n"):
        props = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        if props.get("Id"):
            out[props["Id"]] = props
    return out


def systemd_unit_fingerprint(props, proc="/proc"):
    """What matters of a unit: loaded, active, enabled, and its main process."""
    if not props or props.get("LoadState") != "loaded":
        return None
    pid = int(props.get("MainPID") or 0)
    return {
        "active": props.get("ActiveState"),
        "enabled": props.get("UnitFileState"),
        "main": process_fingerprint(pid, proc) if pid else None,
    }


def use_systemd(manager, systemd_dir="/run/systemd/system"):
    """The CPU runtimes' rule (tasks/cpu_common.yml): systemd when asked, or when auto and
    systemd is PID 1."""
    return manager == "systemd" or (manager == "auto" and os.path.isdir(systemd_dir))


def host_fingerprint(spec, systemd_show=None, dpkg_status=None, proc="/proc"):
    """The fingerprint of what a deploy left on the host, for a spec of
    {files, trees, dirs, venvs, packages, users, groups, service, stopped}.

    ``systemd_show``: {unit: properties} (parse_systemctl_show) when the services run under
    systemd, else None (supervised daemons, read from their run dirs). ``dpkg_status``: the text
    of /var/lib/dpkg/status, or None on a host without dpkg (packages are then not checked).
    """
    out = {
        "files": dict((p, file_fingerprint(p)) for p in spec.get("files") or []),
        "trees": dict((p, tree_fingerprint(p)) for p in spec.get("trees") or []),
        "dirs": dict((p, dir_fingerprint(p)) for p in spec.get("dirs") or []),
        "venvs": dict((p, venv_fingerprint(p)) for p in spec.get("venvs") or []),
        "accounts": accounts_fingerprint(spec.get("users") or [], spec.get("groups") or []),
    }
    if dpkg_status is not None:
        out["packages"] = parse_dpkg_status(dpkg_status, spec.get("packages") or [])
    service = spec.get("service") or {}
    stopped = spec.get("stopped") or []
    if systemd_show is not None:
        unit = service.get("name", "") + ".service"
        out["server"] = {"systemd " + unit: systemd_unit_fingerprint(systemd_show.get(unit), proc)}
        out["others"] = {}
        for other in stopped:
            o_unit = other["name"] + ".service"
            fp = systemd_unit_fingerprint(systemd_show.get(o_unit), proc)
            # Stopped (or absent) is what a deploy leaves; only a running one matters.
            out["others"]["systemd " + o_unit] = fp if fp and fp["active"] != "inactive" else None
    else:
        out["server"] = dict(
            ("%s/%s" % (service.get("run_dir", ""), k), v)
            for k, v in daemon_processes(service.get("run_dir", ""), proc).items()
        )
        out["others"] = {}
        for other in stopped:
            for k, v in daemon_processes(other["run_dir"], proc).items():
                out["others"]["%s/%s" % (other["run_dir"], k)] = v
    return out


def server_pid(host):
    """The server's PID in a host fingerprint (the daemon's server.pid or the unit's MainPID)."""
    for key, value in (host.get("server") or {}).items():
        if key.endswith("/server.pid") and value:
            return value["pid"]
        if key.startswith("systemd ") and value and value.get("main"):
            return value["main"]["pid"]
    return None


def state_document(inputs, host):
    return {"format": FORMAT, "inputs": inputs_digests(inputs), "host": host}


def _describe_process(what, old, new):
    if old and not new:
        return "%s: PID %s is gone" % (what, old["pid"])
    if new and not old:
        return "%s: PID %s runs, none was recorded" % (what, new["pid"])
    if old["pid"] != new["pid"]:
        return "%s: PID %s now, %s recorded" % (what, new["pid"], old["pid"])
    return "%s: PID %s was restarted (start time %s, %s recorded)" % (
        what,
        new["pid"],
        new["start"],
        old["start"],
    )


def _describe_venv(path, old, new):
    if old is None:
        return "venv %s appeared" % path
    if new is None:
        return "venv %s is gone" % path
    if old.get("python") != new.get("python") or old.get("pyvenv_cfg") != new.get("pyvenv_cfg"):
        return "venv %s: its interpreter or pyvenv.cfg changed" % path
    o = set(x for names in old.get("site_packages", {}).values() for x in names)
    n = set(x for names in new.get("site_packages", {}).values() for x in names)
    diff = ["+" + x for x in sorted(n - o)] + ["-" + x for x in sorted(o - n)]
    return "venv %s: installed packages differ (%s)" % (path, ", ".join(diff[:8]) or "layout")


def _describe_entry(kind, key, old, new):
    if old is None:
        return "%s %s appeared" % (kind, key)
    if new is None:
        return "%s %s is gone" % (kind, key)
    return "%s %s changed" % (kind, key)


def _describe_tree(root, old, new):
    if old is None or new is None:
        return [_describe_entry("tree", root, old, new)]
    out = []
    for rel in sorted(set(old) | set(new)):
        if old.get(rel) != new.get(rel):
            out.append(_describe_entry("file", os.path.join(root, rel), old.get(rel), new.get(rel)))
    return out


def compare(recorded, inputs, host):
    """Reasons (a list of sentences) why the host is not the recorded converged deploy;
    empty when it is. ``recorded`` is the loaded state file (None when absent)."""
    if recorded is None:
        return ["no converged deploy is recorded"]
    if not isinstance(recorded, dict) or recorded.get("format") != FORMAT:
        return ["the state file has another format"]
    reasons = []
    old_inputs, new_inputs = recorded.get("inputs") or {}, inputs_digests(inputs)
    for part in sorted(set(old_inputs) | set(new_inputs)):
        if old_inputs.get(part) != new_inputs.get(part):
            reasons.append("%s changed" % PART_WORDS.get(part, part))
    old_host = recorded.get("host") or {}
    for section in ("files", "dirs", "trees", "venvs", "accounts", "packages", "server", "others"):
        old, new = old_host.get(section) or {}, host.get(section) or {}
        if section == "packages" and section not in host:
            continue
        for key in sorted(set(old) | set(new)):
            o, n = old.get(key), new.get(key)
            if o == n:
                continue
            if section == "files":
                reasons.append(_describe_entry("file", key, o, n))
            elif section == "dirs":
                reasons.append(_describe_entry("directory", key, o, n))
            elif section == "trees":
                reasons.extend(_describe_tree(key, o, n))
            elif section == "venvs":
                reasons.append(_describe_venv(key, o, n))
            elif section == "accounts":
                reasons.append("%s changed" % key)
            elif section == "packages":
                reasons.append(
                    "OS package %s is not installed" % key
                    if n is None
                    else "OS package %s changed (%s)" % (key, n)
                )
            elif section == "server":
                if key.startswith("systemd "):
                    o_main, n_main = (o or {}).get("main"), (n or {}).get("main")
                    if (o or {}).get("active") != (n or {}).get("active") or (o or {}).get(
                        "enabled"
                    ) != (n or {}).get("enabled"):
                        reasons.append(
                            "%s: %s/%s, %s/%s recorded"
                            % (
                                key,
                                (n or {}).get("active"),
                                (n or {}).get("enabled"),
                                (o or {}).get("active"),
                                (o or {}).get("enabled"),
                            )
                        )
                    if o_main != n_main:
                        reasons.append(_describe_process("server " + key, o_main, n_main))
                else:
                    reasons.append(_describe_process("server " + key, o, n))
            else:
                reasons.append("the other CPU runtime's service runs (%s)" % key)
    return reasons


def load_state(path):
    """The state file's document, None when absent; unreadable JSON counts as another format."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"format": None}


def render_state(document):
    return json.dumps(document, sort_keys=True, indent=1) + "\n"


def write_state(path, text):
    """Write root-only (0600 in a 0700 folder when the folder is new), atomically."""
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
