#!/usr/bin/env python3
"""The peer for the CD-1 speed comparison: a plain PyTorch CPU CD-1 loop on MNIST.

784 visible x 500 hidden binary RBM, batch 100, one epoch over the 60,000 training images
(stochastically binarized once), float32, momentum SGD with weight decay: the same work
as `ebm rbm train --dataset mnist --hidden 500 --method cd --k 1 --batch 100 --epochs 1`.

    python3 benches/torch_cd1.py --data ../shared/data --threads 1 --epochs 1

Prints one JSON line with seconds_per_epoch (the loop only, after loading).
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch


def load_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("EBM_DATA", "data"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    pixels = load_images(os.path.join(args.data, "mnist", "train-images-idx3-ubyte.gz"))
    probs = torch.from_numpy(pixels.astype(np.float32) / 255.0)
    data = torch.bernoulli(probs)  # stochastic binarization, once
    n, nv, nh, bs = data.shape[0], data.shape[1], args.hidden, args.batch

    W = torch.randn(nv, nh) * 0.01
    p = data.mean(0).clamp(1e-3, 1 - 1e-3)
    b = torch.log(p / (1 - p))
    c = torch.zeros(nh)
    vW, vb, vc = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)
    momentum, decay = 0.5, 2e-4

    seconds = []
    with torch.no_grad():
        for epoch in range(args.epochs):
            start = time.perf_counter()
            shuffled = data[torch.randperm(n)]  # one gather per epoch, then contiguous views
            for i in range(0, n, bs):
                v0 = shuffled[i:i + bs]
                m = v0.shape[0]
                # Sampling by comparing with uniforms is faster than torch.bernoulli on
                # CPU; addmm fuses the bias add. This is the fastest plain loop we found.
                h0p = torch.sigmoid(torch.addmm(c, v0, W))
                h0 = (torch.rand_like(h0p) < h0p).float()
                v1p = torch.sigmoid(torch.addmm(b, h0, W.t()))
                v1 = (torch.rand_like(v1p) < v1p).float()
                h1p = torch.sigmoid(torch.addmm(c, v1, W))
                gW = torch.addmm(v0.t() @ h0p, v1.t(), h1p, alpha=-1.0).div_(m)
                gb = (v0 - v1).mean(0)
                gc = (h0p - h1p).mean(0)
                vW.mul_(momentum).add_(gW.sub_(W, alpha=decay), alpha=args.lr)
                vb.mul_(momentum).add_(gb, alpha=args.lr)
                vc.mul_(momentum).add_(gc, alpha=args.lr)
                W += vW
                b += vb
                c += vc
            seconds.append(time.perf_counter() - start)
        h = torch.sigmoid(data[:1000] @ W + c)
        recon = torch.sigmoid(h @ W.t() + b)
        recon_error = float(((data[:1000] - recon) ** 2).sum(1).mean())
    print(json.dumps({
        "peer": f"pytorch {torch.__version__}",
        "threads": args.threads,
        "seconds_per_epoch": sum(seconds) / len(seconds),
        "train_seconds": sum(seconds),
        "recon_error": recon_error,
    }))


if __name__ == "__main__":
    main()
