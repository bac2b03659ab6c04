"""Newton's method (SPEC §7): d = (H + μI)⁻¹·∇L by a batched Cholesky factorisation, then φ −= t·d
with t = 1, ½, ¼, … the first step that does not increase L (beyond its rounding error, 8ε|L|).
μ = ε^¾ · mean(diag H) keeps the factorisation finite on a singular Hessian (a constant column, a
group of one row, separable data); where even that fails, μ grows 100-fold until it succeeds. It
changes the step, never the optimum. A neuron pulled toward a parent (SPEC §8, ρ > 0) has a positive
definite Hessian and starts with μ = 0. A step already within the convergence test's length is
taken whole, without the line search: the loss it changes is below the loss's rounding. A neuron also stops after a full step (t = 1) no longer than
the convergence test's to a point whose gradient meets it: the next step (quadratic convergence)
would be far smaller, so no further Hessian is formed."""

from __future__ import annotations

import numpy as np

from .base import SolverRun

__all__ = ["NewtonRun"]


class NewtonRun(SolverRun):
    """The Newton step of the module docstring, on the template of :class:`SolverRun`."""

    def step(self) -> None:
        xp = self.xp
        nsel = self._whole_models(self.active)
        phi, f, g = self.phi[nsel], self.f[nsel], self.g[nsel]
        H = self.evaluate(phi, "gh", nsel)[-1]
        idx = xp.arange(self.P)
        diag = H[:, idx, idx]
        mu0 = self.eps ** 0.75 * xp.maximum(diag.mean(axis=1), np.finfo(np.float64).tiny)
        # A penalty (λ > 0, or a pull toward a parent, ρ > 0) makes H positive definite, but on raw
        # columns it spreads H's diagonal over orders of magnitude (λ/σ² in φ): μ would swamp its small
        # directions and Newton would crawl there linearly. μ = 0 then; a failed factorisation retries.
        mu = xp.where(~self.unpenalised[nsel], 0.0, mu0)
        d, ok = self.solve(H, g, mu)
        for _ in range(20):  # a Hessian singular beyond μ: regularise more, those neurons only
            bad = xp.flatnonzero(~ok)
            if bad.size == 0:
                break
            mu[bad] = xp.where(mu[bad] == 0, mu0[bad], 100.0 * mu[bad])
            d_bad, ok_bad = self.solve(H[bad], g[bad], mu[bad])
            d[bad], ok[bad] = d_bad, ok_bad
        d = xp.where(ok[:, None], d, 0.0)
        self._stop_converged(nsel, phi, g, d)
        # A step already within the test's length (ii) changes L by about g·d, below L's rounding: the
        # line search cannot judge it, so it is taken whole (quadratic convergence then meets (i)).
        tiny = xp.abs(d).max(axis=1) <= np.sqrt(self.tol) * (1.0 + xp.abs(phi).max(axis=1))
        moved, t = self._line_search(nsel, phi, -d, f, xp.zeros_like(f), accept=tiny & ok)
        self._stop_settled(nsel, f)
        # A full step no longer than the criterion's, to a point whose gradient meets it: the next
        # step (quadratic convergence) would be far smaller, so stop now, without another Hessian.
        full = xp.flatnonzero(moved & (t == 1))
        if full.size:
            self._stop_converged(nsel[full], self.phi[nsel[full]], self.g[nsel[full]], d[full])
