"""scikit-learn's own estimator checks, for every ebm estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import ebm


@parametrize_with_checks(
    [
        ebm.BernoulliRBM(n_components=16, random_state=0),
        ebm.GaussianRBM(n_components=16, random_state=0),
        ebm.ClassRBM(n_components=32, random_state=0),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
