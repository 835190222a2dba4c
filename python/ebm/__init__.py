"""ebm: energy-based models on a Rust core, as scikit-learn estimators.

- :class:`BernoulliRBM`: a drop-in for ``sklearn.neural_network.BernoulliRBM``
  (same parameters, attributes and methods; PCD-1 by default), plus CD-k / PCD-k,
  threads, exact and AIS log partition functions and log-likelihoods.
- :class:`GaussianRBM`: a Gaussian-Bernoulli RBM for real-valued data (a transformer).
- :class:`ClassRBM`: the classification RBM of Larochelle & Bengio (a classifier).
- :mod:`ebm.factor`: factor graphs (``.uai`` files or numpy tables: ``ln Z``, marginals,
  pgmpy-style ``query`` / ``map_query``, samples) and chain / grid CRFs (``fit(X, Y)``).
- :mod:`ebm.cf`: the collaborative-filtering RBM recommender and MovieLens readers.

Training and inference run in Rust with the GIL released. Ctrl-C during ``fit`` stops
after the current epoch with ``KeyboardInterrupt`` and leaves the estimator at the end of
the last finished epoch. Estimators pickle through the ebm model-file format.
"""

import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _ebm, cf, factor
from ._base import (
    _INT32_MAX,
    _RBMTransformer,
    _RustEstimator,
    _SGDSettings,
    _choice,
    _first_line,
    _keep_params,
    _positive_float,
    _positive_int,
    _seed,
    _threads,
    _unit_float,
)

__version__ = _ebm.__version__
__all__ = ["BernoulliRBM", "GaussianRBM", "ClassRBM", "cf", "factor", "__version__"]


class BernoulliRBM(_RBMTransformer):
    """Bernoulli restricted Boltzmann machine, trained by persistent contrastive divergence.

    A drop-in for :class:`sklearn.neural_network.BernoulliRBM` with the same parameters,
    defaults, attributes and methods, run by ebm's Rust trainer.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    learning_rate : float, default=0.1
        Learning rate of the updates. As in scikit-learn, the gradient is averaged over
        the minibatch (the rate is per sample, divided by the batch size); plain SGD,
        no momentum, no weight decay.
    batch_size : int, default=10
        Examples per minibatch; also the number of persistent chains (as in scikit-learn).
    n_iter : int, default=10
        Passes over the training set.
    verbose : int, default=0
        Print one line per epoch (its reconstruction error on the first 1,000 rows).
    random_state : int, RandomState instance or None, default=None
        Decides the seed of every random choice (initial weights, chains, shuffles,
        sampling). Results for a given seed are identical for any ``n_jobs``.
    method : {"pcd", "cd"}, default="pcd"
        Persistent CD (scikit-learn's algorithm) or CD started at the data.
    k : int, default=1
        Gibbs steps per update.
    n_jobs : int or None, default=None
        Threads for training and inference (None: 1, -1: all cores).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases.
    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden samples of the persistent chains (no rows for ``method="cd"``).
    n_features_in_ : int
        Number of features seen in fit.

    Notes
    -----
    Differences from scikit-learn's implementation, all in the trainer:

    - initialization follows Hinton's guide: visible biases start at the log-odds of the
      training features' means (scikit-learn: 0) and the chains at those rates;
    - the training set is shuffled every epoch (scikit-learn visits it in order);
    - the persistent chains keep their visible states, and each update samples their
      hidden units from the current model (scikit-learn keeps hidden samples drawn from
      the model before the previous update);
    - computation is in float32; outputs are returned in the input's float dtype;
    - ``score_samples`` is the exact pseudo-log-likelihood (every unit flipped, so it is
      deterministic), not scikit-learn's one-random-unit estimate.
    """

    _core_class = _ebm.BinaryRbmCore
    _methods = ("pcd", "cd")

    def __init__(
        self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0,
        random_state=None, method="pcd", k=1, n_jobs=None,
    ):
        _keep_params(self, locals())

    def _initialize(self, X, rng, threads):
        chains = int(self.batch_size) if self.method == "pcd" else 0
        self._core = _ebm.BinaryRbmCore.initialize(
            X,
            int(self.n_components),
            chains,
            int(self.k),
            float(self.learning_rate),
            int(self.batch_size),
            _seed(rng),
            threads,
        )
        n = X.shape[0]
        p = np.clip((X.mean(axis=0, dtype=np.float64) * n + 1.0) / (n + 2.0), 1e-6, 1.0 - 1e-6)
        self._base_rate_bias = np.log(p / (1.0 - p)).astype(np.float32)

    def _train(self, X, epochs, batch_size, dtype):
        try:
            self._core.train(X, epochs, batch_size, self._callback)
        finally:
            self._publish(dtype)
        return self

    def _publish(self, dtype):
        super()._publish(dtype)
        core = self._core
        self.h_samples_ = core.hidden_samples(core.epochs_done).astype(dtype, copy=False)

    def _ais_base(self):
        return (self._base_rate_bias,)

    def fit(self, X, y=None):
        """Fit the model to the data X (n_samples, n_features), values in [0, 1].

        Returns
        -------
        self : BernoulliRBM
        """
        threads = self._check_params()
        X, dtype, _ = self._validate(X, reset=True)
        rng = check_random_state(self.random_state)
        self._initialize(X, rng, threads)
        return self._train(X, int(self.n_iter), int(self.batch_size), dtype)

    def partial_fit(self, X, y=None):
        """One update on X as a single minibatch (initializing the model on first call).

        Returns
        -------
        self : BernoulliRBM
        """
        first = not hasattr(self, "_core")
        threads = self._check_params()
        X, dtype, _ = self._validate(X, reset=first)
        if first:
            self.random_state_ = check_random_state(self.random_state)
            self._initialize(X, self.random_state_, threads)
        else:
            self._core.n_jobs = threads
        return self._train(X, 1, X.shape[0], dtype)

    def score_samples(self, X):
        """Pseudo-log-likelihood ``sum_i ln p(v_i | v_-i)`` of each sample, in nats.

        Exact and deterministic: every unit is flipped (scikit-learn flips one random
        unit and multiplies by the number of units, an unbiased but noisy estimate).
        """
        X, _ = self._ready(X)
        return self._core.pseudo_log_likelihoods(X)

    def gibbs(self, v):
        """One Gibbs sampling step ``v -> h -> v'``; returns the visible samples (bool)."""
        X, _ = self._ready(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        return self._core.gibbs(X, _seed(self.random_state_)) > 0.5

    def model_bytes(self):
        """The model as the bytes of an ebm ``binary-rbm`` model file (as ``ebm rbm train
        --out`` writes; readable by ``ebm rbm eval``)."""
        check_is_fitted(self, "components_")
        return bytes(self._core.model_bytes())


class GaussianRBM(_SGDSettings, _RBMTransformer):
    """Gaussian-Bernoulli RBM for real-valued data, with learned per-feature variances.

    Inputs are standardized with the training data's mean and spread inside the model.
    ``transform`` gives the hidden probabilities ``p(h = 1 | v)``.

    Parameters
    ----------
    n_components : int, default=256
        Hidden units.
    learning_rate : float, default=0.01
        Learning rate (the gradient is averaged over the minibatch).
    batch_size : int, default=10
        Examples per minibatch (and persistent chains for ``method="pcd"``).
    n_iter : int, default=10
        Passes over the data.
    verbose : int, default=0
        Print one line per epoch.
    random_state : int, RandomState instance or None, default=None
        Decides every random choice.
    method : {"cd", "pcd", "dsm"}, default="cd"
        CD-k, PCD-k, or denoising score matching (unit variances, no sampling).
    k : int, default=1
        Gibbs steps for CD / PCD.
    learn_variance : bool, default=True
        Learn the visible variances (CD / PCD only).
    noise : float, default=0.5
        Corruption of denoising score matching, in standardized units.
    momentum : float, default=0.5
        SGD momentum.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    n_jobs : int or None, default=None
        Threads (None: 1, -1: all cores).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights, standardized units.
    intercept_hidden_, intercept_visible_ : ndarray
        Biases (visible ones in standardized units).
    sigma_ : ndarray of shape (n_features,)
        Learned standard deviations of the visible units (standardized units).
    mean_, scale_ : ndarray of shape (n_features,)
        The standardization of the training data.
    n_features_in_ : int
        Number of features seen in fit.
    """

    _core_class = _ebm.GaussianRbmCore
    _methods = ("cd", "pcd", "dsm")

    def __init__(
        self, n_components=256, *, learning_rate=0.01, batch_size=10, n_iter=10, verbose=0,
        random_state=None, method="cd", k=1, learn_variance=True, noise=0.5, momentum=0.5,
        weight_decay=0.0, n_jobs=None,
    ):
        _keep_params(self, locals())

    def fit(self, X, y=None):
        """Fit the model to X (n_samples, n_features).

        Returns
        -------
        self : GaussianRBM
        """
        threads = self._check_params()
        _positive_float("noise", self.noise)
        self._check_sgd()
        X, dtype, _ = self._validate(X, reset=True)
        self._core = _ebm.GaussianRbmCore.fit(
            X,
            int(self.n_components),
            self.method,
            int(self.k),
            bool(self.learn_variance),
            float(self.noise),
            self._sgd(threads),
            self._callback,
        )
        self._publish(dtype)
        return self

    def _publish(self, dtype):
        super()._publish(dtype)
        core = self._core
        self.sigma_ = core.visible_std().astype(dtype, copy=False)
        mean, scale = core.standardization()
        self.mean_ = mean.astype(dtype, copy=False)
        self.scale_ = scale.astype(dtype, copy=False)

    def _log_scale(self):
        return float(np.sum(np.log(self.scale_.astype(np.float64))))

    def score_samples(self, X):
        """Unnormalized log-density ``-F(v)`` of each sample (standardized units; add
        ``-log_partition()`` and ``-sum(log(scale_))`` for ``ln p(v)`` in raw units)."""
        X, _ = self._ready(X)
        return self._core.log_unnormalized(X)


class ClassRBM(_SGDSettings, _RustEstimator, ClassifierMixin, BaseEstimator):
    """Classification RBM (Larochelle & Bengio 2008): one RBM over the input and its
    one-hot label, with the exact ``p(y | x)``.

    Parameters
    ----------
    n_components : int, default=256
        Hidden units.
    objective : {"hybrid", "discriminative", "generative"}, default="hybrid"
        ``ln p(y|x) + generative_weight * ln p(x, y)``, ``ln p(y|x)`` alone (exact
        gradient) or ``ln p(x, y)`` alone (CD-1).
    generative_weight : float, default=0.01
        Weight of the generative term of the hybrid objective.
    learning_rate : float, default=0.5
        Initial learning rate; it decays linearly to 0 over the epochs.
    batch_size : int, default=20
        Examples per minibatch.
    n_iter : int, default=30
        Passes over the data.
    momentum : float, default=0.0
        SGD momentum.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    verbose : int, default=0
        Print one line per epoch (training error).
    random_state : int, RandomState instance or None, default=None
        Decides every random choice.
    n_jobs : int or None, default=None
        Threads (None: 1, -1: all cores).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    components_ : ndarray of shape (n_components, n_features)
        Input weights.
    class_components_ : ndarray of shape (n_classes, n_components)
        Label weights.
    n_features_in_ : int
        Number of features seen in fit.
    """

    _core_class = _ebm.ClassRbmCore

    def __init__(
        self, n_components=256, *, objective="hybrid", generative_weight=0.01, learning_rate=0.5,
        batch_size=20, n_iter=30, momentum=0.0, weight_decay=0.0, verbose=0, random_state=None,
        n_jobs=None,
    ):
        _keep_params(self, locals())

    def fit(self, X, y):
        """Fit the model to inputs X and labels y.

        Returns
        -------
        self : ClassRBM
        """
        threads = self._check_params()
        _choice("objective", self.objective, ("hybrid", "discriminative", "generative"))
        _unit_float("generative_weight", self.generative_weight, upper_open=False)
        self._check_sgd()
        X, _, y = self._validate(X, reset=True, y=y)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"ClassRBM needs samples of at least 2 classes; the data has 1 class ({self.classes_[0]!r})"
            )
        if len(self.classes_) > 256:
            raise ValueError(f"ClassRBM supports at most 256 classes; the data has {len(self.classes_)}")
        self._core = _ebm.ClassRbmCore.fit(
            X,
            np.ascontiguousarray(indices.ravel(), dtype=np.uint8),
            len(self.classes_),
            int(self.n_components),
            self.objective,
            float(self.generative_weight),
            True,
            self._sgd(threads),
            self._callback,
        )
        self.components_ = self._core.components()
        self.class_components_ = self._core.class_components()
        return self

    def predict_log_proba(self, X):
        """``ln p(y | x)`` of every class, shape (n_samples, n_classes)."""
        X, _ = self._ready(X)
        return self._core.predict_log_proba(X).astype(np.float64)

    def predict_proba(self, X):
        """``p(y | x)`` of every class, shape (n_samples, n_classes)."""
        log_p = self.predict_log_proba(X)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each sample."""
        log_p = self.predict_log_proba(X)
        return self.classes_[np.argmax(log_p, axis=1)]
