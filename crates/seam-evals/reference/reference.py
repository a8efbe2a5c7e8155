#!/usr/bin/env python3
"""Reference values for crates/seam-evals/tests/reference.rs, computed independently of the
Rust code: Python 3.11 standard library plus mpmath (1.3, 50 digits). No scipy.

    python3 crates/seam-evals/reference/reference.py

prints the Rust constants pasted into the test. How each is computed:
- normal quantiles: mpmath's erfinv at 50 digits (the crate bisects its own erfc);
- Wilson: the closed form evaluated in mpmath at 50 digits;
- exact McNemar: 2 * sum_{i<=min(b,c)} C(b+c, i) / 2^(b+c) as an exact Fraction, capped at 1;
- sign-flip test over groups: every one of the 2^groups sign patterns enumerated, in Fractions;
- Newcombe's method 10: the formulas of Newcombe (1998) in mpmath (the crate's test also
  checks the value R's contingencytables publishes for Cavo et al. 2012);
- bootstrap: a second implementation of the documented procedure (SplitMix64, Lemire's
  bounded integers, mean of resampled units, type-7 percentile) in Python integers and
  floats; it must agree with the crate to the last bit;
- minimum detectable effect: the documented formula in mpmath;
- pass^k: C(c, k) / C(n, k) as Fractions.
"""
from fractions import Fraction
from math import comb
import itertools
import mpmath

mpmath.mp.dps = 50


def z(level):
    """The normal quantile with P(|Z| <= z) = level."""
    return mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(level))


def quantile(p):
    return mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(p) - 1)


def wilson(x, n, level):
    zz = z(level)
    p = mpmath.mpf(x) / n
    den = 1 + zz**2 / n
    center = (p + zz**2 / (2 * n)) / den
    half = zz / den * mpmath.sqrt(p * (1 - p) / n + zz**2 / (4 * n * n))
    low = mpmath.mpf(0) if x == 0 else max(mpmath.mpf(0), center - half)
    high = mpmath.mpf(1) if x == n else min(mpmath.mpf(1), center + half)
    return low, high


def mcnemar(b, c):
    m = b + c
    if m == 0:
        return Fraction(1)
    k = min(b, c)
    tail = Fraction(sum(comb(m, i) for i in range(k + 1)), 2**m)
    return min(Fraction(1), 2 * tail)


def sign_flip(sums):
    nonzero = [abs(s) for s in sums if s != 0]
    observed = abs(sum(sums))
    if not nonzero or observed == 0:
        return Fraction(1)
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(nonzero)):
        if abs(sum(s * a for s, a in zip(signs, nonzero))) >= observed:
            hits += 1
    return Fraction(hits, 2 ** len(nonzero))


def newcombe(both_pass, pass_to_fail, fail_to_pass, both_fail, level):
    """Candidate minus baseline; Newcombe's table with the candidate first."""
    a, b, c, d = both_pass, fail_to_pass, pass_to_fail, both_fail
    n = a + b + c + d
    p1 = mpmath.mpf(a + b) / n
    p2 = mpmath.mpf(a + c) / n
    l1, u1 = wilson(a + b, n, level)
    l2, u2 = wilson(a + c, n, level)
    marg = mpmath.mpf((a + b) * (c + d) * (a + c) * (b + d))
    if marg == 0:
        phi = mpmath.mpf(0)
    else:
        cross = mpmath.mpf(a * d - b * c)
        if cross > mpmath.mpf(n) / 2:
            adj = cross - mpmath.mpf(n) / 2
        elif cross >= 0:
            adj = mpmath.mpf(0)
        else:
            adj = cross
        phi = adj / mpmath.sqrt(marg)
    est = p1 - p2
    low = est - mpmath.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2))
    high = est + mpmath.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1))
    return max(mpmath.mpf(-1), low), min(mpmath.mpf(1), high)


MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        m = self.next() * n
        if (m & MASK) < n:
            threshold = ((1 << 64) - n) % n
            while (m & MASK) < threshold:
                m = self.next() * n
        return m >> 64


def percentile(sorted_values, q):
    h = (len(sorted_values) - 1) * q
    i = int(h // 1)
    if i + 1 < len(sorted_values):
        return sorted_values[i] + (h - i) * (sorted_values[i + 1] - sorted_values[i])
    return sorted_values[i]


def bootstrap(units, resamples, seed, level):
    """units: (sum, count) pairs; the mean of a resample is sum of sums / sum of counts."""
    rng = SplitMix64(seed)
    g = len(units)
    means = []
    for _ in range(resamples):
        s, c = 0.0, 0
        for _ in range(g):
            us, uc = units[rng.below(g)]
            s += us
            c += uc
        means.append(s / c)
    means.sort()
    tail = (1.0 - level) / 2.0
    return percentile(means, tail), percentile(means, 1.0 - tail)


def mde(n, flip_variance, alpha, power):
    zz = quantile(1 - mpmath.mpf(alpha) / 2) + quantile(power)
    m = next(m for m in range(1, 2000) if mcnemar(m, 0) < Fraction(alpha).limit_denominator(10**12))
    return min(mpmath.mpf(1), max(zz * mpmath.sqrt(flip_variance) / n, zz**2 / n, mpmath.mpf(m) / n))


def f(x):
    return repr(float(x))


# The data sets the test embeds (decimal literals, so both languages read the same f64s).
SCORE_DIFFS = [0.12, -0.05, 0.0, 0.31, -0.22, 0.07, 0.0, -0.14, 0.25, 0.03,
               -0.08, 0.16, 0.0, -0.3, 0.11, 0.04, -0.01, 0.19, -0.12, 0.06,
               0.0, 0.22, -0.04, 0.09, -0.18, 0.13, 0.02, -0.07, 0.27, 0.05]
GROUP_UNITS = [(0.4, 3), (-0.2, 2), (0.0, 1), (0.9, 4), (-0.5, 3), (0.1, 1), (0.3, 2),
               (-0.1, 1), (0.6, 5), (0.2, 2), (-0.3, 2), (0.0, 3)]
SIGN_FLIP_SUMS = [3, -1, -2, 2, -4, 1, -1, -1, -3, 5, -2, 0, 0, -1]

if __name__ == "__main__":
    print("// normal quantiles (p, z)")
    for p in (0.975, 0.95, 0.995, 0.8, 0.9):
        print(f"    ({p}, {f(quantile(p))}),")
    print("// Wilson (successes, n, level, low, high)")
    for x, n, level in [(81, 263, 0.95), (15, 148, 0.95), (0, 20, 0.95), (1, 29, 0.95),
                        (20, 20, 0.95), (0, 1, 0.95), (1, 1, 0.95), (5, 10, 0.95),
                        (180, 200, 0.95), (9999, 10000, 0.95), (5, 10, 0.9), (37, 50, 0.99)]:
        lo, hi = wilson(x, n, level)
        print(f"    ({x}, {n}, {level}, {f(lo)}, {f(hi)}),")
    print("// exact McNemar (b, c, p)")
    for b, c in [(0, 0), (1, 0), (5, 0), (6, 0), (9, 2), (16, 6), (2, 9), (12, 30), (25, 25),
                 (26, 25), (150, 110), (300, 360), (1000, 900), (3000, 2800), (0, 60)]:
        print(f"    ({b}, {c}, {f(mcnemar(b, c))}),")
    print("// sign flip over groups")
    print(f"    {SIGN_FLIP_SUMS} -> {f(sign_flip(SIGN_FLIP_SUMS))}")
    for sums in ([-3, -2, -4, -1, -5, -2, -1], [10, -10], [2, 2, 2, 2, 2, -1]):
        print(f"    {sums} -> {f(sign_flip(sums))}")
    print("// Newcombe (both_pass, pass_to_fail, fail_to_pass, both_fail, level, low, high)")
    for t in [(59, 16, 6, 80, 0.95), (1, 7, 1, 12, 0.95), (150, 12, 3, 35, 0.95),
              (10, 0, 0, 0, 0.95), (0, 0, 0, 10, 0.95), (0, 5, 0, 0, 0.95), (40, 9, 2, 9, 0.9),
              (8000, 300, 250, 1450, 0.95)]:
        lo, hi = newcombe(*t)
        print(f"    ({t[0]}, {t[1]}, {t[2]}, {t[3]}, {t[4]}, {f(lo)}, {f(hi)}),")
    print("// bootstrap")
    lo, hi = bootstrap([(d, 1) for d in SCORE_DIFFS], 10_000, 24, 0.95)
    print(f"    cases, 10000, seed 24, 95%: ({f(lo)}, {f(hi)})")
    lo, hi = bootstrap([(d, 1) for d in SCORE_DIFFS], 2_000, 7, 0.9)
    print(f"    cases, 2000, seed 7, 90%: ({f(lo)}, {f(hi)})")
    lo, hi = bootstrap(GROUP_UNITS, 10_000, 24, 0.95)
    print(f"    groups, 10000, seed 24, 95%: ({f(lo)}, {f(hi)})")
    print("// MDE (n, flip_variance, alpha, power, mde)")
    for args in [(200, 40.0, 0.05, 0.8), (200, 0.0, 0.05, 0.8), (1000, 30.0, 0.05, 0.8),
                 (500, 190.0, 0.01, 0.9), (20, 3.0, 0.05, 0.8)]:
        print(f"    ({args[0]}, {args[1]}, {args[2]}, {args[3]}, {f(mde(*args))}),")
    print("// pass^k (passes, runs, k, value)")
    for c, n, k in [(3, 3, 3), (2, 3, 3), (4, 5, 2), (7, 10, 3), (10, 10, 5), (1, 8, 2)]:
        print(f"    ({c}, {n}, {k}, {f(Fraction(comb(c, k), comb(n, k)))}),")
