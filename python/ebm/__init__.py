"""ebm: energy-based models on a Rust core, as scikit-learn estimators.

- :class:`BernoulliRBM`: a drop-in for ``sklearn.neural_network.BernoulliRBM``
  (same parameters, attributes and methods; PCD-1 by default), plus CD-k / PCD-k,
  threads, exact and AIS log partition functions and log-likelihoods.
- :class:`GaussianRBM`: a Gaussian-Bernoulli RBM for real-valued data (a transformer).
- :class:`ClassRBM`: the classification RBM of Larochelle & Bengio (a classifier).

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

from . import _ebm

__version__ = _ebm.__version__
__all__ = ["BernoulliRBM", "GaussianRBM", "ClassRBM", "__version__"]

_INT32_MAX = np.iinfo(np.int32).max


def _seed(rng):
    """A 31-bit seed drawn from a numpy RandomState (so ``random_state`` decides it)."""
    return int(rng.randint(_INT32_MAX))


def _threads(n_jobs):
    """scikit-learn's n_jobs convention: None -> 1, -1 -> all cores, -2 -> all but one."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return int(n_jobs)


def _first_line(error):
    """An exception's message on one line (scikit-learn's validation spreads advice over
    several)."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _unit_float(name, value, upper_open=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    if not (0 <= value < 1 if upper_open else 0 <= value):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def _keep_params(estimator, params):
    """Store every argument of an ``__init__`` (its ``locals()``) unchanged as the attribute
    of its name, all that scikit-learn lets a constructor do."""
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


class _RustEstimator:
    """What every estimator shares: its parameter and input checks, the progress lines of
    ``verbose`` and the pickling of its Rust core (``_core``, an instance of
    ``_core_class``) through the core's model-file bytes."""

    _core_class = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        core = state.pop("_core", None)
        if core is not None:
            state["_core_bytes"] = bytes(core.to_bytes())
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_core_bytes", None)
        super().__setstate__(state)
        if data is not None:
            self._core = self._core_class.from_bytes(data)

    def _check_params(self):
        """Check the parameters every estimator has; the threads ``n_jobs`` asks for."""
        _positive_int("n_components", self.n_components)
        _positive_float("learning_rate", self.learning_rate)
        _positive_int("batch_size", self.batch_size)
        _positive_int("n_iter", self.n_iter)
        return _threads(self.n_jobs)

    def _validate(self, X, reset, y=None):
        """X as C-contiguous float32 for the core, the dtype outputs are given in, and y
        (validated with X when given)."""
        try:
            checked = validate_data(
                self,
                *((X,) if y is None else (X, y)),
                accept_sparse="csr",
                dtype=(np.float64, np.float32),
                reset=reset,
            )
        except ValueError as error:
            raise ValueError(_first_line(error)) from None
        X, y = (checked, None) if y is None else checked
        dtype = X.dtype
        if sp.issparse(X):
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=np.float32), dtype, y

    def _ready(self, X):
        """A fitted estimator's input X for the core (and its dtype), the core's threads
        set from ``n_jobs``."""
        check_is_fitted(self, "components_")
        X, dtype, _ = self._validate(X, reset=False)
        self._core.n_jobs = _threads(self.n_jobs)
        return X, dtype

    @property
    def _callback(self):
        """The core's per-epoch callback: progress lines if ``verbose``."""
        return self._progress if self.verbose else None

    def _progress(self, epoch, epochs, seconds, metrics):
        shown = ", ".join(f"{name} = {value:.4f}" for name, value in metrics.items())
        print(
            f"[{type(self).__name__}] Iteration {epoch}/{epochs}, {shown}, time = {seconds:.2f}s",
            file=sys.stdout,
        )
        sys.stdout.flush()


class _SGDSettings:
    """The SGD settings of the estimators with momentum and weight decay: their checks,
    and the dict the core's ``fit`` takes them as."""

    def _check_sgd(self):
        _unit_float("momentum", self.momentum)
        _unit_float("weight_decay", self.weight_decay, upper_open=False)

    def _sgd(self, threads):
        """The settings of one training run on ``threads`` threads, its seed drawn from
        ``random_state``."""
        return {
            "learning_rate": float(self.learning_rate),
            "momentum": float(self.momentum),
            "weight_decay": float(self.weight_decay),
            "n_iter": int(self.n_iter),
            "batch_size": int(self.batch_size),
            "seed": _seed(check_random_state(self.random_state)),
            "n_jobs": threads,
        }


class _RBMTransformer(_RustEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An RBM as a transformer (hidden probabilities out): the training ``method``s it
    offers (``_methods``), Gibbs steps ``k``, its published weights and biases, ``ln Z`` and
    log-likelihoods."""

    _methods = ()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_params(self):
        threads = super()._check_params()
        _positive_int("k", self.k)
        _choice("method", self.method, self._methods)
        return threads

    def _publish(self, dtype):
        """Copy the core's parameters to the fitted attributes, in the input's dtype."""
        core = self._core
        self.components_ = core.components().astype(dtype, copy=False)
        self.intercept_hidden_ = core.intercept_hidden().astype(dtype, copy=False)
        self.intercept_visible_ = core.intercept_visible().astype(dtype, copy=False)
        self._n_features_out = self.components_.shape[0]

    def _ais_base(self):
        """The core's AIS arguments after runs, betas and seed (its base model)."""
        return ()

    def _log_scale(self):
        """``ln`` of the Jacobian of the model's input units against raw units."""
        return 0.0

    def transform(self, X):
        """Hidden activation probabilities ``p(h = 1 | v)``, shape (n_samples, n_components)."""
        X, dtype = self._ready(X)
        return self._core.transform(X).astype(dtype, copy=False)

    def log_partition(self, method="exact", *, n_runs=100, n_betas=10000, random_state=0):
        """``ln Z`` of the model.

        method="exact" enumerates the smaller layer (BernoulliRBM: at most 25 units;
        GaussianRBM: at most 24 hidden units); method="ais" estimates it by annealed
        importance sampling (``n_runs`` runs over ``n_betas`` inverse temperatures; for
        BernoulliRBM from the base-rate model of the training data) and returns
        ``(log_z, log_z_std)``. GaussianRBM's is in standardized units.
        """
        check_is_fitted(self, "components_")
        self._core.n_jobs = _threads(self.n_jobs)
        if method == "exact":
            return self._core.exact_log_partition()
        if method == "ais":
            seed = _seed(check_random_state(random_state))
            return self._core.ais_log_partition(
                _positive_int("n_runs", n_runs), _positive_int("n_betas", n_betas), seed, *self._ais_base()
            )
        raise ValueError(f"method must be 'exact' or 'ais', got {method!r}")

    def log_likelihood(self, X, log_z=None, method="exact"):
        """Mean ``ln p(v)`` of the rows of X in nats per sample, raw units (``ln Z`` from
        :meth:`log_partition` with ``method`` unless given)."""
        X, _ = self._ready(X)
        if log_z is None:
            log_z = self.log_partition(method)
            if isinstance(log_z, tuple):
                log_z = log_z[0]
        return float(np.mean(self._core.log_unnormalized(X)) - log_z - self._log_scale())


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
