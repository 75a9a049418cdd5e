#!/usr/bin/env python3
"""The point-in-time join peer of bench_features: pandas merge_asof.

Reads a features CSV (entity, time, scalar columns) and a labels CSV
(entity, time, other columns), matches each label row with the latest feature
row of its entity at or before its time (merge_asof, direction="backward"),
and writes label columns then GROUP.FIELD columns, like
`troupe features join`. Times are integers (any unit, the same in both).

Prints one JSON line: rows written, and seconds for reading, sorting, the
merge alone, writing, and the whole (reading to written).

  pit_join.py --features F --labels L --out O --entity id --time t
              --feature-time ts --group G
"""

import argparse
import json
import time

import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--entity", required=True, help="entity column (both)")
    ap.add_argument("--time", required=True, help="labels' time column")
    ap.add_argument("--feature-time", required=True,
                    help="features' time column")
    ap.add_argument("--group", required=True, help="prefix of feature columns")
    a = ap.parse_args()

    t0 = time.perf_counter()
    feats = pd.read_csv(a.features, dtype={a.entity: str})
    labels = pd.read_csv(a.labels, dtype={a.entity: str})
    t_read = time.perf_counter()

    feats = feats.rename(
        columns={c: f"{a.group}.{c}" for c in feats.columns
                 if c not in (a.entity, a.feature_time)})
    feats = feats.sort_values(a.feature_time, kind="stable")
    labels = labels.sort_values(a.time, kind="stable")
    t_sort = time.perf_counter()

    out = pd.merge_asof(labels, feats, left_on=a.time,
                        right_on=a.feature_time, by=a.entity,
                        direction="backward", allow_exact_matches=True)
    out = out.drop(columns=[a.feature_time])
    t_merge = time.perf_counter()

    out.to_csv(a.out, index=False)
    t_write = time.perf_counter()

    print(json.dumps({
        "rows": int(len(out)),
        "read_s": t_read - t0,
        "sort_s": t_sort - t_read,
        "merge_s": t_merge - t_sort,
        "write_s": t_write - t_merge,
        "total_s": t_write - t0,
        "pandas": pd.__version__,
    }))


if __name__ == "__main__":
    main()
