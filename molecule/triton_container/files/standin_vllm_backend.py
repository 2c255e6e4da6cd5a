# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TEST STAND-IN for NVIDIA's vLLM backend (src/model.py of triton-inference-server/vllm_backend).

Installed as <backend directory>/vllm/model.py in the serving image of the Molecule scenario
triton_container, so that `backend: "vllm"` in a config.pbtxt written by triton_model_repo runs
it inside NVIDIA's REAL tritonserver and Python backend (from the nvidia-pytriton wheel). There
is no vLLM and no model behind it: it reads <model>/<version>/model.json as NVIDIA's backend
does, fills in the same decoupled config (auto_complete_config), takes the inputs text_input,
stream, sampling_parameters (max_tokens) and exclude_input_in_output, and streams max_tokens
`text_output` tokens that name the model of model.json ("test-org/x#0 test-org/x#1 ..."). It
logs whether the HF token file is where huggingface_hub would read it (never the token).

Test hooks read from model.json (keys no vLLM engine arg has):
  standin_load_seconds  seconds initialize() takes (a model that loads for a while)
  standin_fail_to_load  initialize() raises ValueError with this text after that time
"""

import json
import os
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    @staticmethod
    def auto_complete_config(config):
        for spec in (
            {"name": "text_input", "data_type": "TYPE_STRING", "dims": [1]},
            {"name": "stream", "data_type": "TYPE_BOOL", "dims": [1], "optional": True},
            {
                "name": "sampling_parameters",
                "data_type": "TYPE_STRING",
                "dims": [1],
                "optional": True,
            },
            {
                "name": "exclude_input_in_output",
                "data_type": "TYPE_BOOL",
                "dims": [1],
                "optional": True,
            },
        ):
            config.add_input(spec)
        config.add_output({"name": "text_output", "data_type": "TYPE_STRING", "dims": [-1]})
        config.set_model_transaction_policy({"decoupled": True})
        config.set_max_batch_size(0)
        return config

    def initialize(self, args):
        self.logger = pb_utils.Logger
        config = json.loads(args["model_config"])
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException("the vLLM backend (stand-in) needs decoupled mode")
        path = os.path.join(args["model_repository"], args["model_version"], "model.json")
        with open(path, encoding="utf-8") as f:
            self.engine = json.load(f)
        time.sleep(float(self.engine.get("standin_load_seconds", 0)))
        if self.engine.get("standin_fail_to_load"):
            raise ValueError(self.engine["standin_fail_to_load"])
        # Where huggingface_hub would look for the token (never its content).
        token = os.path.join(os.environ.get("HF_HOME", "/nonexistent"), "token")
        self.logger.log_info(
            "vLLM backend stand-in: %s loaded; HF token file %s"
            % (self.engine["model"], "present" if os.path.exists(token) else "absent")
        )

    @staticmethod
    def _input(request, name, default):
        tensor = pb_utils.get_input_tensor_by_name(request, name)
        if tensor is None:
            return default
        value = tensor.as_numpy().reshape(-1)[0]
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def execute(self, requests):
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        for request in requests:
            sender = request.get_response_sender()
            try:
                prompt = self._input(request, "text_input", "")
                stream = bool(self._input(request, "stream", False))
                exclude = bool(self._input(request, "exclude_input_in_output", False))
                params = json.loads(self._input(request, "sampling_parameters", "") or "{}")
                tokens = [
                    " %s#%d" % (self.engine["model"], i)
                    for i in range(int(params.get("max_tokens", 16)))
                ]
            except (ValueError, TypeError) as exc:
                sender.send(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))), flags=final
                )
                continue
            chunks = (
                tokens if stream else ["".join(tokens) if exclude else prompt + "".join(tokens)]
            )
            for i, chunk in enumerate(chunks):
                out = pb_utils.Tensor(
                    "text_output", np.array([chunk.encode("utf-8")], dtype=np.object_)
                )
                sender.send(
                    pb_utils.InferenceResponse(output_tensors=[out]),
                    flags=final if i == len(chunks) - 1 else 0,
                )
            if not chunks:
                sender.send(flags=final)
        return None

    def finalize(self):
        self.logger.log_info("vLLM backend stand-in: %s unloaded" % self.engine.get("model"))
