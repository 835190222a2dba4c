"""Peer timing and accuracy for `ebm cf`: scikit-surprise on the MovieLens 100k folds.

Fits each algorithm on uN.base and predicts uN.test, the same protocol as
`ebm cf train --dataset ml-100k --fold uN` followed by `ebm cf eval`. Prints one line per
(algorithm, fold) with RMSE, MAE and the seconds of load + fit + predict (ebm's train and
eval commands read their files too), then the means.

    pip install scikit-surprise
    python3 benches/surprise_cf.py ../shared/data/ml-100k [SVD SVDpp ...] [--folds u1,u2]

ebm's side through the Python API (`ebm.cf.RBMRecommender`), checked equal to the CLI's:
`benches/python_api_vs_cli.py`.
"""
import sys
import time

from surprise import SVD, SVDpp, KNNBaseline, BaselineOnly, NMF, Dataset, Reader, accuracy
from surprise.model_selection import PredefinedKFold

ALGORITHMS = {"SVD": SVD, "SVDpp": SVDpp, "KNNBaseline": KNNBaseline,
              "BaselineOnly": BaselineOnly, "NMF": NMF}


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    folder = args[0].rstrip("/")
    folds = ["u1", "u2", "u3", "u4", "u5"]
    names = []
    rest = args[1:]
    while rest:
        a = rest.pop(0)
        if a == "--folds":
            folds = rest.pop(0).split(",")
        else:
            names.append(a)
    names = names or ["SVD", "SVDpp"]
    reader = Reader("ml-100k")
    for name in names:
        rmses, maes, seconds = [], [], []
        for fold in folds:
            data = Dataset.load_from_folds(
                [(f"{folder}/{fold}.base", f"{folder}/{fold}.test")], reader)
            start = time.perf_counter()
            ((trainset, testset),) = PredefinedKFold().split(data)
            algo = ALGORITHMS[name]()
            algo.fit(trainset)
            predictions = algo.test(testset)
            elapsed = time.perf_counter() - start
            rmse = accuracy.rmse(predictions, verbose=False)
            mae = accuracy.mae(predictions, verbose=False)
            rmses.append(rmse)
            maes.append(mae)
            seconds.append(elapsed)
            print(f"{name} {fold}: rmse {rmse:.4f} mae {mae:.4f} fit+predict {elapsed:.2f} s",
                  flush=True)
        n = len(folds)
        print(f"{name} mean: rmse {sum(rmses) / n:.4f} mae {sum(maes) / n:.4f} "
              f"fit+predict {sum(seconds) / n:.2f} s per fold", flush=True)


if __name__ == "__main__":
    main()
