#!/usr/bin/python3
"""Generated Criteo-shaped click data for the parameter-server benchmark
(bench_ps_peers).

39 categorical columns C1..C39 whose cardinalities follow a power law, from
10 values (C1) up to --max-card values (C39), geometrically spaced. Within
a column, the values are drawn from a Zipf-like law (value k with
probability proportional to 1/(k+1)^1.1), so a few values are frequent and
most are rare, as in Criteo's logs; 5% of the cells of every third column
are missing. Each value is written as 8 hex digits, as Criteo's are.

Labels come from a planted logistic model: every (column, value) has a
weight drawn from N(0, 0.35^2); a row is a click with probability
sigmoid(bias + the sum of its values' weights), the bias set so that about
one row in four is a click (Criteo's rate). The planted weights are drawn
from --seed, so TRAIN and TEST share them; TEST's rows come from another
stream of the same seed.

Usage: criteo_like.py TRAIN.csv TEST.csv --rows N [--test-rows M]
       [--max-card K] [--seed S]
Prints one JSON line: {"rows": N, "test_rows": M, "cards": [...],
"click_rate": r, "bayes_logloss": l} (l: the test logloss of the planted
model itself, the best any model can do).
"""

import argparse
import json
import math
import sys

import numpy as np

COLUMNS = 39


def cards(max_card):
    return [int(round(10 * (max_card / 10) ** (j / (COLUMNS - 1))))
            for j in range(COLUMNS)]


def draw_values(rng, card, n):
    # Zipf-like over 0..card-1: inverse-CDF sampling of p(k) ~ 1/(k+1)^1.1
    k = np.arange(1, card + 1, dtype=np.float64)
    cdf = np.cumsum(k ** -1.1)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(n))


def write(path, rng, weights, codes, bias, n, chunk=200000):
    logloss = 0.0
    clicks = 0
    with open(path, "w") as out:
        out.write("label," + ",".join("C%d" % (j + 1)
                                      for j in range(COLUMNS)) + "\n")
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            margin = np.full(m, bias)
            cols = []
            for j in range(COLUMNS):
                v = draw_values(rng, len(weights[j]), m)
                margin += weights[j][v]
                text = codes[j][v].astype(object)
                if j % 3 == 2:
                    text[rng.random(m) < 0.05] = ""
                cols.append(text)
            p = 1 / (1 + np.exp(-margin))
            y = (rng.random(m) < p).astype(np.int64)
            clicks += int(y.sum())
            logloss -= float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
            lines = [str(y[i]) + "," + ",".join(c[i] for c in cols)
                     for i in range(m)]
            out.write("\n".join(lines) + "\n")
    return clicks / n, logloss / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--test-rows", type=int, default=0)
    ap.add_argument("--max-card", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    test_rows = a.test_rows or max(1000, a.rows // 10)
    rng = np.random.default_rng(a.seed)
    cs = cards(a.max_card)
    weights = [rng.normal(0, 0.35, c) for c in cs]
    codes = []
    for j, c in enumerate(cs):
        ids = (np.arange(c, dtype=np.uint64) * np.uint64(2654435761) +
               np.uint64(j * 97 + 13)) % np.uint64(1 << 32)
        codes.append(np.array(["%08x" % i for i in ids]))
    # the bias that gives a click rate near 25%, from a sample
    probe = np.zeros(20000)
    for j in range(COLUMNS):
        probe += weights[j][draw_values(rng, cs[j], 20000)]
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        rate = np.mean(1 / (1 + np.exp(-(probe + mid))))
        lo, hi = (mid, hi) if rate < 0.25 else (lo, mid)
    bias = (lo + hi) / 2
    rate, _ = write(a.train, np.random.default_rng([a.seed, 1]), weights,
                    codes, bias, a.rows)
    _, bayes = write(a.test, np.random.default_rng([a.seed, 2]), weights,
                     codes, bias, test_rows)
    print(json.dumps({"rows": a.rows, "test_rows": test_rows, "cards": cs,
                      "click_rate": rate, "bayes_logloss": bayes}))


if __name__ == "__main__":
    main()
