#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmarking end to end with the real load generators and the real vLLM CPU engine:
#  (d) `benchmark.yml -e model=mixtral` on the default inventory fails at once with the
#      memory-fit numbers; check mode plans without running; bad inputs fail clearly
#  (b) a small sweep (concurrency 1 and 4, two repeats, 32/16 tokens) with genai-perf and with
#      AIPerf against the vLLM OpenAI server served by the project's roles; report, CSV and
#      plots hold the measured numbers; a re-run measures nothing
#  (c) the server killed mid-sweep: finished points kept, a clear failure, non-zero exit;
#      the re-run redeploys the server and measures only the missing points
# Against plain vLLM on the CPU (runtime vllm_cpu, set explicitly): the tutorial profile through
# a real Triton (KServe gRPC) and AIPerf against Triton run in tests/e2e/22-serving-triton-cpu.sh.
# Uses ports 8000-8002 (through the serving role).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"

work=$(mktemp -d /tmp/llmserve-50.XXXXXX)
RES=$work/results
mkdir -p "$work/ws"
WS=$work/ws
RUN_DIR=/var/lib/llmserve/vllm-cpu/run
started_server=0
bg_pid=

cleanup() {
  local rc=$?
  if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then
    kill "$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
  fi
  if [ "$started_server" = 1 ]; then
    echo "--- teardown: stop the vLLM server this suite started"
    ansible-playbook teardown.yml -e triton_vllm_runtime=vllm_cpu -e confirm=true >"$work/teardown.log" 2>&1 ||
      { echo "teardown failed:"; tail -30 "$work/teardown.log"; }
  fi
  if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "(work dir kept: $work)"; fi
  exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# bench NAME ARGS...: run benchmark.yml, output to $work/NAME.log, return its exit code
bench() {
  local name=$1
  shift
  set +e
  ansible-playbook benchmark.yml -e triton_vllm_runtime=vllm_cpu -e "benchmark_work_dir=$WS" \
    -e "benchmark_results_dir=$RES/$name" "$@" >"$work/$name.log" 2>&1
  local rc=$?
  set -e
  return $rc
}
expect_fail() { # NAME PATTERN ARGS...: benchmark.yml must fail with PATTERN, before measuring
  local name=$1 pattern=$2
  shift 2
  local runs_before
  runs_before=$(find "$WS" -name command.txt 2>/dev/null | wc -l)
  if bench "$name" "$@"; then tail -20 "$work/$name.log"; fail "$name: benchmark.yml succeeded"; fi
  grep -qE -- "$pattern" "$work/$name.log" || { tail -25 "$work/$name.log"; fail "$name: no '$pattern'"; }
  [ "$(find "$WS" -name command.txt 2>/dev/null | wc -l)" = "$runs_before" ] ||
    fail "$name: the load generator ran before the error"
  ok "$name fails with: $(grep -oE -m1 -- "$pattern.*" "$work/$name.log" | cut -c1-150)"
}
result_dir() { find "$RES/$1" -mindepth 1 -maxdepth 1 -type d | sort | head -1; }

curl -sf -m 5 http://127.0.0.1:8000/v1/models >/dev/null || started_server=1

echo "=== (d) mixtral on the default inventory: fails at once with the memory-fit numbers"
t0=$(date +%s)
expect_fail mixtral "does not fit the CPU runtime: needs [0-9.]* GB" -e model=mixtral
grep -q "Install the load generator" "$work/mixtral.log" && fail "mixtral: install started"
echo "   (in $(( $(date +%s) - t0 )) s)"

echo "=== bad inputs, each one clear error before anything runs"
expect_fail bad_engine "benchmark_engine must be one of" -e benchmark_engine=locust
expect_fail bad_profile "benchmark_profile must be one of: .*got: nope" -e benchmark_profile=nope
expect_fail empty_conc "benchmark_concurrency must be a non-empty list" -e '{"benchmark_concurrency": []}'
expect_fail neg_conc "positive integers, got -4" -e '{"benchmark_concurrency": [1, -4]}'
expect_fail too_long "exceed the served model's max_model_len" -e '{"benchmark_lengths": [[4000, 200]]}'

echo "=== check mode: the planned matrix, nothing runs"
bench check --check -e benchmark_profile=ci_small || { tail -30 "$work/check.log"; fail "check mode"; }
grep -q "2 point(s) against" "$work/check.log" || fail "check mode shows no plan"
grep -q "default__in32-out16__c4 missing" "$work/check.log" || fail "check mode plan lacks c4"
[ ! -e "$RES/check" ] || fail "check mode wrote results"
ok "check mode planned 2 points and wrote nothing"

check_sweep() { # NAME ENGINE: results of a ci_small sweep hold the measured numbers
  local d
  d=$(result_dir "$1")
  for f in results.csv results.json report.md throughput_vs_concurrency.png ttft_vs_concurrency.png \
    itl_vs_concurrency.png pareto.png; do
    [ -s "$d/$f" ] || fail "$1: $f missing in $d"
  done
  python - "$d" "$2" <<'PY'
import csv, json, os, sys
d, engine = sys.argv[1], sys.argv[2]
data = json.load(open(os.path.join(d, "results.json")))
rows = {r["id"]: r for r in data["rows"]}
assert sorted(rows) == ["default__in32-out16__c1", "default__in32-out16__c4"], sorted(rows)
assert data["meta"]["engine"] == engine and not data["failures"], data["meta"]
md = open(os.path.join(d, "report.md")).read()
table = {r["id"]: r for r in csv.DictReader(open(os.path.join(d, "results.csv")))}
for pid, r in rows.items():
    m, s = r["metrics"], r["server_metrics"]
    assert r["repeats"] == 2, r["repeats"]
    tps = m["output_token_throughput"]["mean"]
    assert tps > 0 and m["ttft_ms_p50"]["mean"] > 0, m
    # ITL is measured (> 0), or, for AIPerf only, reported missing when its client read every
    # streamed token in one go (never as 0 ms; see bench/_parse._drop_unmeasured_itl)
    itl = m.get("itl_ms_p99", {}).get("mean")
    assert (itl is not None and itl > 0) or (engine == "aiperf" and itl is None), m
    # every request asked for exactly 16 tokens (min_tokens=max_tokens): the server's own
    # counter rose by 16 per request in each measured window
    reqs = m["request_count"]["mean"]
    assert s["generation_tokens"]["mean"] == 16 * reqs, (s["generation_tokens"], reqs)
    assert abs(float(table[pid]["output_token_throughput"]) - tps) < 1e-3 * tps
    assert ("%.1f" % tps) in md, ("%.1f" % tps, pid)
    print("ok: %s %s out tok/s %.1f (server %.1f, ratio %.3f), TTFT p50 %.2f ms, ITL p50 %.2f ms"
          % (engine, pid, tps, s["output_token_throughput"]["mean"], r["fidelity"],
             m["ttft_ms_p50"]["mean"], m.get("itl_ms_p50", {}).get("mean") or float("nan")))
    # the client's token rate and the server's own counter describe the same window: they
    # agree within the tools' counting differences (scripts/bench_fidelity.py prints them)
    assert 0.8 < r["fidelity"] < 1.25, r["fidelity"]
c1, c4 = (rows["default__in32-out16__c%d" % c]["metrics"]["output_token_throughput"]["mean"] for c in (1, 4))
print("ok: concurrency 4 / 1 throughput x%.2f" % (c4 / c1))
PY
}

echo "=== (b) ci_small sweep with genai-perf (serves the demo model through the roles first)"
t0=$(date +%s)
bench gp -e benchmark_profile=ci_small || { tail -40 "$work/gp.log"; fail "genai-perf sweep"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
check_sweep gp genai-perf
d=$(result_dir gp)
grep -q "measured 2 point(s), skipped 0" "$work/gp.log" || fail "gp: not 2 points measured"
before=$(stat -c %Y "$d/report.md")

echo "=== re-run of the same sweep: every point skipped, nothing changes"
bench gp -e benchmark_profile=ci_small || { tail -40 "$work/gp.log"; fail "genai-perf re-run"; }
grep -q "measured 0 point(s), skipped 2" "$work/gp.log" || { tail -30 "$work/gp.log"; fail "re-run measured again"; }
[ "$(stat -c %Y "$d/report.md")" = "$before" ] || fail "re-run rewrote the report"
ok "re-run skipped both points, report untouched"

echo "=== bad inputs that need the installed tool and a served model"
expect_fail unreachable "is unreachable" -e benchmark_profile=ci_small -e benchmark_deploy=false \
  -e benchmark_url=127.0.0.1:9
expect_fail badflag "does not support --no-such-flag" -e benchmark_profile=ci_small \
  -e '{"benchmark_extra_args": ["--no-such-flag"]}'

echo "=== (b) the same sweep with AIPerf"
t0=$(date +%s)
bench ap -e benchmark_profile=ci_small -e benchmark_engine=aiperf || { tail -40 "$work/ap.log"; fail "aiperf sweep"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
check_sweep ap aiperf

echo "=== (c) the server killed in the middle of a sweep"
CARGS=(-e benchmark_profile=ci_small -e '{"benchmark_concurrency": [1, 2, 4]}' -e benchmark_repeats=1
  -e '{"benchmark_lengths": [[32, 48]]}' -e benchmark_timeout=120)
WS_C=$work/ws_c
(ansible-playbook benchmark.yml -e triton_vllm_runtime=vllm_cpu -e "benchmark_work_dir=$WS_C" -e "benchmark_results_dir=$RES/c" \
  "${CARGS[@]}" >"$work/c1.log" 2>&1 && echo 0 >"$work/c1.rc" || echo $? >"$work/c1.rc") &
bg_pid=$!
for _ in $(seq 600); do
  grep -qs '"status": "ok"' "$WS_C"/*/points/*/point.json && break
  kill -0 "$bg_pid" 2>/dev/null || break
  sleep 0.5
done
grep -qs '"status": "ok"' "$WS_C"/*/points/*/point.json || { tail -30 "$work/c1.log"; fail "no point finished"; }
# kill the supervisor (no restart) and the vLLM server with its engine processes
kill_tree() { local p; for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$p"; done; kill -9 "$1" 2>/dev/null || true; }
sup=$(cat "$RUN_DIR/supervisor.pid"); srv=$(cat "$RUN_DIR/server.pid")
kill -9 "$sup"; kill_tree "$srv"
echo "   killed supervisor $sup and server $srv"
wait "$bg_pid" || true; bg_pid=
rc=$(cat "$work/c1.rc")
[ "$rc" != 0 ] || fail "the interrupted sweep exited 0"
grep -q "benchmark point .* failed" "$work/c1.log" || { tail -30 "$work/c1.log"; fail "no clear failure"; }
echo "   failure: $(grep -o -m1 'benchmark point .* failed: [^(]*' "$work/c1.log" | cut -c1-200)"
d=$(result_dir c)
done_before=$(python - "$d" <<'PY'
import json, os, sys
data = json.load(open(os.path.join(sys.argv[1], "results.json")))
assert data["rows"] and data["failures"], data
print(" ".join(r["id"] for r in data["rows"]))
PY
)
grep -q "Failed points" "$d/report.md" || fail "report lacks the failed point"
n_done=$(wc -w <<<"$done_before")
ok "exit $rc, finished points kept: $done_before; report lists the failure"
stamps=$(for p in $done_before; do stat -c %Y "$WS_C"/*/points/"$p"/point.json; done)

echo "=== (c) re-run: redeploys the server, measures only the missing points"
t0=$(date +%s)
ansible-playbook benchmark.yml -e triton_vllm_runtime=vllm_cpu -e "benchmark_work_dir=$WS_C" \
  -e "benchmark_results_dir=$RES/c" "${CARGS[@]}" >"$work/c2.log" 2>&1 || { tail -40 "$work/c2.log"; fail "re-run after the kill"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
grep -q "measured $((3 - n_done)) point(s), skipped $n_done finished before" "$work/c2.log" ||
  { grep "measured" "$work/c2.log"; fail "re-run did not complete only the missing points"; }
[ "$(for p in $done_before; do stat -c %Y "$WS_C"/*/points/"$p"/point.json; done)" = "$stamps" ] ||
  fail "finished points were measured again"
python - "$d" <<'PY'
import json, os, sys
data = json.load(open(os.path.join(sys.argv[1], "results.json")))
assert len(data["rows"]) == 3 and not data["failures"], data["failures"]
print("ok: all 3 points finished, no failure left")
PY

echo "=== fidelity / overhead figures (scripts/bench_fidelity.py)"
python scripts/bench_fidelity.py "$(result_dir gp)" "$(result_dir ap)"

echo "PASS 50-benchmark"
