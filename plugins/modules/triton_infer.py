#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

DOCUMENTATION = r"""
---
module: triton_infer
short_description: Smoke inference against a served LLM (Triton gRPC streaming or OpenAI API)
version_added: "1.0.0"
description:
  - Sends one prompt to a served model and streams the answer back, measuring time to first
    token and total latency. Fails when the server cannot be reached, reports an error, or
    answers with empty text.
  - With O(protocol=triton) it speaks Triton's gRPC protocol with C(tritonclient), the way
    C(triton infer) does for a decoupled vLLM-backend model - one C(ModelStreamInfer) stream
    with inputs C(text_input), C(stream=true), C(sampling_parameters) (JSON) and
    C(exclude_input_in_output=true), reading C(text_output) until the response flagged
    C(triton_final_response).
  - With O(protocol=openai) it calls vLLM's OpenAI-compatible C(/v1/completions) with
    C(stream=true) using only the Python standard library.
  - The module never changes anything; it also runs in check mode, like an C(_info) module,
    so guard the task with C(when) where the server may not exist yet in check mode.
version_added_collection: llmserve.triton
author:
  - llmserve.triton contributors (@llmserve)
options:
  url:
    description:
      - Where the server listens.
      - For O(protocol=openai), the HTTP base URL, with or without C(/v1), for example
        C(http://127.0.0.1:8000).
      - For O(protocol=triton), the gRPC address C(host:port) (a C(grpc://) prefix is
        accepted), for example C(127.0.0.1:8001). Without a port, 8001 is used.
    type: str
    required: true
  model:
    description:
      - Served model name (Triton model name, or the OpenAI C(model) field).
    type: str
    required: true
  protocol:
    description:
      - V(triton) for Triton's gRPC streaming protocol, V(openai) for vLLM's OpenAI API.
      - The C(llmserve_endpoint.kind) fact of the triton_vllm role has the right value.
    type: str
    choices: [triton, openai]
    default: triton
  prompt:
    description: Prompt text.
    type: str
    default: machine learning is
  max_tokens:
    description: Largest number of tokens to generate.
    type: int
    default: 16
  temperature:
    description: Sampling temperature (0 is greedy).
    type: float
    default: 0.0
  ignore_eos:
    description:
      - Ask vLLM to keep generating past the end-of-sequence token, so exactly O(max_tokens)
        tokens come back.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the whole answer (connection and stream).
    type: float
    default: 120
  api_key:
    description:
      - Bearer token for an OpenAI-compatible server started with C(--api-key). Never logged.
      - Ignored for O(protocol=triton).
    type: str
  validate_certs:
    description: Verify TLS certificates for C(https://) URLs (O(protocol=openai)).
    type: bool
    default: true
requirements:
  - For O(protocol=triton), C(tritonclient[grpc]) (which brings grpcio, protobuf and numpy)
    importable by the Python that runs the module. The triton_vllm role installs it in a
    virtual environment and sets fact C(triton_vllm_client_python) to its interpreter.
notes:
  - Token count is C(usage.completion_tokens) from the last OpenAI stream chunk when the server
    reports it, else the number of non-empty streamed chunks (vLLM's Triton backend streams one
    chunk per decoding step); RV(tokens_source) says which.
extends_documentation_fragment:
  - llmserve.triton.attributes.read_only
"""

EXAMPLES = r"""
- name: Smoke test the OpenAI API of a vLLM server
  llmserve.triton.triton_infer:
    url: http://127.0.0.1:8000
    model: demo
    protocol: openai
  register: smoke

- name: Smoke test Triton over gRPC streaming, as `triton infer` does
  llmserve.triton.triton_infer:
    url: 127.0.0.1:8001
    model: llama3-70b
    protocol: triton
    prompt: machine learning is
    max_tokens: 32
  vars:
    ansible_python_interpreter: "{{ triton_vllm_client_python }}"

- name: Use the endpoint fact of the triton_vllm role
  llmserve.triton.triton_infer:
    url: "{{ llmserve_endpoint.grpc_url if llmserve_endpoint.kind == 'triton'
             else llmserve_endpoint.openai_url }}"
    model: "{{ llmserve_endpoint.model }}"
    protocol: "{{ llmserve_endpoint.kind }}"
"""

RETURN = r"""
text:
  description: The generated text (prompt excluded).
  returned: success
  type: str
  sample: " a field of study that gives computers the ability to learn"
tokens:
  description: Number of generated tokens (see RV(tokens_source)).
  returned: success
  type: int
  sample: 16
tokens_source:
  description: V(usage) (server-reported count) or V(stream_chunks) (non-empty chunks).
  returned: success
  type: str
  sample: usage
ttft_s:
  description: Seconds from sending the request to the first non-empty text chunk.
  returned: success
  type: float
  sample: 0.042
latency_s:
  description: Seconds from sending the request to the end of the stream.
  returned: success
  type: float
  sample: 0.31
chunks:
  description: Number of non-empty text chunks received.
  returned: success
  type: int
  sample: 16
responses:
  description: Number of stream messages received (including empty final ones).
  returned: success
  type: int
  sample: 17
finish_reason:
  description:
    - OpenAI C(finish_reason) of the last choice (V(length), V(stop)), or V(final_response)
      for Triton.
  returned: success
  type: str
  sample: length
protocol:
  description: The protocol used.
  returned: always
  type: str
  sample: openai
model:
  description: The model name queried.
  returned: always
  type: str
  sample: demo
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.llmserve.triton.plugins.module_utils._triton_infer import (
    InferError,
    check_answer,
    openai_infer,
    triton_infer,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            model=dict(type="str", required=True),
            protocol=dict(type="str", choices=["triton", "openai"], default="triton"),
            prompt=dict(type="str", default="machine learning is"),
            max_tokens=dict(type="int", default=16, no_log=False),
            temperature=dict(type="float", default=0.0),
            ignore_eos=dict(type="bool", default=False),
            timeout=dict(type="float", default=120),
            api_key=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["max_tokens"] < 1:
        module.fail_json(msg="max_tokens must be at least 1, got %d" % p["max_tokens"])
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be positive, got %s" % p["timeout"])
    base = dict(changed=False, protocol=p["protocol"], model=p["model"])
    try:
        request = [p[k] for k in ("url", "model", "prompt", "max_tokens", "temperature", "timeout")]
        if p["protocol"] == "openai":
            result = openai_infer(
                *request,
                api_key=p["api_key"],
                ignore_eos=p["ignore_eos"],
                validate_certs=p["validate_certs"],
            )
        else:
            try:
                result = triton_infer(*request, ignore_eos=p["ignore_eos"])
            except ImportError as exc:
                module.fail_json(
                    msg=missing_required_lib(
                        "tritonclient[grpc]",
                        reason="protocol=triton (install it for the Python running this "
                        "module: pip install 'tritonclient[grpc]')",
                    ),
                    exception=str(exc),
                    **base,
                )
        check_answer(result)
    except InferError as exc:
        module.fail_json(msg=str(exc), **base)
    base.update(result)
    module.exit_json(**base)


if __name__ == "__main__":
    main()
