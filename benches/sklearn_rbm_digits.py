#!/usr/bin/env python3
"""scikit-learn's "Restricted Boltzmann Machine features for digit classification"
pipeline, with scikit-learn's BernoulliRBM and with ebm.BernoulliRBM, side by side.

The 8x8 digits (from scikit-learn, loaded at run time) are nudged one pixel in four
directions (5x the data), scaled to [0, 1], split 80/20 with random_state=0; an RBM
(n_components=100, learning_rate=0.06, n_iter=10, random_state=0) learns features, and
LogisticRegression(C=6000) classifies them. Runs alternate (sklearn, ebm, sklearn, ...)
so both see the same machine load; the RBM fit alone is timed.

    pip install ./python && python3 benches/sklearn_rbm_digits.py [--runs 5] [--threads 1]

Prints one line per run and a JSON summary: test accuracy of each pipeline, median RBM
fit seconds, and the median of the per-pair ratios sklearn_fit / ebm_fit. Threads are
those of numpy's BLAS for scikit-learn (threadpoolctl) and n_jobs for ebm.
"""

import argparse
import json
import statistics
import time

import numpy as np
from scipy.ndimage import convolve
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.preprocessing import minmax_scale
from threadpoolctl import threadpool_info, threadpool_limits

import ebm


def nudge_dataset(X, Y):
    """The example's data augmentation: each image shifted by one pixel in 4 directions."""
    direction_vectors = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, w):
        return convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()

    X = np.concatenate([X] + [np.apply_along_axis(shift, 1, X, vector) for vector in direction_vectors])
    Y = np.concatenate([Y for _ in range(5)], axis=0)
    return X, Y


def load():
    X, y = datasets.load_digits(return_X_y=True)
    X = np.asarray(X, "float32")
    X, Y = nudge_dataset(X, y)
    X = minmax_scale(X, feature_range=(0, 1))
    return train_test_split(X, Y, test_size=0.2, random_state=0)


def run(rbm_class, split, threads, **extra):
    X_train, X_test, Y_train, Y_test = split
    rbm = rbm_class(n_components=100, learning_rate=0.06, n_iter=10, random_state=0, **extra)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        rbm.fit(X_train)
        fit_seconds = time.perf_counter() - start
        logistic = LogisticRegression(C=6000, max_iter=1000)
        logistic.fit(rbm.transform(X_train), Y_train)
        accuracy = float(np.mean(logistic.predict(rbm.transform(X_test)) == Y_test))
    return fit_seconds, accuracy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    split = load()
    blas = [(p.get("internal_api"), p.get("architecture"), p.get("num_threads")) for p in threadpool_info()]
    print(f"train {split[0].shape}, test {split[1].shape}, dtype {split[0].dtype}; BLAS {blas}")
    peers = {
        "sklearn": lambda: run(SklearnRBM, split, args.threads),
        "ebm": lambda: run(ebm.BernoulliRBM, split, args.threads, n_jobs=args.threads),
    }
    peers["sklearn"]()  # warm-up (imports, caches)
    peers["ebm"]()
    results = {name: [] for name in peers}
    for i in range(args.runs):
        for name, peer in peers.items():
            seconds, accuracy = peer()
            results[name].append((seconds, accuracy))
            print(f"run {i + 1} {name:8s} rbm fit {seconds:.3f} s, test accuracy {accuracy:.4f}")
    ratios = [s[0] / e[0] for s, e in zip(results["sklearn"], results["ebm"])]
    summary = {
        "threads": args.threads,
        "runs": args.runs,
        "sklearn_accuracy": statistics.median(a for _, a in results["sklearn"]),
        "ebm_accuracy": statistics.median(a for _, a in results["ebm"]),
        "sklearn_fit_seconds": statistics.median(s for s, _ in results["sklearn"]),
        "ebm_fit_seconds": statistics.median(s for s, _ in results["ebm"]),
        "fit_speedup": statistics.median(ratios),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
