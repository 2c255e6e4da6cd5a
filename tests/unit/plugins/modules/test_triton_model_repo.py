# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""triton_model_repo module: check mode, diff, idempotence, modes, exclusive, secrets."""

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llmserve.triton.plugins.modules import triton_model_repo
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

KIND_MODEL = model_config_pb2.ModelInstanceGroup.KIND_MODEL


def read(path):
    with open(path) as fh:
        return fh.read()


def run(capsys, check=False, diff=True, **args):
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        triton_model_repo.main()
    return json.loads(capsys.readouterr().out)


def models(tp=4, metrics=True):
    return [
        {
            "name": "llama3-70b",
            "model": "meta-llama/Meta-Llama-3-70B-Instruct",
            "engine_args": {"tensor_parallel_size": tp, "gpu_memory_utilization": 0.85},
            "parameters": {"REPORT_CUSTOM_METRICS": metrics},
        }
    ]


def tree(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            out[os.path.relpath(path, root)] = stat.S_IMODE(os.stat(path).st_mode)
    return out


def test_check_apply_idempotent(tmp_path, capsys):
    repo = str(tmp_path / "repo")
    res = run(capsys, check=True, repository=repo, models=models())
    assert res["changed"] is True and not os.path.exists(repo)
    assert [d["before_header"] for d in res["diff"]] == [
        repo + "/llama3-70b/config.pbtxt (absent)",
        repo + "/llama3-70b/1/model.json (absent)",
    ]
    res = run(capsys, repository=repo, models=models())
    assert res["changed"] is True
    assert tree(repo) == {
        "llama3-70b": 0o755,
        "llama3-70b/1": 0o755,
        "llama3-70b/config.pbtxt": 0o644,
        "llama3-70b/1/model.json": 0o644,
    }
    cfg = text_format.Parse(read(repo + "/llama3-70b/config.pbtxt"), model_config_pb2.ModelConfig())
    assert cfg.backend == "vllm" and cfg.instance_group[0].kind == KIND_MODEL
    assert json.loads(read(repo + "/llama3-70b/1/model.json"))["tensor_parallel_size"] == 4
    for check in (True, False):
        res = run(capsys, check=check, repository=repo, models=models())
        assert res["changed"] is False and res["written"] == [] and res["diff"] == []


def test_change_shows_diff_and_rewrites_only_that_file(tmp_path, capsys):
    repo = str(tmp_path)
    run(capsys, repository=repo, models=models(tp=4))
    json_mtime = os.stat(repo + "/llama3-70b/1/model.json").st_mtime_ns
    res = run(capsys, repository=repo, models=models(tp=4, metrics=False))
    assert res["changed"] is True and res["written"] == [repo + "/llama3-70b/config.pbtxt"]
    (d,) = res["diff"]
    assert 'string_value: "true"' in d["before"] and 'string_value: "false"' in d["after"]
    assert os.stat(repo + "/llama3-70b/1/model.json").st_mtime_ns == json_mtime


def test_tp1_has_no_instance_group(tmp_path, capsys):
    run(capsys, repository=str(tmp_path), models=models(tp=1))
    text = read(str(tmp_path / "llama3-70b" / "config.pbtxt"))
    assert not text_format.Parse(text, model_config_pb2.ModelConfig()).instance_group


def test_mode_drift_is_fixed(tmp_path, capsys):
    run(capsys, repository=str(tmp_path), models=models())
    path = str(tmp_path / "llama3-70b" / "config.pbtxt")
    os.chmod(path, 0o600)
    res = run(capsys, check=True, repository=str(tmp_path), models=models())
    assert res["changed"] is True and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    res = run(capsys, repository=str(tmp_path), models=models())
    assert res["changed"] is True and stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_exclusive_removes_unlisted(tmp_path, capsys):
    old = tmp_path / "old_model" / "1"
    old.mkdir(parents=True)
    (old / "model.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("plain files stay")
    res = run(capsys, check=True, repository=str(tmp_path), models=models(), exclusive=True)
    assert res["removed"] == [str(tmp_path / "old_model")] and old.exists()
    res = run(capsys, repository=str(tmp_path), models=models(), exclusive=True)
    assert not (tmp_path / "old_model").exists() and (tmp_path / "notes.txt").exists()
    res = run(capsys, repository=str(tmp_path), models=models(), exclusive=True)
    assert res["changed"] is False


def test_secret_rejected_nothing_written(tmp_path, capsys):
    bad = models()
    bad[0]["engine_args"]["hf_token"] = "hf_" + "Z" * 34
    res = run(capsys, repository=str(tmp_path / "r"), models=bad)
    assert res["failed"] is True and "secret" in res["msg"]
    assert "ZZZZ" not in json.dumps(res)
    assert not (tmp_path / "r").exists()
