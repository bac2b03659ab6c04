"""The pooled start of an ensemble on shared data (bootstrap, seed or l2 ensembles)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..problem import Problem
from ..reference.objective import DenseObjective
from .newton import NewtonRun

__all__ = ["pooled_start"]


def pooled_start(problem: Problem):
    """For X and y shared by all models (bootstrap, seed or l2 ensembles): the pooled model — mean
    sample weights, mean l2 — solved by Newton in numpy. Returns (θ̄ (K, P), A⁻¹ (K, P, P)) with A
    the pooled loss's Hessian at θ̄, or None where it does not apply or did not converge.

    Every model then starts at θ̄, and L-BFGS takes A⁻¹ as its initial inverse Hessian: the models'
    optima lie near θ̄ and their Hessians near A, so their first steps are close to Newton steps.
    This changes where the models start, not where they end (the loss is convex)."""
    p = problem
    B, D, K = p.W0.shape
    if not p.shared_X or p.Y.ndim != 2 or B == 1:
        return None
    s = p.sample_weight
    s = s.mean(axis=0) if s is not None and s.ndim == 2 else s
    lam = None if p.l2 is None else p.l2[:1] * 0 + p.l2.mean()
    pooled = dataclasses.replace(p, W0=np.zeros((1, D, K), p.dtype), sample_weight=s, l2=lam, solver="newton",
                                 learning_rate=p.learning_rate[:1], seeds=p.seeds[:1], init="uniform")
    run = NewtonRun(pooled, DenseObjective(pooled, np), np)
    run.advance(max(p.iterations, 100))
    if not run.converged_.all():
        return None
    _, _, A = run.evaluate(run.phi, "fgh", np.arange(K))
    try:
        inverse = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return None
    return run.phi.copy(), inverse
