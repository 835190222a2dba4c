#!/usr/bin/env python3
"""Second peer: scikit-learn's BernoulliRBM (PCD-1, its defaults otherwise) for one epoch
over the 60,000 stochastically binarized MNIST training images, 500 hidden units,
batch 100, as in `ebm rbm train --dataset mnist --hidden 500 --method pcd --k 1 --epochs 1`.

    python3 benches/sklearn_rbm.py --data ../shared/data --threads 1 [--float32]

Prints one JSON line with seconds_per_epoch. Threads are those of its BLAS (set through
threadpoolctl). scikit-learn's default dtype is float64; --float32 passes float32 data.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("EBM_DATA", "data"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--float32", action="store_true")
    args = ap.parse_args()
    with gzip.open(os.path.join(args.data, "mnist", "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)
    rng = np.random.default_rng(1)
    data = (rng.random(pixels.shape) < pixels / 255.0).astype(np.float32 if args.float32 else np.float64)
    rbm = BernoulliRBM(n_components=500, learning_rate=0.05, batch_size=100, n_iter=1, random_state=1)
    with threadpool_limits(limits=args.threads):
        start = time.perf_counter()
        rbm.fit(data)
        seconds = time.perf_counter() - start
    print(json.dumps({"peer": "scikit-learn BernoulliRBM", "threads": args.threads, "dtype": str(data.dtype), "seconds_per_epoch": seconds}))


if __name__ == "__main__":
    main()
