"""Datasets that ship with fastperceptron."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["seed", "groups", "NEW_SITUATION"]

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
