"""L-BFGS (SPEC §7): the direction of the last ``MEMORY`` steps' curvature pairs (the two-loop
recursion, batched over neurons), then a backtracking Armijo line search (t = 1, ½, …). The first
step of a neuron has length 1, or, for an ensemble on shared data, follows the pooled Hessian's
inverse (:func:`fastperceptron.solvers.pooled.pooled_start`). A pair with too little curvature
(sᵀy ≤ ε·‖s‖·‖y‖) is skipped; a direction uphill restarts from the initial matrix."""

from __future__ import annotations

import numpy as np

from .base import SolverRun

__all__ = ["LbfgsRun", "MEMORY"]

MEMORY = 10  # curvature pairs kept per neuron


class LbfgsRun(SolverRun):
    """L-BFGS on the template of :class:`SolverRun`: its state is the last pairs (s, y) of each neuron."""

    def __init__(self, problem, objective, xp=np, solve=None, pooled=None):
        super().__init__(problem, objective, xp, solve, pooled)
        M, dt = self.phi.shape[0], problem.dtype
        self.S = xp.zeros((MEMORY, M, self.P), dtype=dt)
        self.Yc = xp.zeros_like(self.S)
        self.rho = xp.zeros((MEMORY, M), dtype=dt)
        self.slot = 0
        norm = xp.sqrt((self.g ** 2).sum(axis=1))
        self.gamma = 1.0 / xp.where(norm > 0, norm, 1.0)  # without H0, the first step has length 1

    def step(self) -> None:
        xp = self.xp
        g = self.g
        d = -self._two_loop(g)
        slope = (g * d).sum(axis=1)
        uphill = slope >= 0  # lost curvature information: restart from steepest descent
        if bool((uphill & self.active).any()):
            self.rho[:, uphill] = 0
            norm = xp.sqrt((g ** 2).sum(axis=1))
            self.gamma = xp.where(uphill, 1.0 / xp.where(norm > 0, norm, 1.0), self.gamma)
            d = xp.where(uphill[:, None], -self._initial(g), d)
            slope = (g * d).sum(axis=1)
        nsel = self._whole_models(self.active)
        self._stop_converged(nsel, self.phi[nsel], g[nsel], d[nsel])
        old_phi, old_g = self.phi.copy(), g.copy()
        moved, _ = self._line_search(nsel, self.phi[nsel], d[nsel], self.f[nsel], slope[nsel])
        accepted = xp.zeros_like(self.active)
        accepted[nsel] = moved
        # Curvature pairs of the neurons that moved.
        s = self.phi - old_phi
        y = self.g - old_g
        sy = (s * y).sum(axis=1)
        yy = (y * y).sum(axis=1)
        ss = (s * s).sum(axis=1)
        good = accepted & (sy > self.eps * xp.sqrt(ss * yy))
        k = self.slot
        self.S[k] = xp.where(good[:, None], s, 0.0)
        self.Yc[k] = xp.where(good[:, None], y, 0.0)
        self.rho[k] = xp.where(good, 1.0 / xp.where(good, sy, 1.0), 0.0)
        self.gamma = xp.where(good, sy / xp.where(good, yy, 1.0), self.gamma)
        self.slot = (k + 1) % MEMORY

    def _two_loop(self, g):
        """H·g with H the L-BFGS inverse-Hessian estimate of each neuron (empty pairs have ρ = 0)."""
        q = g.copy()
        order = [(self.slot - 1 - i) % MEMORY for i in range(MEMORY)]  # newest first
        alpha = {}
        for i in order:
            alpha[i] = self.rho[i] * (self.S[i] * q).sum(axis=1)
            q -= alpha[i][:, None] * self.Yc[i]
        r = self._initial(q)
        for i in reversed(order):
            beta = self.rho[i] * (self.Yc[i] * r).sum(axis=1)
            r += (alpha[i] - beta)[:, None] * self.S[i]
        return r

    def _initial(self, q):
        """The initial inverse Hessian times q: H0·q with the pooled H0, else γ·q (γ = sᵀy/yᵀy of
        the newest pair, 1/‖∇L‖ before the first)."""
        if self.H0 is None:
            return self.gamma[:, None] * q
        B, D, K = self.shape
        return self.xp.einsum("kpq,bkq->bkp", self.H0, q.reshape(B, K, self.P)).reshape(-1, self.P)
