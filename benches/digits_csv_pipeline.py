#!/usr/bin/env python3
"""The "RBM features for a classifier" pipeline on the user's files, through the ebm CLI,
beside the same pipeline with scikit-learn's BernoulliRBM (issue 18, must-show 2).

scikit-learn's 8x8 digits are written to digits-train.csv / digits-test.csv by the
one-line export README shows (1,437 / 360 images, permutation seed 0, grey levels 0..16
and a `label` column). Then, per seed:

- ebm:     `ebm rbm train --train digits-train.csv --label-column label --binarize none`
           (PCD-1, 100 hidden units, batch 10, learning rate 0.06, 20 epochs, no momentum,
           no weight decay: scikit-learn's algorithm and settings), then
           `ebm rbm transform` of both files (--scale 16) to .npy features;
- sklearn: BernoulliRBM(n_components=100, learning_rate=0.06, batch_size=10, n_iter=20)
           on the same pixels divided by 16;

and LogisticRegression(C=6000) on each model's training features, scored on the test
features. The two RBM fits alternate (ebm, sklearn, ebm, ...) so both see the same machine
load; the ebm fit is timed as the whole `rbm train` process (reading the CSV included),
scikit-learn's as `fit` alone. Logistic regression on the raw pixels is the baseline.

    cargo build --release && python3 benches/digits_csv_pipeline.py [--ebm target/release/ebm] [--seeds 5]

Prints one line per seed and a JSON summary (mean and spread of the accuracies, median fit
seconds and the median per-seed ratio sklearn / ebm).
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM


def export_digits(folder):
    """README's one-line export, spelled out: the same files, byte for byte."""
    d = load_digits()
    i = np.random.RandomState(0).permutation(1797)
    header = ",".join([f"p{k}" for k in range(64)] + ["label"])
    paths = []
    for name, rows in [("digits-train.csv", i[:1437]), ("digits-test.csv", i[1437:])]:
        path = Path(folder) / name
        np.savetxt(path, np.column_stack([d.data[rows], d.target[rows]]), fmt="%d",
                   delimiter=",", header=header, comments="")
        paths.append(path)
    return paths, d.data[i[:1437]] / 16.0, d.target[i[:1437]], d.data[i[1437:]] / 16.0, d.target[i[1437:]]


def ebm_run(binary, *args):
    subprocess.run([binary, *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def accuracy(train_x, train_y, test_x, test_y):
    classifier = LogisticRegression(C=6000, max_iter=5000).fit(train_x, train_y)
    return float((classifier.predict(test_x) == test_y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ebm", default="target/release/ebm")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (train_csv, test_csv), train_x, train_y, test_x, test_y = export_digits(folder)
        baseline = accuracy(train_x, train_y, test_x, test_y)
        rows = []
        for seed in range(args.seeds):
            model = Path(folder) / "digits.ebm"
            start = time.perf_counter()
            ebm_run(args.ebm, "rbm", "train", "--train", train_csv, "--label-column", "label",
                    "--binarize", "none", "--hidden", 100, "--method", "pcd", "--k", 1,
                    "--batch", 10, "--lr", 0.06, "--epochs", 20, "--momentum", 0,
                    "--initial-momentum", 0, "--weight-decay", 0, "--seed", seed,
                    "--threads", 1, "--quiet", "--out", model)
            ebm_seconds = time.perf_counter() - start
            features = []
            for name, csv in [("train", train_csv), ("test", test_csv)]:
                out = Path(folder) / f"{name}.npy"
                ebm_run(args.ebm, "rbm", "transform", model, "--input", csv,
                        "--label-column", "label", "--scale", 16, "--out", out)
                features.append(np.load(out))
            ebm_accuracy = accuracy(features[0], train_y, features[1], test_y)

            rbm = BernoulliRBM(n_components=100, learning_rate=0.06, batch_size=10,
                               n_iter=20, random_state=seed)
            start = time.perf_counter()
            rbm.fit(train_x)
            sklearn_seconds = time.perf_counter() - start
            sklearn_accuracy = accuracy(rbm.transform(train_x), train_y,
                                        rbm.transform(test_x), test_y)
            row = {"seed": seed, "ebm_accuracy": ebm_accuracy, "sklearn_accuracy": sklearn_accuracy,
                   "ebm_fit_seconds": round(ebm_seconds, 3),
                   "sklearn_fit_seconds": round(sklearn_seconds, 3)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    summary = {"pixels_logistic_accuracy": baseline, "seeds": len(rows)}
    for who in ["ebm", "sklearn"]:
        values = [r[f"{who}_accuracy"] for r in rows]
        summary[f"{who}_accuracy_mean"] = round(statistics.mean(values), 4)
        summary[f"{who}_accuracy_std"] = round(statistics.pstdev(values), 4)
        summary[f"{who}_fit_seconds_median"] = statistics.median(r[f"{who}_fit_seconds"] for r in rows)
    summary["fit_ratio_sklearn_over_ebm_median"] = round(statistics.median(
        r["sklearn_fit_seconds"] / r["ebm_fit_seconds"] for r in rows), 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
