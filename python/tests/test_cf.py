"""ebm.cf: the RBM recommender on a tiny synthetic rating set, its input forms, metrics,
pickling, thread-count invariance and Ctrl-C, and the MovieLens readers."""

import pickle

import numpy as np
import pandas as pd
import pytest

from ebm import cf


@pytest.fixture(scope="module")
def ratings():
    """40 users of two tastes rating 30 items of two kinds (5: their kind, 1: the other),
    each item with probability 0.6; the rest held out."""
    rng = np.random.RandomState(0)
    rows = []
    for user in range(40):
        for item in range(30):
            liked = (user % 2) == (item % 2)
            rows.append((user + 1, item + 100, 5.0 if liked else 1.0, rng.uniform() < 0.6))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "train"])
    return frame[frame.train].drop(columns="train"), frame[~frame.train].drop(columns="train")


def small(**settings):
    return cf.RBMRecommender(**{"n_components": 8, "n_iter": 15, "batch_size": 5, "learning_rate": 0.05, **settings})


def test_the_recommender_learns_two_tastes(ratings):
    train, test = ratings
    model = small().fit(train)
    assert model.n_ratings_ == len(train) and list(model.levels_) == [1.0, 5.0]
    predicted = model.predict(test)
    assert np.abs(predicted - test.rating.to_numpy()).mean() < 1.0
    found = model.evaluate(test, k=5)
    assert set(found) == {"rmse", "mae", "precision_at_5", "recall_at_5", "ndcg_at_5",
                          "ranked_users", "n_test", "unknown_users", "unknown_items"}
    assert found["rmse"] < 1.5 and found["n_test"] == len(test)
    assert found["precision_at_5"] > 0.8
    assert model.score(test) == -found["rmse"]
    items, scores = model.recommend(2, n=5)
    rated = set(train.item[train.user == 2])
    assert len(items) == 5 and not rated & set(items.tolist())
    assert np.all(np.diff(scores) <= 0) and all(item % 2 == 1 for item in items)


def test_input_forms_and_column_names_give_the_same_model(ratings):
    train, test = ratings
    frame = small().fit(train)
    arrays = small().fit((train.user.to_numpy(), train.item.to_numpy(), train.rating.to_numpy()))
    pairs = small().fit(train[["user", "item"]].to_numpy(), train.rating.to_numpy())
    renamed = small(columns=("u", "i", "r")).fit(train.set_axis(["u", "i", "r"], axis=1))
    want = frame.predict(test)
    for other in (arrays, pairs, renamed):
        assert np.array_equal(other.predict((test.user.to_numpy(), test.item.to_numpy())), want)


def test_the_same_for_any_thread_count_and_after_pickling(ratings):
    train, test = ratings
    one = small(variant="user", n_jobs=1).fit(train)
    two = small(variant="user", n_jobs=2).fit(train)
    assert np.array_equal(one.predict(test), two.predict(test))
    again = pickle.loads(pickle.dumps(two))
    assert np.array_equal(again.predict(test), two.predict(test))
    assert again.evaluate(test) == two.evaluate(test)


def test_conditional_variant_uses_the_asked_pairs(ratings):
    train, test = ratings
    model = small(conditional=True).fit(train, asked=test)
    assert model.evaluate(test)["rmse"] < 1.5


def test_ctrl_c_keeps_the_last_finished_epoch(ratings):
    train, test = ratings
    model = small(verbose=1)

    def interrupt(epoch, *args):
        if epoch == 2:
            raise KeyboardInterrupt

    model._progress = interrupt
    with pytest.raises(KeyboardInterrupt):
        model.fit(train)
    assert np.all(np.isfinite(model.predict(test)))


def test_fit_releases_the_gil(ratings, ticks_during):
    train, _ = ratings
    model = cf.RBMRecommender(n_components=100, n_iter=150, batch_size=2)
    assert ticks_during(lambda: model.fit(train)) > 20


def test_bad_input_is_a_value_error(ratings):
    train, _ = ratings
    twice = pd.concat([train, train.iloc[:1]])
    with pytest.raises(ValueError, match="user 1 rates item 100 more than once"):
        small().fit(twice)
    with pytest.raises(ValueError, match="one of each per rating"):
        small().fit((np.arange(3), np.arange(3), np.ones(2)))
    with pytest.raises(ValueError, match="invalid parameter `momentum`"):
        small(momentum=1.5).fit(train)
    with pytest.raises(ValueError, match="variant must be one of"):
        small(variant="both").fit(train)
    model = small(n_iter=1).fit(train)
    with pytest.raises(ValueError, match="user 999 is not in the model's training ratings"):
        model.recommend(999)
    with pytest.raises(ValueError, match="ids must be integers"):
        model.predict(np.array([[1.5, 100.0]]))


def test_read_movielens_reads_the_100k_format(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t10\t5\t881250949\n2\t10\t3\t891717742\n1\t11\t4\t878887116\n")
    users, items, values = cf.read_movielens(path)
    assert users.tolist() == [1, 2, 1] and items.tolist() == [10, 10, 11]
    assert values.tolist() == [5.0, 3.0, 4.0]
    frame = cf.read_movielens(path, as_frame=True)
    assert list(frame.columns) == ["user", "item", "rating"] and len(frame) == 3
    (tmp_path / "bad.data").write_text("1\t10\t5\n1\tten\t4\n")
    with pytest.raises(ValueError, match="bad.data.*line 2"):
        cf.read_movielens(tmp_path / "bad.data")
    with pytest.raises(FileNotFoundError):
        cf.read_movielens(tmp_path / "missing.data")


def test_movielens_folds_have_their_sizes(shared_data):
    train, test = cf.movielens_fold(shared_data("ml-100k"), "u1", as_frame=True)
    assert (len(train), len(test)) == (80_000, 20_000)
    with pytest.raises(ValueError, match="fold"):
        cf.movielens_fold(shared_data("ml-100k"), "u9")
