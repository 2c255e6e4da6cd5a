# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Model repository rendering, parsed with Triton's real protobuf schema."""

import hashlib
import json
import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils import _model_repo as mr
from ansible_collections.llmserve.triton.plugins.module_utils._engine_args import check_names
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_arg_names import (
    ENGINE_ARG_NAMES,
    TRITON_VLLM_TAGS,
)
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import build
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]
GIB = 1024**3


def parse(text):
    """Parse config.pbtxt exactly as Triton does (protobuf text format, ModelConfig)."""
    return text_format.Parse(text, model_config_pb2.ModelConfig())


@pytest.mark.parametrize("tp", [1, 2, 4, 8])
@pytest.mark.parametrize("params", [{}, {"REPORT_CUSTOM_METRICS": True, "x.y": 'a b"c'}])
def test_config_pbtxt_parses_with_triton_schema(tp, params):
    cfg = parse(mr.render_config_pbtxt("llama3-70b", tp, params))
    assert cfg.name == "llama3-70b" and cfg.backend == "vllm"
    if tp > 1:
        assert len(cfg.instance_group) == 1
        group = cfg.instance_group[0]
        assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_MODEL and group.count == 1
    else:
        assert len(cfg.instance_group) == 0
    got = {k: v.string_value for k, v in cfg.parameters.items()}
    want = {k: ("true" if v is True else v) for k, v in params.items()}
    assert got == want


def _spec(name="llama3-70b", tp=4, **extra):
    spec = {
        "name": name,
        "model": "meta-llama/Meta-Llama-3-70B-Instruct",
        "engine_args": {"tensor_parallel_size": tp, "gpu_memory_utilization": 0.85},
        "parameters": {"REPORT_CUSTOM_METRICS": "true"},
    }
    spec.update(extra)
    return spec


@pytest.mark.parametrize("tag", sorted(TRITON_VLLM_TAGS))
@pytest.mark.parametrize("preset", ["llama3-70b", "mixtral", "llama3-8b"])
def test_generated_files_from_presets_are_valid(tmp_path, tag, preset):
    """Every preset x tag: config.pbtxt parses; model.json keys are real vLLM arg names."""
    cfg = build(preset, PRESETS, "triton", tag, gpu_count=8, gpu_memory_bytes=80 * GIB)
    models = mr.normalize_models(
        [{"name": cfg["name"], "model": cfg["hf_id"], "engine_args": cfg["engine_args"]}]
    )
    files = dict(mr.desired_files(str(tmp_path), models))
    config = parse(files[str(tmp_path / cfg["name"] / "config.pbtxt")])
    assert config.backend == "vllm"
    assert bool(config.instance_group) == (cfg["tensor_parallel_size"] > 1)
    data = json.loads(files[str(tmp_path / cfg["name"] / "1" / "model.json")])
    version = TRITON_VLLM_TAGS[tag]["vllm"]
    assert set(data) <= set(ENGINE_ARG_NAMES[version])
    assert check_names(data, version, tag) == []


def test_plan_then_idempotent(tmp_path):
    models = mr.normalize_models([_spec()])
    planned = mr.plan(str(tmp_path), models)
    assert len(planned["writes"]) == 2 and planned["keep"] == []
    for path, before, after in planned["writes"]:
        assert before is None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(after)
    again = mr.plan(str(tmp_path), models)
    assert again["writes"] == [] and len(again["keep"]) == 2


def test_exclusive_plans_removal_of_unlisted_dirs_only(tmp_path):
    (tmp_path / "old_model" / "1").mkdir(parents=True)
    (tmp_path / "README").write_text("keep me")
    models = mr.normalize_models([_spec()])
    planned = mr.plan(str(tmp_path), models, exclusive=True)
    assert planned["removals"] == [str(tmp_path / "old_model")]
    assert mr.plan(str(tmp_path), models, exclusive=False)["removals"] == []
    diffs = mr.diffs(planned)
    assert all("before_header" in d and "after_header" in d for d in diffs)
    assert diffs[-1]["after"] == "" and "removed" in diffs[-1]["after_header"]


@pytest.mark.parametrize(
    "models,match",
    [
        ("x", "must be a list"),
        ([{"name": "a/b", "model": "m"}], "not a valid Triton model name"),
        ([_spec(), _spec()], "listed twice"),
        ([{"name": "a"}], "needs model"),
        ([_spec(engine_args={"hf_token": "x"})], "engine_args.hf_token holds a secret"),
        (
            [_spec(parameters={"HF": "hf_" + "a" * 34})],
            "parameters.HF holds a secret",
        ),
        ([_spec(version=0)], "version must be a positive integer"),
    ],
)
def test_bad_model_specs(models, match):
    with pytest.raises(mr.ModelRepoError, match=match) as err:
        mr.normalize_models(models)
    assert "hf_aaaa" not in str(err.value)


def test_secret_message_names_the_variable_that_carries_the_token():
    token = "hf_" + "b" * 34
    with pytest.raises(mr.ModelRepoError) as err:
        mr.normalize_models([_spec(parameters={"HF": token})])
    msg = str(err.value)
    assert "llmserve_hf_token" in msg and "ansible-vault" in msg
    assert "HF_TOKEN" not in msg and token not in msg


def test_config_carries_the_digest_of_its_model_json(tmp_path):
    models = mr.normalize_models(
        [{"name": "demo", "model": "/m/demo", "engine_args": {"max_num_seqs": 16}}]
    )
    files = dict(mr.desired_files(str(tmp_path), models))
    model_json = files[str(tmp_path / "demo" / "1" / "model.json")]
    cfg = parse(files[str(tmp_path / "demo" / "config.pbtxt")])
    digest = hashlib.sha256(model_json.encode("utf-8")).hexdigest()
    assert cfg.parameters["llmserve_model_json_sha256"].string_value == digest
    changed = mr.normalize_models(
        [{"name": "demo", "model": "/m/demo", "engine_args": {"max_num_seqs": 32}}]
    )
    other = dict(mr.desired_files(str(tmp_path), changed))[str(tmp_path / "demo" / "config.pbtxt")]
    assert parse(other).parameters["llmserve_model_json_sha256"].string_value != digest


def test_collisions(tmp_path):
    old = mr.normalize_models([{"name": "demo", "model": "/m/demo"}])
    for path, content in mr.desired_files(str(tmp_path), old):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    same = mr.normalize_models(
        [{"name": "demo", "model": "/m/demo", "engine_args": {"max_num_seqs": 4}}]
    )
    assert mr.collisions(str(tmp_path), same) == []
    other = mr.normalize_models([{"name": "demo", "model": "/m/demo2"}])
    assert mr.collisions(str(tmp_path), other) == [("demo", "/m/demo", "/m/demo2")]
    new_name = mr.normalize_models([{"name": "demo2", "model": "/m/demo2"}])
    assert mr.collisions(str(tmp_path), new_name) == []
    (tmp_path / "hand").mkdir()
    (tmp_path / "hand" / "config.pbtxt").write_text('backend: "python"\n')
    hand = mr.normalize_models([{"name": "hand", "model": "/m/x"}])
    assert mr.collisions(str(tmp_path), hand) == [
        ("hand", "a model not written by llmserve.triton", "/m/x")
    ]
