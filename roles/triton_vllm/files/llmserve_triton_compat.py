# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compatibility measures for NVIDIA's vLLM backend inside Triton's Python-backend stub.

Installed by llmserve.triton (runtime triton_cpu) into the stub environment only (the
EXECUTION_ENV_PATH of the models), never into the serving venv, and started by the
``00-llmserve-compat.pth`` line with the measures that the data
(roles/triton_vllm/vars/triton_cpu.yml) lists for the installed backend release, vLLM
version and Triton build. Each measure is one small function, named after what it prevents.
NVIDIA's backend source stays unmodified.
"""

import importlib
import importlib.abc
import importlib.util
import locale
import sys


def stub_utf8_locale():
    """The stub runs Python isolated (LANG/PYTHONUTF8 ignored), so the locale stays "C";
    `import vllm` then dies in torch inductor with
    UnicodeDecodeError: 'ascii' codec can't decode byte 0xe2."""
    locale.setlocale(locale.LC_CTYPE, "C.UTF-8")


class _ModuleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import `name` as the already existing module `target` (only when `name` is missing)."""

    def __init__(self, name, target):
        self.name, self.target = name, target

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        return None


class _AddName(importlib.abc.MetaPathFinder):
    """After `module` is imported, give it `name` from `source` when it lacks it."""

    def __init__(self, module, name, source):
        self.module, self.name, self.source = module, name, source

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            if not hasattr(module, self.name):
                setattr(module, self.name, getattr(importlib.import_module(self.source), self.name))

        spec.loader.exec_module = exec_module
        return spec


def vllm_inputs_data_module():
    """The backend imports TokensPrompt from vllm.inputs.data, a module newer vLLM removed
    (ModuleNotFoundError: No module named 'vllm.inputs.data'); vllm.inputs exports it.
    Appended last, so a vLLM that still has the module imports its own."""
    sys.meta_path.append(_ModuleAlias("vllm.inputs.data", "vllm.inputs"))


def vllm_metrics_buckets_name():
    """The backend imports build_1_2_5_buckets from vllm.v1.metrics.loggers; newer vLLM has
    it in vllm.v1.metrics.buckets (ImportError: cannot import name 'build_1_2_5_buckets')."""
    sys.meta_path.insert(
        0, _AddName("vllm.v1.metrics.loggers", "build_1_2_5_buckets", "vllm.v1.metrics.buckets")
    )


MEASURES = {
    "stub_utf8_locale": stub_utf8_locale,
    "vllm_inputs_data_module": vllm_inputs_data_module,
    "vllm_metrics_buckets_name": vllm_metrics_buckets_name,
}


def apply(names):
    """Apply the named measures (from the .pth line), in the given order."""
    for name in names:
        MEASURES[name]()
