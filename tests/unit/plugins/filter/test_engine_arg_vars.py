# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters bare_engine_arg_vars / bare_engine_arg_error: thin over _engine_args."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.llmserve.triton.plugins.filter.engine_arg_vars import FilterModule

FILTERS = FilterModule().filters()


def test_both_filters_are_registered():
    assert set(FILTERS) == {"bare_engine_arg_vars", "bare_engine_arg_error"}


def test_names_in_message_out():
    names = FILTERS["bare_engine_arg_vars"](["max_num_seqs", "model", "groups"], [])
    assert names == ["max_num_seqs"]
    msg = FILTERS["bare_engine_arg_error"]({"max_num_seqs": "900"}, {})
    assert """-e '{"model_repo_engine_args": {"max_num_seqs": 900}}'""" in msg
    assert FILTERS["bare_engine_arg_error"]({}) == ""


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: FILTERS["bare_engine_arg_vars"]("max_num_seqs"), "list of variable names"),
        (lambda: FILTERS["bare_engine_arg_vars"]([], {"a": 1}), "model_repo_not_engine_args"),
        (lambda: FILTERS["bare_engine_arg_error"](["max_num_seqs"]), "mapping"),
    ],
)
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(AnsibleFilterError, match=match):
        call()
