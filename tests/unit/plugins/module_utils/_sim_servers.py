# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated LLM servers for the capacity-search tests and scripts/bench_capacity_search.py.

Each server maps a load (client concurrency, or request rate) to a normalized point record
like _parse's (ttft_ms_*, itl_ms_*, request_latency_ms_*, error_count, request_count,
output_token_throughput, osl_avg). The closed-loop model: a batch of b = min(N, B)
sequences; ITL grows with the batch, prefill too; past B the requests queue, so TTFT and
latency grow linearly with N (Little's law); the open-loop one is M/M/1-like in the rate.
truth() is the boundary of the noiseless curve on a dense grid: the highest passing load
that only failures follow.
"""

import math
import random

OSL = 128
REQUESTS = 64
TAILS = {"ttft_ms": 1.5, "itl_ms": 1.3, "request_latency_ms": 1.2}  # p99 / mean


def record(ttft, itl, e2e, rps, errors=0):
    """A normalized record from the mean latencies (ms) and the request rate (req/s)."""
    rec = {"request_count": REQUESTS - errors, "error_count": errors}
    for prefix, mean in (("ttft_ms", ttft), ("itl_ms", itl), ("request_latency_ms", e2e)):
        tail = TAILS[prefix]
        rec[prefix + "_avg"] = mean
        rec[prefix + "_p50"] = 0.9 * mean
        rec[prefix + "_p90"] = mean * (1 + 0.6 * (tail - 1))
        rec[prefix + "_p99"] = mean * tail
    rec["request_throughput"] = rps
    rec["output_token_throughput"] = rps * OSL
    rec["osl_avg"] = float(OSL)
    return rec


def batch(n, cap=10**9, prefill=40.0, d0=10.0, alpha=0.01, beta=0.01):
    """(ttft, itl, e2e, req/s) of a closed loop of n clients on a server batching cap."""
    b = min(n, cap)
    itl = d0 * (1 + alpha * b)
    pre = prefill * (1 + beta * b)
    service = pre + OSL * itl
    rate = b / service  # requests per ms
    wait = max(0, n - cap) / rate
    return wait + pre, itl, wait + service, 1000 * rate


def smooth(n):
    """ITL grows linearly with the batch (no queueing in range): itl_ms_p99 <= 50 at 142."""
    return record(*batch(n, alpha=0.02))


def queueing(n):
    """max_num_seqs 48: TTFT flat, then linear in the queue (a hockey stick)."""
    return record(*batch(n, cap=48))


def mm1(rate, mu=20.0):
    """Open loop at `rate` req/s on an M/M/1-like server of mu req/s; past mu it drops."""
    if rate >= 0.98 * mu:
        return record(60000.0, 500.0, 90000.0, mu, errors=REQUESTS // 4)
    rho = rate / mu
    wait = 1000 * rho / (mu - rate)
    return record(40 + wait, 12 * (1 + rho), 40 + wait + OSL * 12 * (1 + rho), rate)


def plateau(n):
    """TTFT held at 90 % of 1000 ms from 16 to 160 clients (chunked prefill), then climbing."""
    ttft = 1000 / 1.5 * (min(0.9, 0.1 + 0.05 * n) if n <= 160 else 0.9 * (n / 160.0) ** 3)
    _t, itl, e2e, rps = batch(n)
    return record(ttft, itl, e2e, rps)


def cliff(n):
    """The KV cache runs out at 90 clients: preemption multiplies TTFT by 5, 5 % errors."""
    ttft, itl, e2e, rps = batch(n, alpha=0.005)
    if n >= 90:
        return record(5 * ttft + 600, 2 * itl, 2 * e2e, rps / 2, errors=4)
    return record(ttft, itl, e2e, rps)


def _bump(height):
    def curve(n):
        ttft, itl, e2e, rps = batch(n, cap=48)
        ttft += height * 1000 / 1.5 * math.exp(-(((n - 12) / 2.5) ** 2))
        return record(ttft, itl, e2e, rps)

    curve.__doc__ = "queueing, plus a TTFT bump of %g x the limit around 12 clients" % height
    return curve


def steep_knee(n):
    """Held out: max_num_seqs 24 and a slow prefill: TTFT jumps from flat to steep at 24."""
    return record(*batch(n, cap=24, prefill=120.0))


def low_end(n):
    """Held out: ITL grows fast with the batch: itl_ms_p99 <= 50 up to 9 clients only."""
    return record(*batch(n, alpha=0.3))


def near_max(n):
    """Held out: ITL grows slowly: itl_ms_p99 <= 50 up to 241 clients, near the range's top."""
    return record(*batch(n, alpha=0.0118))


def e2e_binds(n):
    """Held out: the request latency binds (p90 <= 4 s at 115 clients), TTFT never does."""
    return record(*batch(n, cap=160, alpha=0.015))


TTFT_1S = {"ttft_ms_p99": 1000}
SERVERS = {
    # name: (curve, load, min, max, slo)
    "smooth": (smooth, "concurrency", 1, 256, {"itl_ms_p99": 50, "ttft_ms_p99": 2000}),
    "queueing": (queueing, "concurrency", 1, 256, {"ttft_ms_p99": 1000, "itl_ms_p99": 100}),
    "mm1_rate": (mm1, "request_rate", 0.5, 64.0, TTFT_1S),
    "plateau": (plateau, "concurrency", 1, 256, TTFT_1S),
    "cliff": (cliff, "concurrency", 1, 256, {"ttft_ms_p99": 1000, "error_rate": 0.01}),
    "bump_under": (_bump(0.5), "concurrency", 1, 256, TTFT_1S),
    "bump_over": (_bump(1.2), "concurrency", 1, 256, TTFT_1S),
    # held out: added after the search was tuned on the curves above, to check it on shapes
    # it was not tuned on (a steeper knee, a boundary near either end, another SLO binding)
    "steep_knee": (steep_knee, "concurrency", 1, 256, TTFT_1S),
    "low_end": (low_end, "concurrency", 1, 256, {"itl_ms_p99": 50, "ttft_ms_p99": 2000}),
    "near_max": (near_max, "concurrency", 1, 256, {"itl_ms_p99": 50}),
    "e2e_binds": (
        e2e_binds,
        "concurrency",
        1,
        256,
        {"ttft_ms_p99": 5000, "request_latency_ms_p90": 4000},
    ),
}
HELD_OUT = ("steep_knee", "low_end", "near_max", "e2e_binds")
SMOOTH = ("smooth", "queueing", "mm1_rate", "bump_under")


class SimServer:
    """One simulated server; measure(load) is a point run (noise: relative std, seeded)."""

    def __init__(self, name, noise=0.0, seed=0):
        self.name = name
        self.curve, self.load, self.min, self.max, self.slo = SERVERS[name]
        self.noise = noise
        self.rng = random.Random(seed)
        self.calls = []

    def measure(self, load):
        self.calls.append(load)
        rec = self.curve(load)
        if self.noise:
            for key in list(rec):
                if "_ms_" in key:
                    rec[key] *= math.exp(self.rng.gauss(0, self.noise))
        return rec

    def grid(self, lo=None, hi=None):
        """The dense grid over [lo, hi] (the server's range by default): every integer
        load, or 4000 log-spaced request rates."""
        lo, hi = lo or self.min, hi or self.max
        if self.load == "concurrency":
            return list(range(lo, hi + 1))
        ratio = (hi / float(lo)) ** (1 / 3999.0)
        return [lo * ratio**k for k in range(4000)]

    def scaled(self, load, scale):
        """The noiseless record at load with every latency times scale."""
        rec = self.curve(load)
        return {k: v * scale if "_ms_" in k else v for k, v in rec.items()}

    def truth(self, judge, lo=None, hi=None, scale=1.0):
        """(boundary, edges): the last passing load of the noiseless dense grid (every
        latency times scale), and every passing load that a failing one follows.
        judge(record) -> True when it passes."""
        grid = self.grid(lo, hi)
        ok = [judge(self.scaled(x, scale)) for x in grid]
        edges = [grid[i] for i in range(len(grid) - 1) if ok[i] and not ok[i + 1]]
        passing = [grid[i] for i, good in enumerate(ok) if good]
        return (passing[-1] if passing else None), edges

    def band(self, judge, z=2.0, lo=None, hi=None):
        """(low, high): the noise band of the boundary, the loads whose single noisy run may
        pass or fail: from the boundary of the curve with every latency times
        exp(z noise) to that of the curve with every latency times exp(-z noise) (at z = 2
        a run of a load below the band passes, and one above it fails, with 97.7 %
        probability per SLO). (truth, truth) without noise."""
        return tuple(
            self.truth(judge, lo, hi, math.exp(sign * z * self.noise))[0] for sign in (1, -1)
        )


def drive(cs, cfg, measure):
    """Run the capacity search with `measure(load)` until it is done; the result."""
    state = cs.new_search(cfg)
    while True:
        step = cs.next_point(state)
        if step["done"]:
            return cs.result(state)
        cs.record(state, step["load"], measure(step["load"]), step["reason"])
