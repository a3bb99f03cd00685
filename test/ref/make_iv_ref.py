#!/usr/bin/python3
"""An independent, optbinning-style information-value ranking of the credit data.

Run with Debian's Python (python3-numpy):

    /usr/bin/python3 test/ref/make_iv_ref.py test/data/credit_data.csv

Prints one line per characteristic, `feature iv bins`, highest IV first.
test/pgtap/iv.sql pins the order it prints; doc/scorecards.md says how.

The algorithm is written from optbinning's documented defaults, not from
dlfin's code, so that agreement means something:

- numeric: up to 20 equal-frequency pre-bins over the distinct values (a
  cut between two values, never inside one); adjacent pre-bins merged,
  smallest first, until each holds at least 5 % of the non-missing rows;
  then the event rate made monotone by pooling adjacent violators, in the
  direction (ascending or descending) that keeps the higher IV;
- categorical: one bin per category, categories under 5 % of the rows
  pooled into one bin;
- missing values: their own bin, counted in the IV;
- WoE = ln(share of non-events / share of events), with 0.5 added to an
  empty cell; IV = sum over bins of (share of non-events - share of
  events) * WoE.
"""
import csv
import math
import sys

import numpy as np

MIN_SHARE = 0.05
PREBINS = 20


def iv_of(counts):
    """IV of a list of (events, non_events) bins."""
    ev = sum(c[0] for c in counts)
    ne = sum(c[1] for c in counts)
    iv = 0.0
    for e, n in counts:
        se = max(e, 0.5) / ev
        sn = max(n, 0.5) / ne
        iv += (sn - se) * math.log(sn / se)
    return iv


def prebins(x, y):
    """Equal-frequency pre-bins as (events, non_events) in value order."""
    vals = np.unique(x)
    qs = np.quantile(x, np.linspace(0, 1, PREBINS + 1)[1:-1])
    cuts = sorted(set(vals[np.searchsorted(vals, q, side="right") - 1] for q in qs))
    idx = np.searchsorted(np.array(cuts), x, side="left")
    bins = []
    for b in range(len(cuts) + 1):
        sel = idx == b
        if sel.any():
            bins.append([int(y[sel].sum()), int((~y[sel]).sum())])
    return bins


def merge_small(bins, total):
    """Merges the smallest bin into its smaller neighbour until all are big enough."""
    bins = [list(b) for b in bins]
    while len(bins) > 1:
        sizes = [sum(b) for b in bins]
        i = int(np.argmin(sizes))
        if sizes[i] >= MIN_SHARE * total:
            break
        if i == 0:
            j = 1
        elif i == len(bins) - 1:
            j = i - 1
        else:
            j = i - 1 if sizes[i - 1] <= sizes[i + 1] else i + 1
        lo, hi = min(i, j), max(i, j)
        bins[lo] = [bins[lo][0] + bins[hi][0], bins[lo][1] + bins[hi][1]]
        del bins[hi]
    return bins


def monotone(bins, ascending):
    """Pools adjacent violators until the event rate is monotone."""
    bins = [list(b) for b in bins]
    changed = True
    while changed:
        changed = False
        for i in range(len(bins) - 1):
            r0 = bins[i][0] / sum(bins[i])
            r1 = bins[i + 1][0] / sum(bins[i + 1])
            if (ascending and r1 < r0) or (not ascending and r1 > r0):
                bins[i] = [bins[i][0] + bins[i + 1][0], bins[i][1] + bins[i + 1][1]]
                del bins[i + 1]
                changed = True
                break
    return bins


def numeric(col, y):
    """Bins of a numeric column (missing as None)."""
    miss = np.array([v is None for v in col])
    x = np.array([v for v in col if v is not None], dtype=float)
    yy = y[~miss]
    bins = merge_small(prebins(x, yy), len(x))
    best = max((monotone(bins, a) for a in (True, False)), key=iv_of)
    if miss.any():
        best.append([int(y[miss].sum()), int((~y[miss]).sum())])
    return best


def categorical(col, y):
    """Bins of a text column: one per category, small ones pooled."""
    n = len(col)
    cats = {}
    for v, t in zip(col, y):
        c = cats.setdefault(v, [0, 0])
        c[0 if t else 1] += 1
    bins, small = [], [0, 0]
    for v, c in sorted(cats.items(), key=lambda kv: str(kv[0])):
        if v is not None and sum(c) < MIN_SHARE * n:
            small = [small[0] + c[0], small[1] + c[1]]
        else:
            bins.append(c)
    if sum(small):
        bins.append(small)
    return bins


def main(path):
    """Prints the ranking of every characteristic but the label and marital status."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    y = np.array([r["Status"] == "bad" for r in rows])
    out = []
    for name in rows[0]:
        if name in ("Status", "Marital"):
            continue
        raw = [r[name] if r[name] != "" else None for r in rows]
        try:
            col = [None if v is None else float(v) for v in raw]
            bins = numeric(col, y)
        except ValueError:
            bins = categorical(raw, y)
        nmiss = sum(v is None for v in raw)
        out.append((iv_of(bins), name.lower(), len(bins) - (1 if nmiss else 0)))
    for iv, name, nb in sorted(out, key=lambda t: (-t[0], t[1])):
        print(f"{name} {iv:.4f} {nb}")


if __name__ == "__main__":
    main(sys.argv[1])
