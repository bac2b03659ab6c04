"""The second-order solvers of SPEC §7: batched Newton and L-BFGS, every model to its optimum.

Each output k of each model b is one neuron j = b·K + k with parameters θ_j = (w_j, c_j) (P = D
weights, plus the bias when there is one). Neuron j minimises, over its own samples,

    L_j(θ) = Σ_n s_n [softplus(z_n) − y_n·z_n] + ½·λ_b·‖w_j‖² ,   z_n = x_n·w_j + c_j ,

the weighted cross-entropy (softplus(z) = log(1 + e^z)) plus the L2 penalty; the bias is not
penalised. Its gradient is X̃ᵀ·(s ⊙ (σ(z) − y)) + λ·(w, 0) and its Hessian
X̃ᵀ·diag(s ⊙ σ(z) ⊙ (1 − σ(z)))·X̃ + diag(λ, …, λ, 0), with X̃ = [X 1].

The drivers here are written once against an array namespace ``xp`` and an *objective* that
evaluates L, its gradient and (for Newton) its Hessian for all neurons at once in the data's
layout (``fastperceptron/objective.py`` for numpy and CuPy, ``fastperceptron/numba_objective.py``
for the Numba kernels). They run the same steps whatever the backend, so backends agree to the
solvers' tolerance.

* ``"newton"``: d = (H + μI)⁻¹·∇L by a batched Cholesky factorisation, then θ −= t·d with
  t = 1, ½, ¼, … the first step that does not increase L (beyond its rounding error, 8ε|L|).
  μ = ε^¾ · mean(diag H) keeps the factorisation finite on a singular Hessian (a constant
  column, a group of one row, separable data); where even that fails, μ grows 100-fold until it
  succeeds. It changes the step, never the optimum.
* ``"lbfgs"``: the direction of the last ``MEMORY`` steps' curvature pairs (two-loop recursion,
  batched over neurons), then a backtracking Armijo line search (t = 1, ½, …); the first step of a
  neuron has length 1. A pair with too little curvature (sᵀy ≤ ε·‖s‖·‖y‖) is skipped.

**Coordinates and start** (:mod:`fastperceptron.solver_start`). Every step below is taken in the
scaled coordinates φ of each neuron (its columns centred and scaled: θ = T·φ), from φ = 0 with the
bias at the targets' log-odds, so that the units of the user's columns (1 to 10¹⁰, offsets) change
neither the path's conditioning nor the optimum, which stays the one of L on the user's columns.
A neuron with a bias and targets of one class (no finite optimum) is recognised there and not
iterated.

**Pooled start** (``pooled_start``). When X and y are shared by all models (bootstrap, seed or
l2 ensembles), every model starts at the optimum θ̄ of the pooled model (mean sample weights,
mean l2, solved first by Newton), and L-BFGS takes the pooled Hessian's inverse as its initial
inverse Hessian. The models' optima lie near θ̄, so they converge in a few near-Newton steps
(measured: 7 instead of 15–18 on a 20,000 × 50 table). The loss being convex, this changes the
path, not the optimum; the initial weights (seeds) then play no part.

A neuron has **converged** when (i) its largest gradient component in φ, divided by its total
sample weight (the gradient of the *mean* loss, scikit-learn's criterion), is at most ``tol``, and
(ii) the step the solver would take from there moves no parameter by more than √tol·(1 + max|φ|).
(ii) keeps separable data with l2 = 0 — whose loss and gradient shrink towards 0 while the weights
grow without bound — from counting as converged. Newton also stops a neuron whose last full step
(t = 1) met (ii) and led to a point that meets (i): its next step would be smaller still
(quadratic convergence), so no further Hessian is formed. A converged neuron freezes. A neuron
whose line search finds no acceptable step in ``MAX_HALVINGS`` halvings also stops (its loss
cannot decrease further at this precision) and is marked unconverged, as is one that reaches
``iterations``. A model has converged when all its K outputs have. ``stop_reasons`` says why each
model stopped (:data:`fastperceptron.result.STOP_REASONS`) and :func:`unconverged_message` words
the one warning about those that did not converge, with the fix of each cause.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem
from .result import STOP_REASONS
from .solver_start import Scaling, one_class_bias, one_class_neurons, start_point, target_sums

__all__ = ["SolverRun", "start", "pooled_start", "cholesky_solve", "STOP_REASONS", "MEMORY", "MAX_HALVINGS"]

_RANKED = ("one-class", "separable", "line-search", "running", "converged")  # worst first

MEMORY = 10        # L-BFGS curvature pairs kept per neuron
MAX_HALVINGS = 40  # line-search halvings before a neuron is declared stalled
ARMIJO = 1e-4      # L-BFGS: sufficient decrease f(θ + t·d) <= f(θ) + ARMIJO·t·∇f·d


def cholesky_solve(H, g, mu, xp=np):
    """Solve (H + μ·I)·d = g for a batch: H (M, P, P) symmetric, g (M, P), μ (M,).

    Returns (d, ok): ok[j] is False where H_j + μ_j·I is not positive definite (then d_j is not
    meaningful). A plain column-by-column Cholesky factorisation, vectorised over the batch, so a
    failure is reported per neuron instead of failing the whole batch.
    """
    M, P, _ = H.shape
    A = H + mu[:, None, None] * xp.eye(P, dtype=H.dtype)[None]
    L = xp.zeros_like(A)
    ok = xp.ones(M, dtype=bool)
    for j in range(P):
        pivot = A[:, j, j] - (L[:, j, :j] ** 2).sum(axis=1)
        ok &= pivot > 0
        L[:, j, j] = xp.sqrt(xp.where(pivot > 0, pivot, 1.0))
        if j + 1 < P:
            below = A[:, j + 1:, j] - xp.matmul(L[:, j + 1:, :j], L[:, j, :j, None])[..., 0]
            L[:, j + 1:, j] = below / L[:, j, j, None]
    z = xp.empty_like(g)
    for j in range(P):  # L·z = g
        z[:, j] = (g[:, j] - (L[:, j, :j] * z[:, :j]).sum(axis=1)) / L[:, j, j]
    d = xp.empty_like(g)
    for j in reversed(range(P)):  # Lᵀ·d = z
        d[:, j] = (z[:, j] - (L[:, j + 1:, j] * d[:, j + 1:]).sum(axis=1)) / L[:, j, j]
    return d, ok


def pooled_start(problem: Problem):
    """For X and y shared by all models (bootstrap, seed or l2 ensembles): the pooled model — mean
    sample weights, mean l2 — solved by Newton in numpy. Returns (θ̄ (K, P), A⁻¹ (K, P, P)) with A
    the pooled loss's Hessian at θ̄, or None where it does not apply or did not converge.

    Every model then starts at θ̄, and L-BFGS takes A⁻¹ as its initial inverse Hessian: the models'
    optima lie near θ̄ and their Hessians near A, so their first steps are close to Newton steps.
    This changes where the models start, not where they end (the loss is convex)."""
    import dataclasses

    from .objective import DenseObjective

    p = problem
    B, D, K = p.W0.shape
    if not p.shared_X or p.Y.ndim != 2 or B == 1:
        return None
    s = p.sample_weight
    s = s.mean(axis=0) if s is not None and s.ndim == 2 else s
    lam = None if p.l2 is None else p.l2[:1] * 0 + p.l2.mean()
    pooled = dataclasses.replace(p, W0=np.zeros((1, D, K), p.dtype), sample_weight=s, l2=lam, solver="newton",
                                 learning_rate=p.learning_rate[:1], seeds=p.seeds[:1], init="uniform")
    run = SolverRun(pooled, DenseObjective(pooled, np), np)
    run.advance(max(p.iterations, 100))
    if not run.converged_.all():
        return None
    _, _, A = run._evaluate(run.phi, "fgh", np.arange(K))
    try:
        inverse = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return None
    return run.phi.copy(), inverse


def start(problem: Problem, xp=np, segment_sum=None) -> "SolverRun":
    """The solver run of ``problem`` on arrays of ``xp`` (numpy or CuPy), in the data's layout."""
    from .objective import DenseObjective, GroupObjective

    if problem.grouped:
        kwargs = {} if segment_sum is None else {"segment_sum": segment_sum}
        return SolverRun(problem, GroupObjective(problem, xp, **kwargs), xp)
    return SolverRun(problem, DenseObjective(problem, xp), xp)


class SolverRun:
    """A batch trained by ``problem.solver`` ("newton" or "lbfgs") on ``objective``; the same
    interface as :class:`fastperceptron.loop.VectorizedRun` plus ``converged()`` and
    ``stop_reasons()``. One iteration is one Newton or L-BFGS step with its line search.

    The run walks in the scaled coordinates φ of :mod:`fastperceptron.solver_start` (``self.phi``;
    the gradient, Hessian, steps and the convergence test are in φ) and evaluates the objective at
    θ = T·φ, the weights on the user's columns."""

    def __init__(self, problem: Problem, objective, xp=np, solve=None):
        p = problem
        self.xp = xp
        self.objective = objective
        # Newton's (H + μI)·d = g for a batch, (d, ok): the reference's, or a backend's kernel
        self.solve = solve if solve is not None else (lambda H, g, mu: cholesky_solve(H, g, mu, xp))
        self.method = p.solver
        B, D, K = p.W0.shape
        self.shape = (B, D, K)
        self.P = D + int(p.bias)
        M = B * K
        dt = p.dtype
        self.eps = float(np.finfo(dt).eps)
        scaling = Scaling(p)
        pos, neg = target_sums(p)
        single = one_class_neurons(p, pos, neg).reshape(-1)              # (M,): no finite optimum
        phi = start_point(p, pos, neg)
        self.H0 = None  # L-BFGS's initial inverse Hessian of output k, (K, P, P), when pooled
        if p.init == "explicit":  # a warm start: the given weights, the bias at the targets' log-odds
            theta = scaling.to_theta(phi, np.arange(M))
            theta[:, :D] = p.W0.transpose(0, 2, 1).reshape(M, D)
            phi = scaling.to_phi(theta, np.arange(M))
        else:
            pooled = pooled_start(p)
            if pooled is not None:
                phi = np.tile(pooled[0], (B, 1))
                self.H0 = xp.asarray(pooled[1])
        phi[single] = 0.0
        if p.bias:
            phi[single, D] = one_class_bias(pos, neg).reshape(-1)[single]  # w = 0: θ = φ
        self.scaling = scaling.on(xp)
        self.phi = xp.asarray(phi.astype(dt))
        lam = np.zeros(B, dtype=dt) if p.l2 is None else p.l2
        self.l2 = xp.asarray(np.repeat(lam, K).astype(dt))                       # (M,)
        self.penalised = xp.asarray((np.arange(self.P) < D).astype(dt))          # (P,): the bias is not
        self.total = xp.asarray(np.repeat(p.loss_denominator() / K, K))         # Σ s per neuron
        self.tol = float(p.tol)
        self.single = xp.asarray(single)
        self.active = ~self.single
        self.converged_ = xp.zeros(M, dtype=bool)
        self.stalled = xp.zeros(M, dtype=bool)   # the line search found no step that lowers L
        self.counts = xp.zeros(M, dtype=xp.int64)
        with np.errstate(over="ignore", under="ignore"):
            self.f, self.g = self._evaluate(self.phi, "fg", xp.arange(M))  # kept by the line searches
        if self.method == "lbfgs":
            self.S = xp.zeros((MEMORY, M, self.P), dtype=dt)
            self.Yc = xp.zeros_like(self.S)
            self.rho = xp.zeros((MEMORY, M), dtype=dt)
            self.slot = 0
            norm = xp.sqrt((self.g ** 2).sum(axis=1))
            self.gamma = 1.0 / xp.where(norm > 0, norm, 1.0)  # without H0, the first step has length 1

    # --- the objective with its penalty, in φ --------------------------------------------------
    def _evaluate(self, phi, need, neurons):
        """L, and its gradient and Hessian in φ as ``need`` says ("f", "fg", "fgh"; "gh": the
        three, where L need not be meaningful), of the neurons ``neurons`` (whole models, K each,
        ascending) at ``phi``."""
        xp = self.xp
        B, D, K = self.shape
        models = None if neurons.shape[0] == B * K else neurons[::K] // K
        theta = self.scaling.to_theta(phi, neurons)
        out = self.objective.evaluate(theta, need, models)
        lam = self.l2[neurons]
        w = theta * self.penalised
        f = out[0] + 0.5 * lam * (w * w).sum(axis=1)
        if need == "f":
            return (f,)
        g = self.scaling.gradient(out[1] + lam[:, None] * w, neurons)
        if need == "fg":
            return f, g
        H = out[2]
        idx = xp.arange(D)
        H[:, idx, idx] += lam[:, None]
        return f, g, self.scaling.hessian(H, neurons)

    def _whole_models(self, mask):
        """Indices of the neurons of every model that has a True in ``mask`` (one per neuron)."""
        xp = self.xp
        K = self.shape[2]
        models = xp.flatnonzero(mask.reshape(-1, K).any(axis=1))
        return (models[:, None] * K + xp.arange(K)).reshape(-1)

    def _stop_converged(self, nsel, phi, g, d) -> None:
        """Freeze the neurons ``nsel`` (at ``phi``, gradient g, next step d) that meet the
        criterion of the module docstring."""
        xp = self.xp
        small_g = xp.abs(g).max(axis=1) <= self.tol * self.total[nsel]
        small_d = xp.abs(d).max(axis=1) <= np.sqrt(self.tol) * (1.0 + xp.abs(phi).max(axis=1))
        active = self.active[nsel]
        done = active & small_g & small_d
        self.converged_[nsel] = self.converged_[nsel] | done
        self.active[nsel] = active & ~done

    # --- iterations --------------------------------------------------------------------------------
    def advance(self, n: int) -> None:
        step = self._newton if self.method == "newton" else self._lbfgs
        # Far from the optimum of raw columns a trial step may reach z ~ ±1e300 (exp underflows
        # to 0, as meant) or a Hessian entry beyond float32: the line search rejects such points.
        with np.errstate(over="ignore", under="ignore"):
            for _ in range(n):
                if not bool(self.active.any()):
                    break
                step()

    def _newton(self) -> None:
        xp = self.xp
        nsel = self._whole_models(self.active)
        phi, f, g = self.phi[nsel], self.f[nsel], self.g[nsel]
        H = self._evaluate(phi, "gh", nsel)[-1]
        idx = xp.arange(self.P)
        diag = H[:, idx, idx]
        mu = self.eps ** 0.75 * xp.maximum(diag.mean(axis=1), np.finfo(np.float64).tiny)
        d, ok = self.solve(H, g, mu)
        for _ in range(20):  # a Hessian singular beyond μ: regularise more, those neurons only
            bad = xp.flatnonzero(~ok)
            if bad.size == 0:
                break
            mu[bad] *= 100.0
            d_bad, ok_bad = self.solve(H[bad], g[bad], mu[bad])
            d[bad], ok[bad] = d_bad, ok_bad
        d = xp.where(ok[:, None], d, 0.0)
        self._stop_converged(nsel, phi, g, d)
        moved, t = self._line_search(nsel, phi, -d, f, xp.zeros_like(f))
        # A full step no longer than the criterion's, to a point whose gradient meets it: the next
        # step (quadratic convergence) would be far smaller, so stop now, without another Hessian.
        full = xp.flatnonzero(moved & (t == 1))
        if full.size:
            self._stop_converged(nsel[full], self.phi[nsel[full]], self.g[nsel[full]], d[full])

    def _lbfgs(self) -> None:
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

    def _line_search(self, nsel, phi0, d, f0, slope):
        """φ = φ0 + t·d for each active neuron of ``nsel`` with the first t in 1, ½, ¼, … where
        L(θ) ≤ L(θ0) + ARMIJO·t·slope + 8ε|L(θ0)| (slope = ∇L·d; 0 for Newton: the loss must not go
        up); neurons that find none stop unconverged. Each halving evaluates only the models still
        searching; the loss and gradient at the new point are kept. Returns the mask over ``nsel``
        of the neurons that moved, and their step sizes t."""
        xp = self.xp
        pending = self.active[nsel]
        moved = xp.zeros_like(pending)
        t = xp.ones(nsel.shape[0], dtype=phi0.dtype)
        bound = f0 + 8 * self.eps * xp.abs(f0)
        local = self._whole_models(pending)
        for _ in range(MAX_HALVINGS):
            if local.shape[0] == 0:
                break
            trial = phi0[local] + t[local, None] * d[local]
            out = self._evaluate(trial, "fg", nsel[local])
            ok = pending[local] & (out[0] <= bound[local] + ARMIJO * t[local] * slope[local])
            hit = local[ok]
            self.phi[nsel[hit]] = trial[ok]
            self.f[nsel[hit]] = out[0][ok]
            self.g[nsel[hit]] = out[1][ok]
            moved[hit] = True
            pending[hit] = False
            t = xp.where(pending, 0.5 * t, t)
            local = self._whole_models(pending)
        self.stalled[nsel] = self.stalled[nsel] | pending  # no step decreases the loss at this precision
        self.active[nsel] = self.active[nsel] & ~pending
        self.counts[nsel] += moved
        return moved, t

    # --- the run's interface -------------------------------------------------------------------
    def _per_model(self, a):
        B, _, K = self.shape
        return a.reshape(B, K)

    def n_active(self) -> int:
        return int(self._per_model(self.active).any(axis=1).sum())

    def converged(self) -> np.ndarray:
        """(B,) True where every output of the model met the convergence criterion."""
        return _to_host(self._per_model(self.converged_).all(axis=1))

    def stop_reasons(self) -> np.ndarray:
        """(B,) why each model stopped, one of :data:`STOP_REASONS` ("running" while it has not):
        its outputs' worst reason, in the order "one-class", "separable", "line-search", "running",
        "converged". "separable": an output without penalty whose gradient met the test while its
        steps did not shrink — its weights grow without bound (no finite optimum)."""
        xp = self.xp
        flat = self._gradient_met() & (self.l2 == 0) & ~self.converged_ & ~self.single
        code = xp.where(self.single, 0, xp.where(flat, 1, xp.where(self.stalled, 2, xp.where(self.active, 3, 4))))
        return np.asarray(_RANKED)[_to_host(self._per_model(code).min(axis=1))]

    def _gradient_met(self):
        return self.xp.abs(self.g).max(axis=1) <= self.tol * self.total

    def parameters(self):
        """θ = T·φ of every neuron, (B·K, P), on the run's arrays: the weights on the user's columns."""
        return self.scaling.to_theta(self.phi, self.xp.arange(self.phi.shape[0]))

    def loss(self):
        """SPEC §5's loss of every model (weighted mean squared error), (B,)."""
        return self.objective.mse(self.parameters())

    def weights(self) -> np.ndarray:
        B, D, K = self.shape
        theta = _to_host(self.parameters()).reshape(B, K, self.P)
        return np.ascontiguousarray(theta[:, :, :D].transpose(0, 2, 1))

    def bias(self) -> np.ndarray | None:
        B, D, K = self.shape
        if self.P == D:
            return None
        return np.ascontiguousarray(_to_host(self.parameters()).reshape(B, K, self.P)[:, :, D])

    def iteration_counts(self) -> np.ndarray:
        return _to_host(self._per_model(self.counts).max(axis=1))


def _to_host(a) -> np.ndarray:
    get = getattr(a, "get", None)
    return get() if get is not None else np.asarray(a)


_ADVICE = {
    "iterations": "reached the iteration cap of {cap:,}: raise iterations",
    "line-search": ("stopped when no step of the line search lowered the loss further (at iteration {at}): "
                    "{fix}"),
    "one-class": ("have targets of one class only (e.g. a small group), so their unpenalised bias has no finite "
                  "optimum: they were not iterated, and got weights 0 and the bias log((Σs·y + ½)/(Σs·(1 − y) + ½)); "
                  "train without bias, or drop them"),
    "separable": ("have separable classes and no penalty, so their weights grow without bound (no finite "
                  "optimum): set l2 > 0 (a finite C in the scikit-learn estimators)"),
    "interrupted": "were interrupted",
}


def warn_unconverged(result, category=None, prefix: str = "", stacklevel: int = 2) -> None:
    """Warn once (``category``, default :class:`fastperceptron.ConvergenceWarning`) about the
    models of ``result`` that did not converge, when there are any and it was not interrupted."""
    import warnings

    from .errors import ConvergenceWarning

    if result.stop_reason is None or not result.complete:
        return
    message = unconverged_message(result.stop_reason, result.iterations, result.params.get("solver", "?"),
                                  result.params.get("iterations", 0))
    if message:
        warnings.warn(prefix + message, category or ConvergenceWarning, stacklevel=stacklevel + 1)


def unconverged_message(reasons: np.ndarray, iterations: np.ndarray, solver: str, cap: int) -> str | None:
    """The one warning about the models that did not converge, naming each cause with its count and
    the fix that works, or None when every model converged. ``reasons`` (B,) are
    ``SolverRun.stop_reasons()`` values; ``iterations`` (B,) the iterations each model ran."""
    missed = reasons != "converged"
    if not missed.any():
        return None
    fix = ("use solver='lbfgs', or scale the features (standardize=True)" if solver == "newton" else
           "use solver='newton', or scale the features (standardize=True)")
    parts = []
    for reason in STOP_REASONS[1:]:
        hit = reasons == reason
        if hit.any():
            at = np.unique(iterations[hit])
            shown = ", ".join(str(int(k)) for k in at[:3]) + (", ..." if at.size > 3 else "")
            parts.append(f"{int(hit.sum()):,} " + _ADVICE[reason].format(cap=cap, at=shown, fix=fix))
    return (f"{int(missed.sum()):,} of {reasons.shape[0]:,} models did not converge (solver {solver!r}; "
            f"result.stop_reason says why for each): " + "; ".join(parts))
