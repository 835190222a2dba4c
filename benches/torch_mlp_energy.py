#!/usr/bin/env python3
"""The PyTorch side of the MLP-energy speed comparison (issue 15, item 4).

MLP 784-512-512-1 with swish (SiLU, the `ebm energy train` default activation) after each
hidden layer and a linear output, batch 128, float32, on the CPU:

  langevin_step  one Langevin step of 128 chains: E(x) and grad_x E by
                 torch.autograd.grad(E.sum(), x), then x <- x - eta/2 g + sqrt(eta) noise
  train_step     one contrastive-divergence training step: the parameter gradient of
                 mean E(data) - mean E(neg) + alpha (mean E(data)^2 + mean E(neg)^2)
                 (the ebm trainer's loss and energy regularization, alpha = 1e-3) on 128
                 data + 128 negative rows in one forward pass, then an Adam update
  dsm_step       (extra) one denoising-score-matching step: fresh noise eps, grad_x E at
                 data + sigma eps with create_graph, the loss 0.5 |sigma grad_x E - eps|^2,
                 its parameter gradient (double backward), then Adam

The Rust counterpart is crates/ebm-neural/examples/mlp_step.rs, which does the same
computations through the crate's public API (the trainer's own gradient and optimizer
step for train_step).

Alone, it prints one JSON line per step: median milliseconds of --repeats runs after
--warmup runs at --threads threads:

    python3 benches/torch_mlp_energy.py --threads 1

With --ebm BINARY it alternates: --rounds times, it measures PyTorch here, then runs the
Rust example at the same thread count (its own JSON lines), and prints per-round
ratios and the median of the pairwise ratios (torch ms / ebm ms; > 1: ebm is faster):

    cargo build --release -p ebm-neural --example mlp_step
    python3 benches/torch_mlp_energy.py --ebm target/release/examples/mlp_step --rounds 5

PyTorch runs with its default settings: the script sets no environment variable. On a
machine where other jobs hold a core, PyTorch's spinning OpenMP threads collapse at 2
threads; the README's tables then also show runs with OMP_WAIT_POLICY=PASSIVE set by the
caller (OMP_WAIT_POLICY=PASSIVE python3 benches/torch_mlp_energy.py ...), and say which.
The ebm side prepares its net once for the chain run (EnergyNet::prepare_sampling, the
transposed copy of the large weight matrices) outside the timed Langevin steps, and
prints that copy's cost as an extra "prepare_sampling" line, which is not compared.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch

BATCH, DIM, HIDDEN = 128, 784, 512
ETA, ALPHA, SIGMA, LR = 0.01, 1e-3, 0.1, 1e-4
STEPS = ("langevin_step", "train_step", "dsm_step")


def median_ms(f, warmup, repeats):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def torch_times(threads, warmup, repeats):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(DIM, HIDDEN), torch.nn.SiLU(),
        torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.SiLU(),
        torch.nn.Linear(HIDDEN, 1))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    data = torch.randn(BATCH, DIM)
    negatives = torch.rand(BATCH, DIM) * 8.0 - 4.0
    chains = negatives.clone()
    noise_scale = ETA ** 0.5

    def langevin():
        nonlocal chains
        x = chains.requires_grad_(True)
        (g,) = torch.autograd.grad(net(x).sum(), x)
        with torch.no_grad():
            chains = x - 0.5 * ETA * g + noise_scale * torch.randn_like(x)

    both = torch.cat([data, negatives])

    def train():
        opt.zero_grad()
        e = net(both).squeeze(1)
        e_data, e_neg = e[:BATCH], e[BATCH:]
        loss = (e_data.mean() - e_neg.mean()
                + ALPHA * ((e_data ** 2).mean() + (e_neg ** 2).mean()))
        loss.backward()
        opt.step()

    def dsm():
        opt.zero_grad()
        eps = torch.randn(BATCH, DIM)
        y = (data + SIGMA * eps).requires_grad_(True)
        (g,) = torch.autograd.grad(net(y).sum(), y, create_graph=True)
        loss = 0.5 * ((SIGMA * g - eps) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()

    return {name: median_ms(f, warmup, repeats)
            for name, f in zip(STEPS, (langevin, train, dsm))}


def ebm_times(binary, threads, warmup, repeats):
    out = subprocess.run(
        [binary, "--threads", str(threads), "--warmup", str(warmup), "--repeats",
         str(repeats)], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {row["step"]: row["ms"] for row in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--ebm", help="the Rust example binary to alternate with")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.ebm is None:
        for threads in args.threads:
            for step, ms in torch_times(threads, args.warmup, args.repeats).items():
                print(json.dumps({"impl": "torch", "step": step, "threads": threads,
                                  "ms": round(ms, 4)}))
        return
    print(f"# torch {torch.__version__}, {args.rounds} alternated rounds, "
          f"median of {args.repeats} runs each")
    for threads in args.threads:
        ratios = {step: [] for step in STEPS}
        torch_ms = {step: [] for step in STEPS}
        ebm_ms = {step: [] for step in STEPS}
        for r in range(args.rounds):
            ours = torch_times(threads, args.warmup, args.repeats)
            theirs = ebm_times(args.ebm, threads, args.warmup, args.repeats)
            for step in STEPS:
                torch_ms[step].append(ours[step])
                ebm_ms[step].append(theirs[step])
                ratios[step].append(ours[step] / theirs[step])
                print(json.dumps({"round": r, "step": step, "threads": threads,
                                  "torch_ms": round(ours[step], 4),
                                  "ebm_ms": round(theirs[step], 4),
                                  "ratio": round(ours[step] / theirs[step], 3)}))
        for step in STEPS:
            print(json.dumps({"summary": step, "threads": threads,
                              "torch_ms": round(statistics.median(torch_ms[step]), 4),
                              "ebm_ms": round(statistics.median(ebm_ms[step]), 4),
                              "ratio": round(statistics.median(ratios[step]), 3)}))


if __name__ == "__main__":
    main()
