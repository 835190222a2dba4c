"""The MLP-energy benchmark of benches/mlp_step.rs in PyTorch, side by side in one run.

MLP 784-512-512-1 (swish = SiLU), batch 128, float32, at 1 and 2 threads:
  langevin_step   energy and input gradient (autograd.grad of sum E w.r.t. x), x update
  train_step_cd   parameter gradient of mean E, then Adam
  train_step_dsm  input gradient with create_graph, the DSM loss, its parameter gradient
                  (double backward), then Adam
Median milliseconds of 30 runs after 5 warm-ups. Then runs the Rust bench
(`cargo bench -p ebm-neural --bench mlp_step`) and prints PyTorch/ebm ratios
(> 1: ebm is faster).

    pip install torch        # the CPU build is enough
    python3 crates/ebm-neural/benches/mlp_step_vs_torch.py
"""
import json
import subprocess
import time

import torch

BATCH, SIGMA = 128, 0.1


def median_ms(f):
    for _ in range(5):
        f()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2]


def torch_times(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.SiLU(),
        torch.nn.Linear(512, 512), torch.nn.SiLU(),
        torch.nn.Linear(512, 1))
    x = torch.randn(BATCH, 784)
    eps = torch.randn(BATCH, 784)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    chains = x.clone()

    def langevin():
        nonlocal chains
        c = chains.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(net(c).sum(), c)
        chains = (c - 0.005 * g).detach()

    def train_cd():
        opt.zero_grad()
        net(x).mean().backward()
        opt.step()

    noisy = (x + SIGMA * eps)

    def train_dsm():
        opt.zero_grad()
        y = noisy.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(net(y).sum(), y, create_graph=True)
        loss = 0.5 * ((SIGMA * g - eps) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()

    return {"langevin_step": median_ms(langevin), "train_step_cd": median_ms(train_cd),
            "train_step_dsm": median_ms(train_dsm)}


def main():
    torch_ms = {t: torch_times(t) for t in (1, 2)}
    out = subprocess.run(["cargo", "bench", "-q", "-p", "ebm-neural", "--bench", "mlp_step"],
                         capture_output=True, text=True, check=True).stdout
    ebm_ms = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            ebm_ms[(row["what"], row["threads"])] = row["ms"]
    print(f"torch {torch.__version__}")
    print(f"{'what':<16} {'threads':>7} {'torch ms':>10} {'ebm ms':>10} {'torch/ebm':>10}")
    for threads in (1, 2):
        for what, ms in torch_ms[threads].items():
            ours = ebm_ms[(what, threads)]
            print(f"{what:<16} {threads:>7} {ms:>10.3f} {ours:>10.3f} {ms / ours:>10.2f}")
            print(json.dumps({"what": what, "threads": threads, "torch_ms": round(ms, 4),
                              "ebm_ms": ours, "ratio": round(ms / ours, 3)}))


if __name__ == "__main__":
    main()
