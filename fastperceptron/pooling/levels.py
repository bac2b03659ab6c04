"""One level of a pooled fit as one batch: a model per group, each pulled toward its parent's
(:class:`~fastperceptron.problem.Prior`), run on the chosen backend by
:func:`fastperceptron.runner.run_problem`; and the models as θ = (w, c)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ..errors import ConvergenceWarning
from ..options import problem_options
from ..problem import Prior, make_problem
from ..result import TrainResult
from ..runner import run_problem

__all__ = ["fit_level", "level_problem", "run_level", "theta_of"]


def theta_of(result: TrainResult) -> np.ndarray:
    """The models of ``result`` as θ = (w, c): (B, K, P) float64."""
    W = result.weights.astype(np.float64).transpose(0, 2, 1)
    if result.bias is None:
        return np.ascontiguousarray(W)
    return np.concatenate([W, result.bias.astype(np.float64)[:, :, None]], axis=2)


def level_problem(X, y, sw, groups, o: dict, l2=0.0):
    """The problem of one level: a model per label of ``groups`` (or one model without), ``l2``
    toward 0; pulled toward parents by :func:`run_level`."""
    options = {**problem_options(o), "groups": groups, "sample_weight": sw, "l2": l2, "standardize": False,
               "seeds": None, "models": None, "initial_weights": None}
    return make_problem(X, y, **options)


def run_level(problem, o: dict, anchor=None, shrink=None, start=None) -> TrainResult:
    """``problem`` with each model pulled toward ``anchor`` (B, K, P) by ``shrink`` (a number or
    (B, K); None: no pull), starting at ``start`` (default: the anchor); models that do not converge
    are left to the caller (no warning)."""
    if anchor is not None:
        rho = np.broadcast_to(np.asarray(shrink, dtype=np.float64), anchor.shape[:2])
        problem = replace(problem, prior=Prior(anchor=anchor, shrink=rho, start=start))
        if problem.solver == "gd" and isinstance(o["learning_rate"], str):  # "auto": 1/L with the pull's ρ in L
            lr = 1.0 / (1.0 / problem.learning_rate.astype(np.float64) + rho.max(axis=1))
            problem = replace(problem, learning_rate=lr.astype(problem.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return run_problem(problem, o, stacklevel=4)


def fit_level(X, y, sw, groups, anchor, shrink, o: dict, l2=0.0) -> TrainResult:
    """:func:`level_problem` run by :func:`run_level`."""
    return run_level(level_problem(X, y, sw, groups, o, l2), o, anchor, shrink)
