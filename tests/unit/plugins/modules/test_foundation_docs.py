# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-doc renders serving_plan and triton_model_repo; docs match the argument specs."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")

# Option name -> argument_spec entry as the module builds it (captured by running main()).
SPECS = {}


def _capture_spec(module_name):
    import importlib
    from unittest import mock

    mod = importlib.import_module(
        "ansible_collections.llmserve.triton.plugins.modules." + module_name
    )

    class Stop(Exception):
        pass

    def fake(**kwargs):
        SPECS[module_name] = kwargs["argument_spec"]
        raise Stop

    with mock.patch.object(mod, "AnsibleModule", side_effect=fake), pytest.raises(Stop):
        mod.main()
    return SPECS[module_name]


@pytest.mark.parametrize("module_name", ["serving_plan", "triton_model_repo"])
def test_ansible_doc_renders_and_matches_spec(module_name):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    fqcn = "llmserve.triton." + module_name
    text = subprocess.run(
        [ANSIBLE_DOC, fqcn], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert fqcn in text and "EXAMPLES" in text and "RETURN VALUES" in text
    data = json.loads(
        subprocess.run(
            [ANSIBLE_DOC, "--json", fqcn],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[fqcn]
    options = data["doc"]["options"]
    spec = _capture_spec(module_name)
    assert set(options) == set(spec)
    for name, entry in spec.items():
        assert options[name].get("type", "str") == entry.get("type", "str"), name
        assert options[name].get("default") == entry.get("default"), name
        assert bool(options[name].get("required")) == bool(entry.get("required")), name
        assert options[name].get("choices") == entry.get("choices"), name
        if "options" in entry:
            assert set(options[name]["suboptions"]) == set(entry["options"]), name
