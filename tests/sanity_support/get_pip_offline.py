# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the get-pip.py script ansible-test downloads to bootstrap pip.

ansible-test sanity creates its own virtual environments and bootstraps pip in each one by
running a cached ``get_pip_<version>.py`` (downloaded from a host unreachable here). This
script takes its place: it installs the bundled pip with ``ensurepip`` and then runs the
same ``pip install`` ansible-test asked for, against the machine's normal package index.
"""

import ensurepip
import os
import subprocess
import sys


def main():
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null while it runs; drop it so the machine's
    # pip configuration (index, certificates) applies to the real install below.
    os.environ.pop("PIP_CONFIG_FILE", None)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))


if __name__ == "__main__":
    main()
