# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmserve.triton contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory-fit arithmetic for serving a model with vLLM: pure functions, no I/O.

Weights take ``params x bytes_per_weight``, split over ``tensor_parallel_size`` GPUs. vLLM
gives the KV cache what is left of ``GPUs x memory x gpu_memory_utilization`` after the
weights (and a small runtime reserve for activations, CUDA graphs and NCCL buffers). One token
of KV cache takes ``2 (K and V) x layers x kv_heads x head_dim x bytes``; the engine refuses to
start when the cache cannot hold one sequence of ``max_model_len`` tokens. The check here fails
before a host is touched, with the numbers, instead of a cache error after a long start.

Units: memory inputs are bytes; messages print decimal GB (1e9 bytes) like model cards do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test sanity wants it

GB = 1000**3
GIB = 1024**3
KIB = 1024

# Bytes per element for a vLLM dtype / kv_cache_dtype name.
DTYPE_BYTES = {
    "float32": 4,
    "float": 4,
    "float16": 2,
    "half": 2,
    "bfloat16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "fp8_inc": 1,
    "int8": 1,
}

FACT_KEYS = (
    "params",
    "bytes_per_weight",
    "num_layers",
    "num_attention_heads",
    "num_kv_heads",
    "head_dim",
    "max_context",
)

# Reserve per GPU inside the gpu_memory_utilization budget for activations, CUDA graphs and
# NCCL buffers (vLLM profiles this at start; ~1 GiB is typical for these model sizes).
DEFAULT_GPU_OVERHEAD_BYTES = 1 * GIB
# Resident memory of a vLLM CPU server beside weights and KV cache (measured ~3 GiB RSS).
DEFAULT_CPU_OVERHEAD_BYTES = 3 * GIB
# Share of the host RAM the CPU runtime may use (the rest stays with the OS).
DEFAULT_HOST_FRACTION = 0.9


class FitError(ValueError):
    """Raised with a message that names the input, the numbers and a fix."""


def gb(num_bytes):
    """Format bytes as decimal GB with one decimal (MB below 0.1 GB)."""
    if abs(num_bytes) < GB / 10:
        return "%.1f MB" % (num_bytes / 1000.0**2)
    return "%.1f GB" % (num_bytes / GB)


def ktokens(tokens):
    """Format a token count as 70k / 1.2M / 900."""
    if tokens >= 1000000:
        return "%.1fM" % (tokens / 1000000.0)
    if tokens >= 1000:
        return "%dk" % round(tokens / 1000.0)
    return "%d" % tokens


def normalize_facts(facts, label="model facts"):
    """Validate a facts dict; return a new dict with ints/floats. Raises FitError."""
    if not isinstance(facts, dict):
        raise FitError("%s must be a dict with keys %s" % (label, ", ".join(FACT_KEYS)))
    missing = [k for k in FACT_KEYS if facts.get(k) in (None, "")]
    if missing:
        raise FitError(
            "%s lack %s (needed for the memory-fit check); give them or a readable local "
            "config.json" % (label, ", ".join(missing))
        )
    out = dict(facts)
    for key in FACT_KEYS:
        value = facts[key]
        try:
            number = float(value) if key == "bytes_per_weight" else int(value)
        except (TypeError, ValueError):
            raise FitError("%s.%s must be a number, got %r" % (label, key, value)) from None
        if isinstance(value, bool) or number <= 0:
            raise FitError("%s.%s must be a positive number, got %r" % (label, key, value))
        out[key] = number
    return out


def _bits_bytes(quant):
    """Bytes per weight of a quantization_config (GPTQ/AWQ: bits + fp16 scales per group)."""
    bits = quant.get("bits") or quant.get("w_bit")
    if not bits:
        method = str(quant.get("quant_method", "")).lower()
        if "fp8" in method:
            return 1.0
        return None
    group = quant.get("group_size") or quant.get("q_group_size") or 128
    group = group if group and group > 0 else 4096
    return bits / 8.0 + 2.0 / group + bits / 8.0 / group


def facts_from_hf_config(config):
    """Derive memory-fit facts from a Hugging Face config.json dict (decoder-only LLMs).

    The parameter count is estimated for Llama/Mistral/Mixtral/Qwen-style decoders:
    embeddings (+ LM head unless tied) + per layer attention, MLP (x experts) and norms.
    """
    cfg = config.get("text_config") or config
    try:
        hidden = int(cfg["hidden_size"])
        layers = int(cfg["num_hidden_layers"])
        heads = int(cfg["num_attention_heads"])
        vocab = int(cfg["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FitError("config.json lacks %s: give the model facts instead" % exc) from None
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    inter = int(cfg.get("intermediate_size") or 4 * hidden)
    experts = int(cfg.get("num_local_experts") or cfg.get("num_experts") or 1)
    max_ctx = int(cfg.get("max_position_embeddings") or cfg.get("max_seq_len") or 2048)
    embed = vocab * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    attn = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    mlp = 3 * hidden * inter * experts + (hidden * experts if experts > 1 else 0)
    params = embed + layers * (attn + mlp + 2 * hidden) + hidden
    torch_dtype = str(cfg.get("torch_dtype") or config.get("torch_dtype") or "bfloat16")
    bpw = DTYPE_BYTES.get(torch_dtype, 2)
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and _bits_bytes(quant):
        bpw = round(_bits_bytes(quant), 4)
    return {
        "params": params,
        "bytes_per_weight": bpw,
        "num_layers": layers,
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "max_context": max_ctx,
        "torch_dtype": torch_dtype,
    }


def weights_bytes(facts):
    return int(round(facts["params"] * facts["bytes_per_weight"]))


def kv_dtype_bytes(engine_args, facts):
    """Bytes per KV-cache element: kv_cache_dtype, else dtype, else the model's dtype."""
    for key in ("kv_cache_dtype", "dtype"):
        value = str(engine_args.get(key) or "auto")
        if value != "auto":
            if value in DTYPE_BYTES:
                return DTYPE_BYTES[value]
            if value.startswith("fp8"):
                return 1
    return DTYPE_BYTES.get(str(facts.get("torch_dtype") or "bfloat16"), 2)


def kv_bytes_per_token(facts, dtype_bytes):
    return 2 * facts["num_layers"] * facts["num_kv_heads"] * facts["head_dim"] * dtype_bytes


def valid_tp_sizes(facts, gpu_count):
    """Tensor-parallel sizes vLLM accepts on gpu_count GPUs: they divide the attention heads."""
    return [tp for tp in range(1, gpu_count + 1) if facts["num_attention_heads"] % tp == 0]


def gpu_fit(
    facts,
    tensor_parallel_size,
    gpu_memory_bytes,
    gpu_memory_utilization,
    max_model_len,
    dtype_bytes,
    concurrency=1,
    overhead_bytes_per_gpu=DEFAULT_GPU_OVERHEAD_BYTES,
):
    """Memory-fit report for one tensor-parallel size (no exception; see 'fits')."""
    tp = int(tensor_parallel_size)
    weights = weights_bytes(facts)
    budget = tp * gpu_memory_bytes * gpu_memory_utilization
    overhead = tp * overhead_bytes_per_gpu
    kv_space = budget - overhead - weights
    per_token = kv_bytes_per_token(facts, dtype_bytes)
    kv_tokens = int(max(kv_space, 0) // per_token)
    needed = int(max_model_len) * int(concurrency)
    fits = kv_space > 0 and kv_tokens >= needed
    text = "needs %s of weights; %d x %s x %s = %s" % (
        gb(weights),
        tp,
        gb(gpu_memory_bytes),
        ("%g" % gpu_memory_utilization),
        gb(budget),
    )
    if overhead:
        text += " minus %s runtime reserve" % gb(overhead)
    if kv_space > 0:
        text += " leaves %s for KV cache = %s tokens (%s KiB/token)" % (
            gb(kv_space),
            ktokens(kv_tokens),
            "%g" % (per_token / KIB),
        )
    else:
        text += " is %s short before any KV cache" % gb(-kv_space)
    text += "; max_model_len %d x concurrency %d needs %s tokens" % (
        int(max_model_len),
        int(concurrency),
        ktokens(needed),
    )
    return {
        "fits": bool(fits),
        "runtime": "gpu",
        "tensor_parallel_size": tp,
        "weights_bytes": weights,
        "budget_bytes": int(budget),
        "overhead_bytes": int(overhead),
        "kv_cache_bytes": int(max(kv_space, 0)),
        "kv_bytes_per_token": per_token,
        "kv_cache_tokens": kv_tokens,
        "needed_tokens": needed,
        "max_concurrent_sequences": kv_tokens // int(max_model_len),
        "summary": text,
    }


def choose_tensor_parallel(
    facts,
    gpu_count,
    gpu_memory_bytes,
    gpu_memory_utilization,
    max_model_len,
    dtype_bytes,
    concurrency=1,
    tensor_parallel_size=None,
    overhead_bytes_per_gpu=DEFAULT_GPU_OVERHEAD_BYTES,
    model="model",
):
    """Return the fit report for the given TP, or for the smallest valid TP that fits.

    Raises FitError with the numbers when nothing fits.
    """
    if gpu_count < 1:
        raise FitError("no GPU to serve %s on (gpu_count %d)" % (model, gpu_count))
    if tensor_parallel_size:
        candidates = [int(tensor_parallel_size)]
    else:
        candidates = valid_tp_sizes(facts, gpu_count)
    report = None
    for tp in candidates:
        report = gpu_fit(
            facts,
            tp,
            gpu_memory_bytes,
            gpu_memory_utilization,
            max_model_len,
            dtype_bytes,
            concurrency,
            overhead_bytes_per_gpu,
        )
        if report["fits"]:
            report["tp_inferred"] = not tensor_parallel_size
            return report
    fix = (
        "use more or larger GPUs, a quantized model, a lower max_model_len, or a higher "
        "gpu_memory_utilization"
    )
    if not tensor_parallel_size and candidates[-1] < gpu_count:
        fix = "no tensor_parallel_size up to %d GPUs divides %d heads and fits; %s" % (
            gpu_count,
            facts["num_attention_heads"],
            fix,
        )
    raise FitError(
        "%s does not fit: %s at tensor_parallel_size %d; %s"
        % (model, report["summary"], report["tensor_parallel_size"], fix)
    )


def cpu_fit(
    facts,
    host_memory_bytes,
    kv_cache_space_bytes,
    max_model_len,
    dtype_bytes,
    concurrency=1,
    overhead_bytes=DEFAULT_CPU_OVERHEAD_BYTES,
    host_fraction=DEFAULT_HOST_FRACTION,
    model="model",
):
    """Fit on the vLLM CPU runtime: weights + KV cache space + runtime vs the host RAM.

    Raises FitError with the numbers when the model cannot be served on this host.
    """
    weights = weights_bytes(facts)
    per_token = kv_bytes_per_token(facts, dtype_bytes)
    kv_tokens = int(kv_cache_space_bytes // per_token)
    needed_tokens = int(max_model_len) * int(concurrency)
    need = weights + kv_cache_space_bytes + overhead_bytes
    budget = host_memory_bytes * host_fraction
    summary = "needs %s of weights + %s KV cache space + %s runtime = %s; host RAM %s x %g = %s" % (
        gb(weights),
        gb(kv_cache_space_bytes),
        gb(overhead_bytes),
        gb(need),
        gb(host_memory_bytes),
        host_fraction,
        gb(budget),
    )
    summary += "; KV cache space holds %s tokens (%s KiB/token), max_model_len %d x %d needs %s" % (
        ktokens(kv_tokens),
        "%g" % (per_token / KIB),
        int(max_model_len),
        int(concurrency),
        ktokens(needed_tokens),
    )
    report = {
        "fits": need <= budget and kv_tokens >= needed_tokens,
        "runtime": "cpu",
        "tensor_parallel_size": 1,
        "weights_bytes": weights,
        "budget_bytes": int(budget),
        "overhead_bytes": int(overhead_bytes),
        "kv_cache_bytes": int(kv_cache_space_bytes),
        "kv_bytes_per_token": per_token,
        "kv_cache_tokens": kv_tokens,
        "needed_tokens": needed_tokens,
        "max_concurrent_sequences": kv_tokens // int(max_model_len),
        "summary": summary,
        "tp_inferred": False,
    }
    if need > budget:
        raise FitError(
            "%s does not fit the CPU runtime: %s; serve it on GPUs (triton_vllm_runtime: "
            "triton or vllm) or pick a smaller model such as the demo preset" % (model, summary)
        )
    if kv_tokens < needed_tokens:
        raise FitError(
            "%s: the CPU KV cache space is too small: %s; raise the KV cache space or lower "
            "max_model_len" % (model, summary)
        )
    return report
