"""Discrete factor graphs on ebm's Rust core, with names close to pgmpy's.

- :class:`FactorGraph`: a model read from a ``.uai`` file (:meth:`FactorGraph.read_uai`,
  with an optional ``.uai.evid`` evidence file) or built from numpy tables; its log
  partition function, marginals, pgmpy-style ``query`` and ``map_query`` (any of ebm's MAP
  methods, with time limits and proofs of optimality), and Gibbs samples.
- :class:`ChainCRF` and :class:`GridCRF`: chain and grid CRFs learned from labeled data
  with ``fit(X, Y)`` / ``predict(X)`` (ebm-learn's learners).

Inference runs in Rust with the GIL released. Bad input (a table of the wrong shape,
evidence outside the model, a method that does not exist) raises ``ValueError`` with the
library's one-line message.
"""

import itertools
import math
import os
from typing import NamedTuple, Optional

import numpy as np

from . import _ebm
from ._base import _choice, _cli_seed, _positive_float, _positive_int, _threads
from ._crf import ChainCRF, GridCRF

__all__ = ["FactorGraph", "MapResult", "ChainCRF", "GridCRF"]

#: The inference settings every method takes as keyword arguments, with their defaults
#: (those of ``ebm factor infer``); each method reads the ones it needs.
INFERENCE_DEFAULTS = {
    "max_table": None,  # exact: largest intermediate table (None: the library's bound)
    "n_iter": 500,  # bp, mplp: most passes
    "damping": 0.5,  # bp: weight of the old message
    "n_chains": 4,  # gibbs: chains; anneal: runs
    "burn_in": 200,  # gibbs: discarded sweeps per chain
    "n_sweeps": 2000,  # gibbs: sweeps per chain after the burn-in; anneal: sweeps per run
    "n_replicas": 1,  # gibbs: parallel-tempering replicas per chain (1: none)
    "max_temperature_ratio": 20.0,  # gibbs: hottest replica's temperature over the model's
    "start_temperature": 10.0,  # anneal
    "end_temperature": 0.02,  # anneal
    "time_limit": None,  # bnb, lns, anneal: seconds (lns: 10 unless n_moves is given)
    "node_limit": None,  # bnb: search nodes
    "n_moves": None,  # lns: moves
    "neighbourhood": 40,  # lns: variables freed per move
    "random_state": 1,  # gibbs, anneal, lns: the seed (an int is the CLI's --seed)
}

_POSITIVE = ("n_iter", "n_chains", "n_sweeps", "n_replicas", "neighbourhood")
_OPTIONAL_COUNTS = ("max_table", "node_limit", "n_moves")
_MAP_METHODS = ("exact", "graphcut", "icm", "anneal", "bp", "mplp", "bnb", "lns")


class MapResult(NamedTuple):
    """What :meth:`FactorGraph.map_query` found."""

    #: The assignment, one value per variable (evidence variables at their values).
    assignment: np.ndarray
    #: Its energy ``E(x)`` (``inf`` if it breaks a hard constraint).
    energy: float
    #: ``-E(x) / T``: the natural log of its unnormalized probability.
    log_value: float
    #: A proven lower bound on the minimum energy, when the method gives one.
    lower_bound: Optional[float]
    #: True when the assignment is proven optimal (exact elimination, a finished branch
    #: and bound, or a lower bound that reaches the energy).
    optimal: bool
    #: Branch and bound: whether the search finished; None for the other methods.
    complete: Optional[bool]


def _options(method, settings):
    """The core's options dict: the defaults, overridden by ``settings``, checked."""
    unknown = set(settings) - set(INFERENCE_DEFAULTS)
    if unknown:
        raise TypeError(f"unexpected inference settings: {', '.join(sorted(unknown))}")
    options = {**INFERENCE_DEFAULTS, **settings}
    for name in _POSITIVE:
        options[name] = _positive_int(name, options[name])
    for name in _OPTIONAL_COUNTS:
        if options[name] is not None:
            options[name] = _positive_int(name, options[name])
    if isinstance(options["burn_in"], bool) or not isinstance(options["burn_in"], (int, np.integer)) or options["burn_in"] < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {options['burn_in']!r}")
    if options["time_limit"] is not None:
        options["time_limit"] = _positive_float("time_limit", options["time_limit"])
    for name in ("damping", "max_temperature_ratio", "start_temperature", "end_temperature"):
        options[name] = float(options[name])
    replicas = options.pop("n_replicas")
    options["tempering"] = None if replicas == 1 else (replicas, options.pop("max_temperature_ratio"))
    options["seed"] = _cli_seed(options.pop("random_state"))
    options["method"] = method
    return options


class FactorGraph:
    """A discrete factor graph ``p(x) ∝ prod_f phi_f(x_f)`` (energies ``E_f = -ln phi_f``).

    Parameters
    ----------
    cardinalities : sequence of int
        The number of values of each variable (variables are ``0 .. n - 1``).
    factors : iterable of (scope, table), default=()
        One factor per pair: ``scope`` a tuple of distinct variables and ``table`` an
        ndarray of shape ``tuple(cardinalities[v] for v in scope)`` (axis ``k`` is
        ``scope[k]``). By default the tables hold **probabilities / potentials** (non-
        negative; a 0 forbids the combination), as in a ``.uai`` file and pgmpy's
        ``DiscreteFactor``; with ``log_potentials=True`` they hold ``ln phi`` (``-inf``
        forbids).
    log_potentials : bool, default=False
        Read the tables as natural-log potentials instead of potentials.
    n_jobs : int or None, default=None
        Threads of inference (None: 1, -1: all cores).
    """

    def __init__(self, cardinalities, factors=(), *, log_potentials=False, n_jobs=None):
        cards = [_positive_int("cardinality", c) for c in np.asarray(cardinalities).reshape(-1).tolist()]
        scopes, energies = [], []
        for i, factor in enumerate(factors):
            try:
                scope, table = factor
            except (TypeError, ValueError):
                raise ValueError(f"factor {i}: expected a (scope, table) pair") from None
            scope = tuple(int(v) for v in np.atleast_1d(np.asarray(scope, dtype=np.int64)))
            if any(not 0 <= v < len(cards) for v in scope):
                raise ValueError(f"factor {i}: scope {scope} names a variable outside 0..{len(cards) - 1}")
            table = np.asarray(table, dtype=np.float64)
            shape = tuple(cards[v] for v in scope)
            if table.shape != shape:
                raise ValueError(f"factor {i}: a table over scope {scope} needs shape {shape}, got {table.shape}")
            with np.errstate(divide="ignore"):
                if log_potentials:
                    if np.isnan(table).any() or np.isposinf(table).any():
                        raise ValueError(f"factor {i}: log-potentials must be finite or -inf")
                    energy = -table
                else:
                    if not (np.isfinite(table).all() and (table >= 0).all()):
                        raise ValueError(f"factor {i}: potentials must be finite and non-negative")
                    energy = -np.log(table)
            scopes.append(list(scope))
            energies.append(np.ascontiguousarray(energy.reshape(-1)))
        self._core = _ebm.FactorGraphCore.from_energies(cards, scopes, energies)
        self._given = {}
        self.n_jobs = n_jobs

    @classmethod
    def read_uai(cls, path, evidence=None, *, n_jobs=None):
        """The model of a ``.uai`` file (MARKOV or BAYES), as ``ebm factor infer`` reads it.

        ``evidence`` is a ``.uai.evid`` file or a dict ``{variable: value}``; it applies to
        every query (a query's own evidence is added to it).
        """
        graph = cls.__new__(cls)
        is_file = isinstance(evidence, (str, os.PathLike))
        graph._core = _ebm.FactorGraphCore.read_uai(os.fspath(path), os.fspath(evidence) if is_file else None)
        graph._given = {} if is_file or evidence is None else graph._pairs_of(evidence, {})
        graph.n_jobs = n_jobs
        return graph

    @property
    def cardinalities(self):
        """The number of values of each variable."""
        return tuple(self._core.cardinalities)

    @property
    def n_variables(self):
        """The number of variables."""
        return len(self._core.cardinalities)

    @property
    def n_factors(self):
        """The number of factors."""
        return self._core.n_factors

    @property
    def evidence(self):
        """The evidence every query applies, ``{variable: value}``."""
        return {**dict(self._core.evidence), **self._given}

    @property
    def factors(self):
        """Every factor as ``(scope, log_potentials)``: the scope ascending, the table an
        ndarray of shape ``cardinalities`` of the scope (``-inf``: forbidden)."""
        cards = self.cardinalities
        return [
            (tuple(scope), np.asarray(values).reshape(tuple(cards[v] for v in scope)))
            for scope, values in self._core.factors()
        ]

    def __reduce__(self):
        return (_restore, (self.cardinalities, self.factors, self.evidence, self.n_jobs))

    def _pairs_of(self, evidence, base):
        """``base`` updated with ``evidence`` (a dict), checked to be integers."""
        merged = dict(base)
        for var, value in dict(evidence or {}).items():
            if isinstance(var, bool) or isinstance(value, bool):
                raise ValueError(f"evidence {var!r} = {value!r} must be integers")
            merged[int(var)] = int(value)
        return merged

    def _ready(self, evidence):
        """The evidence pairs of a query (the model's and the query's), the core's threads
        set from ``n_jobs``."""
        self._core.n_jobs = _threads(self.n_jobs)
        return sorted(self._pairs_of(evidence, self._given).items())

    def energy(self, assignment):
        """The energy ``E(x) = -sum_f ln phi_f(x_f)`` of a full assignment (``inf`` if it
        breaks a hard constraint)."""
        return self._core.energy([int(x) for x in np.asarray(assignment).reshape(-1)])

    def log_partition(self, evidence=None, method="exact", **settings):
        """``ln Z`` with the evidence applied (natural log; the probability of the evidence
        for a Bayesian network): ``method="exact"`` (variable elimination, min-fill order)
        or ``"bp"`` (the Bethe estimate of loopy sum-product BP). ``settings``: see
        :data:`INFERENCE_DEFAULTS`."""
        _choice("method", method, ("exact", "bp"))
        return self._core.log_partition(self._ready(evidence), _options(method, settings))

    def log10_partition(self, evidence=None, method="exact", **settings):
        """``log10 Z``: what a UAI ``.PR`` file and ``ebm factor infer --task pr`` give."""
        return self.log_partition(evidence, method, **settings) / math.log(10)

    def marginals(self, evidence=None, method="exact", **settings):
        """``p(x_v | evidence)`` of every variable, a list of arrays: ``method="exact"``
        (two passes over the elimination tree), ``"bp"`` (loopy BP beliefs) or ``"gibbs"``
        (chromatic Gibbs estimates; ``n_chains``, ``burn_in``, ``n_sweeps``, ``n_replicas``,
        ``random_state``)."""
        _choice("method", method, ("exact", "bp", "gibbs"))
        found = self._core.marginals(self._ready(evidence), _options(method, settings))
        return [np.asarray(m) for m in found]

    def query(self, variables, evidence=None, joint=True, method="exact", **settings):
        """pgmpy's ``VariableElimination.query``: the distribution of ``variables`` given
        ``evidence``.

        With ``joint=True``, an ndarray of shape ``cardinalities`` of ``variables`` holding
        ``p(variables | evidence)``: one exact elimination per joint value (the cost grows
        with the product of their cardinalities). With ``joint=False``, a dict
        ``{variable: marginal}`` from :meth:`marginals` (``method`` as there).
        """
        variables = [int(v) for v in np.atleast_1d(np.asarray(variables, dtype=np.int64))]
        if any(not 0 <= v < self.n_variables for v in variables) or len(set(variables)) != len(variables):
            raise ValueError(f"variables {variables} must be distinct variables of 0..{self.n_variables - 1}")
        if not joint or len(variables) == 1:
            found = self.marginals(evidence, method, **settings)
            if joint:
                return found[variables[0]]
            return {v: found[v] for v in variables}
        _choice("method", method, ("exact",))
        base = self._pairs_of(evidence, {})
        cards = [self.cardinalities[v] for v in variables]
        sets = [sorted(self._pairs_of(dict(zip(variables, values)), {**self._given, **base}).items())
                for values in itertools.product(*map(range, cards))]
        self._core.n_jobs = _threads(self.n_jobs)
        log_z = np.asarray(self._core.log_partitions(sets, _options(method, settings)))
        top = log_z.max()
        if not np.isfinite(top):
            raise ValueError("the evidence has probability zero under the model (Z = 0)")
        p = np.exp(log_z - top)
        return (p / p.sum()).reshape(cards)

    def map_query(self, evidence=None, method="exact", **settings):
        """pgmpy's ``map_query``: the most probable assignment given ``evidence``.

        ``method`` is one of ebm's MAP methods: ``"exact"`` (elimination; proven optimal),
        ``"graphcut"`` (binary submodular models), ``"icm"``, ``"anneal"``, ``"bp"``
        (max-product), ``"mplp"`` (dual ascent, with a lower bound), ``"bnb"`` (branch and
        bound, anytime, optimal when it finishes) or ``"lns"`` (large neighbourhood search,
        anytime). ``time_limit`` (seconds), ``node_limit`` and ``n_moves`` are the budgets
        of the searches; see :data:`INFERENCE_DEFAULTS` for the rest. Returns a
        :class:`MapResult`.
        """
        _choice("method", method, _MAP_METHODS)
        assignment, energy, log_value, bound, complete = self._core.map_query(
            self._ready(evidence), _options(method, settings)
        )
        proven = complete is True or method == "exact" or (bound is not None and bound >= energy)
        return MapResult(np.asarray(assignment), energy, log_value, bound, bool(proven), complete)

    def sample(self, n, method="gibbs", *, evidence=None, burn_in=200, thin=1, n_chains=1, random_state=None):
        """``n`` states drawn from the model given ``evidence``, an int64 array of shape
        ``(n, n_variables)``: chromatic Gibbs sweeps from ``n_chains`` chains (sample ``i``
        from chain ``i % n_chains``), each burned in for ``burn_in`` sweeps and read every
        ``thin`` sweeps. The same ``random_state`` gives the same samples on any number of
        threads."""
        _choice("method", method, ("gibbs",))
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n}")
        if isinstance(burn_in, bool) or int(burn_in) < 0:
            raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")
        return self._core.sample(
            n, self._ready(evidence), _positive_int("n_chains", n_chains), int(burn_in),
            _positive_int("thin", thin), _cli_seed(random_state),
        )


def _restore(cardinalities, factors, evidence, n_jobs):
    """A :class:`FactorGraph` from its pickled parts (log-potential tables)."""
    graph = FactorGraph(cardinalities, factors, log_potentials=True, n_jobs=n_jobs)
    graph._given = dict(evidence)
    return graph
