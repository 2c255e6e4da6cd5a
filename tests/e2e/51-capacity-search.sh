#!/usr/bin/env bash
# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The capacity search (benchmark_search=capacity) end to end, with real genai-perf against the
# real vLLM CPU engine serving the demo model (runtime vllm_cpu, through the roles):
#  (a) bad inputs, each one clear error before anything is deployed or measured: an SLO with an
#      unknown metric, one with an unknown percentile, a precision outside (0, 0.5], a budget
#      too small for the precision; check mode prints the plan (bracket, budget, precision,
#      SLOs, price) and writes nothing
#  (b) an SLO calibrated from a first concurrency-1 point (a grid sweep) so that it binds inside
#      the bracket 1..64: 3 x its request latency. The demo server batches up to 16 sequences
#      (max_num_seqs), so past 16 clients requests queue and the latency grows with the
#      clients: the limit falls between 16 and 64 clients even on a busy machine, where runs
#      of one load differ by 2x. The search ends at its precision within its budget,
#      results.json carries the capacity, goodput and the cost at the price given, the report
#      has its section and plots; a re-run measures nothing new
#  (c) a lower end that already violates the SLO fails, saying so with the measured value
#  (d) the outer search over max_num_seqs: a search per value (each redeploys the server
#      through the serving role), the report names the value with the highest capacity
# LLMSERVE_CAPACITY_FIGURES=1 also runs scripts/bench_capacity_search.py --server (the search,
# doubling and the grid against this server, points and wall time; about 12 minutes more over
# 1..64, LLMSERVE_CAPACITY_FIGURES_MAX narrows it, LLMSERVE_CAPACITY_PRIOR_NOISE sets the
# search's benchmark_search_noise, LLMSERVE_CAPACITY_FIGURES_ARGS adds the script's options,
# e.g. "--budget 8 --request-count 16").
# Uses ports 8000-8002 (through the serving role).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

# shellcheck source=tests/lib/localhost_lock.sh
. "$ROOT/tests/lib/localhost_lock.sh" && localhost_lock "$0" "$@"

work=$(mktemp -d /tmp/llmserve-51.XXXXXX)
RES=$work/results
WS=$work/ws
mkdir -p "$WS"
started_server=0
# the SLO metric the calibration sets (request latency: what a request waits for in all)
METRIC=${LLMSERVE_CAPACITY_METRIC:-request_latency_ms_p50}
MAX=64

cleanup() {
  local rc=$?
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
# bench NAME ARGS...: benchmark.yml on the ci_small shape (32/16 tokens, 8 requests per run,
# a 2-request warm-up), output in $work/NAME.log; returns its exit code
bench() {
  local name=$1
  shift
  set +e
  ansible-playbook benchmark.yml -e triton_vllm_runtime=vllm_cpu -e "benchmark_work_dir=$WS" \
    -e "benchmark_results_dir=$RES/$name" -e benchmark_profile=ci_small -e benchmark_repeats=1 \
    "$@" >"$work/$name.log" 2>&1
  local rc=$?
  set -e
  return $rc
}
runs() { find "$WS" -name command.txt 2>/dev/null | wc -l; }
expect_fail() { # NAME PATTERN ARGS...: fails with PATTERN before deploying or measuring
  local name=$1 pattern=$2 before
  shift 2
  before=$(runs)
  if bench "$name" "$@"; then tail -20 "$work/$name.log"; fail "$name: benchmark.yml succeeded"; fi
  grep -qE -- "$pattern" "$work/$name.log" || { tail -25 "$work/$name.log"; fail "$name: no '$pattern'"; }
  [ "$(runs)" = "$before" ] || fail "$name: the load generator ran before the error"
  ! grep -q "TASK \[llmserve.triton.benchmark : Render the model repository" "$work/$name.log" ||
    fail "$name: the deploy started before the error"
  ok "$name fails with: $(grep -oE -m1 -- "$pattern.*" "$work/$name.log" | cut -c1-160)"
}
result_dir() { find "$RES/$1" -mindepth 1 -maxdepth 1 -type d | sort | head -1; }
CAP=(-e benchmark_search=capacity -e "benchmark_search_max=$MAX")

curl -sf -m 5 http://127.0.0.1:8000/v1/models >/dev/null || started_server=1

echo "=== (a) bad inputs: one clear error each, before anything is deployed or measured"
expect_fail bad_metric "benchmark_slo: unknown metric 'tpot_ms_p99'" "${CAP[@]}" \
  -e '{"benchmark_slo": {"tpot_ms_p99": 50}}'
expect_fail bad_stat "benchmark_slo: ttft_ms_p95 asks for 'p95', which the sweep does not record" \
  "${CAP[@]}" -e '{"benchmark_slo": {"ttft_ms_p95": 50}}'
expect_fail bad_precision "benchmark_search_precision is the relative width of the answer, in \(0, 0.5\]" \
  "${CAP[@]}" -e benchmark_search_precision=0.7
expect_fail small_budget "benchmark_search_budget=3 is too small for benchmark_search_precision=0.05 over \[1, $MAX\]" \
  "${CAP[@]}" -e benchmark_search_budget=3

echo "=== (a) check mode prints the plan and writes nothing"
bench check --check "${CAP[@]}" -e '{"benchmark_slo": {"ttft_ms_p99": 500}}' -e machine_type=A6000 ||
  { tail -30 "$work/check.log"; fail "check mode"; }
for want in "capacity search over concurrency 1..$MAX: highest load meeting error_rate <= 0.01, ttft_ms_p99 <= 500 ms, to \+-5 %, at most [0-9]+ points" \
  "search default__in32-out16: missing" "cost at capacity from \\\$1.89/h \(machine type A6000, price read on 2026-09-20\)"; do
  tr -s ' \n' ' ' <"$work/check.log" | grep -qE -- "$want" || { grep -A8 "search plan" "$work/check.log"; fail "check mode lacks: $want"; }
done
if [ -e "$RES/check" ] || [ "$(runs)" != 0 ]; then fail "check mode wrote results or measured"; fi
ok "check mode: $(tr -s ' \n' ' ' <"$work/check.log" | grep -oE "capacity search over [^']*" | head -1)"

echo "=== (b) calibration: a first point at concurrency 1 (serves the demo model first)"
t0=$(date +%s)
bench calib -e '{"benchmark_concurrency": [1]}' || { tail -40 "$work/calib.log"; fail "calibration sweep"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
LIMIT=$(python - "$(result_dir calib)" "$METRIC" <<'PY'
import json, os, sys
d, metric = sys.argv[1], sys.argv[2]
[row] = json.load(open(os.path.join(d, "results.json")))["rows"]
m = row["metrics"]
print("   at concurrency 1: " + ", ".join("%s %.1f" % (k, m[k]["mean"]) for k in (
    "ttft_ms_p50", "ttft_ms_p99", "request_latency_ms_p50", "request_latency_ms_p99",
    "output_token_throughput")), file=sys.stderr)
print("%.1f" % (3 * m[metric]["mean"]))
PY
) || fail "calibration"
SLO="{\"benchmark_slo\": {\"$METRIC\": $LIMIT}}"
ok "SLO calibrated inside the bracket: $METRIC <= $LIMIT ms"

echo "=== (b) the capacity search"
t0=$(date +%s)
bench search "${CAP[@]}" -e "$SLO" -e benchmark_hourly_price_usd=1.89 ||
  { tail -40 "$work/search.log"; fail "capacity search"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
d=$(result_dir search)
for f in results.json results.csv report.md capacity_default__in32-out16.png throughput_vs_concurrency.png; do
  [ -s "$d/$f" ] || fail "search: $f missing in $d"
done
N=$(python - "$d" "$METRIC" "$LIMIT" <<'PY'
import json, os, sys
d, metric, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = json.load(open(os.path.join(d, "results.json")))
cap = data["capacity"]
[s] = cap["searches"]
assert s["stop"] == "precision", (s["stop"], s["message"])  # the SLO binds inside 1..64
assert s["capacity"] is not None and 1 <= s["capacity"] < 64, s
assert s["points_used"] <= cap["budget"], (s["points_used"], cap["budget"])
assert s["first_failing"] - s["capacity"] <= max(1, 0.05 * s["capacity"]), s["bracket"]
assert s["goodput"]["value"] > 0, s["goodput"]
cost = s["cost"]
assert cost["usd_per_hour"] == 1.89 and cost["source"] == "benchmark_hourly_price_usd", cost
assert abs(cost["usd_per_million_output_tokens"] - 1.89 / (s["goodput"]["value"] * 3600) * 1e6) < 1e-9
verdicts = {p["load"]: p["leaning"] for p in s["points"]}
assert verdicts[s["capacity"]] == "pass" and verdicts[1] == "pass", verdicts
md = open(os.path.join(d, "report.md")).read()
assert "## Capacity under the SLO" in md and "![capacity_default__in32-out16.png]" in md
assert "| default | 32/16 | **%d** |" % s["capacity"] in md, s["capacity"]
print("   capacity %s (first failing %s, %s) in %d runs of at most %d; goodput %.1f tok/s "
      "(%s); $%.4g per million output tokens at $1.89/h; loads %s" % (
          s["capacity"], s["first_failing"], s["stop"], s["points_used"], cap["budget"],
          s["goodput"]["value"], s["goodput"]["source"],
          cost["usd_per_million_output_tokens"],
          ", ".join("%s %s=%.0f" % (p["load"], p["leaning"], p["values"][metric])
                    for p in sorted(s["points"], key=lambda p: p["load"]))), file=sys.stderr)
print(s["points_used"])
PY
) || fail "search results"
grep -q "measured $N run(s), reused 0 from the store" "$work/search.log" ||
  { grep -A3 "capacity found" "$work/search.log"; fail "search: not $N runs measured"; }
ok "the search ended at its precision within its budget, $N runs"
before=$(stat -c %Y "$d/report.md")

echo "=== (b) re-run: measures nothing new, same answer, report untouched"
bench search "${CAP[@]}" -e "$SLO" -e benchmark_hourly_price_usd=1.89 ||
  { tail -40 "$work/search.log"; fail "search re-run"; }
grep -q "measured 0 run(s), reused $N from the store" "$work/search.log" ||
  { grep -A3 "capacity found" "$work/search.log"; fail "re-run measured again"; }
[ "$(stat -c %Y "$d/report.md")" = "$before" ] || fail "re-run rewrote the report"
ok "re-run reused all $N runs, report untouched"

echo "=== (c) a lower end that already violates the SLO"
expect_min() {
  if bench minviol "${CAP[@]}" -e "{\"benchmark_slo\": {\"$METRIC\": 1}}"; then fail "min_violates: succeeded"; fi
  grep -qE "benchmark_search_min=1 already violates benchmark_slo at concurrency 1: $METRIC = [0-9.e+]+ ms > 1 ms" "$work/minviol.log" ||
    { tail -25 "$work/minviol.log"; fail "min_violates: no clear error"; }
  ok "$(grep -oE -m1 "benchmark_search_min=1 already violates[^']*" "$work/minviol.log" | cut -c1-170)"
}
expect_min

echo "=== (d) outer search over max_num_seqs (redeploys per value)"
t0=$(date +%s)
# over 1..32 (both capacities lie below it), to keep the two searches short
bench outer -e benchmark_search=capacity -e benchmark_search_max=32 -e "$SLO" \
  -e '{"benchmark_engine_args_sweep": {"max_num_seqs": [2, 16]}}' ||
  { tail -40 "$work/outer.log"; fail "outer search"; }
echo "   (in $(( $(date +%s) - t0 )) s)"
d=$(result_dir outer)
[ -s "$d/capacity_by_setting.png" ] || fail "outer: capacity_by_setting.png missing"
python - "$d" <<'PY' || fail "outer search results"
import json, os, sys
d = sys.argv[1]
cap = json.load(open(os.path.join(d, "results.json")))["capacity"]
by = {s["server"]["max_num_seqs"]: s for s in cap["searches"]}
assert sorted(by) == [2, 16], sorted(by)
for v, s in sorted(by.items()):
    print("   max_num_seqs=%d: capacity %s (first failing %s, %s), %d runs"
          % (v, s["capacity"], s["first_failing"], s["stop"], s["points_used"]))
[best] = cap["best"]
top = max(s["capacity"] for s in by.values())
assert best["capacity"] == top and best["compared"] == 2, best
md = open(os.path.join(d, "report.md")).read()
want = "**Best server setting** for 32/16: `max_num_seqs=%d`" % best["server"]["max_num_seqs"]
assert want in md, want
print("ok: the report names max_num_seqs=%d (capacity %s)" % (best["server"]["max_num_seqs"], best["capacity"]))
PY

if [ "${LLMSERVE_CAPACITY_FIGURES:-0}" = 1 ]; then
  echo "=== figures: search, doubling and grid against this server (scripts/bench_capacity_search.py)"
  read -r -a extra <<<"${LLMSERVE_CAPACITY_FIGURES_ARGS:-}"
  cudart=$(/opt/llmserve/bench/genai-perf/bin/python -c "import nvidia.cuda_runtime as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))")
  LD_LIBRARY_PATH=$cudart python scripts/bench_capacity_search.py --server http://127.0.0.1:8000 \
    --model demo --tokenizer /var/lib/llmserve/models/demo --max "${LLMSERVE_CAPACITY_FIGURES_MAX:-$MAX}" --workspace "$work/figures" \
    --slo "{\"$METRIC\": $LIMIT}" --prior-noise "${LLMSERVE_CAPACITY_PRIOR_NOISE:-0}" \
    "${extra[@]}"
fi

echo "PASS 51-capacity-search"
