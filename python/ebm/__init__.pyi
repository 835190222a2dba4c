"""Type stubs of the ``ebm`` package's estimators."""

from typing import Literal, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from . import cf as cf
from . import factor as factor

__version__: str

_Array = npt.ArrayLike
_RandomState = Union[int, np.random.RandomState, None]

class _RBMTransformer(TransformerMixin, BaseEstimator):
    components_: np.ndarray
    intercept_hidden_: np.ndarray
    intercept_visible_: np.ndarray
    n_features_in_: int
    def transform(self, X: _Array) -> np.ndarray: ...
    def fit_transform(self, X: _Array, y: object = None, **fit_params: object) -> np.ndarray: ...
    def score_samples(self, X: _Array) -> npt.NDArray[np.float64]: ...
    @overload
    def log_partition(self, method: Literal["exact"] = "exact", *, n_runs: int = 100, n_betas: int = 10000, random_state: _RandomState = 0) -> float: ...
    @overload
    def log_partition(self, method: Literal["ais"], *, n_runs: int = 100, n_betas: int = 10000, random_state: _RandomState = 0) -> Tuple[float, float]: ...
    def log_likelihood(self, X: _Array, log_z: Optional[float] = None, method: Literal["exact", "ais"] = "exact") -> float: ...

class BernoulliRBM(_RBMTransformer):
    h_samples_: np.ndarray
    def __init__(
        self, n_components: int = 256, *, learning_rate: float = 0.1, batch_size: int = 10,
        n_iter: int = 10, verbose: int = 0, random_state: _RandomState = None,
        method: Literal["pcd", "cd"] = "pcd", k: int = 1, n_jobs: Optional[int] = None,
    ) -> None: ...
    def fit(self, X: _Array, y: object = None) -> "BernoulliRBM": ...
    def partial_fit(self, X: _Array, y: object = None) -> "BernoulliRBM": ...
    def gibbs(self, v: _Array) -> npt.NDArray[np.bool_]: ...
    def model_bytes(self) -> bytes: ...

class GaussianRBM(_RBMTransformer):
    sigma_: np.ndarray
    mean_: np.ndarray
    scale_: np.ndarray
    def __init__(
        self, n_components: int = 256, *, learning_rate: float = 0.01, batch_size: int = 10,
        n_iter: int = 10, verbose: int = 0, random_state: _RandomState = None,
        method: Literal["cd", "pcd", "dsm"] = "cd", k: int = 1, learn_variance: bool = True,
        noise: float = 0.5, momentum: float = 0.5, weight_decay: float = 0.0,
        n_jobs: Optional[int] = None,
    ) -> None: ...
    def fit(self, X: _Array, y: object = None) -> "GaussianRBM": ...

class ClassRBM(ClassifierMixin, BaseEstimator):
    classes_: np.ndarray
    components_: np.ndarray
    class_components_: np.ndarray
    n_features_in_: int
    def __init__(
        self, n_components: int = 256, *, objective: Literal["hybrid", "discriminative", "generative"] = "hybrid",
        generative_weight: float = 0.01, learning_rate: float = 0.5, batch_size: int = 20,
        n_iter: int = 30, momentum: float = 0.0, weight_decay: float = 0.0, verbose: int = 0,
        random_state: _RandomState = None, n_jobs: Optional[int] = None,
    ) -> None: ...
    def fit(self, X: _Array, y: _Array) -> "ClassRBM": ...
    def predict(self, X: _Array) -> np.ndarray: ...
    def predict_proba(self, X: _Array) -> npt.NDArray[np.float64]: ...
    def predict_log_proba(self, X: _Array) -> npt.NDArray[np.float64]: ...
    def score(self, X: _Array, y: _Array, sample_weight: Optional[_Array] = None) -> float: ...
