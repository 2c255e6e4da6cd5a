# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke inference against a served model: logic for the triton_infer module.

Two protocols:

* ``openai``: vLLM's OpenAI-compatible ``/v1/completions`` with ``stream=true`` (server-sent
  events), spoken with the standard library only.
* ``triton``: Triton's gRPC ``ModelStreamInfer`` against a decoupled vLLM-backend model, the
  way ``triton infer`` does it (inputs ``text_input``, ``stream``, ``sampling_parameters``,
  ``exclude_input_in_output``; output ``text_output``; the ``triton_final_response``
  response parameter marks the end). Needs ``tritonclient[grpc]`` where it runs.

Pure functions (parsing, accumulation, request building) are kept apart from the few that do
network I/O so they can be unit-tested on captured real output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

import contextlib
import json
import queue
import time

from ansible_collections.llmserve.triton.plugins.module_utils._http import (
    grpc_channel_args,
    open_server_url,
)

OPENAI_DONE = "[DONE]"


class InferError(Exception):
    """A smoke inference failed; the message says why and what to check."""


# --------------------------------------------------------------------------- accumulation


class StreamResult:
    """Accumulates streamed text chunks with their arrival times."""

    def __init__(self, started):
        self.started = started
        self.first_token_at = None
        self.finished_at = None
        self.chunks = []
        self.usage_tokens = None
        self.finish_reason = None
        self.responses = 0

    def add_text(self, text, now):
        self.responses += 1
        if text:
            if self.first_token_at is None:
                self.first_token_at = now
            self.chunks.append(text)

    def finish(self, now):
        self.finished_at = now

    def as_dict(self, protocol, model):
        text = "".join(self.chunks)
        if self.usage_tokens is not None:
            tokens, source = self.usage_tokens, "usage"
        else:
            tokens, source = len(self.chunks), "stream_chunks"
        end = self.finished_at if self.finished_at is not None else self.started
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        return {
            "protocol": protocol,
            "model": model,
            "text": text,
            "tokens": tokens,
            "tokens_source": source,
            "chunks": len(self.chunks),
            "responses": self.responses,
            "finish_reason": self.finish_reason,
            "ttft_s": None if ttft is None else round(ttft, 6),
            "latency_s": round(end - self.started, 6),
        }


def check_answer(result):
    """Raise InferError when the answer is empty (the smoke test's pass criterion)."""
    if not result["text"].strip():
        raise InferError(
            "model %r answered with empty text over %s (%d responses, finish_reason=%s): the "
            "server is up but generation produced nothing; check the server log and max_tokens"
            % (result["model"], result["protocol"], result["responses"], result["finish_reason"])
        )
    return result


# --------------------------------------------------------------------------- OpenAI (SSE)


def openai_base_url(url):
    """Normalise a server URL to the ``.../v1`` base (accepts with or without ``/v1``)."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not url.endswith("/v1"):
        url += "/v1"
    return url


def openai_request_body(model, prompt, max_tokens, temperature, ignore_eos=False, extra=None):
    """Body of a streamed /v1/completions request (usage reported in the last chunk)."""
    body = {
        "model": model,
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if ignore_eos:
        body["ignore_eos"] = True
    if extra:
        body.update(extra)
    return body


def sse_data_lines(lines):
    """Yield the payloads of ``data:`` lines of a server-sent-event stream (bytes or str)."""
    for raw in lines:
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        line = line.rstrip("\r\n")
        if not line.startswith("data:"):
            continue
        yield line[5:].strip()


def apply_openai_event(result, payload, now):
    """Fold one SSE payload into ``result``; return True when the stream says [DONE]."""
    if payload == OPENAI_DONE:
        return True
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise InferError(
            "server sent a stream event that is not JSON: %r (%s)" % (payload, exc)
        ) from exc
    if "error" in event and "choices" not in event:
        err = event["error"]
        msg = err.get("message", err) if isinstance(err, dict) else err
        raise InferError("server reported an error in the stream: %s" % msg)
    usage = event.get("usage")
    if usage and usage.get("completion_tokens") is not None:
        result.usage_tokens = int(usage["completion_tokens"])
    for choice in event.get("choices") or []:
        result.add_text(choice.get("text") or "", now)
        if choice.get("finish_reason"):
            result.finish_reason = choice["finish_reason"]
    return False


def consume_openai_stream(lines, started, clock=time.monotonic):
    """Read an SSE completion stream into a StreamResult (stops at ``data: [DONE]``)."""
    result = StreamResult(started)
    done = False
    for payload in sse_data_lines(lines):
        if apply_openai_event(result, payload, clock()):
            done = True
            break
    result.finish(clock())
    if not done:
        raise InferError(
            "the completion stream ended without 'data: [DONE]' after %d events: the "
            "connection was cut or the server is not an OpenAI-compatible server" % result.responses
        )
    return result


class InferRequest:
    """What an opener needs to send one POST (URL, JSON body, headers)."""

    def __init__(self, full_url, data, headers):
        self.full_url = full_url
        self.data = data
        self.headers = headers

    def get_header(self, name, default=None):
        return self.headers.get(name, default)


def openai_infer(
    url,
    model,
    prompt,
    max_tokens,
    temperature,
    timeout,
    api_key=None,
    ignore_eos=False,
    validate_certs=True,
    opener=None,
    clock=time.monotonic,
):
    """Run one streamed completion; return the result dict (before check_answer)."""
    import urllib.error

    endpoint = openai_base_url(url) + "/completions"
    body = openai_request_body(model, prompt, max_tokens, temperature, ignore_eos)
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    req = InferRequest(endpoint, json.dumps(body).encode("utf-8"), headers)
    if opener is None:

        def opener(r, timeout):
            from ansible.module_utils import urls

            try:
                return open_server_url(
                    r.full_url,
                    data=r.data,
                    headers=r.headers,
                    method="POST",
                    timeout=timeout,
                    validate_certs=validate_certs,
                )
            except (urls.ConnectionError, urls.SSLValidationError) as exc:
                raise OSError(str(exc)) from exc

    started = clock()
    try:
        resp = opener(req, timeout)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:2000]
        raise InferError(
            "POST %s returned HTTP %s: %s%s"
            % (endpoint, exc.code, detail, _openai_hint(exc.code, model))
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InferError(
            "cannot reach %s: %s (is the server running?)" % (endpoint, reason)
        ) from exc
    try:
        result = consume_openai_stream(resp, started, clock)
    except OSError as exc:
        raise InferError("reading the stream from %s failed: %s" % (endpoint, exc)) from exc
    finally:
        resp.close()
    return result.as_dict("openai", model)


def _openai_hint(code, model):
    if code == 404:
        return " (hint: model %r is not served there; GET /v1/models lists the names)" % model
    if code == 401:
        return " (hint: the server wants an API key: set api_key)"
    return ""


# --------------------------------------------------------------------------- Triton (gRPC)


def grpc_target(url):
    """``host:port`` for tritonclient.grpc from ``host:port`` or ``grpc://host:port``."""
    url = url.strip().rstrip("/")
    for prefix in ("grpc://", "grpcs://", "http://", "https://"):
        if url.startswith(prefix):
            url = url[len(prefix) :]
            break
    if ":" not in url:
        url += ":8001"
    return url


def triton_sampling_parameters(max_tokens, temperature, ignore_eos=False):
    """The vLLM backend's ``sampling_parameters`` input (JSON text)."""
    params = {"max_tokens": int(max_tokens), "temperature": float(temperature)}
    if ignore_eos:
        params["ignore_eos"] = True
    return json.dumps(params, sort_keys=True)


def triton_inputs_spec(prompt, max_tokens, temperature, ignore_eos=False):
    """(name, datatype, value) of the four inputs, as `triton infer` sends them."""
    return [
        ("text_input", "BYTES", prompt.encode("utf-8")),
        ("stream", "BOOL", True),
        (
            "sampling_parameters",
            "BYTES",
            triton_sampling_parameters(max_tokens, temperature, ignore_eos).encode("utf-8"),
        ),
        ("exclude_input_in_output", "BOOL", True),
    ]


def build_triton_inputs(grpcclient, np, prompt, max_tokens, temperature, ignore_eos=False):
    """tritonclient InferInput objects for the spec above (shape [1] each)."""
    inputs = []
    for name, dtype, value in triton_inputs_spec(prompt, max_tokens, temperature, ignore_eos):
        arr = np.array([value], dtype=np.object_ if dtype == "BYTES" else bool)
        inp = grpcclient.InferInput(name, [1], dtype)
        inp.set_data_from_numpy(arr)
        inputs.append(inp)
    return inputs


def is_final_response(response):
    """True when a ModelInferResponse carries ``triton_final_response=true``."""
    params = response.parameters
    if "triton_final_response" not in params:
        return False
    return bool(params["triton_final_response"].bool_param)


def decode_text_output(array):
    """Join the ``text_output`` BYTES tensor (numpy object array) into one str."""
    if array is None:
        return ""
    parts = []
    for item in array.reshape(-1).tolist():
        parts.append(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item))
    return "".join(parts)


def collect_triton_stream(events, started, timeout, clock=time.monotonic):
    """Fold (kind, payload, time) events from the stream callback into a StreamResult.

    ``events`` is a queue.Queue fed by the callback with ("response", (text, final), t) or
    ("error", message, t). Stops at the response flagged final.
    """
    result = StreamResult(started)
    deadline = started + timeout
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise InferError(
                "no final response within %ss (%d responses so far, text %r): the model "
                "is not decoupled/streaming or the server stalled"
                % (timeout, result.responses, "".join(result.chunks)[:200])
            )
        try:
            kind, payload, when = events.get(timeout=remaining)
        except queue.Empty:
            continue
        if kind == "error":
            raise InferError("Triton returned an error: %s" % payload)
        text, final = payload
        result.add_text(text, when)
        if final:
            result.finish(when)
            result.finish_reason = "final_response"
            return result


def triton_infer(url, model, prompt, max_tokens, temperature, timeout, ignore_eos=False):
    """Streamed inference over Triton's gRPC protocol with tritonclient (raises ImportError)."""
    import numpy as np
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    target = grpc_target(url)
    events = queue.Queue()

    def callback(result, error):
        now = time.monotonic()
        if error is not None:
            events.put(("error", str(error), now))
            return
        response = result.get_response()
        text = decode_text_output(result.as_numpy("text_output"))
        events.put(("response", (text, is_final_response(response)), now))

    client = grpcclient.InferenceServerClient(url=target, channel_args=grpc_channel_args(target))
    try:
        try:
            if not client.is_model_ready(model):
                raise InferError(
                    "Triton at %s says model %r is not ready (check the model repository "
                    "and the server log)" % (target, model)
                )
        except InferenceServerException as exc:
            raise InferError("cannot query Triton at %s: %s" % (target, exc.message())) from exc
        inputs = build_triton_inputs(grpcclient, np, prompt, max_tokens, temperature, ignore_eos)
        outputs = [grpcclient.InferRequestedOutput("text_output")]
        client.start_stream(callback=callback, stream_timeout=timeout)
        started = time.monotonic()
        client.async_stream_infer(
            model_name=model,
            inputs=inputs,
            outputs=outputs,
            request_id="llmserve-smoke",
            enable_empty_final_response=True,
        )
        result = collect_triton_stream(events, started, timeout)
    finally:
        with contextlib.suppress(Exception):  # best effort on the way out
            client.stop_stream(cancel_requests=True)
        client.close()
    return result.as_dict("triton", model)
