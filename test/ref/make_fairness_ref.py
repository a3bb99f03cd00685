#!/usr/bin/python3
"""Computes the reference values of the dlfin_fairness significance tests.

Run once with Debian's Python (python3-scipy 1.10, python3-numpy):

    /usr/bin/python3 test/ref/make_fairness_ref.py > test/ref/fairness_ref.sql

The output is a psql script creating two temporary tables: fair_rows
(score, grp, label), generated deterministically, and fair_expected, one
row per group against the reference group (the most-approved one) at
threshold 0.5: the test used (Fisher's exact test when an expected cell of
the 2x2 approvals table is below 5, else the pooled two-proportion z-test),
its two-sided p-value (scipy.stats.fisher_exact, or erfc(|z| / sqrt 2)),
the marginal effect (difference of approval rates), the standardised mean
difference of the scores (Cohen's d, pooled variance with n1 + n2 - 2
degrees of freedom) and the practical-significance flag (adverse impact
ratio < 0.8 and p < 0.05).  test/pgtap/fairness.sql includes it.
"""
import math

import numpy as np
import scipy
from scipy.stats import fisher_exact


def lcg(seed):
    """Deterministic pseudo-random numbers in [0, 1) (64-bit LCG)."""
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield (x >> 11) / float(1 << 53)


# group: (rows, centre of the scores); the reference approves most
GROUPS = {"big": (600, 0.72), "a": (400, 0.55), "b": (14, 0.45), "c": (7, 0.2),
          "d": (80, 0.68), "e": (3, 0.6), "f": (2000, 0.66)}


def rows():
    g = lcg(20)
    out = []
    for name, (n, centre) in GROUPS.items():
        for _ in range(n):
            s = min(max(centre + (next(g) - 0.5) * 0.8, 0.0), 1.0)
            s = round(s, 6)
            out.append((s, name, next(g) < s))
    return out


def main():
    data = rows()
    print("-- made by test/ref/make_fairness_ref.py with SciPy %s; do not edit" % scipy.__version__)
    print("CREATE TEMP TABLE fair_rows (score float8, grp text, label boolean);")
    print("INSERT INTO fair_rows VALUES")
    print(",\n".join("(%r, '%s', %s)" % (s, g, "true" if y else "false") for s, g, y in data) + ";")
    by = {}
    for s, g, y in data:
        by.setdefault(g, []).append(s)
    appr = {g: sum(1 for s in v if s >= 0.5) for g, v in by.items()}
    rate = {g: appr[g] / len(v) for g, v in by.items()}
    ref = max(sorted(by), key=lambda g: rate[g])
    print("CREATE TEMP TABLE fair_expected (grp text, test text, p_value float8, marginal_effect float8,"
          " smd float8, flagged boolean);")
    out = []
    for g in sorted(by):
        a, b = appr[g], len(by[g]) - appr[g]
        c, d = appr[ref], len(by[ref]) - appr[ref]
        n = a + b + c + d
        emin = min((a + b) * (a + c), (a + b) * (b + d), (c + d) * (a + c), (c + d) * (b + d)) / n
        if emin < 5:
            test, p = "fisher", fisher_exact([[a, b], [c, d]])[1]
        else:
            n1, n2 = a + b, c + d
            pp = (a + c) / n
            z = (a / n1 - c / n2) / math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
            test, p = "z", math.erfc(abs(z) / math.sqrt(2))
        x1, x2 = np.array(by[g]), np.array(by[ref])
        pooled = (((x1 - x1.mean()) ** 2).sum() + ((x2 - x2.mean()) ** 2).sum()) / (len(x1) + len(x2) - 2)
        smd = (x1.mean() - x2.mean()) / math.sqrt(pooled)
        me = rate[g] - rate[ref]
        flagged = 5 * a * len(by[ref]) < 4 * c * len(by[g]) and p < 0.05
        out.append("('%s', '%s', %r, %r, %r, %s)" % (g, test, float(p), me, float(smd),
                                                   "true" if flagged else "false"))
    print("INSERT INTO fair_expected VALUES\n" + ",\n".join(out) + ";")


main()
