"""SPEC §8's penalty toward a parent model, ½·ρ·‖θ_user − a‖², for the second-order solvers.

The run's objective is evaluated at θ, the parameters on the problem's columns; those may be the
user's columns shifted and scaled (``fastperceptron.problem.columns``: x' = (x − m)/s), and the
penalty is on the user's θ_user = A·θ with

    w_user = w / s ,   c_user = c − Σ_d (m_d / s_d)·w_d ,

so it adds ½·ρ·‖A·θ − a‖² to L, ρ·Aᵀ(A·θ − a) to its gradient and ρ·AᵀA to its Hessian (the bias
included: a group whose targets are of one class has a finite optimum once ρ > 0). A is the
identity when the columns are the user's own.

At the optimum the loss's gradient cancels the penalty's. On columns far from 0 both are huge —
the bias at x = 0 is then c_user ≈ −m·w, and ρ·Aᵀ(A·θ − a) carries m — so the convergence test
on the gradient allows for their rounding (:meth:`PriorPenalty.rounding`), negligible when the
columns are near 0.
"""

from __future__ import annotations

import numpy as np

from ..problem import Problem

__all__ = ["PriorPenalty"]


def _user_map(problem: Problem) -> np.ndarray:
    """A (P, P) float64: the problem's θ to the user's."""
    D, P = problem.W0.shape[1], problem.n_parameters
    A = np.eye(P)
    t = problem.columns
    if t is None:
        return A
    if t.offset.shape[0] != 1:
        raise ValueError("a prior needs one column transform for all models (the rows of groups)")
    A[:D, :D] = np.diag(1.0 / t.scale[0])
    if P > D:
        A[D, :D] = -t.offset[0] / t.scale[0]
    return A


class PriorPenalty:
    """The penalty of the module docstring for the M = B·K neurons of ``problem``, on ``xp``."""

    def __init__(self, problem: Problem, xp=np):
        prior = problem.prior
        B, D, K = problem.W0.shape
        P = problem.n_parameters
        A = _user_map(problem)
        dt = problem.dtype
        self.xp = xp
        self.identity = bool((A == np.eye(P)).all())  # the user's own columns: no map to apply
        self.A = xp.asarray(A.astype(dt))
        self.absA = xp.abs(self.A)
        self.eps = float(np.finfo(dt).eps)
        self.AtA = xp.asarray((A.T @ A).astype(dt))
        anchor = np.asarray(prior.anchor, dtype=np.float64).reshape(B * K, P)
        self.anchor = xp.asarray(anchor.astype(dt))
        self.rho = xp.asarray(np.asarray(prior.shrink, dtype=np.float64).reshape(B * K).astype(dt))
        start = anchor if prior.start is None else np.asarray(prior.start, dtype=np.float64).reshape(B * K, P)
        self.start = np.linalg.solve(A, start.T).T.astype(dt)  # on the problem's columns, (M, P)
        self.rho_host = np.asarray(prior.shrink, dtype=np.float64).reshape(B * K)

    def add(self, f, g, H, theta, neurons):
        """L, ∇L and ∇²L (in θ; g and H may be None) of ``neurons`` at ``theta``, with the penalty."""
        every = neurons.shape[0] == self.rho.shape[0]  # all of them, in order (neurons ascend)
        rho = self.rho if every else self.rho[neurons]
        u = theta - (self.anchor if every else self.anchor[neurons])
        if not self.identity:
            u = theta @ self.A.T - (self.anchor if every else self.anchor[neurons])
        f = f + 0.5 * rho * (u * u).sum(axis=1)
        if g is not None:
            g = g + rho[:, None] * (u if self.identity else u @ self.A)
        if H is not None:
            if self.identity:
                idx = self.xp.arange(H.shape[1])
                H[:, idx, idx] += rho[:, None]
            else:
                H += rho[:, None, None] * self.AtA[None]
        return f, g, H

    def rounding(self, theta, neurons, scaling):
        """(len(neurons),): 64·ε·max |Tᵀ|·ρ·|A|ᵀ·(|A|·|θ| + |a|), a bound on the rounding of the penalty's
        gradient in φ (A·θ − a is a difference of terms that large)."""
        xp = self.xp
        u = xp.abs(theta) @ self.absA.T + xp.abs(self.anchor[neurons])
        size = self.rho[neurons][:, None] * (u @ self.absA)
        return 64 * self.eps * scaling.gradient_size(size, neurons).max(axis=1)
