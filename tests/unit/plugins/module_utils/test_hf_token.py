# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one list of secret keys and the one token pattern, and every place that uses them."""

import json

import pytest
from ansible_collections.llmserve.triton.plugins.module_utils import _engine_args as ea
from ansible_collections.llmserve.triton.plugins.module_utils import _hf_token as ht
from ansible_collections.llmserve.triton.plugins.module_utils import _model_repo as mr

TOKEN = "hf_" + "T" * 34


@pytest.mark.parametrize(
    "key", ["hf_token", "token", "use_auth_token", "api_key", "HF_TOKEN", "Api-Key", " token "]
)
def test_secret_keys_any_case_and_dashes(key):
    assert ht.is_secret_key(key)


@pytest.mark.parametrize("key", ["tokenizer", "tokenizer_mode", "max_num_seqs", "hf_overrides"])
def test_engine_args_named_like_tokens_are_not_secrets(key):
    assert not ht.is_secret_key(key)


def test_find_secret_by_key_and_by_token_pattern():
    assert ht.find_secret({"a": {"Use-Auth-Token": "x"}}) == ("a.Use-Auth-Token", "x")
    assert ht.find_secret({"a": [1, {"b": "Bearer %s" % TOKEN}]}) == ("a.1.b", TOKEN)
    assert ht.find_secret("hf_short") is None
    assert ht.find_secret({"tokenizer": "org/m", "n": 3}) is None


@pytest.mark.parametrize("key", ht.SECRET_KEYS)
def test_every_secret_key_is_one_for_engine_args_and_the_model_repo(key):
    """A key counted as secret anywhere is refused, left out of both renderings and kept
    out of the messages, by the engine-arg checks and by the repository writer alike."""
    errors = ea.check_names({key: "v4lue"}, "0.32.0", "vLLM CPU 0.32.0")
    assert len(errors) == 1 and "is a secret" in errors[0] and "v4lue" not in errors[0]
    args = {key: "v4lue", "max_num_seqs": 4}
    assert "v4lue" not in ea.to_model_json(args, "org/m")
    assert ea.to_cli_args(args, "0.32.0") == ["--max-num-seqs", "4"]
    with pytest.raises(mr.ModelRepoError) as err:
        mr.normalize_models([{"name": "m", "model": "org/m", "engine_args": {key: "v4lue"}}])
    assert err.value.secret == "v4lue" and "v4lue" not in str(err.value)


def test_bare_secret_variable_is_never_shown_or_suggested():
    msg = ea.bare_engine_arg_error({"max_num_seqs": "9"}, {"api_key": "v4lue", "seed": 1})
    assert "v4lue" not in msg and "api_key" not in msg
    assert json.dumps({"model_repo_engine_args": {"seed": 1, "max_num_seqs": 9}}) in msg
