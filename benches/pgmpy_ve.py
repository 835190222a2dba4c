#!/usr/bin/env python3
"""Peer timing for exact inference: pgmpy's VariableElimination on a UAI model.

Usage: python3 benches/pgmpy_ve.py MODEL.uai [MODEL.uai.evid]

Loads the model with pgmpy's UAIReader, applies the evidence and asks VariableElimination
(min-fill order) for the marginal of the first free variable: one elimination pass, the
same work as `ebm factor infer MODEL.uai --evid EVID --task pr` and half of `--task mar`
(which computes every marginal). Prints one JSON line with the marginal and the seconds
spent in the query alone (parsing excluded), to compare with the `seconds` that
`ebm factor infer --json` reports for its inference alone.

ebm's side through the Python API (`ebm.factor.FactorGraph.read_uai(...).log10_partition()`
and `.marginals()`), checked equal to the CLI's: `benches/python_api_vs_cli.py`.
"""
import json
import sys
import time

from pgmpy.inference import VariableElimination
from pgmpy.readwrite import UAIReader


def main():
    model_path = sys.argv[1]
    evidence = {}
    if len(sys.argv) > 2:
        tokens = open(sys.argv[2]).read().split()
        count = int(tokens[0])
        for i in range(count):
            var, value = int(tokens[1 + 2 * i]), int(tokens[2 + 2 * i])
            evidence[f"var_{var}"] = value
    model = UAIReader(model_path).get_model()
    # Variables that only appear in unary factors are not graph nodes for pgmpy's reader.
    for factor in getattr(model, "factors", []):
        model.add_nodes_from(factor.variables)
    free = [v for v in sorted(model.nodes(), key=lambda n: int(n.split("_")[1])) if v not in evidence]
    # pgmpy refuses evidence on variables that appear in no factor: drop them.
    evidence = {k: v for k, v in evidence.items() if k in model.nodes()}
    start = time.perf_counter()
    result = VariableElimination(model).query(
        variables=[free[0]],
        evidence=evidence,
        elimination_order="MinFill",
        joint=True,
        show_progress=False,
    )
    seconds = time.perf_counter() - start
    print(json.dumps({"variable": free[0], "marginal": [float(x) for x in result.values], "seconds": seconds}))


if __name__ == "__main__":
    main()
