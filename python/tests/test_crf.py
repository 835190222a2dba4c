"""ebm.factor.ChainCRF and GridCRF: learning on small synthetic data, scikit-learn
conventions, thread-count invariance, pickling, Ctrl-C and bad input."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from ebm.factor import ChainCRF, GridCRF

# The sticky 3-state, 4-symbol HMM of ebm-learn's chain task (Hmm::sticky).
INITIAL = np.array([0.5, 0.3, 0.2])
TRANSITION = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
EMISSION = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.5, 0.3, 0.1], [0.1, 0.1, 0.3, 0.5]])


def hmm_sequences(n, length, seed):
    """``n`` (symbols, states) sequences sampled from the sticky HMM."""
    rng = np.random.RandomState(seed)
    X, Y = [], []
    for _ in range(n):
        states = [rng.choice(3, p=INITIAL)]
        for _ in range(length - 1):
            states.append(rng.choice(3, p=TRANSITION[states[-1]]))
        X.append(np.array([rng.choice(4, p=EMISSION[s]) for s in states]))
        Y.append(np.array(states))
    return X, Y


def noisy_squares(n, side, flip, seed):
    """``n`` images of a random filled rectangle with pixels flipped at ``flip``."""
    rng = np.random.RandomState(seed)
    clean = np.zeros((n, side, side), dtype=np.int64)
    for image in clean:
        r, c = rng.randint(0, side // 2, size=2)
        image[r : r + side // 2, c : c + side // 2] = 1
    noisy = np.where(rng.uniform(size=clean.shape) < flip, 1 - clean, clean).astype(float)
    return noisy, clean


@pytest.fixture(scope="module")
def sequences():
    return hmm_sequences(60, 12, 0), hmm_sequences(40, 12, 1)


def test_chain_crf_learns_the_hmm_and_names_its_labels(sequences):
    (X, Y), (X_test, Y_test) = sequences
    names = np.array(["low", "mid", "high"])
    crf = ChainCRF(n_iter=15, random_state=0).fit(X, [names[y] for y in Y])
    assert list(crf.classes_) == ["high", "low", "mid"]
    predicted = crf.predict(X_test)
    assert [len(p) for p in predicted] == [len(x) for x in X_test]
    accuracy = np.mean(np.concatenate(predicted) == names[np.concatenate(Y_test)])
    # Copying each symbol's most likely state gets about 0.57; the transitions help.
    assert accuracy > 0.62
    assert crf.score(X_test, [names[y] for y in Y_test]) == pytest.approx(accuracy)
    assert crf.coef_.shape == (3 + 3 * 4 + 9,)
    assert [t[0] for t in crf.templates_] == ["initial", "emission", "transition"]
    # The SVM learner through the same API.
    svm = ChainCRF("bcfw", n_iter=5, regularization=0.1).fit(X, Y)
    assert svm.score(X_test, Y_test) > 0.6


def test_chain_crf_is_the_same_for_any_thread_count_and_after_pickling(sequences):
    (X, Y), (X_test, _) = sequences
    one = ChainCRF("pl", n_iter=3, n_jobs=1).fit(X, Y)
    two = clone(one).set_params(n_jobs=2).fit(X, Y)
    assert np.array_equal(one.coef_, two.coef_)
    again = pickle.loads(pickle.dumps(two))
    assert all(np.array_equal(a, b) for a, b in zip(again.predict(X_test), two.predict(X_test)))


def test_grid_crf_denoises_better_than_its_input():
    X, Y = noisy_squares(30, 10, 0.15, 2)
    X_test, Y_test = noisy_squares(20, 10, 0.15, 3)
    crf = GridCRF(n_iter=8, random_state=0).fit(X, Y)
    predicted = crf.predict(X_test)
    assert predicted.shape == X_test.shape and set(np.unique(predicted)) <= {0, 1}
    noisy_accuracy = np.mean(X_test == Y_test)
    assert crf.score(X_test, Y_test) == pytest.approx(np.mean(predicted == Y_test))
    assert crf.score(X_test, Y_test) > noisy_accuracy + 0.05
    unary = GridCRF(pairwise=False, n_iter=3).fit(X, Y)
    assert unary.score(X_test, Y_test) <= crf.score(X_test, Y_test)
    again = pickle.loads(pickle.dumps(crf))
    assert np.array_equal(again.predict(X_test), predicted)


def test_ctrl_c_stops_a_fit_and_leaves_the_estimator_unfitted(sequences):
    (X, Y), _ = sequences
    crf = ChainCRF(n_iter=5, verbose=1)
    seen = []

    def interrupt(epoch, *args):
        seen.append(epoch)
        raise KeyboardInterrupt

    crf._progress = interrupt
    with pytest.raises(KeyboardInterrupt):
        crf.fit(X, Y)
    assert seen == [1] and not hasattr(crf, "coef_")


def test_bad_input_is_a_value_error(sequences):
    (X, Y), _ = sequences
    with pytest.raises(ValueError, match="same lengths"):
        ChainCRF().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="method must be one of"):
        ChainCRF("viterbi").fit(X, Y)
    with pytest.raises(ValueError, match="invalid parameter `learning_rate`: -1 is not positive"):
        ChainCRF(learning_rate=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="invalid parameter `regularization`: BCFW needs lambda > 0"):
        ChainCRF("bcfw", regularization=0.0).fit(X, Y)
    with pytest.raises(ValueError, match="n_symbols"):
        ChainCRF(n_symbols=2).fit(X, Y)
    with pytest.raises(ValueError, match="acyclic|tree|loop"):
        GridCRF("ml", n_iter=1).fit(*noisy_squares(2, 4, 0.1, 0))
    X_img, Y_img = noisy_squares(4, 6, 0.1, 0)
    with pytest.raises(ValueError, match="0/1 labels"):
        GridCRF().fit(X_img, Y_img * 2)
    crf = GridCRF(n_iter=1).fit(X_img, Y_img)
    with pytest.raises(ValueError, match="images of 5x5, but the model was fit on 6x6"):
        crf.predict(np.zeros((1, 5, 5)))
