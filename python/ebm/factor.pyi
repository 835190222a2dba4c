"""Type stubs of ``ebm.factor``: factor graphs and the chain / grid CRFs."""

from os import PathLike
from typing import Any, Dict, Iterable, List, Literal, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

_Evidence = Optional[Mapping[int, int]]
_RandomState = Union[int, np.random.RandomState, None]
_Map = Literal["exact", "graphcut", "icm", "anneal", "bp", "mplp", "bnb", "lns"]
_Learner = Literal["perceptron", "averaged-perceptron", "ssvm", "bcfw", "ml", "pl", "cd"]
_Decoder = Optional[Literal["exact", "graphcut", "icm", "bp", "bnb", "anneal"]]

INFERENCE_DEFAULTS: Dict[str, Any]

class MapResult(NamedTuple):
    assignment: npt.NDArray[np.int64]
    energy: float
    log_value: float
    lower_bound: Optional[float]
    optimal: bool
    complete: Optional[bool]

class FactorGraph:
    n_jobs: Optional[int]
    def __init__(
        self, cardinalities: Sequence[int], factors: Iterable[Tuple[Sequence[int], npt.ArrayLike]] = (),
        *, log_potentials: bool = False, n_jobs: Optional[int] = None,
    ) -> None: ...
    @classmethod
    def read_uai(
        cls, path: Union[str, PathLike], evidence: Union[str, PathLike, Mapping[int, int], None] = None,
        *, n_jobs: Optional[int] = None,
    ) -> "FactorGraph": ...
    @property
    def cardinalities(self) -> Tuple[int, ...]: ...
    @property
    def n_variables(self) -> int: ...
    @property
    def n_factors(self) -> int: ...
    @property
    def evidence(self) -> Dict[int, int]: ...
    @property
    def factors(self) -> List[Tuple[Tuple[int, ...], npt.NDArray[np.float64]]]: ...
    def energy(self, assignment: npt.ArrayLike) -> float: ...
    def log_partition(self, evidence: _Evidence = None, method: Literal["exact", "bp"] = "exact", **settings: Any) -> float: ...
    def log10_partition(self, evidence: _Evidence = None, method: Literal["exact", "bp"] = "exact", **settings: Any) -> float: ...
    def marginals(self, evidence: _Evidence = None, method: Literal["exact", "bp", "gibbs"] = "exact", **settings: Any) -> List[npt.NDArray[np.float64]]: ...
    def query(
        self, variables: Union[int, Sequence[int]], evidence: _Evidence = None, joint: bool = True,
        method: Literal["exact", "bp", "gibbs"] = "exact", **settings: Any,
    ) -> Union[npt.NDArray[np.float64], Dict[int, npt.NDArray[np.float64]]]: ...
    def map_query(self, evidence: _Evidence = None, method: _Map = "exact", **settings: Any) -> MapResult: ...
    def sample(
        self, n: int, method: Literal["gibbs"] = "gibbs", *, evidence: _Evidence = None, burn_in: int = 200,
        thin: int = 1, n_chains: int = 1, random_state: _RandomState = None,
    ) -> npt.NDArray[np.int64]: ...

class _CRF(BaseEstimator):
    coef_: npt.NDArray[np.float64]
    templates_: List[Tuple[str, Tuple[int, ...], int]]

class ChainCRF(_CRF):
    classes_: np.ndarray
    n_symbols_: int
    def __init__(
        self, method: _Learner = "ml", *, n_iter: int = 10, learning_rate: Optional[float] = None,
        regularization: Optional[float] = None, batch_size: int = 16, decoder: _Decoder = None,
        cd_steps: int = 1, n_states: Optional[int] = None, n_symbols: Optional[int] = None,
        random_state: _RandomState = 1, n_jobs: Optional[int] = None, verbose: int = 0,
    ) -> None: ...
    def fit(self, X: Sequence[npt.ArrayLike], Y: Sequence[npt.ArrayLike]) -> "ChainCRF": ...
    def predict(self, X: Sequence[npt.ArrayLike]) -> List[np.ndarray]: ...
    def score(self, X: Sequence[npt.ArrayLike], Y: Sequence[npt.ArrayLike]) -> float: ...

class GridCRF(_CRF):
    image_shape_: Tuple[int, int]
    def __init__(
        self, method: _Learner = "bcfw", *, pairwise: bool = True, n_iter: int = 10,
        learning_rate: Optional[float] = None, regularization: Optional[float] = None,
        batch_size: int = 16, decoder: _Decoder = None, cd_steps: int = 1,
        random_state: _RandomState = 1, n_jobs: Optional[int] = None, verbose: int = 0,
    ) -> None: ...
    def fit(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> "GridCRF": ...
    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def score(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> float: ...
