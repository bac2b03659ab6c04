"""Datasets that ship with fastperceptron."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["seed", "groups", "hierarchy", "NEW_SITUATION"]

#: The tutorial's question to the trained neuron: a situation it has never seen.
NEW_SITUATION = (1.0, 0.0, 0.0)


def seed() -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's data: X (4, 3) and y (4,), float64. The answer is the first input.

    >>> X, y = seed(); X.shape, y.tolist()
    ((4, 3), [0.0, 1.0, 1.0, 0.0])
    """
    text = resources.files(__package__).joinpath("data", "seed.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    data = np.array(rows[1:], dtype=np.float64)
    return data[:, :-1].copy(), data[:, -1].copy()


def groups(n_groups: int = 2000, median_rows: float = 47, sigma: float = 1.2, features: int = 8,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic long table of ``n_groups`` groups for ``train(..., groups=g)``: X (N, D), y (N,)
    0/1 and g (N,) int labels, rows shuffled. Group sizes are log-normal (median ``median_rows``,
    shape ``sigma``, at least one row: many small groups, a few large ones); each group has its own
    true weights w_g ~ N(0, I) and y ~ Bernoulli(σ(x·w_g)). The case of the benchmarks and the
    README's plots.

    >>> X, y, g = groups(100, seed=1); X.shape[1], len(np.unique(g))
    (8, 100)
    """
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.round(rng.lognormal(np.log(median_rows), sigma, size=n_groups))).astype(np.int64)
    g = np.repeat(np.arange(n_groups), sizes)
    rng.shuffle(g)
    X = rng.normal(size=(g.size, features))
    w = rng.normal(size=(n_groups, features))
    p = 1.0 / (1.0 + np.exp(-np.einsum("nd,nd->n", X, w[g])))
    y = (rng.random(g.size) < p).astype(np.float64)
    return X, y, g


def hierarchy(regions: int = 12, stores: int = 2500, median_rows: float = 8, sigma: float = 1.084,
              features: int = 4, held_out: float = 0.3, seed: int = 0):
    """A long table from a hierarchical truth, for partial pooling (``groups=[region, store]``):
    (X (N, D), y (N,) 0/1, region (N,), store (N,) int labels, held (N,) bool).

    ``stores`` stores with log-normal sizes (median ``median_rows``, shape ``sigma``; the defaults
    give a mean of about 14 rows), each in one of ``regions`` regions. Store s's θ = (w, c) is
    θ_global + δ_region + δ_store, δ ~ N(0, 0.6²) per region and N(0, 0.5²) per store (the bias
    included), X ~ N(0, I) and y ~ Bernoulli(σ(x·w + c)). ``held`` marks a random ``held_out``
    share of each store's rows (rounded down; a store of one row is only trained on): the rows to
    score a model trained on the others. Store labels are 0 .. stores − 1, unique across regions.

    >>> X, y, region, store, held = hierarchy(regions=3, stores=50, seed=1); X.shape[1], len(np.unique(store))
    (4, 50)
    """
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.round(median_rows * np.exp(sigma * rng.normal(size=stores)))).astype(np.int64)
    region_of = rng.integers(0, regions, stores)
    theta = (rng.normal(size=features + 1) * np.r_[np.ones(features), 0.5]
             + 0.6 * rng.normal(size=(regions, features + 1))[region_of] + 0.5 * rng.normal(size=(stores, features + 1)))
    store = np.repeat(np.arange(stores), sizes)
    X = rng.normal(size=(store.size, features))
    z = np.einsum("nd,nd->n", X, theta[store, :features]) + theta[store, features]
    y = (rng.random(store.size) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    rank = np.argsort(np.lexsort((rng.random(store.size), store)))  # a random order within each store
    position = rank - np.searchsorted(store, store)
    held = position >= np.ceil((1.0 - held_out) * sizes[store])
    return X, y, region_of[store], store, held
