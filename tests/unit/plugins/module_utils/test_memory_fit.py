# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory-fit arithmetic checked against published figures."""

import json
import os

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils import _memory_fit as mf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIX = os.path.join(ROOT, "tests", "unit", "fixtures", "model_repo")
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]


def _config(name):
    with open(os.path.join(FIX, name)) as fh:
        return json.load(fh)


def _facts(preset):
    return mf.normalize_facts(PRESETS[preset]["facts"])


def test_llama3_70b_kv_cache_is_320_kib_per_token():
    # Published: 2 x 80 layers x 8 KV heads x 128 dims x 2 bytes = 320 KiB per token.
    for facts in (
        _facts("llama3-70b"),
        mf.facts_from_hf_config(_config("llama3-70b-instruct.config.json")),
    ):
        assert mf.kv_bytes_per_token(facts, 2) == 320 * 1024


def test_llama3_70b_bf16_weights_about_141_gb():
    weights = mf.weights_bytes(_facts("llama3-70b"))
    assert 140.5e9 < weights < 141.6e9


def test_config_json_param_estimate_matches_published_count():
    facts = mf.facts_from_hf_config(_config("llama3-70b-instruct.config.json"))
    assert facts["params"] == pytest.approx(70553706496, rel=0.001)
    assert facts["bytes_per_weight"] == 2
    assert facts["max_context"] == 8192 and facts["num_kv_heads"] == 8


def test_mixtral_gptq_weights_23_to_24_gb():
    weights = mf.weights_bytes(_facts("mixtral"))
    assert 23e9 <= weights <= 24e9
    facts = mf.facts_from_hf_config(_config("mixtral-8x7b-instruct-gptq.config.json"))
    assert facts["params"] == pytest.approx(46.7e9, rel=0.01)
    assert 0.5 < facts["bytes_per_weight"] < 0.53
    assert 23e9 <= mf.weights_bytes(facts) <= 24.5e9
    assert mf.kv_bytes_per_token(facts, 2) == 128 * 1024


def test_issue_example_numbers():
    # "needs 141 GB of weights, 4 x 48 GB x 0.85 = 163 GB leaves 22 GB for KV cache".
    report = mf.gpu_fit(_facts("llama3-70b"), 4, 48 * mf.GB, 0.85, 8192, 2, 1, 0)
    assert report["budget_bytes"] == pytest.approx(163.2e9)
    assert report["kv_cache_bytes"] == pytest.approx(22.1e9, rel=0.01)
    assert report["kv_cache_tokens"] == int(report["kv_cache_bytes"] // (320 * 1024))
    assert (
        "needs 141.1 GB of weights; 4 x 48.0 GB x 0.85 = 163.2 GB leaves 22.1 GB"
        in report["summary"]
    )
    assert "67k tokens (320 KiB/token)" in report["summary"]
    assert report["fits"] is True


def test_valid_tp_sizes_divide_heads():
    assert mf.valid_tp_sizes({"num_attention_heads": 64}, 8) == [1, 2, 4, 8]
    assert mf.valid_tp_sizes({"num_attention_heads": 12}, 8) == [1, 2, 3, 4, 6]


def test_smallest_tp_that_fits():
    facts = _facts("llama3-70b")
    report = mf.choose_tensor_parallel(facts, 8, 80 * mf.GIB, 0.85, 8192, 2)
    assert report["tensor_parallel_size"] == 2 and report["tp_inferred"] is True
    report = mf.choose_tensor_parallel(_facts("mixtral"), 4, 47.99 * mf.GIB, 0.85, 8192, 2)
    assert report["tensor_parallel_size"] == 1


def test_does_not_fit_with_numbers():
    with pytest.raises(mf.FitError) as err:
        mf.choose_tensor_parallel(
            _facts("llama3-70b"), 2, 47.99 * mf.GIB, 0.85, 8192, 2, model="llama"
        )
    msg = str(err.value)
    assert "llama does not fit: needs 141.1 GB of weights; 2 x 51.5 GB x 0.85 = 87.6 GB" in msg
    assert "short before any KV cache" in msg and "tensor_parallel_size 2" in msg


def test_weights_fit_but_kv_cache_does_not():
    report = mf.gpu_fit(_facts("llama3-70b"), 2, 80 * mf.GIB, 0.85, 8192, 2, concurrency=4)
    assert report["fits"] is False and report["needed_tokens"] == 32768
    assert report["kv_cache_tokens"] < 32768


def test_cpu_fit_mixtral_fails_demo_fits():
    ram = 24 * mf.GIB
    with pytest.raises(mf.FitError, match=r"needs 23\.8 GB of weights .* host RAM 25\.8 GB"):
        mf.cpu_fit(_facts("mixtral"), ram, mf.GIB, 8192, 2, model="mixtral")
    report = mf.cpu_fit(_facts("demo"), ram, mf.GIB, 2048, 4)
    assert report["fits"] and report["kv_bytes_per_token"] == 2 * 2 * 4 * 32 * 4


def test_cpu_kv_space_too_small():
    with pytest.raises(mf.FitError, match="KV cache space is too small"):
        mf.cpu_fit(_facts("llama3-8b"), 64 * mf.GIB, 0.1 * mf.GIB, 8192, 2)


@pytest.mark.parametrize(
    "facts,match",
    [
        ({"params": 1}, "lack bytes_per_weight"),
        (dict(PRESETS["demo"]["facts"], num_layers=-2), "num_layers must be a positive"),
        (dict(PRESETS["demo"]["facts"], params="many"), "params must be a number"),
        ("x", "must be a dict"),
    ],
)
def test_bad_facts(facts, match):
    with pytest.raises(mf.FitError, match=match):
        mf.normalize_facts(facts)


def test_kv_dtype_bytes():
    facts = {"torch_dtype": "float32"}
    assert mf.kv_dtype_bytes({}, facts) == 4
    assert mf.kv_dtype_bytes({"dtype": "float16"}, facts) == 2
    assert mf.kv_dtype_bytes({"dtype": "float16", "kv_cache_dtype": "fp8"}, facts) == 1
