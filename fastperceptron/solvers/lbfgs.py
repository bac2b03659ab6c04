"""L-BFGS (SPEC §7): the direction of the last ``MEMORY`` steps' curvature pairs (the two-loop
recursion, batched over neurons), then a backtracking Armijo line search (t = 1, ½, …). A pair with
too little curvature (sᵀy ≤ ε·‖s‖·‖y‖) is skipped; a direction uphill restarts from the initial
matrix.

**Preconditioned.** The pairs correct an initial inverse Hessian H0. For an ensemble on shared
data it is the pooled Hessian's inverse (:func:`fastperceptron.solvers.pooled.pooled_start`);
otherwise, where it is small (P ≤ ``PRECONDITION_MAX_P`` parameters and M·P² ≤
``PRECONDITION_MAX_VALUES``), each neuron's own Hessian inverted at its start and again every
max(``REFRESH``, P/4) iterations where it is then (the pairs restart on it): one Hessian evaluation,
a Newton iteration's cost, per that many iterations. The scaled coordinates make the columns' units irrelevant, but not
their correlations: on real tables (scikit-learn's breast-cancer table, unscaled, whose radius,
perimeter and area are nearly collinear) ten pairs on top of γ·I needed 285 to 1,633 iterations and
stopped 6 % off at the default cap of 100, and its step test (ii) could call a point 6·10⁻⁶ off
converged; with the Hessian as H0 the steps are near-Newton and d ≈ H⁻¹·∇L, so the test measures
the distance to the optimum. Larger problems keep γ·I (γ = sᵀy/yᵀy of the newest pair, the first
step of length 1)."""

from __future__ import annotations

import numpy as np

from .base import SolverRun

__all__ = ["LbfgsRun", "MEMORY", "PRECONDITION_MAX_P", "PRECONDITION_MAX_VALUES"]

MEMORY = 10  # curvature pairs kept per neuron
PRECONDITION_MAX_P = 256         # the start's Hessian as H0 up to this many parameters per neuron ...
PRECONDITION_MAX_VALUES = 1 << 23  # ... and M·P² values (64 MB in float64)
REFRESH = 10  # iterations between two evaluations of H0 (at least P/4: a Hessian costs ~P/2 gradients)


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
        self.steps = 0
        self.Hinv = None  # (M, P, P): each neuron's own H0, the inverse of its Hessian (refreshed)
        if self.H0 is None and self.P <= PRECONDITION_MAX_P and M * self.P ** 2 <= PRECONDITION_MAX_VALUES:
            self.Hinv = self._inverse_hessian(xp.arange(M))

    def _inverse_hessian(self, nsel):
        """(H + μI)⁻¹ of the neurons ``nsel`` where they are (μ = ε^¾·mean(diag H): a
        preconditioner, finite on a singular Hessian); γ·I where even that fails."""
        xp = self.xp
        P = self.P
        with np.errstate(over="ignore", under="ignore"):
            H = self.evaluate(self.phi[nsel], "gh", nsel)[-1]
        idx = xp.arange(P)
        H[:, idx, idx] += self.eps ** 0.75 * xp.maximum(H[:, idx, idx].mean(axis=1), np.finfo(np.float64).tiny)[:, None]
        try:
            inverse = xp.linalg.inv(H)
        except np.linalg.LinAlgError:  # one singular beyond μ: each on its own
            inverse = xp.stack([_inverse_or_nan(h, xp) for h in H])
        bad = ~xp.isfinite(inverse).all(axis=(1, 2))
        if bool(bad.any()):  # no usable curvature there: γ·I, as without a preconditioner
            inverse[bad] = xp.eye(P, dtype=H.dtype)[None] * self.gamma[nsel][bad][:, None, None]
        return inverse

    def step(self) -> None:
        xp = self.xp
        self.steps += 1
        if self.Hinv is not None and self.steps % max(REFRESH, self.P // 4) == 0:  # the curvature here now
            nsel = self._whole_models(self.active)
            self.Hinv[nsel] = self._inverse_hessian(nsel)
            self.rho[:, nsel] = 0
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
        if self.Hinv is not None:
            return self.xp.einsum("mpq,mq->mp", self.Hinv, q)
        if self.H0 is None:
            return self.gamma[:, None] * q
        B, D, K = self.shape
        return self.xp.einsum("kpq,bkq->bkp", self.H0, q.reshape(B, K, self.P)).reshape(-1, self.P)


def _inverse_or_nan(h, xp):
    try:
        return xp.linalg.inv(h)
    except np.linalg.LinAlgError:
        return xp.full_like(h, np.nan)
