"""Type stubs of the compiled core ``ebm._ebm`` (arrays: C-contiguous float32).

``_Core`` and ``_Rbm`` exist only here: they declare once the methods that the Rust
macros ``core_methods!`` (every core) and ``rbm_methods!`` (the two RBM cores) give
each class."""

from typing import Any, Callable, Optional, Tuple, Type, TypedDict, TypeVar

import numpy as np
import numpy.typing as npt

__version__: str

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_Callback = Optional[Callable[[int, int, float, dict], Any]]
_C = TypeVar("_C", bound="_Core")

class _Sgd(TypedDict):
    learning_rate: float
    momentum: float
    weight_decay: float
    n_iter: int
    batch_size: int
    seed: int
    n_jobs: int

class _Core:
    n_jobs: int
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls: Type[_C], bytes: bytes, n_jobs: Optional[int] = None) -> _C: ...

class _Rbm(_Core):
    def transform(self, x: _F32) -> _F32: ...
    def log_unnormalized(self, x: _F32) -> _F64: ...
    def components(self) -> _F32: ...
    def intercept_hidden(self) -> _F32: ...
    def intercept_visible(self) -> _F32: ...
    def exact_log_partition(self) -> float: ...
    def ais_log_partition(self, runs: int, betas: int, seed: int, base: Optional[_F32] = None) -> Tuple[float, float]: ...

class BinaryRbmCore(_Rbm):
    epochs_done: int
    n_visible: int
    @staticmethod
    def initialize(
        x: _F32, n_components: int, persistent_chains: int, k: int, learning_rate: float,
        batch_size: int, seed: int, n_jobs: int,
    ) -> "BinaryRbmCore": ...
    def train(self, x: _F32, n_iter: int, batch_size: int, callback: _Callback = None) -> None: ...
    def pseudo_log_likelihoods(self, x: _F32) -> _F64: ...
    def gibbs(self, x: _F32, seed: int) -> _F32: ...
    def hidden_samples(self, seed: int) -> _F32: ...
    def model_bytes(self) -> bytes: ...

class GaussianRbmCore(_Rbm):
    @staticmethod
    def fit(
        x: _F32, n_components: int, method: str, k: int, learn_variance: bool, noise: float,
        sgd: _Sgd, callback: _Callback = None,
    ) -> "GaussianRbmCore": ...
    def visible_std(self) -> _F32: ...
    def standardization(self) -> Tuple[_F32, _F32]: ...

class ClassRbmCore(_Core):
    @staticmethod
    def fit(
        x: _F32, y: npt.NDArray[np.uint8], n_classes: int, n_components: int, objective: str,
        generative_weight: float, decay: bool, sgd: _Sgd, callback: _Callback = None,
    ) -> "ClassRbmCore": ...
    def predict_log_proba(self, x: _F32) -> _F32: ...
    def components(self) -> _F32: ...
    def class_components(self) -> _F32: ...
