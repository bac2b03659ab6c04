"""The second-order solvers of SPEC §7 — the template: batched steps to every model's optimum.

Each output k of each model b is one neuron j = b·K + k with parameters θ_j = (w_j, c_j) (P = D
weights, plus the bias when there is one). Neuron j minimises, over its own samples,

    L_j(θ) = Σ_n s_n [softplus(z_n) − y_n·z_n] + ½·λ_b·‖w_j‖² ,   z_n = x_n·w_j + c_j ,

the weighted cross-entropy (softplus(z) = log(1 + e^z)) plus the L2 penalty; the bias is not
penalised. A problem with a :class:`~fastperceptron.problem.Prior` (partial pooling, SPEC §8) adds
½·ρ·‖θ − θ_parent‖², the bias included (:mod:`.prior`), and starts each neuron at its parent's θ. Its gradient is X̃ᵀ·(s ⊙ (σ(z) − y)) + λ·(w, 0) and its Hessian
X̃ᵀ·diag(s ⊙ σ(z) ⊙ (1 − σ(z)))·X̃ + diag(λ, …, λ, 0), with X̃ = [X 1].

The template here (:class:`SolverRun`) is written once against an array namespace ``xp`` and an
*objective* that evaluates L, its gradient and (for Newton) its Hessian for all neurons at once in
the data's layout (``fastperceptron/reference/objective.py`` for numpy and CuPy,
``fastperceptron/backend/numba/objective.py`` for the Numba kernels); its steps are Newton's
(:mod:`.newton`) and L-BFGS's (:mod:`.lbfgs`). They run the same steps whatever the backend, so
backends agree to the solvers' tolerance; the solvers never import a backend.

**Coordinates and start** (:mod:`.start`). Every step below is taken in the
scaled coordinates φ of each neuron (its columns centred and scaled: θ = T·φ), from φ = 0 with the
bias at the targets' log-odds, so that the units of the user's columns (1 to 10¹⁰, offsets) change
neither the path's conditioning nor the optimum, which stays the one of L on the user's columns.
A neuron with a bias and targets of one class (no finite optimum) is recognised there and not
iterated.

**Pooled start** (:func:`.pooled.pooled_start`). When X and y are shared by all models (bootstrap, seed or
l2 ensembles), every model starts at the optimum θ̄ of the pooled model (mean sample weights,
mean l2, solved first by Newton), and L-BFGS takes the pooled Hessian's inverse as its initial
inverse Hessian. The models' optima lie near θ̄, so they converge in a few near-Newton steps
(measured: 7 instead of 15–18 on a 20,000 × 50 table). The loss being convex, this changes the
path, not the optimum; the initial weights (seeds) then play no part.

A neuron has **converged** when (i) its largest gradient component in φ, divided by its total
sample weight (the gradient of the *mean* loss, scikit-learn's criterion), is at most ``tol``, and
(ii) the step the solver would take from there moves no parameter by more than √tol·(1 + max|φ|).
A penalised neuron (λ > 0 or ρ > 0: it has a finite optimum) that meets (i) and whose iteration
could not lower its loss — its line search found no lower point, or only points equal to rounding —
has also converged: it is at its optimum to working precision, though a direction of curvature ~0
(raw columns of a group of five rows, where λ/σ² is 10⁻¹⁴) keeps its step long (ii).
(ii) keeps separable data with l2 = 0 — whose loss and gradient shrink towards 0 while the weights
grow without bound — from counting as converged; so does a last check of an unpenalised neuron that
meets both, L(2θ) < L(θ) (at a minimum of a convex loss, doubling θ cannot lower it: the data are
separable, and the neuron stops as such, unconverged). Newton also stops a neuron whose last full step
(t = 1) met (ii) and led to a point that meets (i): its next step would be smaller still
(quadratic convergence), so no further Hessian is formed. A converged neuron freezes. A neuron
whose line search finds no acceptable step in ``MAX_HALVINGS`` halvings also stops (its loss
cannot decrease further at this precision) and is marked unconverged, as is one that reaches
``iterations``. A model has converged when all its K outputs have. ``stop_reasons`` says why each
model stopped (:data:`fastperceptron.result.STOP_REASONS`) and :func:`.outcome.unconverged_message` words
the one warning about those that did not converge, with the fix of each cause.
"""

from __future__ import annotations

import numpy as np

from ..maths import to_host
from ..problem import Problem
from .prior import PriorPenalty
from .start import Scaling, one_class_bias, one_class_neurons, start_point, target_sums

__all__ = ["SolverRun", "cholesky_solve", "MAX_HALVINGS"]

_RANKED = ("one-class", "separable", "line-search", "running", "converged")  # worst first
MAX_HALVINGS = 40  # line-search halvings before a neuron is declared stalled
ARMIJO = 1e-4      # sufficient decrease f(θ + t·d) <= f(θ) + ARMIJO·t·∇f·d (L-BFGS; 0 slope for Newton)


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



class SolverRun:
    """A batch trained to its optimum on ``objective``; the :class:`~fastperceptron.reference.run.Run`
    interface. The template of every second-order solver (scikit-learn's ``NewtonSolver`` is the
    model): :meth:`step` — a direction (:class:`~.newton.NewtonRun`, :class:`~.lbfgs.LbfgsRun`),
    the stop test (:meth:`_stop_converged`), a line search (:meth:`_line_search`) — with the
    objective and its penalty evaluated in scaled coordinates (:meth:`evaluate`).

    The run walks in the scaled coordinates φ of :mod:`fastperceptron.solvers.start` (``self.phi``;
    the gradient, Hessian, steps and the convergence test are in φ) and evaluates the objective at
    θ = T·φ, the weights on the user's columns."""

    def __init__(self, problem: Problem, objective, xp=np, solve=None, pooled=None):
        p = problem
        self.xp = xp
        self.objective = objective
        # Newton's (H + μI)·d = g for a batch, (d, ok): the reference's, or a backend's kernel
        self.solve = solve if solve is not None else (lambda H, g, mu: cholesky_solve(H, g, mu, xp))
        B, D, K = p.W0.shape
        self.shape = (B, D, K)
        self.P = D + int(p.bias)
        M = B * K
        dt = p.dtype
        self.eps = float(np.finfo(dt).eps)
        scaling = Scaling(p)
        pos, neg = target_sums(p)
        self.prior = None if p.prior is None else PriorPenalty(p, xp)  # SPEC §8: toward a parent
        single = one_class_neurons(p, pos, neg).reshape(-1)              # (M,): no finite optimum
        if self.prior is not None:
            single &= self.prior.rho_host == 0  # pulled toward its parent, the bias has an optimum
        phi = start_point(p, pos, neg)
        self.H0 = None  # L-BFGS's initial inverse Hessian of output k, (K, P, P), when pooled
        if self.prior is not None:  # at the parent's model: the optimum as shrink → ∞
            phi = scaling.to_phi(self.prior.start.copy(), np.arange(M))
        elif p.init == "explicit":  # a warm start: the given weights, the bias at the targets' log-odds
            theta = scaling.to_theta(phi, np.arange(M))
            theta[:, :D] = p.W0.transpose(0, 2, 1).reshape(M, D)
            phi = scaling.to_phi(theta, np.arange(M))
        elif pooled is not None:  # (φ̄, A⁻¹) of the pooled model (solvers.pooled): every model starts there
            phi = np.tile(pooled[0], (B, 1))
            self.H0 = xp.asarray(pooled[1])
        phi[single] = 0.0
        if p.bias:
            phi[single, D] = one_class_bias(pos, neg).reshape(-1)[single]  # w = 0: θ = φ
        self.scaling = scaling.on(xp)
        self.phi = xp.asarray(phi.astype(dt))
        lam = np.zeros(B, dtype=dt) if p.l2 is None else p.l2
        self.l2 = xp.asarray(np.repeat(lam, K).astype(dt))                       # (M,)
        self.unpenalised = self.l2 == 0  # no finite optimum on separable data
        if self.prior is not None:
            self.unpenalised &= self.prior.rho == 0
        self.penalised = xp.asarray((np.arange(self.P) < D).astype(dt))          # (P,): the bias is not
        self.total = xp.asarray(np.repeat(p.loss_denominator() / K, K))         # Σ s per neuron
        self.tol = float(p.tol)
        self.single = xp.asarray(single)
        self.active = ~self.single
        self.converged_ = xp.zeros(M, dtype=bool)
        self.stalled = xp.zeros(M, dtype=bool)   # the line search found no step that lowers L
        self.separable_ = xp.zeros(M, dtype=bool)  # met the test, but L(2θ) < L(θ): separable, no optimum
        self.counts = xp.zeros(M, dtype=xp.int64)
        with np.errstate(over="ignore", under="ignore"):
            self.f, self.g = self.evaluate(self.phi, "fg", xp.arange(M))  # kept by the line searches

    # --- the objective with its penalty, in φ --------------------------------------------------
    def evaluate(self, phi, need, neurons):
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
        g = None if need == "f" else out[1] + lam[:, None] * w
        H = None
        if need not in ("f", "fg"):
            H = out[2]
            idx = xp.arange(D)
            H[:, idx, idx] += lam[:, None]
        if self.prior is not None:
            f, g, H = self.prior.add(f, g, H, theta, neurons)
        if need == "f":
            return (f,)
        g = self.scaling.gradient(g, neurons)
        if need == "fg":
            return f, g
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
        size = xp.abs(g).max(axis=1)
        small_g = size <= self.tol * self.total[nsel]
        small_d = xp.abs(d).max(axis=1) <= np.sqrt(self.tol) * (1.0 + xp.abs(phi).max(axis=1))
        if self.prior is not None:  # no finer than the rounding of the penalty's gradient it cancels
            near = xp.flatnonzero(small_d & ~small_g)
            if near.shape[0]:
                floor = self.prior.rounding(self.scaling.to_theta(phi[near], nsel[near]), nsel[near], self.scaling)
                small_g[near] = size[near] <= self.tol * self.total[nsel[near]] + floor
        active = self.active[nsel]
        done = active & small_g & small_d
        ray = done & self.unpenalised[nsel]
        if bool(ray.any()):  # unpenalised: a minimum, or separable data seen from far out along a ray?
            doubled = self.evaluate(2 * phi, "f", nsel)[0]
            ray &= doubled < self.f[nsel]  # L(2θ) < L(θ): no minimum at θ (convexity); none finite at all
            self.separable_[nsel] = self.separable_[nsel] | ray
        self.converged_[nsel] = self.converged_[nsel] | (done & ~ray)
        self.active[nsel] = active & ~done

    def _stop_settled(self, nsel, f_before) -> None:
        """The second way to converge (module docstring): the penalised neurons of ``nsel`` that meet
        (i) and whose loss this iteration did not lower (``f_before``: their loss before it)."""
        xp = self.xp
        settled = (self.f[nsel] >= f_before) & ~self.unpenalised[nsel] & ~self.single[nsel] & (
            xp.abs(self.g[nsel]).max(axis=1) <= self.tol * self.total[nsel]) & ~self.converged_[nsel]
        settled &= self.active[nsel] | self.stalled[nsel]
        if bool(settled.any()):
            self.converged_[nsel] = self.converged_[nsel] | settled
            self.stalled[nsel] = self.stalled[nsel] & ~settled
            self.active[nsel] = self.active[nsel] & ~settled

    # --- iterations --------------------------------------------------------------------------------
    def advance(self, n: int) -> None:
        # Far from the optimum of raw columns a trial step may reach z ~ ±1e300 (exp underflows
        # to 0, as meant) or a Hessian entry beyond float32: the line search rejects such points.
        with np.errstate(over="ignore", under="ignore"):
            for _ in range(n):
                if not bool(self.active.any()):
                    break
                self.step()

    def step(self) -> None:
        """One iteration of every active neuron: a direction, the stop test, a line search."""
        raise NotImplementedError

    def _line_search(self, nsel, phi0, d, f0, slope, accept=None):
        """φ = φ0 + t·d for each active neuron of ``nsel`` with the first t in 1, ½, ¼, … where
        L(θ) ≤ L(θ0) + ARMIJO·t·slope + 8ε|L(θ0)| (slope = ∇L·d; 0 for Newton: the loss must not go
        up); neurons that find none stop unconverged. Each halving evaluates only the models still
        searching; the loss and gradient at the new point are kept. ``accept`` (over ``nsel``): the
        neurons whose full step is taken without the test. Returns the mask over ``nsel`` of the
        neurons that moved, and their step sizes t."""
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
            out = self.evaluate(trial, "fg", nsel[local])
            ok = pending[local] & (out[0] <= bound[local] + ARMIJO * t[local] * slope[local])
            if accept is not None:
                ok |= pending[local] & accept[local] & (t[local] == 1)
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
        return to_host(self._per_model(self.converged_).all(axis=1))

    def stop_reasons(self) -> np.ndarray:
        """(B,) why each model stopped, one of :data:`STOP_REASONS` ("running" while it has not):
        its outputs' worst reason, in the order "one-class", "separable", "line-search", "running",
        "converged". "separable": an output without penalty whose gradient met the test while its
        steps did not shrink — its weights grow without bound (no finite optimum)."""
        xp = self.xp
        flat = (self._gradient_met() & self.unpenalised & ~self.converged_ & ~self.single) | self.separable_
        code = xp.where(self.single, 0, xp.where(flat, 1, xp.where(self.stalled, 2, xp.where(self.active, 3, 4))))
        return np.asarray(_RANKED)[to_host(self._per_model(code).min(axis=1))]

    def _gradient_met(self):
        return self.xp.abs(self.g).max(axis=1) <= self.tol * self.total

    def parameters(self):
        """θ = T·φ of every neuron, (B·K, P), on the run's arrays: the weights on the user's columns."""
        return self.scaling.to_theta(self.phi, self.xp.arange(self.phi.shape[0]))

    def loss(self) -> np.ndarray:
        """SPEC §5's loss of every model (weighted mean squared error), (B,), on the host."""
        return to_host(self.objective.mse(self.parameters()))

    def weights(self) -> np.ndarray:
        B, D, K = self.shape
        theta = to_host(self.parameters()).reshape(B, K, self.P)
        return np.ascontiguousarray(theta[:, :, :D].transpose(0, 2, 1))

    def bias(self) -> np.ndarray | None:
        B, D, K = self.shape
        if self.P == D:
            return None
        return np.ascontiguousarray(to_host(self.parameters()).reshape(B, K, self.P)[:, :, D])

    def iteration_counts(self) -> np.ndarray:
        return to_host(self._per_model(self.counts).max(axis=1))
