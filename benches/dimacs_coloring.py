#!/usr/bin/env python3
"""Issue 17, must-show 5: every DIMACS graph of ../shared/data/coloring with a known
chromatic number K (chromatic.tsv), colored with K colors by

    ebm factor color FILE --colors K --method METHOD --time-limit T --threads 1 --seed S

one instance at a time, and a Markdown table of the results (instance, vertices, edges, K,
status, the method that found the coloring, seconds) with the count of colored instances.
Every coloring is checked again here against the graph's edges.

    cargo build --release && python3 benches/dimacs_coloring.py [--ebm target/release/ebm] \
        [--data ../shared/data] [--method auto] [--time-limit 60] [--seed 1] [--only a,b]
"""

import argparse
import json
import os
import subprocess
import sys


def read_edges(path):
    """The graph's edges (1-based, as in the file) and its vertex count."""
    edges, vertices = [], 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == "p":
                vertices = int(parts[2])
            elif parts and parts[0] == "e":
                edges.append((int(parts[1]), int(parts[2])))
    return vertices, edges


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ebm", default="target/release/ebm")
    parser.add_argument("--data", default=os.environ.get("EBM_DATA", "../shared/data"))
    parser.add_argument("--method", default="auto")
    parser.add_argument("--time-limit", default="60")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--only", default="", help="comma-separated instance names")
    args = parser.parse_args()
    root = os.path.join(args.data, "coloring")
    rows = []
    with open(os.path.join(root, "chromatic.tsv")) as f:
        for line in f:
            name, k = line.split()
            if k != "null":
                rows.append((name, int(k)))
    only = set(filter(None, args.only.split(",")))
    print("| instance | vertices | edges | K | result | method | seconds |")
    print("|---|---|---|---|---|---|---|")
    colored = total = 0
    for name, k in rows:
        stem = name.removesuffix(".col")
        if only and stem not in only:
            continue
        path = os.path.join(root, name)
        command = [args.ebm, "factor", "color", path, "--colors", str(k), "--method",
                   args.method, "--time-limit", args.time_limit, "--threads", "1",
                   "--seed", args.seed]
        out = subprocess.run(command, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{' '.join(command)} failed: {out.stderr.strip()}")
        lines = out.stdout.splitlines()
        j = dict(line.strip().split(": ", 1) for line in lines if ": " in line)
        if j["status"] == "colored":
            colors = [int(c) for c in lines[0].split()]
            vertices, edges = read_edges(path)
            ok = len(colors) == vertices and all(colors[a - 1] != colors[b - 1]
                                                   for a, b in edges)
            if not ok or max(colors) > k:
                sys.exit(f"{name}: the coloring printed is not a proper {k}-coloring")
            colored += 1
        total += 1
        print(f"| {stem} | {j['vertices']} | {j['edges']} | {k} | {j['status']} | "
              f"{j['method']} | {float(j['seconds']):.3f} |", flush=True)
    print(f"\n{colored} of {total} colored (--method {args.method} --time-limit "
          f"{args.time_limit} --threads 1 --seed {args.seed})")


if __name__ == "__main__":
    main()
