"""ebm.factor.FactorGraph: exact answers against numpy enumeration and the UAI reference
answers, the approximate methods, sampling, pickling and bad input."""

import itertools
import math
import pickle

import numpy as np
import pytest

import ebm
from ebm.factor import FactorGraph


def small_model():
    """Three variables (2, 3, 2 values) on a loop with a forbidden combination: the
    cardinalities and (scope, potential table) pairs."""
    rng = np.random.RandomState(0)
    cards = [2, 3, 2]
    pair01 = rng.uniform(0.2, 2.0, size=(2, 3))
    pair12 = rng.uniform(0.2, 2.0, size=(3, 2))
    pair20 = rng.uniform(0.2, 2.0, size=(2, 2))
    pair12[2, 0] = 0.0
    unary = np.array([0.7, 1.4])
    return cards, [((0, 1), pair01), ((1, 2), pair12), ((2, 0), pair20), ((0,), unary)]


def joint(cards, factors):
    """The unnormalized joint table by brute force."""
    table = np.ones(cards)
    for values in itertools.product(*map(range, cards)):
        for scope, phi in factors:
            table[values] *= phi[tuple(values[v] for v in scope)]
    return table


def test_exact_answers_match_enumeration():
    cards, factors = small_model()
    graph = FactorGraph(cards, factors)
    p = joint(cards, factors)
    assert graph.log_partition() == pytest.approx(math.log(p.sum()), abs=1e-12)
    assert graph.log10_partition() == pytest.approx(math.log10(p.sum()), abs=1e-12)
    marginals = graph.marginals()
    for v in range(3):
        other = tuple(a for a in range(3) if a != v)
        np.testing.assert_allclose(marginals[v], p.sum(axis=other) / p.sum(), atol=1e-12)
    # pgmpy's query: a joint over two variables given evidence on the third.
    given = p[:, :, 1]
    np.testing.assert_allclose(graph.query([0, 1], evidence={2: 1}), given / given.sum(), atol=1e-12)
    found = graph.query([1, 0], evidence={2: 1}, joint=False)
    np.testing.assert_allclose(found[1], given.sum(axis=0) / given.sum(), atol=1e-12)
    assert graph.log_partition(evidence={2: 1}) == pytest.approx(math.log(given.sum()), abs=1e-12)
    best = np.unravel_index(np.argmax(p), p.shape)
    result = graph.map_query()
    assert tuple(result.assignment) == best and result.optimal
    assert result.log_value == pytest.approx(math.log(p.max()), abs=1e-12)
    assert result.energy == pytest.approx(graph.energy(best))
    assert graph.energy([0, 2, 0]) == math.inf


def test_log_potentials_and_factor_export_give_the_same_model():
    cards, factors = small_model()
    graph = FactorGraph(cards, factors)
    with np.errstate(divide="ignore"):
        logs = FactorGraph(cards, [(s, np.log(t)) for s, t in factors], log_potentials=True)
    assert logs.log_partition() == pytest.approx(graph.log_partition(), abs=1e-12)
    rebuilt = FactorGraph(cards, graph.factors, log_potentials=True)
    assert rebuilt.log_partition() == graph.log_partition()
    assert [s for s, _ in graph.factors] == [(0, 1), (1, 2), (0, 2), (0,)]
    again = pickle.loads(pickle.dumps(graph))
    assert again.log_partition() == graph.log_partition() and again.n_factors == 4


def test_every_map_method_finds_the_optimum_of_a_small_model():
    cards, factors = small_model()
    graph = FactorGraph(cards, factors)
    best = graph.map_query()
    for method in ["icm", "anneal", "bp", "mplp", "bnb", "lns"]:
        found = graph.map_query(method=method, n_moves=20, time_limit=5)
        assert found.energy >= best.energy - 1e-9, method
        if method in ("anneal", "bnb", "lns"):
            assert found.energy == pytest.approx(best.energy), method
    bnb = graph.map_query(method="bnb")
    assert bnb.complete is True and bnb.optimal
    assert bnb.lower_bound <= bnb.energy + 1e-9


def test_approximate_marginals_are_close():
    cards, factors = small_model()
    graph = FactorGraph(cards, factors)
    exact = graph.marginals()
    gibbs = graph.marginals(method="gibbs", n_sweeps=4000, random_state=3)
    assert max(np.abs(a - b).max() for a, b in zip(exact, gibbs)) < 0.03
    bp = graph.marginals(method="bp")
    assert all(np.isclose(b.sum(), 1.0) for b in bp)
    assert abs(graph.log_partition(method="bp") - graph.log_partition()) < 0.5


def test_samples_follow_the_model_and_the_seed():
    cards, factors = small_model()
    graph = FactorGraph(cards, factors, n_jobs=2)
    samples = graph.sample(6000, evidence={0: 1}, n_chains=3, thin=2, random_state=5)
    assert samples.shape == (6000, 3) and samples.dtype == np.int64
    assert (samples[:, 0] == 1).all()
    assert all(np.isfinite(graph.energy(s)) for s in samples[:50])
    want = graph.query(1, evidence={0: 1})
    got = np.bincount(samples[:, 1], minlength=3) / len(samples)
    assert np.abs(got - want).max() < 0.03
    again = FactorGraph(cards, factors).sample(6000, evidence={0: 1}, n_chains=3, thin=2, random_state=5)
    assert np.array_equal(samples, again)


def test_bad_input_is_a_value_error():
    cards, factors = small_model()
    with pytest.raises(ValueError, match=r"needs shape \(2, 3\), got \(3, 2\)"):
        FactorGraph(cards, [((0, 1), np.ones((3, 2)))])
    with pytest.raises(ValueError, match="non-negative"):
        FactorGraph(cards, [((0,), np.array([0.5, -1.0]))])
    with pytest.raises(ValueError, match="outside"):
        FactorGraph(cards, [((0, 3), np.ones((2, 2)))])
    with pytest.raises(ValueError, match="appears twice"):
        FactorGraph(cards, [((1, 1), np.ones((3, 3)))])
    graph = FactorGraph(cards, factors)
    with pytest.raises(ValueError, match="evidence 1 = 5 is outside the model"):
        graph.log_partition(evidence={1: 5})
    with pytest.raises(ValueError, match="method"):
        graph.map_query(method="toulbar2")
    with pytest.raises(ValueError, match="probability zero"):
        graph.log_partition(evidence={1: 2, 2: 0})
    with pytest.raises(ValueError, match="exact inference needs the clique"):
        dense = [((i, j), np.ones((2, 2))) for i, j in itertools.combinations(range(12), 2)]
        FactorGraph([2] * 12, dense).log_partition(max_table=100)
    with pytest.raises(ValueError, match=r"invalid parameter `bp`: damping 1.5 must be in \[0, 1\)"):
        graph.marginals(method="bp", damping=1.5)
    with pytest.raises(TypeError, match="unexpected"):
        graph.marginals(sweeps=10)


def test_uai_models_give_the_reference_answers(shared_data):
    """The answers ../shared/data/README.md gives (toulbar2's models) and a UAI 2014 .PR."""
    uai = shared_data("uai")
    grid = FactorGraph.read_uai(uai / "toulbar2" / "grid4x4.uai")
    assert grid.log_partition() == pytest.approx(102.34885641954459, abs=1e-9)
    assert grid.map_query().log_value == pytest.approx(102.06202040833416, abs=1e-9)
    assert grid.map_query(method="bnb").optimal
    network = uai / "toulbar2" / "network.uai"
    graph = FactorGraph.read_uai(network, evidence=str(network) + ".evid")
    assert graph.log10_partition() == pytest.approx(163.20402963336164, abs=1e-9)
    assert graph.map_query().log_value == pytest.approx(361.9999973328344, abs=1e-9)
    assert all(np.isclose(m.sum(), 1.0) for m in graph.marginals())
    model = uai / "pr" / "Segmentation_11.uai"
    segmentation = FactorGraph.read_uai(model, evidence=str(model) + ".evid")
    want = float(open(str(model) + ".PR").read().split()[-1])
    assert segmentation.log10_partition() == pytest.approx(want, abs=1e-4)  # the .PR has 6 digits
    with pytest.raises(FileNotFoundError):
        FactorGraph.read_uai(uai / "missing.uai")
