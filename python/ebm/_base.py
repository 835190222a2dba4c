"""Shared machinery of the estimators: argument checks, the Rust-core wrapper base classes
(pickling, fitted-state checks, progress) and the SGD settings.
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

_INT32_MAX = np.iinfo(np.int32).max


def _seed(rng):
    """A 31-bit seed drawn from a numpy RandomState (so ``random_state`` decides it)."""
    return int(rng.randint(_INT32_MAX))


def _cli_seed(random_state):
    """The seed of ``random_state`` as the CLI's ``--seed``: a non-negative int is the seed
    itself (so a run matches the CLI's with that seed), None or a RandomState draws one."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
        return int(random_state)
    return _seed(check_random_state(random_state))


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


class _RustCore:
    """What every class with a Rust core (``_core``, an instance of ``_core_class``)
    shares: pickling through the core's model-file bytes, and the progress lines of
    ``verbose``."""

    _core_class = None

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


class _RustEstimator(_RustCore):
    """What every RBM estimator shares: its parameter and input checks, besides the
    pickling and progress of :class:`_RustCore`."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

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
