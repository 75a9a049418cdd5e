#!/usr/bin/python3
"""scikit-learn's SGDClassifier side of the parameter-server benchmark
(bench_ps_peers): logistic regression (loss="log_loss") by SGD over the same
hashed features as troupe's job, read from LIBSVM files that the benchmark
wrote with troupe's transform.

After each epoch (partial_fit over the rows shuffled, one pass) the test
logloss is taken, and the seconds of fitting so far (reading the files and
shuffling and scoring are not counted). The result is the history and the last epoch's
figures.

Usage: sgd_peer.py TRAIN.svm TEST.svm --features D [--epochs E]
       [--alpha A] [--seed S]
Prints one JSON line: {"tool": "sklearn-sgd", "version": V, "epochs": E,
"fit_s": T, "logloss": L, "examples_per_s": rows*E/T,
"history": [{"epoch", "seconds", "logloss"}]}.
"""

import argparse
import json
import time

import numpy as np
import sklearn
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=1e-4)  # sklearn's default
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    x, y = load_svmlight_file(a.train, n_features=a.features)
    xt, yt = load_svmlight_file(a.test, n_features=a.features)
    model = SGDClassifier(loss="log_loss", alpha=a.alpha, random_state=a.seed)
    rng = np.random.default_rng(a.seed)
    fit = 0.0
    history = []
    for epoch in range(a.epochs):
        order = rng.permutation(x.shape[0])
        xs, ys = x[order], y[order]
        t0 = time.perf_counter()
        model.partial_fit(xs, ys, classes=np.array([0.0, 1.0]))
        fit += time.perf_counter() - t0
        p = model.predict_proba(xt)[:, 1]
        history.append({"epoch": epoch + 1, "seconds": fit,
                        "logloss": log_loss(yt, p, labels=[0.0, 1.0])})
    print(json.dumps({"tool": "sklearn-sgd", "version": sklearn.__version__,
                      "epochs": a.epochs, "fit_s": fit,
                      "logloss": history[-1]["logloss"],
                      "examples_per_s": x.shape[0] * a.epochs / fit,
                      "history": history}))


if __name__ == "__main__":
    main()
