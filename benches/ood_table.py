#!/usr/bin/env python3
"""The out-of-distribution table of README ("Out-of-distribution detection").

Writes the inputs as .npy files under --work (never committed), trains every model it
needs that is not there yet (modest settings, one thread, one run at a time), scores
every model on every pair with `ebm ood ... --json`, and prints the table (one ROC AUC
per score) as Markdown, with the commands it ran. ROC curves of chosen runs are copied
to --img as ood_*.png.

    python3 benches/ood_table.py --ebm target/release/ebm --work /tmp/ood_table \
        [--img docs/img] [--stage prep|train|score|table|all]

Inputs (all pixels in [0, 1], float32):
  mnist_{train,test}, fashion_{train,test}: the IDX files divided by 255;
  noise: 10,000 images of independent uniform pixels (seed 0);
  mnist_flip20: the MNIST test set with 20% of the pixels (chosen at random, seed 1)
      replaced by 1 - x;
  mnist08_{train,test}, mnist9_test: MNIST without / only the digit 9 (labels alongside);
  fashion_train_mut{R}: the Fashion training set with each pixel replaced by a uniform
      value with probability R (Ren et al. 2019's perturbation for the background model,
      R = 0.2 chosen beforehand, in their range 0.1-0.3).
Existing models may be given instead of training them (--reuse NAME=FILE, repeated).
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np

MNIST = "/work/shared/data/mnist"
FASHION = "/usr/share/datasets/fashion-mnist"
MUTATE_RATE = 0.2

# Training settings shared by every model of one kind.
RBM = "rbm train --hidden 500 --method pcd --k 1 --chains 100 --batch 100 --lr 0.05 " \
      "--momentum 0 --initial-momentum 0 --lr-schedule linear --weight-decay 1e-4"
GRBM = "gaussian-rbm train --hidden 200 --method cd"
CLS = "class-rbm train --hidden 500 --objective hybrid --generative-weight 0.01 " \
      "--lr 0.5 --batch 20"
MLP = "energy train --method dsm --hidden 256,256 --noise-std 0.1"
# README's "Joint energy model" settings (--seed 1 --threads 1 are added by train()).
JEM = "joint train --hidden 512,512 --batch-size 64 --lr 1e-3 --sgld-steps 5 --step-size 2 " \
      "--noise-scale 0.01 --buffer-size 10000 --reinit 0.05 --generative-weight 0.1 " \
      "--energy-regularization 0.001 --max-shift 1"

# Training data of each model: name suffix -> the training file's stem (labels: STEM_labels).
TRAINING = {
    "mnist": "mnist_train",
    "mnist08": "mnist08_train",
    "fashion": "fashion_train",
    "fashion_bg": f"fashion_train_mut{MUTATE_RATE}",
}
# kind -> (command, epochs per training set, whether it reads labels).
KINDS = {
    "rbm": (RBM, {"mnist": 5, "mnist08": 5, "fashion": 20, "fashion_bg": 10}, False),
    "grbm": (GRBM, {"mnist": 10, "mnist08": 10, "fashion": 10, "fashion_bg": 10}, False),
    "cls": (CLS, {"mnist": 10, "mnist08": 3, "fashion": 3}, True),
    "mlp": (MLP, {"mnist": 5, "mnist08": 5, "fashion": 5, "fashion_bg": 5}, False),
    "jem": (JEM, {"mnist": 24, "mnist08": 4, "fashion": 4}, True),
}
# name -> command; {w} is the work directory. cls_mnist is the class RBM of README's
# "Classification RBM" section and jem_mnist the joint energy model of its "Joint energy
# model" section (both trained on the first 50,000 images: --limit 50000; jem_mnist, 24
# epochs, was copied in from that run, --reuse jem_mnist=FILE, not retrained here).
# The joint models of 0-8 and Fashion also print their test error (--test).
MODELS = {
    f"{kind}_{data}": f"{command} --epochs {epochs} --train {{w}}/{TRAINING[data]}.npy"
    + (f" --labels {{w}}/{TRAINING[data]}_labels.npy" if labels else "")
    + (" --limit 50000" if (kind, data) in (("cls", "mnist"), ("jem", "mnist")) else "")
    + (
        f" --test {{w}}/{TRAINING[data].replace('train', 'test')}.npy"
        f" --test-labels {{w}}/{TRAINING[data].replace('train', 'test')}_labels.npy"
        if kind == "jem" and data != "mnist"
        else ""
    )
    for kind, (command, per_set, labels) in KINDS.items()
    for data, epochs in per_set.items()
}

ROWS = [
    ("binary RBM", "rbm"),
    ("Gaussian RBM", "grbm"),
    ("class RBM", "cls"),
    ("neural energy (MLP, dsm)", "mlp"),
    ("joint energy model", "jem"),
]

# pair -> (training set, normal file, anomalous file, background file)
PAIRS = [
    ("MNIST vs Fashion", "mnist", "mnist_test", "fashion_test", "mnist_train"),
    ("MNIST vs noise", "mnist", "mnist_test", "noise", "mnist_train"),
    ("MNIST vs 20% flipped", "mnist", "mnist_test", "mnist_flip20", "mnist_train"),
    ("Fashion vs MNIST", "fashion", "fashion_test", "mnist_test", "fashion_train"),
    ("digits 0-8 vs 9", "mnist08", "mnist08_test", "mnist9_test", "mnist08_train"),
]

SCORES = [
    ("free_energy", "F"),
    ("likelihood_ratio", "LR-pix"),
    ("likelihood_ratio_model", "LR-bg"),
    ("typicality", "typical"),
    ("complexity_ratio", "S"),
    ("gradient_norm", "grad"),
    ("reconstruction", "recon"),
    ("max_probability", "1-max p"),
]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(path):
    x = read_idx(path)
    return (x.reshape(x.shape[0], -1) / 255.0).astype(np.float32)


def prep(work):
    os.makedirs(work, exist_ok=True)
    done = os.path.join(work, "prep.done")
    if os.path.exists(done):
        return
    sets = {}
    for name, folder in (("mnist", MNIST), ("fashion", FASHION)):
        for split, stem in (("train", "train"), ("test", "t10k")):
            sets[f"{name}_{split}"] = images(f"{folder}/{stem}-images-idx3-ubyte.gz")
            sets[f"{name}_{split}_labels"] = read_idx(
                f"{folder}/{stem}-labels-idx1-ubyte.gz"
            ).astype(np.int64)
    rng = np.random.default_rng(0)
    sets["noise"] = rng.random((10000, 784), dtype=np.float32)
    rng = np.random.default_rng(1)
    flip = rng.random(sets["mnist_test"].shape) < 0.2
    sets["mnist_flip20"] = np.where(flip, 1.0 - sets["mnist_test"], sets["mnist_test"]).astype(
        np.float32
    )
    for split in ("train", "test"):
        labels = sets[f"mnist_{split}_labels"]
        keep = labels != 9
        sets[f"mnist08_{split}"] = sets[f"mnist_{split}"][keep]
        sets[f"mnist08_{split}_labels"] = labels[keep]
    sets["mnist9_test"] = sets["mnist_test"][sets["mnist_test_labels"] == 9]
    rng = np.random.default_rng(2)
    x = sets["fashion_train"]
    mutate = rng.random(x.shape) < MUTATE_RATE
    sets[f"fashion_train_mut{MUTATE_RATE}"] = np.where(
        mutate, rng.random(x.shape, dtype=np.float32), x
    ).astype(np.float32)
    for name, array in sets.items():
        np.save(os.path.join(work, f"{name}.npy"), array)
    open(done, "w").write("ok\n")


def run(cmd, log):
    print(f"$ {' '.join(cmd)}", file=log, flush=True)
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - start
    if out.returncode != 0:
        print(out.stderr, file=log, flush=True)
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    return out.stdout, seconds


def train(args, log):
    models = os.path.join(args.work, "models")
    os.makedirs(models, exist_ok=True)
    reuse = dict(r.split("=", 1) for r in args.reuse)
    for name, command in MODELS.items():
        if args.only and name not in args.only:
            continue
        out = os.path.join(models, f"{name}.ebm")
        if os.path.exists(out):
            continue
        if name in reuse:
            shutil.copy(reuse[name], out)
            print(f"# {name}: copied from {reuse[name]}", file=log, flush=True)
            continue
        cmd = [args.ebm] + command.format(w=args.work).split()
        cmd += ["--seed", "1", "--threads", "1", "--out", out, "--json", "--quiet"]
        stdout, seconds = run(cmd, log)
        print(f"# {name}: {seconds:.0f} s {stdout.strip().splitlines()[-1]}", file=log, flush=True)


def score(args, log):
    models = os.path.join(args.work, "models")
    results = os.path.join(args.work, "results.jsonl")
    seen = set()
    if os.path.exists(results):
        for line in open(results):
            r = json.loads(line)
            seen.add((r["model"], r["pair"]))
    w = args.work
    for _, kind in ROWS:
        if args.kinds and kind not in args.kinds:
            continue
        for pair, trained, normal, anomalous, background in PAIRS:
            suffix = {"mnist": "mnist", "fashion": "fashion", "mnist08": "mnist08"}[trained]
            name = f"{kind}_{suffix}"
            model = os.path.join(models, f"{name}.ebm")
            if not os.path.exists(model) or (name, pair) in seen:
                continue
            plot = os.path.join(w, "plots", f"{name}_{anomalous}")
            os.makedirs(plot, exist_ok=True)
            cmd = [
                args.ebm, "ood", model,
                "--normal", f"{w}/{normal}.npy",
                "--anomalous", f"{w}/{anomalous}.npy",
                "--background", f"{w}/{background}.npy",
                "--plot", plot, "--threads", "1", "--json",
            ]
            bg_model = os.path.join(models, f"{name}_bg.ebm")
            if os.path.exists(bg_model):
                cmd += ["--background-model", bg_model]
            stdout, seconds = run(cmd, log)
            r = json.loads(stdout.strip().splitlines()[-1])
            r.update(model=name, pair=pair, seconds=round(seconds, 1))
            with open(results, "a") as f:
                f.write(json.dumps(r) + "\n")


def compressed_bits(x):
    q = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    return np.array([8 * len(zlib.compress(row.tobytes(), 9)) for row in q], dtype=float)


def auc(normal, anomalous):
    """ROC AUC of "higher = anomalous" (ties count one half)."""
    s = np.concatenate([normal, anomalous])
    order = s.argsort(kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    # Average ranks over ties.
    values, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    m, k = len(normal), len(anomalous)
    return (ranks[m:].sum() - k * (k + 1) / 2) / (m * k)


def table(args):
    results = {}
    path = os.path.join(args.work, "results.jsonl")
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            results[(r["model"], r["pair"])] = r
    lines = ["| model | " + " | ".join(p[0] for p in PAIRS) + " |"]
    lines.append("|---" * (len(PAIRS) + 1) + "|")
    for label, kind in ROWS:
        cells = []
        for pair, trained, *_ in PAIRS:
            suffix = {"mnist": "mnist", "fashion": "fashion", "mnist08": "mnist08"}[trained]
            r = results.get((f"{kind}_{suffix}", pair))
            if r is None:
                cells.append("not run")
                continue
            parts = [
                f"{short} {r['roc_auc_' + key]:.3f}"
                for key, short in SCORES
                if "roc_auc_" + key in r
            ]
            cells.append("<br>".join(parts))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    # No model at all: the compressed length L(x) alone (zlib level 9 of the 8-bit
    # pixels, as `ebm ood`'s complexity score computes it), higher = out of distribution.
    cells = []
    for _, _, normal, anomalous, _ in PAIRS:
        n, a = (compressed_bits(np.load(os.path.join(args.work, f"{f}.npy"))) for f in (normal, anomalous))
        cells.append(f"L {auc(n, a):.3f}")
    lines.append("| compressor alone (no model) | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.img:
        for name, anomalous in (
            ("rbm_fashion", "mnist_test"),
            ("rbm_mnist", "fashion_test"),
            ("grbm_fashion", "mnist_test"),
        ):
            src = os.path.join(args.work, "plots", f"{name}_{anomalous}", "ood_roc.png")
            if os.path.exists(src):
                shutil.copy(src, os.path.join(args.img, f"ood_{name}_vs_{anomalous}.png"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ebm", default="target/release/ebm")
    p.add_argument("--work", default="/tmp/ood_table")
    p.add_argument("--img", default=None, help="copy chosen ROC curves here as ood_*.png")
    p.add_argument("--stage", default="all", choices=["prep", "train", "score", "table", "all"])
    p.add_argument("--only", nargs="*", default=[], help="train only these models")
    p.add_argument("--kinds", nargs="*", default=[], help="score only these rows (rbm, grbm, ...)")
    p.add_argument("--reuse", action="append", default=[], help="NAME=FILE: copy, do not train")
    args = p.parse_args()
    log = open(os.path.join(args.work, "commands.log"), "a") if os.path.isdir(args.work) else sys.stderr
    if args.stage in ("prep", "all"):
        prep(args.work)
        log = open(os.path.join(args.work, "commands.log"), "a")
    if args.stage in ("train", "all"):
        train(args, log)
    if args.stage in ("score", "all"):
        score(args, log)
    if args.stage in ("table", "all"):
        table(args)


if __name__ == "__main__":
    main()
