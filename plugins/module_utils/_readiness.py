# -*- coding: utf-8 -*-
# Copyright: contributors to the llmserve.triton collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers of the wait_for_inference_server module: readiness probes for Triton and
vLLM, process/container state parsing, progress lines and failure-cause classification."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001

import json
import re

KINDS = ("openai", "triton")


def probe_plan(kind, base_url, model):
    """Ordered readiness probes: [(name, url)]. Every probe must answer HTTP 200."""
    base = base_url.rstrip("/")
    if kind == "triton":
        return [
            ("server ready", base + "/v2/health/ready"),
            ("model ready", base + "/v2/models/%s/ready" % model),
        ]
    if kind == "openai":
        return [("server health", base + "/health"), ("model listed", base + "/v1/models")]
    raise ValueError("unknown server kind %r; expected one of %s" % (kind, ", ".join(KINDS)))


def listed_models(body):
    """Model ids in an OpenAI /v1/models answer (bytes or str); [] when it is not one."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return []
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return []
    return [m.get("id") for m in data["data"] if isinstance(m, dict) and m.get("id")]


def probe_ok(name, status, body, model):
    """Whether one probe's answer counts as ready."""
    if status != 200:
        return False
    if name == "model listed":
        return model in listed_models(body)
    return True


def tail(text, count=50):
    """The last `count` non-empty lines of text."""
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    return lines[-count:] if count else []


START_MARK = "[llmserve-supervisor "


def current_run(lines):
    """Lines of the latest start only: from the supervisor's last "started" line on, when the
    log has one (the daemon's log file keeps earlier runs)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(START_MARK) and "] started " in lines[i]:
            return lines[i:]
    return lines


def unavailable_reason(entry):
    """The load error of a Triton repository-index entry, or '' (not failed, or unloaded)."""
    if (entry or {}).get("state") != "UNAVAILABLE":
        return ""
    reason = (entry.get("reason") or "").strip()
    return "" if reason in ("", "unloaded") else reason


def pid_alive_from_stat(stat_text):
    """Whether a /proc/<pid>/stat line describes a live (not zombie/dead) process."""
    if not stat_text or ")" not in stat_text:
        return False
    fields = stat_text.rsplit(")", 1)[1].split()
    return bool(fields) and fields[0] not in ("Z", "X", "x")


def parse_systemctl_show(text):
    """`systemctl show -p ...` KEY=VALUE output → dict."""
    out = {}
    for line in (text or "").splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def systemd_state(props):
    """Process state from systemctl show properties."""
    active = props.get("ActiveState", "unknown")
    running = active in ("active", "activating", "reloading")
    detail = "unit %s/%s" % (active, props.get("SubState", "?"))
    if props.get("MainPID") not in (None, "", "0"):
        detail += ", pid %s" % props["MainPID"]
    result = props.get("Result", "")
    if not running and result and result != "success":
        detail += ", result %s" % result
    if not running and props.get("ExecMainStatus") not in (None, "", "0"):
        detail += ", exit status %s" % props["ExecMainStatus"]
    return {
        "running": running,
        "detail": detail,
        "oom_killed": result == "oom-kill",
        "exit_code": _int_or_none(props.get("ExecMainStatus")),
    }


def docker_state(inspect_json):
    """Process state from `docker inspect --format '{{json .State}}' NAME`."""
    try:
        st = json.loads(inspect_json)
    except (TypeError, ValueError):
        return {"running": False, "detail": "container not found", "oom_killed": False}
    if isinstance(st, list):
        st = (st[0] or {}).get("State", {}) if st else {}
    running = bool(st.get("Running")) and not st.get("Restarting")
    detail = "container %s" % st.get("Status", "unknown")
    if st.get("Restarting"):
        detail += " (restarting)"
    if not running:
        detail += ", exit code %s" % st.get("ExitCode")
        if st.get("OOMKilled"):
            detail += ", OOM-killed"
        if st.get("Error"):
            detail += ", error: %s" % st["Error"]
    return {
        "running": running,
        "detail": detail,
        "oom_killed": bool(st.get("OOMKilled")),
        "exit_code": st.get("ExitCode"),
    }


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# (cause, regex, hint). First match in the log wins, checked in this order: the specific
# causes before the generic ones. Patterns come from real vLLM / Triton / huggingface_hub
# failure logs (see tests/unit/plugins/module_utils/fixtures/).
CAUSES = [
    (
        "gated_model_without_token",
        r"GatedRepoError|Cannot access gated repo|gated repo|"
        r"You must have access to it and be authenticated|401 Client Error",
        "The model is gated on Hugging Face and no valid token was given: accept its licence "
        "on huggingface.co and set llmserve_hf_token (kept in a 0600 file, never logged).",
    ),
    (
        "backend_vllm_mismatch",
        r"cannot import name '\w+' from 'vllm[\w.]*'|No module named 'vllm\.[\w.]+'",
        "NVIDIA's vLLM backend imports a name this vLLM does not have: the backend release and "
        "the vLLM version are not paired. Use a pairing listed in roles/triton_vllm/vars/"
        "triton_cpu.yml (triton_vllm_backend_release, llmserve_vllm_cpu_version), or name the "
        "measure that bridges it in triton_vllm_triton_cpu_compat.",
    ),
    (
        "stub_numpy_abi",
        r"unpack_from requires a buffer of at least",
        "Triton's Python-backend stub reads BYTES inputs with the numpy 1.x ABI, and numpy 2.x "
        "was imported: the stub environment must hold numpy 1.x (stub_numpy in "
        "roles/triton_vllm/vars/triton_cpu.yml).",
    ),
    (
        "stub_locale",
        r"'ascii' codec can't decode byte",
        "The Python-backend stub runs Python isolated with the C locale: the stub environment "
        "needs the stub_utf8_locale measure (triton_vllm_triton_cpu_compat).",
    ),
    (
        "unknown_engine_arg",
        r"unrecognized arguments|unexpected keyword argument|"
        r"error: argument [^\n]*: invalid choice|No such option|Unknown engine arg",
        "An engine argument is not known to this vLLM version: check model_repo_engine_args "
        "(names as in vLLM's EngineArgs, e.g. no disable_log_requests in vLLM >= 0.10).",
    ),
    (
        "out_of_memory",
        r"OutOfMemoryError|out of memory|Cannot allocate memory|MemoryError|OOM-killed|"
        r"oom-kill|killed by SIGKILL|exited with code -9\b|exit code 137\b|"
        r"Not enough memory|insufficient memory|exceeds the available memory|"
        r"No available memory for the cache blocks|"
        r"is larger than the available|available KV cache memory|"
        r"less than requested memory for kv",
        "The server ran out of memory: use a smaller model or max_model_len, fewer sequences "
        "(max_num_seqs), a lower gpu_memory_utilization, or on the CPU a smaller "
        "VLLM_CPU_KVCACHE_SPACE (llmserve_cpu_kv_cache_space_gib).",
    ),
    (
        "missing_cxx_toolchain",
        r"InvalidCxxCompiler|No working C\+\+ compiler|CppCompileError|"
        r"fatal error: Python\.h: No such file",
        "torch.compile builds C++ kernels at start and needs g++ and the Python headers on the "
        "server host: install g++ and python3-dev (triton_vllm_cpu_os_packages does on "
        "Debian/Ubuntu), or pass --enforce-eager.",
    ),
    (
        "shared_memory_too_small",
        r"Insufficient space in /dev/shm|No space left on device: '/dev/shm",
        "/dev/shm is too small for vLLM's shared-memory queues: in a container raise it "
        "(docker --shm-size 2g, or --ipc=host); on a host, check the size of the /dev/shm tmpfs.",
    ),
    (
        "model_not_found",
        r"Repository Not Found|is not a local folder and is not a valid model identifier|"
        r"LocalEntryNotFoundError|We couldn't connect to 'https://huggingface.co'|"
        r"offline mode is enabled|Can't load the configuration of|"
        r"No such file or directory: '[^']*config\.json'",
        "The model could not be found: check the model id or local path, network access to "
        "the Hugging Face hub (or a pre-filled HF cache when offline).",
    ),
    (
        "invalid_engine_arg",
        r"ValidationError|pydantic_core|ValueError: |error: argument ",
        "An engine argument has an invalid value (see the error above): fix it in "
        "model_repo_engine_args / the model preset.",
    ),
    (
        "port_in_use",
        r"Address already in use|address already in use",
        "The port is taken by another process: stop it or change the server's port.",
    ),
]


def _hint(cause):
    return next(hint for name, _pattern, hint in CAUSES if name == cause)


def classify_failure(lines, oom_killed=False, exit_code=None):
    """Likely cause of a failed start: {"cause", "hint", "evidence"} from the log lines."""
    if oom_killed:
        return {"cause": "out_of_memory", "hint": _hint("out_of_memory"), "evidence": "OOM-killed"}
    text = "\n".join(lines or [])
    for cause, pattern, hint in CAUSES:
        m = re.search(pattern, text)
        if m:
            line = next((ln for ln in reversed(lines) if m.group(0) in ln), m.group(0))
            return {"cause": cause, "hint": hint, "evidence": line.strip()[:300]}
    if exit_code in (137, -9):
        return {
            "cause": "out_of_memory",
            "hint": _hint("out_of_memory"),
            "evidence": "exit %s" % exit_code,
        }
    return {
        "cause": "unknown",
        "hint": "See the log lines above for the error.",
        "evidence": "",
    }


def format_elapsed(seconds):
    seconds = int(seconds)
    return "%dm%02ds" % (seconds // 60, seconds % 60)


def progress_line(elapsed, timeout, state_detail, waiting_for, last_log):
    """One progress line: elapsed, process state, what is awaited, last log line."""
    last = (last_log or "(no log yet)").strip()
    if len(last) > 160:
        last = last[:157] + "..."
    return "waiting %s of %s: %s; waiting for %s; last log: %s" % (
        format_elapsed(elapsed),
        format_elapsed(timeout),
        state_detail,
        waiting_for,
        last,
    )


def failure_message(reason, state_detail, lines, classified):
    """The failure text: reason, state, likely cause, hint and the log tail."""
    parts = [
        "%s (%s)." % (reason, state_detail),
        "Likely cause: %s. %s" % (classified["cause"].replace("_", " "), classified["hint"]),
    ]
    if classified.get("evidence"):
        parts.append("Evidence: %s" % classified["evidence"])
    parts.append("Last %d log lines:\n%s" % (len(lines), "\n".join(lines) or "(none)"))
    return "\n".join(parts)
