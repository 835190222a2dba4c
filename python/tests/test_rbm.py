"""Behaviour of the ebm estimators beyond scikit-learn's generic checks."""

import copy
import io
import itertools
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import ebm


def bars_and_stripes(side=3):
    """Every bars-and-stripes image of side x side pixels (2^(side+1) - 2 of them)."""
    rows = []
    for bits in itertools.product([0, 1], repeat=side):
        line = np.array(bits, dtype=float)
        rows.append(np.repeat(line[:, None], side, axis=1).ravel())
        rows.append(np.repeat(line[None, :], side, axis=0).ravel())
    return np.unique(np.array(rows), axis=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def brute_force_pseudo_likelihood(rbm, v):
    """sum_i ln sigmoid(F(v with i flipped) - F(v)) from the fitted attributes, in numpy."""
    W = rbm.components_.astype(np.float64)
    b = rbm.intercept_visible_.astype(np.float64)
    c = rbm.intercept_hidden_.astype(np.float64)

    def free_energy(x):
        return -x @ b - np.logaddexp(0, x @ W.T + c).sum(axis=-1)

    total = np.zeros(len(v))
    for i in range(v.shape[1]):
        flipped = v.copy()
        flipped[:, i] = 1 - flipped[:, i]
        total += -np.logaddexp(0, -(free_energy(flipped) - free_energy(v)))
    return total


def test_same_constructor_defaults_as_sklearn():
    ours, theirs = ebm.BernoulliRBM().get_params(), SklearnRBM().get_params()
    for name, value in theirs.items():
        assert ours[name] == value, name
    assert set(ours) - set(theirs) == {"method", "k", "n_jobs"}


def test_attributes_have_sklearn_shapes(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=20, n_iter=2, random_state=0).fit(X)
    assert rbm.components_.shape == (20, 64)
    assert rbm.intercept_hidden_.shape == (20,)
    assert rbm.intercept_visible_.shape == (64,)
    assert rbm.h_samples_.shape == (10, 20)
    assert set(np.unique(rbm.h_samples_)) <= {0.0, 1.0}
    assert rbm.n_features_in_ == 64
    assert rbm.transform(X).shape == (len(X), 20)
    assert rbm.fit_transform(X).shape == (len(X), 20)
    assert rbm.gibbs(X[:5]).shape == (5, 64)
    assert rbm.gibbs(X[:5]).dtype == bool
    assert list(rbm.get_feature_names_out())[:2] == ["bernoullirbm0", "bernoullirbm1"]


def test_transform_matches_the_attributes(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=30, n_iter=3, random_state=1).fit(X)
    want = 1 / (1 + np.exp(-(X @ rbm.components_.T + rbm.intercept_hidden_)))
    np.testing.assert_allclose(rbm.transform(X), want, atol=1e-5)


def test_score_samples_is_the_exact_deterministic_pseudo_likelihood(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=25, n_iter=2, random_state=0).fit(X)
    v = (X[:50] > 0.5).astype(float)
    scores = rbm.score_samples(v)
    np.testing.assert_allclose(scores, brute_force_pseudo_likelihood(rbm, v), rtol=1e-4)
    np.testing.assert_array_equal(scores, rbm.score_samples(v))
    np.testing.assert_array_equal(scores[::-1], rbm.score_samples(v[::-1]))
    np.testing.assert_array_equal(scores[10:20], rbm.score_samples(v[10:20]))
    assert np.all(scores < 0)


def test_fit_is_reproducible_and_the_same_for_any_thread_count(digits):
    X, _ = digits
    one = ebm.BernoulliRBM(n_components=40, n_iter=3, random_state=7, n_jobs=1).fit(X)
    two = ebm.BernoulliRBM(n_components=40, n_iter=3, random_state=7, n_jobs=2).fit(X)
    again = ebm.BernoulliRBM(n_components=40, n_iter=3, random_state=7).fit(X)
    np.testing.assert_array_equal(one.components_, two.components_)
    np.testing.assert_array_equal(one.components_, again.components_)
    other = ebm.BernoulliRBM(n_components=40, n_iter=3, random_state=8).fit(X)
    assert not np.array_equal(one.components_, other.components_)


def test_training_learns_bars_and_stripes():
    # Uniform model: 9 ln 2 = -6.24 nats; the ideal model -ln 14 = -2.64. PCD needs more
    # chains (batch_size) and a lower rate here: with 10 chains at 0.1 it oscillates, a
    # known PCD behaviour on bars and stripes.
    X = np.tile(bars_and_stripes(3), (20, 1))
    settings = [("pcd", 1, 0.05, 50, 1000), ("cd", 1, 0.1, 10, 300), ("cd", 3, 0.1, 10, 300)]
    for method, k, rate, batch, epochs in settings:
        rbm = ebm.BernoulliRBM(
            n_components=12,
            learning_rate=rate,
            batch_size=batch,
            n_iter=epochs,
            method=method,
            k=k,
            random_state=0,
        ).fit(X)
        ll = rbm.log_likelihood(bars_and_stripes(3))
        assert -4.0 < ll < 0, (method, k, ll)


def test_log_partition_exact_and_ais_agree(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=12, n_iter=3, random_state=0).fit(X)
    exact = rbm.log_partition()
    ais, std = rbm.log_partition("ais", n_runs=100, n_betas=3000)
    assert abs(ais - exact) < max(0.1, 5 * std), (exact, ais, std)
    assert rbm.log_likelihood(X, method="exact") == pytest.approx(rbm.log_likelihood(X, log_z=exact))
    with pytest.raises(ValueError, match="exact"):
        ebm.BernoulliRBM(n_components=30, n_iter=1).fit(X).log_partition("exact")
    with pytest.raises(ValueError, match="method"):
        rbm.log_partition("magic")


def test_partial_fit_updates_and_continues(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=16, random_state=0)
    rbm.partial_fit(X[:100])
    first = rbm.components_.copy()
    rbm.partial_fit(X[100:200])
    assert not np.array_equal(first, rbm.components_)
    with pytest.raises(ValueError, match="features"):
        rbm.partial_fit(X[:10, :-1])


def test_pickle_round_trip_keeps_model_and_training_state(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    clone = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(rbm.transform(X), clone.transform(X))
    np.testing.assert_array_equal(rbm.score_samples(X), clone.score_samples(X))
    rbm.partial_fit(X[:50])
    clone.partial_fit(X[:50])
    np.testing.assert_array_equal(rbm.components_, clone.components_)
    deep = copy.deepcopy(rbm)
    np.testing.assert_array_equal(rbm.transform(X[:5]), deep.transform(X[:5]))
    for estimator in [
        ebm.GaussianRBM(n_components=8, n_iter=2, random_state=0).fit(X),
        ebm.ClassRBM(n_components=8, n_iter=2, random_state=0).fit(X, _),
    ]:
        again = pickle.loads(pickle.dumps(estimator))
        method = "transform" if hasattr(estimator, "transform") else "predict_proba"
        np.testing.assert_array_equal(getattr(estimator, method)(X), getattr(again, method)(X))


def test_corrupt_pickle_bytes_are_a_value_error(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X)
    state = rbm.__getstate__()
    state["_core_bytes"] = state["_core_bytes"][:-3]
    with pytest.raises(ValueError, match="truncated"):
        ebm.BernoulliRBM().__setstate__(state)


def test_model_bytes_are_an_ebm_model_file(digits):
    X, _ = digits
    data = ebm.BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X).model_bytes()
    assert data[:4] == b"EBM\x00" or b"binary-rbm" in data[:64]


def test_bad_input_is_a_one_line_value_error(digits):
    X, _ = digits
    cases = [
        (ebm.BernoulliRBM(n_components=0), X, "n_components"),
        (ebm.BernoulliRBM(learning_rate=-1), X, "learning_rate"),
        (ebm.BernoulliRBM(batch_size=0), X, "batch_size"),
        (ebm.BernoulliRBM(method="xyz"), X, "method"),
        (ebm.BernoulliRBM(k=0), X, "k"),
        (ebm.BernoulliRBM(n_jobs=0), X, "n_jobs"),
        (ebm.BernoulliRBM(), np.array([[np.nan, 1.0]]), "NaN"),
        (ebm.BernoulliRBM(), np.zeros((0, 3)), "sample"),
        (ebm.GaussianRBM(method="xyz"), X, "method"),
        (ebm.GaussianRBM(noise=0), X, "noise"),
    ]
    for estimator, data, word in cases:
        with pytest.raises(ValueError, match=word) as info:
            estimator.fit(data)
        assert "\n" not in str(info.value).strip(), str(info.value)
    with pytest.raises(ValueError, match="objective"):
        ebm.ClassRBM(objective="xyz").fit(X, np.zeros(len(X)))


def test_verbose_prints_one_line_per_epoch(digits):
    X, _ = digits
    out = io.StringIO()
    with redirect_stdout(out):
        ebm.BernoulliRBM(n_components=4, n_iter=3, verbose=1, random_state=0).fit(X)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("[BernoulliRBM] Iteration 1/3")


def test_callback_errors_stop_training_and_leave_a_consistent_model(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=4, n_iter=5, verbose=1, random_state=0)

    def fail(*args):
        raise KeyboardInterrupt

    rbm._progress = fail
    with pytest.raises(KeyboardInterrupt):
        rbm.fit(X)
    assert rbm._core.epochs_done == 1
    assert np.all(np.isfinite(rbm.transform(X)))


def test_fit_releases_the_gil(digits, ticks_during):
    X, _ = digits
    X = np.tile(X, (4, 1))
    rbm = ebm.BernoulliRBM(n_components=100, n_iter=5, random_state=0)
    assert ticks_during(lambda: rbm.fit(X)) > 20


def test_pipeline_with_logistic_regression_classifies_held_out_digits(digits):
    X, y = digits
    train, test = slice(0, 1400), slice(1400, None)
    model = Pipeline(
        [
            ("rbm", ebm.BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)),
            ("logistic", LogisticRegression(C=6000, max_iter=1000)),
        ]
    )
    # One BLAS thread: on a shared 2-core machine lbfgs is 40x slower oversubscribed.
    with threadpool_limits(limits=1):
        model.fit(X[train], y[train])
        assert model.score(X[test], y[test]) > 0.85


def test_dtype_follows_the_input(digits):
    X, _ = digits
    rbm = ebm.BernoulliRBM(n_components=5, n_iter=1, random_state=0)
    assert rbm.fit(X.astype(np.float32)).transform(X.astype(np.float32)).dtype == np.float32
    assert rbm.fit(X).transform(X).dtype == np.float64


def test_gaussian_rbm_learns_and_scores():
    rng = np.random.RandomState(0)
    X = rng.randn(500, 3) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]]) + 5.0
    for method in ["cd", "pcd", "dsm"]:
        g = ebm.GaussianRBM(n_components=6, n_iter=20, method=method, random_state=0).fit(X)
        assert g.transform(X).shape == (500, 6)
        assert g.mean_.shape == (3,) and g.sigma_.shape == (3,)
        exact = g.log_partition()
        ais, std = g.log_partition("ais", n_runs=200, n_betas=2000)
        assert abs(exact - ais) < max(0.1, 5 * std), (method, exact, ais, std)
        ll = g.log_likelihood(X)
        assert np.isfinite(ll) and ll < 0
        np.testing.assert_array_equal(g.score_samples(X[:7]), g.score_samples(X)[:7])


def test_class_rbm_classifies_blobs_and_digits(digits):
    Xb, yb = make_blobs(n_samples=300, random_state=0)
    Xb = StandardScaler().fit_transform(Xb)
    clf = ebm.ClassRBM(n_components=32, random_state=0).fit(Xb, yb)
    assert clf.score(Xb, yb) > 0.9
    X, y = digits
    labels = np.array(list("abcdefghij"))[y]
    clf = ebm.ClassRBM(n_components=100, n_iter=20, random_state=0).fit(X[:1400], labels[:1400])
    assert set(clf.classes_) == set("abcdefghij")
    assert clf.score(X[1400:], labels[1400:]) > 0.85
    proba = clf.predict_proba(X[1400:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X[1400:]))
    with pytest.raises(ValueError, match="class"):
        ebm.ClassRBM().fit(X[:10], np.zeros(10))
