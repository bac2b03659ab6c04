"""Datasets that ship with fastperceptron."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["seed", "NEW_SITUATION"]

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
