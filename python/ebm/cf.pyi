"""Type stubs of ``ebm.cf``: the collaborative-filtering RBM and the rating readers."""

from os import PathLike
from typing import Any, Dict, Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

_Columns = Tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.float32]]
_Names = Tuple[str, str, str]
_Path = Union[str, PathLike]

def read_movielens(path: _Path, *, as_frame: bool = False, columns: _Names = ("user", "item", "rating")) -> Any: ...
def movielens_fold(
    folder: _Path, fold: str = "u1", *, as_frame: bool = False, columns: _Names = ("user", "item", "rating"),
) -> Tuple[Any, Any]: ...

class RBMRecommender(BaseEstimator):
    users_: npt.NDArray[np.uint64]
    items_: npt.NDArray[np.uint64]
    levels_: npt.NDArray[np.float32]
    n_ratings_: int
    n_iter_: int
    def __init__(
        self, n_components: int = 100, *, variant: Literal["item", "user"] = "item",
        conditional: bool = False, n_iter: int = 50, batch_size: int = 20, learning_rate: float = 0.02,
        lr_schedule: Literal["linear", "constant"] = "linear", momentum: float = 0.9,
        weight_decay: float = 0.003, cd_steps: Sequence[int] = (1, 3, 5),
        cd_stage_epochs: Optional[int] = None, columns: _Names = ("user", "item", "rating"),
        random_state: Union[int, np.random.RandomState, None] = 1, n_jobs: Optional[int] = None,
        verbose: int = 0,
    ) -> None: ...
    def fit(self, X: Any, y: Optional[npt.ArrayLike] = None, *, asked: Any = None) -> "RBMRecommender": ...
    def predict(self, X: Any) -> npt.NDArray[np.float64]: ...
    def recommend(self, user: int, n: int = 10) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    def evaluate(self, X: Any, y: Optional[npt.ArrayLike] = None, *, k: int = 10, relevant_from: float = 4.0) -> Dict[str, float]: ...
    def score(self, X: Any, y: Optional[npt.ArrayLike] = None) -> float: ...
