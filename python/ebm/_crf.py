"""Chain and grid CRFs learned by ebm-learn, with scikit-learn's ``fit(X, Y)`` /
``predict(X)``: :class:`ChainCRF` (label sequences of symbol sequences) and
:class:`GridCRF` (binary labelings of images). Exported by :mod:`ebm.factor`.
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _ebm
from ._base import _RustCore, _choice, _cli_seed, _keep_params, _positive_int, _threads

_LEARNERS = ("perceptron", "averaged-perceptron", "ssvm", "bcfw", "ml", "pl", "cd")
_DECODERS = (None, "exact", "graphcut", "icm", "bp", "bnb", "anneal")


def _integer_array(name, values, ndim):
    """``values`` as an int64 array of ``ndim`` dimensions, every entry non-negative."""
    array = np.asarray(values)
    if array.ndim != ndim or (array.size and not np.issubdtype(array.dtype, np.integer) and array.dtype != bool):
        raise ValueError(f"{name} must be a {ndim}-D array of non-negative integers")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold non-negative integers")
    return array


class _CRF(_RustCore, BaseEstimator):
    """What the two CRFs share: the learner settings (``ebm factor learn``'s), their
    checks, the core's settings dict, and the fitted attributes."""

    _core_class = _ebm.CrfCore

    def _settings(self):
        """The core's settings of one training run, checked."""
        _choice("method", self.method, _LEARNERS)
        _choice("decoder", self.decoder, _DECODERS)
        # The library checks the ranges of the step size and lambda.
        return {
            "method": self.method,
            "n_iter": _positive_int("n_iter", self.n_iter),
            "learning_rate": None if self.learning_rate is None else float(self.learning_rate),
            "regularization": None if self.regularization is None else float(self.regularization),
            "batch_size": _positive_int("batch_size", self.batch_size),
            "decoder": self.decoder,
            "cd_steps": _positive_int("cd_steps", self.cd_steps),
            "seed": _cli_seed(self.random_state),
            "n_jobs": _threads(self.n_jobs),
        }

    def _publish(self):
        """Copy the learned weights to the fitted attributes."""
        self.coef_ = self._core.weights()
        self.templates_ = [(name, tuple(counts), dim) for name, counts, dim in self._core.templates()]

    def _ready(self):
        """The fitted core, its threads set from ``n_jobs``; the decoding seed."""
        check_is_fitted(self, "coef_")
        self._core.n_jobs = _threads(self.n_jobs)
        return _cli_seed(self.random_state)


class ChainCRF(_CRF):
    """A linear-chain CRF over symbol sequences (ebm-learn's HMM-task templates).

    The energy of labels ``y`` for symbols ``x`` is ``w_init[y_1] + sum_t w_emit[x_t, y_t]
    + sum_t w_trans[y_{t-1}, y_t]``; MAP decoding is exact (Viterbi by elimination) unless
    ``decoder`` says otherwise.

    Parameters
    ----------
    method : {"ml", "pl", "cd", "perceptron", "averaged-perceptron", "ssvm", "bcfw"}, default="ml"
        The learner: maximum likelihood (exact on chains), pseudo-likelihood, contrastive
        divergence, the (averaged) structured perceptron, the structured SVM by
        subgradient or by block-coordinate Frank-Wolfe.
    n_iter : int, default=10
        Passes over the training sequences (the CLI's ``--epochs``).
    learning_rate : float or None, default=None
        Step size (None: the chain task's default, 0.02; unused by bcfw).
    regularization : float or None, default=None
        L2 lambda (None: the task's default, 1e-4; bcfw needs it positive).
    batch_size : int, default=16
        Sequences per mini-batch.
    decoder : {None, "exact", "icm", "bp", "bnb", "anneal", "graphcut"}, default=None
        MAP method of training and prediction (None: exact).
    cd_steps : int, default=1
        Gibbs sweeps per contrastive-divergence sample.
    n_states : int or None, default=None
        Labels: Y then holds integers ``0 .. n_states - 1`` (None: the distinct values of Y,
        of any type).
    n_symbols : int or None, default=None
        Symbols (None: one more than the largest symbol of X in fit).
    random_state : int, RandomState or None, default=1
        The seed of the example order, sampling and decoding (an int is the CLI's --seed).
    n_jobs : int or None, default=None
        Threads (None: 1, -1: all cores); the weights do not depend on it.
    verbose : int, default=0
        Print one line per epoch (objective, mistakes).

    Attributes
    ----------
    classes_ : ndarray
        The labels (Y's values), in the order of the label indices.
    n_symbols_ : int
        Symbols of the model.
    coef_ : ndarray
        The learned weight vector (templates ``initial``, ``emission``, ``transition``).
    templates_ : list of (name, label_counts, feature_dim)
        The templates the weights belong to, in order.
    """

    def __init__(
        self, method="ml", *, n_iter=10, learning_rate=None, regularization=None, batch_size=16,
        decoder=None, cd_steps=1, n_states=None, n_symbols=None, random_state=1, n_jobs=None,
        verbose=0,
    ):
        _keep_params(self, locals())

    def _symbols(self, X):
        """The symbol sequences as lists (each non-empty, symbols below ``n_symbols``)."""
        sequences = [_integer_array("each sequence of X", x, 1) for x in X]
        if not sequences or any(len(x) == 0 for x in sequences):
            raise ValueError("X must be a non-empty list of non-empty symbol sequences")
        return sequences

    def fit(self, X, Y):
        """Learn the weights from symbol sequences ``X`` and their label sequences ``Y``
        (lists of 1-D arrays of equal lengths, pairwise).

        Returns
        -------
        self : ChainCRF
        """
        settings = self._settings()
        symbols = self._symbols(X)
        labels = [np.asarray(y).reshape(-1) for y in Y]
        if len(labels) != len(symbols) or any(len(y) != len(x) for x, y in zip(symbols, labels)):
            raise ValueError("X and Y must hold sequences of the same lengths, pairwise")
        if self.n_states is None:
            self.classes_, flat = np.unique(np.concatenate(labels), return_inverse=True)
        else:
            self.classes_ = np.arange(_positive_int("n_states", self.n_states))
            flat = _integer_array("Y", np.concatenate(labels), 1)
            if flat.max() >= len(self.classes_):
                raise ValueError(f"Y has label {flat.max()}, outside 0..{len(self.classes_) - 1} (n_states)")
        n_states = len(self.classes_)
        top = max(int(x.max()) for x in symbols) + 1
        self.n_symbols_ = top if self.n_symbols is None else _positive_int("n_symbols", self.n_symbols)
        if top > self.n_symbols_:
            raise ValueError(f"X has symbol {top - 1}, outside 0..{self.n_symbols_ - 1} (n_symbols)")
        states = np.split(flat.astype(np.int64), np.cumsum([len(y) for y in labels])[:-1])
        self._core = _ebm.CrfCore.fit_chain(
            [s.tolist() for s in states], [x.tolist() for x in symbols], n_states,
            self.n_symbols_, settings, self._callback,
        )
        self._publish()
        return self

    def predict(self, X):
        """The MAP label sequence of every symbol sequence of ``X`` (a list of arrays)."""
        seed = self._ready()
        sequences = [x.tolist() for x in self._symbols(X)]
        decoded = self._core.predict_chain(sequences, self.decoder, seed)
        return [self.classes_[np.asarray(y, dtype=np.int64)] for y in decoded]

    def score(self, X, Y):
        """The fraction of labels of ``Y`` that the MAP decodes of ``X`` get right."""
        predicted = self.predict(X)
        Y = [np.asarray(y).reshape(-1) for y in Y]
        if len(Y) != len(predicted) or any(len(y) != len(p) for y, p in zip(Y, predicted)):
            raise ValueError("X and Y must hold sequences of the same lengths, pairwise")
        return float(np.mean(np.concatenate(predicted) == np.concatenate(Y)))


class GridCRF(_CRF):
    """A binary grid CRF over images (ebm-learn's denoising templates).

    Every pixel is a 0/1 label with a unary energy linear in ``(1, x)`` (``x`` the pixel's
    input value: a noisy bit, an intensity) and, with ``pairwise=True``, one 2x2 table for
    horizontal and one for vertical neighbours. MAP decoding is by graph cut unless
    ``decoder`` says otherwise.

    Parameters
    ----------
    method : {"bcfw", "ssvm", "perceptron", "averaged-perceptron", "pl", "cd"}, default="bcfw"
        The learner (maximum likelihood, "ml", needs an acyclic structure: not a grid).
    pairwise : bool, default=True
        With the neighbour tables (False: each pixel on its own).
    n_iter : int, default=10
        Passes over the training images.
    learning_rate, regularization : float or None, default=None
        Step size and L2 lambda (None: the denoising task's defaults, 0.001 and 0.1).
    batch_size : int, default=16
        Images per mini-batch.
    decoder : {None, "graphcut", "exact", "icm", "bp", "bnb", "anneal"}, default=None
        MAP method of training and prediction (None: graph cut).
    cd_steps : int, default=1
        Gibbs sweeps per contrastive-divergence sample.
    random_state : int, RandomState or None, default=1
        The seed (an int is the CLI's --seed).
    n_jobs : int or None, default=None
        Threads (None: 1, -1: all cores); the weights do not depend on it.
    verbose : int, default=0
        Print one line per epoch.

    Attributes
    ----------
    image_shape_ : (int, int)
        Height and width of the images of fit.
    coef_ : ndarray
        The learned weight vector (templates ``unary``, ``horizontal``, ``vertical``).
    templates_ : list of (name, label_counts, feature_dim)
        The templates the weights belong to, in order.
    """

    def __init__(
        self, method="bcfw", *, pairwise=True, n_iter=10, learning_rate=None, regularization=None,
        batch_size=16, decoder=None, cd_steps=1, random_state=1, n_jobs=None, verbose=0,
    ):
        _keep_params(self, locals())

    @staticmethod
    def _images(X):
        """``X`` as a C-contiguous float64 array of shape (n, height, width)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 3 or 0 in X.shape:
            raise ValueError(f"X must be an array of shape (n_images, height, width), got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X must hold finite values")
        return X

    @staticmethod
    def _labels(Y, X):
        """``Y`` as int64 0/1 labels of ``X``'s shape."""
        Y = np.ascontiguousarray(_integer_array("Y", Y, 3))
        if Y.shape != X.shape or (Y.size and Y.max() > 1):
            raise ValueError(f"Y must hold 0/1 labels of X's shape {X.shape}")
        return Y

    def fit(self, X, Y):
        """Learn the weights from images ``X`` (n, height, width) and their 0/1 labels ``Y``
        of the same shape.

        Returns
        -------
        self : GridCRF
        """
        settings = self._settings()
        X = self._images(X)
        Y = self._labels(Y, X)
        self._core = _ebm.CrfCore.fit_grid((X, Y), bool(self.pairwise), settings, self._callback)
        self.image_shape_ = X.shape[1:]
        self._publish()
        return self

    def predict(self, X):
        """The MAP labeling of every image of ``X``: an int64 array of X's shape."""
        seed = self._ready()
        return self._core.predict_grid(self._images(X), self.decoder, seed)

    def score(self, X, Y):
        """The fraction of pixels of ``Y`` that the MAP labelings of ``X`` get right."""
        X = self._images(X)
        return float(np.mean(self.predict(X) == self._labels(Y, X)))
