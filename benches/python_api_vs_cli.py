#!/usr/bin/env python3
"""The pgmpy and scikit-surprise comparisons through the Python API: the same numbers as
the CLI.

`benches/pgmpy_ve.py` times pgmpy against `ebm factor infer --task pr` on UAI models and
`benches/surprise_cf.py` scikit-surprise against `ebm cf train` / `ebm cf eval` on the
MovieLens 100k folds. This script computes those quantities twice, once with the `ebm`
binary and once through `import ebm`, and prints them side by side:

- factor graphs: log10 Z (`--task pr`, exact elimination) and every exact marginal
  (`--task mar --out X.MAR`) of each model, against `ebm.factor.FactorGraph.read_uai(...)
  .log10_partition()` and `.marginals()`; both are printed by the CLI with Rust's
  shortest round-trip formatting, so the comparison is exact (float equality);
- collaborative filtering: `ebm cf train --dataset ml-100k --fold uN --threads T --out M`
  (its RMSE and MAE on uN.test) and `ebm cf eval M` (precision / recall / NDCG at 10),
  against `ebm.cf.RBMRecommender(random_state=1, n_jobs=T).fit(uN.base).evaluate(uN.test)`
  with the CLI's default settings; the model file the CLI wrote is compared byte for byte
  with the Python model's model-file bytes (its pickle payload).

Usage (from the project root, with the CLI built by `cargo build --release` and the
package installed by `pip install ./python`):

    python3 benches/python_api_vs_cli.py [--ebm target/release/ebm] [--data ../shared/data]
        [--models grid4x4,network,...] [--folds u1,u2,u3,u4,u5] [--threads 2] [--no-mar]
        [--no-cf] [--no-factor]

Exits 1 when any number differs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import ebm
from ebm.cf import RBMRecommender, movielens_fold
from ebm.factor import FactorGraph

# The models of README's pgmpy table (benches/pgmpy_ve.py), as (folder, name, evidence?).
MODELS = {
    "grid4x4": ("toulbar2", "grid4x4.uai", False),
    "network": ("toulbar2", "network.uai", True),
    "water": ("toulbar2", "water.uai", False),
    "Segmentation_11": ("pr", "Segmentation_11.uai", True),
    "Grids_11": ("pr", "Grids_11.uai", True),
    "Pedigree_11": ("pr", "Pedigree_11.uai", True),
    "Promedus_11": ("pr", "Promedus_11.uai", True),
}


def run_cli(command):
    """Run the ebm binary; its stdout and the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stderr}")
    return done.stdout, seconds


def timed(work):
    """``work()`` and the seconds it took."""
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def read_mar(path):
    """The marginals of a .MAR file (exact floats: the CLI prints shortest round-trip)."""
    tokens = Path(path).read_text().split()[2:]
    marginals, i = [], 0
    while i < len(tokens):
        k = int(tokens[i])
        marginals.append(np.array([float(t) for t in tokens[i + 1 : i + 1 + k]]))
        i += 1 + k
    return marginals


def compare_factor(args, tmp):
    """log10 Z and exact marginals of each model, CLI and Python; True when all equal."""
    print("## Factor graphs: exact log10 Z and marginals, `ebm factor infer` vs ebm.factor\n")
    print("| model | CLI log10 Z | Python log10 Z | equal | marginals equal (max abs diff) | CLI s | Python s |")
    print("|---|---|---|---|---|---|---|")
    same = True
    for name in args.models:
        folder, file, with_evidence = MODELS[name]
        model = Path(args.data) / "uai" / folder / file
        evidence = Path(str(model) + ".evid") if with_evidence else None
        flags = ["--evid", str(evidence)] if evidence else []
        threads = ["--threads", str(args.threads)]
        out, cli_seconds = run_cli([args.ebm, "factor", "infer", str(model), *flags, "--task", "pr", "--json", *threads])
        cli_log10 = json.loads(out)["log10_z"]
        graph = FactorGraph.read_uai(model, evidence=evidence, n_jobs=args.threads)
        py_log10, py_seconds = timed(graph.log10_partition)
        equal = cli_log10 == py_log10
        mar_cell = "-"
        if args.mar:
            mar = tmp / f"{name}.MAR"
            _, seconds = run_cli([args.ebm, "factor", "infer", str(model), *flags, "--task", "mar", "--out", str(mar), *threads])
            cli_seconds += seconds
            found, seconds = timed(graph.marginals)
            py_seconds += seconds
            cli_mar = read_mar(mar)
            diff = max(float(np.abs(a - b).max()) for a, b in zip(cli_mar, found))
            mar_equal = len(cli_mar) == len(found) and all(np.array_equal(a, b) for a, b in zip(cli_mar, found))
            mar_cell = f"{'yes' if mar_equal else 'NO'} ({diff:.1e}, {len(found)} variables)"
            equal = equal and mar_equal
        same = same and equal
        print(f"| {name} | {cli_log10!r} | {py_log10!r} | {'yes' if cli_log10 == py_log10 else 'NO'} "
              f"| {mar_cell} | {cli_seconds:.2f} | {py_seconds:.2f} |", flush=True)
    return same


def compare_cf(args, tmp):
    """RMSE, MAE and ranking metrics of each fold, CLI and Python; True when all equal."""
    print(f"\n## Collaborative filtering: `ebm cf train` + `ebm cf eval` vs ebm.cf (defaults, seed 1, "
          f"{args.threads} threads)\n")
    print("| fold | RMSE CLI | RMSE Python | MAE CLI | MAE Python | P@10 / R@10 / NDCG@10 CLI | Python | "
          "model file identical | CLI s | Python s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    same = True
    folder = Path(args.data) / "ml-100k"
    keys = ("precision_at_10", "recall_at_10", "ndcg_at_10")
    for fold in args.folds:
        model_file = tmp / f"{fold}.ebm"
        source = ["--dataset", "ml-100k", "--fold", fold, "--data", str(args.data)]
        threads = ["--threads", str(args.threads)]
        out, cli_seconds = run_cli([args.ebm, "cf", "train", *source, "--out", str(model_file), "--json", "--quiet", *threads])
        cli_train = json.loads(out)
        out, seconds = run_cli([args.ebm, "cf", "eval", str(model_file), *source, "--json", *threads])
        cli_seconds += seconds
        cli_eval = json.loads(out)

        def python_run():
            train, test = movielens_fold(folder, fold)
            model = RBMRecommender(random_state=1, n_jobs=args.threads).fit(train)
            return model, model.evaluate(test, k=10)

        (model, found), py_seconds = timed(python_run)
        identical = model_file.read_bytes() == bytes(model._core.to_bytes())
        cli_ranks = tuple(cli_eval[k] for k in keys)
        py_ranks = tuple(found[k] for k in keys)
        equal = (cli_train["rmse"] == found["rmse"] and cli_train["mae"] == found["mae"]
                 and cli_eval["rmse"] == found["rmse"] and cli_ranks == py_ranks and identical)
        same = same and equal
        ranks = lambda r: " / ".join(f"{x:.6f}" for x in r)  # noqa: E731
        print(f"| {fold} | {cli_train['rmse']!r} | {found['rmse']!r} | {cli_train['mae']!r} | {found['mae']!r} "
              f"| {ranks(cli_ranks)} | {ranks(py_ranks)}{'' if cli_ranks == py_ranks else ' (DIFFERENT)'} "
              f"| {'yes' if identical else 'NO'} | {cli_seconds:.1f} | {py_seconds:.1f} |", flush=True)
    return same


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ebm", default="target/release/ebm", help="the ebm binary")
    parser.add_argument("--data", default=os.environ.get("EBM_DATA", "../shared/data"))
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    parser.add_argument("--folds", default="u1,u2,u3,u4,u5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-mar", dest="mar", action="store_false", help="log10 Z only")
    parser.add_argument("--no-cf", dest="cf", action="store_false")
    parser.add_argument("--no-factor", dest="factor", action="store_false")
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    args.folds = [f for f in args.folds.split(",") if f]
    print(f"ebm {ebm.__version__} (Python package) against {args.ebm}\n")
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.factor:
            same = compare_factor(args, Path(tmp)) and same
        if args.cf:
            same = compare_cf(args, Path(tmp)) and same
    print(f"\n{'every number is the same' if same else 'SOME NUMBERS DIFFER'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
