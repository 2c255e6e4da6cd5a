# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""deploy_state module end to end on a temporary host tree: record, check, check mode,
invalidation. The server is this test's own process (a real PID and start time)."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import deploy_state


def run(capsys, check=False, **args):
    args["_ansible_check_mode"] = check
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        deploy_state.main()
    res = json.loads(capsys.readouterr().out)
    res["rc"] = exc.value.code
    return res


@pytest.fixture
def host(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "server.pid").write_text("%d\n" % os.getpid())
    (tmp_path / "other").mkdir()
    (tmp_path / "server.json").write_text("{}\n")
    return {
        "path": str(tmp_path / "state" / "native.json"),
        "inputs": {"vars": {"port": 8000}},
        "spec": {
            "files": [str(tmp_path / "server.json")],
            "dirs": [str(tmp_path / "run")],
            "service_manager": "daemon",
            "service": {"name": "llmserve-triton-cpu", "run_dir": str(tmp_path / "run")},
            "stopped": [{"name": "llmserve-vllm-cpu", "run_dir": str(tmp_path / "other")}],
        },
        "tmp": tmp_path,
    }


def test_record_check_drift_invalidate(capsys, host):
    args = dict(path=host["path"], inputs=host["inputs"], spec=host["spec"])
    res = run(capsys, **args)
    assert res["converged"] is False and res["reasons"] == ["no converged deploy is recorded"]
    assert res["server_pid"] == os.getpid() and res["service_manager"] == "daemon"

    # Check mode reports the record it would write and writes nothing.
    res = run(capsys, check=True, operation="record", **args)
    assert res["changed"] is True and not os.path.exists(host["path"])
    res = run(capsys, operation="record", **args)
    assert res["changed"] is True and os.stat(host["path"]).st_mode & 0o777 == 0o600
    res = run(capsys, operation="record", **args)
    assert res["changed"] is False  # same content: not rewritten

    res = run(capsys, invalidate=True, **args)
    assert res["converged"] is True and res["changed"] is False and res["reasons"] == []

    # A changed input: not converged; check mode keeps the record, a real run drops it.
    args["inputs"] = {"vars": {"port": 9000}}
    res = run(capsys, check=True, invalidate=True, **args)
    assert res["reasons"] == ["the role variables changed"] and res["invalidated"] is True
    assert os.path.exists(host["path"])
    res = run(capsys, invalidate=True, **args)
    assert res["changed"] is True and not os.path.exists(host["path"])


def test_check_reports_host_drift(capsys, host):
    args = dict(path=host["path"], inputs=host["inputs"], spec=host["spec"])
    run(capsys, operation="record", **args)
    (host["tmp"] / "server.json").write_text('{"argv": []}\n')
    (host["tmp"] / "run" / "server.pid").write_text("999999999\n")
    res = run(capsys, **args)
    assert res["converged"] is False
    assert res["reasons"] == [
        "file %s/server.json changed" % host["tmp"],
        "server %s/run/server.pid: PID %d is gone" % (host["tmp"], os.getpid()),
    ]
    assert res["server_pid"] is None


def test_service_entries_need_name_and_run_dir(capsys, host):
    spec = dict(host["spec"], stopped=[{"name": "x"}])
    res = run(capsys, path=host["path"], inputs={}, spec=spec)
    assert res["rc"] == 1 and "need name and run_dir" in res["msg"]
