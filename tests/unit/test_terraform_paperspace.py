# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Static checks of terraform/paperspace (the provider cannot be downloaded here, so it cannot
be planned): its HCL, parsed with python-hcl2, must declare what playbooks/provision.yml and
the provider's schema rely on, and the provider-free stand-in used by tests/e2e/60-provision.sh
must have the same variables and outputs."""

import os
import re
from pathlib import Path

import hcl2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "terraform" / "paperspace"
STUB = ROOT / "tests" / "fixtures" / "terraform_paperspace_stub"

# Argument and attribute names of the paperspace_machine resource, from the provider's schema
# (Paperspace/terraform-provider-paperspace, pkg/provider/resource_machine.go, v0.4.x).
MACHINE_ARGUMENTS = {
    "region", "machine_type", "size", "billing_type", "name", "template_id",
    "assign_public_ip", "network_id", "team_id", "user_id", "email", "password",
    "firstname", "lastname", "notification_email", "script_id",
    "shutdown_timeout_in_hours", "perform_auto_snapshot", "auto_snapshot_frequency",
    "auto_snapshot_save_count", "live_forever", "is_managed",
}  # fmt: skip
MACHINE_REQUIRED = {"machine_type", "size", "billing_type", "name", "template_id"}
MACHINE_COMPUTED = {
    "id", "dt_last_run", "os", "ram", "cpus", "gpu", "storage_total", "storage_used",
    "usage_rate", "shutdown_timeout_forces", "agent_type", "dt_created", "state",
    "private_ip_address", "public_ip_address",
}  # fmt: skip
SCRIPT_ARGUMENTS = {"name", "description", "script_text", "is_enabled", "run_once"}
PROVIDER_ARGUMENTS = {"api_key", "api_host", "region"}
TEMPLATE_FILTERS = {"id", "name", "label", "os", "dt_created", "team_id", "user_id", "region"}
META_ARGUMENTS = {"__is_block__", "__comments__", "lifecycle", "count", "depends_on"}


def _unquote(name):
    return name.strip('"')


def _load(directory):
    """Merge every *.tf of a module into {block type: [blocks]} (symlinks followed)."""
    merged = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            for kind, blocks in hcl2.load(handle).items():
                if not kind.startswith("__"):
                    merged.setdefault(kind, []).extend(blocks)
    return merged


def _named(blocks):
    """[{'"name"': body}] -> {name: body}."""
    return {_unquote(k): v for block in blocks for k, v in block.items() if k != "__is_block__"}


def _resources(module, kind="resource"):
    out = {}
    for block in module.get(kind, []):
        for rtype, named in block.items():
            for rname, body in named.items():
                out[(_unquote(rtype), _unquote(rname))] = body
    return out


def _expr(value):
    """hcl2 renders expressions as "${...}" and strings as '"..."'."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return _unquote(value)
    return value


@pytest.fixture(scope="module")
def module():
    return _load(MODULE)


@pytest.fixture(scope="module")
def stub():
    return _load(STUB)


def _playbook_required_outputs():
    """The output names the playbook asserts, read from the playbook itself."""
    tasks = yaml.safe_load((ROOT / "playbooks/tasks/provision_outputs.yml").read_text())
    task = next(t for t in tasks if t["name"] == "Check the outputs the playbook relies on")
    return set(re.findall(r"'(\w+)'", task["vars"]["__provision_missing_outputs"]))


def _playbook_tfvars_keys():
    text = (ROOT / "playbooks/templates/provision_tfvars.json.j2").read_text()
    return set(re.findall(r"^\s*'(\w+)':", text, re.MULTILINE))


def test_provider_pinned_and_terraform_supports_ephemeral(module):
    (terraform,) = module["terraform"]
    (providers,) = terraform["required_providers"]
    assert _expr(providers["paperspace"]["source"]) == "Paperspace/paperspace"
    assert re.fullmatch(r"= ?\d+\.\d+\.\d+", _expr(providers["paperspace"]["version"]))
    assert _expr(terraform["required_version"]) == ">= 1.10"  # ephemeral variables


def test_provider_block_takes_the_key_only_from_the_variable(module):
    provider = _named(module["provider"])["paperspace"]
    assert set(provider) - {"__is_block__", "__comments__"} <= PROVIDER_ARGUMENTS
    assert _expr(provider["api_key"]) == "var.paperspace_api_key"


def test_api_key_variable_is_sensitive_ephemeral_and_optional(module):
    variables = _named(module["variable"])
    key = variables["paperspace_api_key"]
    assert key["sensitive"] is True
    assert key["ephemeral"] is True  # kept out of plan files and state
    assert key["default"] is None  # unset: the provider reads PAPERSPACE_API_KEY


def test_api_key_is_used_nowhere_but_the_provider(module):
    text = "\n".join(p.read_text() for p in MODULE.glob("*.tf") if p.name != "variables.tf")
    assert text.count("var.paperspace_api_key") == 1


def test_variables_defaults(module):
    variables = _named(module["variable"])
    assert "default" not in variables["team_id"]  # required: the playbook validates it first
    assert "default" not in variables["ssh_public_key"]
    assert _expr(variables["machine_type"]["default"]) == "A6000x4"
    assert _expr(variables["os_image"]["default"]) == "ubuntu-22.04"
    labels = {_unquote(k) for k in variables["template_labels"]["default"]}
    assert labels == {"ubuntu-22.04", "ml-in-a-box"}
    assert 1 <= variables["shutdown_timeout_hours"]["default"] <= 168
    assert "ml-in-a-box" in variables["os_image"]["validation"][0]["condition"]


def test_machine_resource_matches_the_provider_schema(module):
    resources = _resources(module)
    machine = resources[("paperspace_machine", "gpu")]
    arguments = set(machine) - META_ARGUMENTS
    assert arguments <= MACHINE_ARGUMENTS, arguments - MACHINE_ARGUMENTS
    assert arguments >= MACHINE_REQUIRED
    assert _expr(machine["machine_type"]) == "var.machine_type"
    assert _expr(machine["team_id"]) == "var.team_id"
    assert _expr(machine["size"]) == "var.disk_size_gb"
    assert _expr(machine["shutdown_timeout_in_hours"]) == "var.shutdown_timeout_hours"
    assert machine["assign_public_ip"] is True
    assert "live_forever" not in machine  # the shutdown timeout must stay in force
    assert _expr(machine["script_id"]) == "paperspace_script.authorized_key.id"
    script = resources[("paperspace_script", "authorized_key")]
    assert set(script) - META_ARGUMENTS <= SCRIPT_ARGUMENTS
    assert "var.ssh_public_key" in script["script_text"]


def test_input_changes_replace_the_machine(module):
    """The provider's update is a no-op read: every variable the machine or its script uses
    must be part of the spec whose change replaces them."""
    resources = _resources(module)
    spec = resources[("terraform_data", "machine_spec")]["input"]
    spec_vars = {_expr(v) for v in spec.values()}
    for key in (("paperspace_machine", "gpu"), ("paperspace_script", "authorized_key")):
        body = resources[key]
        (lifecycle,) = body["lifecycle"]
        assert [_expr(t) for t in lifecycle["replace_triggered_by"]] == [
            "terraform_data.machine_spec"
        ]
        used = set(re.findall(r"var\.\w+", repr(body)))
        assert used <= spec_vars | {"var.template_labels"}, used - spec_vars


def test_template_lookup_uses_provider_filters(module):
    template = _resources(module, "data")[("paperspace_template", "image")]
    assert set(template) - META_ARGUMENTS <= TEMPLATE_FILTERS


def test_outputs_read_attributes_the_machine_has(module):
    for name, body in _named(module["output"]).items():
        for attr in re.findall(r"paperspace_machine\.gpu\.(\w+)", _expr(body["value"])):
            assert attr in MACHINE_COMPUTED | MACHINE_ARGUMENTS, (name, attr)


def test_outputs_cover_what_the_playbook_reads(module):
    required = _playbook_required_outputs()
    assert {"public_ip", "machine_id", "ssh_user", "machine_type"} <= required
    assert required <= set(_named(module["output"]))


def test_playbook_tfvars_are_declared_variables(module):
    keys = _playbook_tfvars_keys()
    assert "team_id" in keys and "ssh_public_key" in keys
    assert "paperspace_api_key" not in keys  # the key never goes into a file
    assert keys <= set(_named(module["variable"]))


def test_stub_has_the_same_variables_and_outputs(module, stub):
    assert os.path.realpath(STUB / "variables.tf") == str(MODULE / "variables.tf")
    assert _named(stub["variable"]).keys() == _named(module["variable"]).keys()
    assert _named(stub["output"]).keys() == _named(module["output"]).keys()


def test_stub_is_provider_free(stub):
    assert "provider" not in stub
    assert "data" not in stub
    assert {key[0] for key in _resources(stub)} == {"terraform_data"}
    (terraform,) = stub["terraform"]
    assert "required_providers" not in terraform


def test_machine_type_presets_exist_in_hardware_data():
    contract = yaml.safe_load((ROOT / "roles/llmserve/defaults/main.yml").read_text())
    types = contract["llmserve_machine_types"]
    for name in ("A6000x4", "A100-80Gx8", "H100x8"):
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*(x[0-9]+)?", name)
        assert types[name]["gpu_count"] in (4, 8)
