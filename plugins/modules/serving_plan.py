#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: serving_plan
short_description: Plan a deployment once - model, GPUs, engine args, TP, fit, repository texts
version_added: 1.1.0
description:
  - The planner of the collection. Resolves O(model) (a preset name, a Hugging Face id or a
    local path) to its facts and default engine args; finds the GPUs (O(gpu_count) and
    O(gpu_memory_gib), else O(machine_type), else O(gpu_facts)) and says where they came
    from; decides C(tensor_parallel_size) (one function, with the reason); merges the engine
    args in the order preset, hardware (C(tensor_parallel_size) unless set), user overrides
    (O(engine_args)) and records the layer of each; validates the merged result once against
    the engine args of the vLLM version inside the chosen container (Triton
    C(<tag>-vllm-python-py3), C(vllm/vllm-openai:<tag>) or the vLLM CPU build); checks that
    weights plus the KV cache fit; renders Triton's C(config.pbtxt) and C(model.json) once.
  - Sets the fact C(llmserve_serving_plan) (the same data is returned at the top level) with a
    sha256 C(digest) of the plan. Writers write the plan's texts
    (M(llmserve.triton.triton_model_repo) takes O(ignore:models) entries with C(config_pbtxt)
    and C(model_json)); nothing renders them again.
  - An unknown name is an error naming the key, the tag, the vLLM version and close matches;
    values are checked too (types, 0 < C(gpu_memory_utilization) <= 1,
    C(tensor_parallel_size) within the GPUs and dividing the attention heads, C(dtype) valid
    for the quantization, C(max_model_len) within the model's context).
  - With O(hf_token_configured=false), a gated model (a preset with C(gated) true, or a
    C(meta-llama/*) id) is an error naming C(llmserve_hf_token), before any download.
  - Read-only; changes nothing on the host. Replaces C(llmserve.triton.vllm_engine_config)
    (a redirect to this module).
author:
  - llmserve.triton contributors (@llmserve)
extends_documentation_fragment:
  - llmserve.triton.attributes.read_only
attributes:
  facts:
    description: Sets the fact C(llmserve_serving_plan).
    support: full
options:
  model:
    description: Preset name (a key of O(presets)), Hugging Face id (C(org/name)) or absolute path.
    type: str
    required: true
  presets:
    description: Preset data (the model_repo role passes its vars/presets.yml).
    type: dict
    default: {}
  runtime:
    description: Serving runtime; picks how O(container_tag) is read.
    type: str
    choices: [triton, vllm, vllm_cpu, triton_cpu]
    default: triton
  runtime_reason:
    description: Why this runtime (the reason of M(llmserve.triton.serving_runtime)).
    type: str
  runtime_choice:
    description:
      - The fact C(llmserve_runtime_choice) of M(llmserve.triton.serving_runtime); its C(server)
        settings make the plan's C(server) command, its C(triton_cpu) plan the layout whose
        stub environment the triton_cpu models run with. Its runtime must be O(runtime).
    type: dict
  triton_release:
    description:
      - Runtime C(triton) - the Triton release (C(24.05); a tag C(24.05-vllm-python-py3) is read
        as its release). The roles pass the contract's C(llmserve_triton_release).
    type: str
  vllm_image_tag:
    description: Runtime C(vllm) - the vllm/vllm-openai image tag (C(v0.32.0)).
    type: str
  container_tag:
    description:
      - The image tag of the runtime's container (runtime C(triton) a Triton release, C(vllm)
        a vllm/vllm-openai tag); used when O(triton_release) / O(vllm_image_tag) is not given.
    type: str
  vllm_version:
    description:
      - vLLM version of the C(vllm_cpu) and C(triton_cpu) runtimes (default the supported CPU
        version).
    type: str
  engine_args:
    description:
      - "User overrides, merged last (for example C({max_num_seqs: 900})). Dashes in names are
        read as underscores. Anything but a mapping is an error."
      - A secret (C(hf_token), C(token), C(use_auth_token) or C(api_key), in any case) is
        refused and its value masked in the output; the serving role takes the Hugging Face
        token from C(llmserve_hf_token).
    type: raw
  engine_args_sweep:
    description:
      - A benchmark sweep point's engine args, merged after O(engine_args) (layer C(sweep));
        the benchmark role sets it for each server setting it measures.
    type: dict
  model_facts:
    description:
      - Facts for a model that is not a preset (or to correct a preset) - C(params),
        C(bytes_per_weight), C(num_layers), C(num_attention_heads), C(num_kv_heads),
        C(head_dim), C(max_context), optional C(torch_dtype).
    type: dict
  config_json:
    description:
      - Path of a Hugging Face C(config.json) on the target to derive the facts from. For a
        local-path model, C(<path>/config.json) is read when it exists.
    type: path
  served_name:
    description: Model name clients use (defaults to the preset name or the id's last part).
    type: str
  gpu_count:
    description: Number of GPUs; with O(gpu_memory_gib) it overrides everything else. 0 is not set.
    type: int
    default: 0
  gpu_memory_gib:
    description: Memory per GPU in GiB; set with O(gpu_count). 0 is not set.
    type: float
    default: 0
  machine_type:
    description: A key of O(machine_types) (Paperspace machine types); used when O(gpu_count) is 0.
    type: str
    default: ""
  machine_types:
    description: Machine type data, C({name => {gpu_count, gpu_memory_gib, gpu_name}}).
    type: dict
    default: {}
  gpu_facts:
    description: The C(llmserve_gpu) fact from M(llmserve.triton.gpu_facts); used last.
    type: dict
  concurrency:
    description: Sequences of C(max_model_len) tokens that the KV cache must hold at once.
    type: int
    default: 1
  tensor_parallel_policy:
    description:
      - When C(tensor_parallel_size) is not set - C(all_gpus) uses the largest valid size up to
        the GPU count, C(smallest_fit) the smallest valid size that fits.
    type: str
    choices: [all_gpus, smallest_fit]
    default: all_gpus
  gpu_overhead_gib:
    description: Per-GPU reserve inside the budget for activations, CUDA graphs and NCCL.
    type: float
    default: 1.0
  host_memory_mib:
    description: Host RAM for the CPU runtimes' fit (default read from /proc/meminfo).
    type: int
  cpu_kv_cache_space_gib:
    description: KV cache space of the vLLM CPU runtime (C(VLLM_CPU_KVCACHE_SPACE)).
    type: float
    default: 1.0
  check_fit:
    description: Run the memory-fit check.
    type: bool
    default: true
  hf_token_configured:
    description:
      - Whether a Hugging Face token is set for the server (C(llmserve_hf_token)); the token
        itself is never passed. V(false) with a gated model is an error; unset, nothing is
        checked.
    type: bool
  repository:
    description: Runtimes C(triton) and C(triton_cpu) - the absolute path of the model repository.
    type: str
  parameters:
    description: Backend parameters of C(config.pbtxt) (for example C(REPORT_CUSTOM_METRICS)).
    type: dict
    default: {}
  execution_env_path:
    description:
      - Runtime C(triton_cpu) - the Python-backend environment of the model
        (C(EXECUTION_ENV_PATH) in C(config.pbtxt)); default the stub environment of the layout
        of O(runtime_choice).
    type: str
seealso:
  - module: llmserve.triton.triton_model_repo
  - module: llmserve.triton.serving_runtime
"""

EXAMPLES = r"""
- name: Plan Mixtral for the Triton 24.05 container on 4 x A6000
  llmserve.triton.serving_plan:
    model: mixtral
    presets: "{{ presets }}"
    runtime: triton
    triton_release: "24.05"
    gpu_count: 4
    gpu_memory_gib: 47.99
    repository: /opt/llmserve/model_repository
    engine_args:
      max_num_seqs: 900

- name: Any Hugging Face id, on the GPUs nvidia-smi reports, with its facts given
  llmserve.triton.serving_plan:
    model: mistralai/Mistral-7B-Instruct-v0.3
    runtime: vllm
    vllm_image_tag: v0.32.0
    gpu_facts: "{{ llmserve_gpu }}"
    model_facts:
      params: 7248023552
      bytes_per_weight: 2
      num_layers: 32
      num_attention_heads: 32
      num_kv_heads: 8
      head_dim: 128
      max_context: 32768

- name: Why is tensor_parallel_size what it is, and where did each engine arg come from
  ansible.builtin.debug:
    msg:
      - "{{ plan.tensor_parallel_size }}: {{ plan.tensor_parallel_reason }}"
      - "{{ plan.engine_args_origin }}"
  vars:
    plan: "{{ llmserve_serving_plan }}"
"""

RETURN = r"""
ansible_facts:
  description: The plan as the fact C(llmserve_serving_plan) (the keys below).
  returned: success
  type: complex
  contains:
    llmserve_serving_plan:
      description: The plan.
      returned: success
      type: dict
name:
  description: Served model name (Triton model directory / OpenAI model name).
  returned: success
  type: str
  sample: llama3-70b
preset:
  description: Preset name, or null for a plain Hugging Face id or path.
  returned: success
  type: str
  sample: llama3-70b
hf_id:
  description: Hugging Face id or local path given to vLLM as C(model).
  returned: success
  type: str
  sample: meta-llama/Meta-Llama-3-70B-Instruct
demo:
  description: Whether the model is the tiny demo model the serving role generates.
  returned: success
  type: bool
gated:
  description: Whether the model is gated on Hugging Face (a licence and a token needed).
  returned: success
  type: bool
architecture:
  description: For the demo model, the architecture the serving role must build.
  returned: success
  type: dict
runtime:
  description: The serving runtime planned for.
  returned: success
  type: str
  sample: triton
runtime_reason:
  description: Why this runtime.
  returned: success
  type: str
container_tag:
  description: Image tag of a container runtime (the Triton release for C(triton)); else null.
  returned: success
  type: str
  sample: "24.05"
image:
  description: The serving image of a container runtime; null for native runtimes.
  returned: success
  type: str
  sample: nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3
triton_release:
  description: The Triton release of runtime C(triton) (driver branch, SDK image); null otherwise.
  returned: success
  type: str
  sample: "24.05"
vllm_version:
  description: vLLM version inside the chosen container or venv.
  returned: success
  type: str
  sample: 0.4.0.post1
container_label:
  description: Human-readable container and vLLM version.
  returned: success
  type: str
gpus:
  description: The GPUs - C(count), C(memory_gib), C(name), C(origin) (where they came from).
  returned: success
  type: dict
  sample: {count: 4, memory_gib: 47.99, name: NVIDIA RTX A6000, origin: machine type A6000x4}
engine_args:
  description: Merged and validated engine args (without C(model)).
  returned: success
  type: dict
  sample: {gpu_memory_utilization: 0.85, max_model_len: 8192, tensor_parallel_size: 4}
engine_args_origin:
  description: For each engine arg, the layer it came from (preset, hardware, override, sweep).
  returned: success
  type: dict
  sample: {gpu_memory_utilization: preset, max_num_seqs: override, tensor_parallel_size: hardware}
tensor_parallel_size:
  description: Tensor-parallel size used.
  returned: success
  type: int
  sample: 4
tensor_parallel_reason:
  description: Why the tensor-parallel size is what it is.
  returned: success
  type: str
max_model_len:
  description: Context length served (the engine arg, else the model's context).
  returned: success
  type: int
  sample: 8192
facts:
  description: Model facts used by the memory-fit check.
  returned: success
  type: dict
fit:
  description:
    - Memory-fit report - C(checked), C(fits), C(weights_bytes), C(budget_bytes),
      C(kv_cache_bytes), C(kv_bytes_per_token), C(kv_cache_tokens), C(needed_tokens),
      C(max_concurrent_sequences), C(summary).
  returned: success
  type: dict
vllm_cli_args:
  description: The engine args as C(vllm serve) flags, without the model positional.
  returned: success
  type: list
  elements: str
  sample: [--max-model-len, "8192", --tensor-parallel-size, "4"]
repository:
  description: The model repository (runtimes C(triton), C(triton_cpu)); null otherwise.
  returned: success
  type: str
server:
  description:
    - The server command - C(argv), C(entrypoint) (container runtime vllm), C(ports) (published
      container ports), C(endpoint) (C(runtime), C(kind), C(model), C(http_url), C(grpc_url),
      C(metrics_url), C(openai_url)), C(env) and C(container); null without server settings
      in O(runtime_choice).
  returned: success
  type: dict
  contains:
    env:
      description:
        - For the CPU runtimes, the environment the plan needs in the server's - at world size
          1, C(VLLM_ENABLE_V1_MULTIPROCESSING=0), so that vLLM runs its model executor in the
          engine-core process instead of a worker process of its own (one vLLM import fewer at
          start); empty otherwise. C(triton_vllm_cpu_env) is applied over it.
      returned: success
      type: dict
      sample: {VLLM_ENABLE_V1_MULTIPROCESSING: "0"}
    container:
      description:
        - For the container runtimes C(triton) and C(vllm), what the serving role hands to
          C(community.docker.docker_container) as it is (made by the module utility
          C(_serving_container) from the role's settings in O(runtime_choice)); null for the CPU
          runtimes. No secret is in it - the environment refuses tokens, the Hugging Face token
          is a 0600 file in the mounted Hugging Face home.
        - Also C(pull_log), C(pull_timeout), C(pull_progress_interval), C(pull_retries),
          C(state_dir) and C(hf_home), as in the runtime choice's C(container).
      returned: success
      type: dict
      contains:
        image:
          description: The serving image.
          type: str
          sample: nvcr.io/nvidia/tritonserver:24.05-vllm-python-py3
        name:
          description: The container name.
          type: str
          sample: triton
        pull:
          description: Pull policy - C(missing), C(always) or C(never).
          type: str
        network:
          description: C(host) or C(bridge).
          type: str
        published_ports:
          description: The published ports (C(bridge) only), on 127.0.0.1 unless exposed.
          type: list
          elements: str
          sample: ["127.0.0.1:8000:8000"]
        device_requests:
          description:
            - Docker device requests of C(triton_vllm_container_gpus) - none, all (C(count -1)),
              a count, or C(device_ids) for a list of indexes/UUIDs.
          type: list
          elements: dict
          sample: [{driver: nvidia, count: -1, capabilities: [[gpu]]}]
        shm_size:
          description: Size of C(/dev/shm) in bytes.
          type: str
          sample: "10995116278"
        ulimits:
          description: Ulimits as C(name:soft:hard).
          type: list
          elements: str
        volumes:
          description:
            - The model repository read-only (C(triton)), the Hugging Face home read-write, and
              a model given as a local folder read-only at its own path.
          type: list
          elements: str
        env:
          description: C(HF_HOME) and C(triton_vllm_container_env) (no tokens).
          type: dict
        labels:
          description:
            - C(llmserve.triton.runtime), and C(llmserve.triton.model) for C(vllm) (a new
              model recreates that container; Triton switches models without a restart).
          type: dict
        restart_policy:
          description: Docker restart policy.
          type: str
        state:
          description: C(started) or C(present).
          type: str
auto_complete_config:
  description:
    - Whether Triton auto-completes the models' configuration (C(enabled)) and why (C(reason));
      null for the runtimes without Triton. For C(triton_cpu) with a vLLM backend release whose
      inputs and outputs the collection knows (module utility C(_triton_vllm_io)), config.pbtxt
      declares them and the server runs with C(--disable-auto-complete-config) (one vLLM import
      fewer per model load); the C(triton) container keeps Triton's auto-complete.
  returned: success
  type: dict
  sample:
    enabled: false
    reason: config.pbtxt declares the inputs and outputs of vLLM backend r26.01, ...
repository_models:
  description: Repository entries - C(name), C(model), C(version), C(config_pbtxt), C(model_json).
  returned: success
  type: list
  elements: dict
secrets:
  description: How the Hugging Face token is handled (whether one is configured, never its value).
  returned: success
  type: dict
digest:
  description: sha256 of the plan (changes whenever any decision does).
  returned: success
  type: str
errors:
  description: One message per bad input.
  returned: failure
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmserve.triton.plugins.module_utils._hf_token import is_secret_key
from ansible_collections.llmserve.triton.plugins.module_utils._memory_fit import GIB
from ansible_collections.llmserve.triton.plugins.module_utils._serving_plan import (
    build_plan,
    resolve_gpus,
)
from ansible_collections.llmserve.triton.plugins.module_utils._vllm_engine_config import (
    ConfigError,
)


def _meminfo_bytes(path="/proc/meminfo"):
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _read_config_json(module, path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read the model's config.json %s: %s" % (path, exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            model=dict(type="str", required=True),
            presets=dict(type="dict", default={}),
            runtime=dict(
                type="str", choices=["triton", "vllm", "vllm_cpu", "triton_cpu"], default="triton"
            ),
            runtime_reason=dict(type="str"),
            runtime_choice=dict(type="dict"),
            triton_release=dict(type="str"),
            vllm_image_tag=dict(type="str"),
            container_tag=dict(type="str"),
            vllm_version=dict(type="str"),
            engine_args=dict(type="raw"),
            engine_args_sweep=dict(type="dict"),
            model_facts=dict(type="dict"),
            config_json=dict(type="path"),
            served_name=dict(type="str"),
            gpu_count=dict(type="int", default=0),
            gpu_memory_gib=dict(type="float", default=0),
            machine_type=dict(type="str", default=""),
            machine_types=dict(type="dict", default={}),
            gpu_facts=dict(type="dict"),
            concurrency=dict(type="int", default=1),
            tensor_parallel_policy=dict(
                type="str", choices=["all_gpus", "smallest_fit"], default="all_gpus"
            ),
            gpu_overhead_gib=dict(type="float", default=1.0),
            host_memory_mib=dict(type="int"),
            cpu_kv_cache_space_gib=dict(type="float", default=1.0),
            check_fit=dict(type="bool", default=True),
            hf_token_configured=dict(type="bool"),
            repository=dict(type="str"),
            parameters=dict(type="dict", default={}),
            execution_env_path=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if isinstance(p["engine_args"], dict):
        for key, value in p["engine_args"].items():
            if is_secret_key(key) and value:
                module.no_log_values.add(str(value))
    if p["concurrency"] < 1:
        module.fail_json(msg="concurrency must be at least 1, got %d" % p["concurrency"])
    config_path = p["config_json"]
    if not config_path and p["model"].startswith("/"):
        candidate = os.path.join(p["model"], "config.json")
        config_path = candidate if os.path.isfile(candidate) else None
    hf_config = _read_config_json(module, config_path) if config_path else None
    host_mem = p["host_memory_mib"] * 1024 * 1024 if p["host_memory_mib"] else _meminfo_bytes()
    gpu_facts = p["gpu_facts"] or {}
    try:
        gpus = resolve_gpus(
            p["gpu_count"], p["gpu_memory_gib"], p["machine_type"], p["machine_types"], gpu_facts
        )
        plan = build_plan(
            p["model"],
            p["presets"],
            runtime=p["runtime"],
            runtime_reason=p["runtime_reason"],
            runtime_choice=p["runtime_choice"],
            triton_release=p["triton_release"] or p["container_tag"],
            vllm_image_tag=p["vllm_image_tag"] or p["container_tag"],
            vllm_version=p["vllm_version"],
            gpus=gpus,
            repository=p["repository"],
            parameters=p["parameters"],
            execution_env_path=p["execution_env_path"],
            hf_token_configured=p["hf_token_configured"],
            engine_args=p["engine_args"],
            engine_args_sweep=p["engine_args_sweep"],
            user_facts=p["model_facts"],
            hf_config=hf_config,
            served_name=p["served_name"],
            concurrency=p["concurrency"],
            tp_policy=p["tensor_parallel_policy"],
            gpu_overhead_bytes=p["gpu_overhead_gib"] * GIB,
            host_memory_bytes=host_mem,
            cpu_kv_cache_bytes=p["cpu_kv_cache_space_gib"] * GIB,
            check_fit=p["check_fit"],
        )
    except ConfigError as exc:
        errors = exc.errors
        reason = gpu_facts.get("reason")
        if reason:
            errors = [
                e + " (gpu_facts: %s)" % reason if e.startswith("GPU facts are missing") else e
                for e in errors
            ]
        module.fail_json(msg="; ".join(errors), errors=errors)
    module.exit_json(changed=False, ansible_facts={"llmserve_serving_plan": plan}, **plan)


if __name__ == "__main__":
    main()
