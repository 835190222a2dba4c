"""Collaborative filtering with RBMs (Salakhutdinov, Mnih & Hinton 2007) on ebm's Rust
core, the models of ``ebm cf``.

- :class:`RBMRecommender`: fits on ``(user, item, rating)`` arrays or a pandas DataFrame,
  predicts ratings of ``(user, item)`` pairs, recommends the best unrated items, and
  reports what ``ebm cf eval`` does (RMSE, MAE, precision / recall / NDCG at k).
- :func:`read_movielens` reads a rating file (MovieLens 100k ``u.data`` / ``uN.base`` /
  ``uN.test``, 1M ``ratings.dat``, ``ratings.csv``; the format is sniffed) and
  :func:`movielens_fold` a predefined fold of the MovieLens 100k folder.

The same settings and ``random_state`` give the same model as ``ebm cf train`` with the
same flags and ``--seed`` (and the same numbers for any ``n_jobs``).
"""

import os

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _ebm
from ._base import _RustCore, _choice, _cli_seed, _keep_params, _positive_float, _positive_int, _threads

__all__ = ["RBMRecommender", "read_movielens", "movielens_fold"]

_COLUMNS = ("user", "item", "rating")


def _frame(columns, names, as_frame):
    """Rating columns as a tuple of arrays, or as a pandas DataFrame."""
    if not as_frame:
        return columns
    import pandas as pd

    return pd.DataFrame(dict(zip(names, columns)))


def read_movielens(path, *, as_frame=False, columns=_COLUMNS):
    """Every rating of a rating file, as ``ebm cf`` reads it: ``(users, items, ratings)``
    arrays (uint64, uint64, float32), or a DataFrame with ``columns`` if ``as_frame``.

    A malformed row raises ``ValueError`` naming the file, the line and its content.
    """
    return _frame(_ebm.read_ratings(os.fspath(path)), columns, as_frame)


def movielens_fold(folder, fold="u1", *, as_frame=False, columns=_COLUMNS):
    """The training and held-out ratings of a predefined fold (``u1`` .. ``u5``, ``ua``,
    ``ub``) of the MovieLens 100k folder: ``(train, test)``, each as :func:`read_movielens`
    gives it."""
    base, test = _ebm.movielens_fold_paths(os.fspath(folder), fold)
    return read_movielens(base, as_frame=as_frame, columns=columns), read_movielens(
        test, as_frame=as_frame, columns=columns
    )


def _ids(name, values):
    """A column of user or item ids as uint64."""
    values = np.asarray(values).reshape(-1)
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if not (np.issubdtype(values.dtype, np.floating) and np.all(np.mod(values, 1) == 0)):
            raise ValueError(f"{name} ids must be integers")
    if values.size and values.min() < 0:
        raise ValueError(f"{name} ids must be non-negative")
    return np.ascontiguousarray(values, dtype=np.uint64)


class RBMRecommender(_RustCore, BaseEstimator):
    """A collaborative-filtering RBM: softmax visible units over the rated items of each
    user (or, item-based, the raters of each item), weights shared by all, trained by CD-T.

    Parameters
    ----------
    n_components : int, default=100
        Hidden units (``ebm cf train --hidden``).
    variant : {"item", "user"}, default="item"
        One RBM per item over its users (I-RBM), or one per user over their items.
    conditional : bool, default=False
        The conditional RBM: hidden units also see which entries were rated or will be
        asked for (the ``asked`` pairs of :meth:`fit`, never their ratings).
    n_iter : int, default=50
        Epochs (``--epochs``).
    batch_size : int, default=20
        Cases per minibatch (``--batch``).
    learning_rate : float, default=0.02
        Learning rate (``--lr``), averaged over the batch.
    lr_schedule : {"linear", "constant"}, default="linear"
        Decay linearly to 0 at the last epoch, or keep the rate.
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=0.003
        L2 weight decay.
    cd_steps : sequence of int, default=(1, 3, 5)
        Gibbs steps of CD, stage by stage (``--cd-steps 1,3,5``).
    cd_stage_epochs : int or None, default=None
        Epochs per stage (None: the epochs split evenly over the stages).
    columns : (str, str, str), default=("user", "item", "rating")
        The DataFrame columns of users, items and ratings.
    random_state : int, RandomState or None, default=1
        The seed; an int is ``--seed`` itself, so the model equals the CLI's.
    n_jobs : int or None, default=None
        Threads (None: 1, -1: all cores); results do not depend on it.
    verbose : int, default=0
        Print one line per epoch (reconstruction RMSE, CD steps).

    Attributes
    ----------
    users_, items_ : ndarray of uint64
        The user and item ids of the training ratings, ascending.
    levels_ : ndarray of float32
        The rating values (levels of the softmax units), ascending.
    n_ratings_ : int
        Training ratings.
    n_iter_ : int
        Epochs run by the last fit.
    """

    _core_class = _ebm.CfCore

    def __init__(
        self, n_components=100, *, variant="item", conditional=False, n_iter=50, batch_size=20,
        learning_rate=0.02, lr_schedule="linear", momentum=0.9, weight_decay=0.003,
        cd_steps=(1, 3, 5), cd_stage_epochs=None, columns=_COLUMNS, random_state=1, n_jobs=None,
        verbose=0,
    ):
        _keep_params(self, locals())

    def _settings(self):
        """The core's settings of one training run (the library checks the ranges)."""
        steps = [_positive_int("cd_steps", s) for s in np.atleast_1d(self.cd_steps).tolist()]
        stage = self.cd_stage_epochs
        return {
            "variant": _choice("variant", self.variant, ("item", "user")),
            "conditional": bool(self.conditional),
            "n_components": _positive_int("n_components", self.n_components),
            "n_iter": _positive_int("n_iter", self.n_iter),
            "batch_size": _positive_int("batch_size", self.batch_size),
            "learning_rate": _positive_float("learning_rate", self.learning_rate),
            "lr_schedule": _choice("lr_schedule", self.lr_schedule, ("linear", "constant")),
            "momentum": float(self.momentum),
            "weight_decay": float(self.weight_decay),
            "cd_steps": steps,
            "cd_stage_epochs": None if stage is None else _positive_int("cd_stage_epochs", stage),
            "seed": _cli_seed(self.random_state),
            "n_jobs": _threads(self.n_jobs),
        }

    def _pairs(self, X):
        """``(users, items)`` of a DataFrame, a pair of arrays or an array of >= 2 columns."""
        user, item, _ = self.columns
        if hasattr(X, "columns"):
            return _ids("user", X[user].to_numpy()), _ids("item", X[item].to_numpy())
        if isinstance(X, (tuple, list)) and len(X) in (2, 3):
            return _ids("user", X[0]), _ids("item", X[1])
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] < 2:
            raise ValueError(f"X must be a DataFrame, (users, items) or an (n, 2) array; got shape {X.shape}")
        return _ids("user", X[:, 0]), _ids("item", X[:, 1])

    def _triples(self, X, y):
        """``(users, items, ratings)``: ``X`` a DataFrame with the three columns, a triple of
        arrays or an (n, 3) array, or ``X`` the pairs and ``y`` the ratings."""
        users, items = self._pairs(X)
        if y is None:
            if hasattr(X, "columns"):
                y = X[self.columns[2]].to_numpy()
            elif isinstance(X, (tuple, list)) and len(X) == 3:
                y = X[2]
            elif np.ndim(X) == 2 and np.shape(X)[1] >= 3:
                y = np.asarray(X)[:, 2]
            else:
                raise ValueError("no ratings: give y, a third column or a DataFrame with a rating column")
        y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1), dtype=np.float32)
        if not np.isfinite(y).all():
            raise ValueError("ratings must be finite numbers")
        return users, items, y

    def fit(self, X, y=None, *, asked=None):
        """Train on ratings: ``X`` a DataFrame with the ``columns``, a ``(users, items,
        ratings)`` triple of arrays or an (n, 3) array; or ``X`` the ``(user, item)`` pairs
        and ``y`` their ratings. ``asked`` are the pairs that will be predicted (inputs of
        the conditional variant; their ratings are not used).

        Ctrl-C stops after the current epoch with ``KeyboardInterrupt`` and leaves the model
        at the end of the last finished epoch.

        Returns
        -------
        self : RBMRecommender
        """
        settings = self._settings()
        users, items, ratings = self._triples(X, y)
        empty = np.zeros(0, dtype=np.uint64)
        asked = (empty, empty) if asked is None else self._pairs(asked)
        self._core = _ebm.CfCore.initialize(users, items, ratings, asked, settings)
        try:
            self.n_iter_ = self._core.train(settings, self._callback)
        finally:
            self._publish()
        return self

    def _publish(self):
        core = self._core
        self.users_, self.items_, self.levels_ = core.users(), core.items(), core.levels()
        self.n_ratings_ = core.n_ratings

    def _ready(self):
        check_is_fitted(self, "levels_")
        self._core.n_jobs = _threads(self.n_jobs)
        return self._core

    def predict(self, X):
        """The expected rating of every ``(user, item)`` pair of ``X`` (a DataFrame, a pair of
        arrays or an (n, 2) array), under its exact conditional distribution; an unknown
        user or item gets the library's fallback (hidden biases alone, or the mean)."""
        users, items = self._pairs(X)
        return self._ready().predict(users, items).astype(np.float64)

    def recommend(self, user, n=10):
        """The ``n`` items ``user`` did not rate in training with the highest expected
        rating: ``(items, expected_ratings)``, best first."""
        return self._ready().recommend(int(user), _positive_int("n", n))

    def evaluate(self, X, y=None, *, k=10, relevant_from=4.0):
        """What ``ebm cf eval`` reports of held-out ratings ``X`` (as for :meth:`fit`): a dict
        with ``rmse``, ``mae``, ``precision_at_k``, ``recall_at_k`` and ``ndcg_at_k`` (top-k
        lists among each user's unrated items; relevant: held-out ratings of at least
        ``relevant_from``), ``ranked_users``, ``n_test``, ``unknown_users``, ``unknown_items``."""
        users, items, ratings = self._triples(X, y)
        k = _positive_int("k", k)
        found = self._ready().evaluate(users, items, ratings, k, float(relevant_from))
        named = {"precision": f"precision_at_{k}", "recall": f"recall_at_{k}", "ndcg": f"ndcg_at_{k}"}
        counts = ("ranked_users", "n_test", "unknown_users", "unknown_items")
        return {named.get(name, name): int(value) if name in counts else value for name, value in found}

    def score(self, X, y=None):
        """Minus the RMSE of the predictions of held-out ratings (higher is better)."""
        return -self.evaluate(X, y, k=1)["rmse"]
