#!/usr/bin/python3
"""Reference values for test/eval/stats.test.ts, computed independently of the TypeScript code:
Student-t quantiles and intervals with mpmath (arbitrary precision), and the bootstrap intervals with
NumPy's percentile over the same resampling — a Python port of lib/util/rng.ts (splitmix32 seeding,
sfc32) drawing item i = floor(u * n) in the same order. Run: /usr/bin/python3 test/eval/stats-reference.py
"""
import json
import mpmath as mp
import numpy as np

M = 0xFFFFFFFF
mp.mp.dps = 40


class Rng:
    def __init__(self, seed):
        s = (seed & M) ^ 0x9E3779B9

        def nxt():
            nonlocal s
            s = (s + 0x9E3779B9) & M
            z = s
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
            return (z ^ (z >> 16)) & M

        self.a, self.b, self.c, self.d = nxt(), nxt(), nxt(), nxt()
        for _ in range(12):
            self.u32()

    def u32(self):
        t = (self.a + self.b + self.d) & M
        self.d = (self.d + 1) & M
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M
        self.c = ((self.c << 21) | (self.c >> 11)) & M
        self.c = (self.c + t) & M
        return t

    def index(self, n):  # floor(next() * n), exact in integers
        return (self.u32() * n) >> 32


def t_quantile(p, df):
    f = lambda t: mp.betainc(mp.mpf(df) / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True) / 2 - (1 - mp.mpf(p))
    return mp.findroot(f, mp.mpf(2))


def seed_interval(values, level=0.95):
    x = [mp.mpf(v) for v in values]
    n = len(x)
    m = sum(x) / n
    sd = mp.sqrt(sum((v - m) ** 2 for v in x) / (n - 1))
    hw = t_quantile((1 + mp.mpf(level)) / 2, n - 1) * sd / mp.sqrt(n)
    return {"mean": float(m), "sd": float(sd), "halfWidth": float(hw), "lo": float(m - hw), "hi": float(m + hw)}


def interval(stats, level):
    return float(np.percentile(stats, (1 - level) / 2 * 100)), float(np.percentile(stats, (1 + level) / 2 * 100))


def paired(a, b, resamples, seed, level=0.95):
    d = [x - y for x, y in zip(a, b)]
    n, rng, stats = len(d), Rng(seed), []
    for _ in range(resamples):
        s = 0.0
        for _ in range(n):
            s += d[rng.index(n)]
        stats.append(s / n)
    lo, hi = interval(stats, level)
    return {"diff": sum(d) / n, "lo": lo, "hi": hi}


def hierarchical(A, B, resamples, seed, level=0.95):
    n, SA, SB, rng, stats = len(A[0]), len(A), len(B), Rng(seed), []

    def seed_mean(m, i, seeds):
        s = 0.0
        for k in seeds:
            s += m[k][i]
        return s / len(seeds)

    d = [seed_mean(A, i, range(SA)) - seed_mean(B, i, range(SB)) for i in range(n)]
    for _ in range(resamples):
        sa = [rng.index(SA) for _ in range(SA)] if SA > 1 else [0]
        sb = [rng.index(SB) for _ in range(SB)] if SB > 1 else [0]
        s = 0.0
        for _ in range(n):
            k = rng.index(n)
            s += seed_mean(A, k, sa) - seed_mean(B, k, sb)
        stats.append(s / n)
    lo, hi = interval(stats, level)
    return {"diff": sum(d) / n, "lo": lo, "hi": hi}


first = Rng(0)
out = {
    "rngFirst": [first.u32() for _ in range(3)],
    "t975": {df: float(t_quantile(0.975, df)) for df in [1, 2, 3, 4, 5, 9, 29, 100]},
    "t995_4": float(t_quantile(0.995, 4)),
    "seeds5": seed_interval([0.61, 0.58, 0.64, 0.60, 0.57]),
    "seeds3_90": seed_interval([2.31, 2.45, 2.38], 0.90),
}
A12 = [0.9, 0.3, 1.0, 0.0, 0.6, 0.7, 1.0, 0.2, 0.8, 0.5, 0.4, 1.0]
B12 = [0.7, 0.3, 0.6, 0.1, 0.6, 0.2, 0.9, 0.0, 0.8, 0.3, 0.5, 0.6]
out["paired"] = paired(A12, B12, 2000, 7)
out["paired_seed0"] = paired(A12, B12, 2000, 0)
HA = [[0.5, 0.9, 0.1, 0.7, 0.3, 1.0, 0.6, 0.2], [0.4, 1.0, 0.2, 0.6, 0.5, 0.9, 0.6, 0.1], [0.7, 0.8, 0.0, 0.9, 0.2, 1.0, 0.4, 0.3]]
HB = [[0.3, 0.8, 0.1, 0.5, 0.3, 0.7, 0.5, 0.2], [0.2, 0.9, 0.0, 0.6, 0.1, 0.8, 0.4, 0.0]]
out["hierarchical"] = hierarchical(HA, HB, 1500, 3)
print(json.dumps(out, indent=1))
