"""The solvers' objective on the Numba kernels (``kernels/numba/objective.py``), for the "numba" backend.

Two forms, chosen by the data's layout (``objective(problem, threads)``):

* X shared by all models: :class:`NumbaDenseObjective`, the products X·Wᵀ and Xᵀ·Δ in BLAS over
  all selected neurons at once and the elementwise middle in one fused Numba pass (the reference's
  ``DenseObjective`` with its ``_pointwise`` replaced);
* one X per model, or groups: :class:`NumbaRowsObjective`, each model walking its own rows once
  per evaluation (the rows kernel), built from the Problem without copying X.

Both answer the calls of ``fastperceptron.reference.objective``: ``evaluate(theta, need, models)`` and
``mse(theta)``; ``cholesky_solve`` is Newton's step on its kernel. The rest of the solvers' steps
(L-BFGS, line search) are those of ``fastperceptron/solvers/``; :class:`Solver` is the layout.
"""

from __future__ import annotations

import numpy as np

from ...problem import Problem
from ...reference.objective import DenseObjective
from ..layout import SolverLayout
from .groups import balanced_tasks
from .runtime import call_with_threads, compile_errors, prepare

__all__ = ["Solver", "objective", "cholesky_solve", "NumbaDenseObjective", "NumbaRowsObjective"]

_TASKS_PER_THREAD = 4


def objective(problem: Problem, threads: int):
    """The Numba objective for ``problem``'s layout."""
    if problem.shared_X and not problem.grouped:
        return NumbaDenseObjective(problem, threads)
    return NumbaRowsObjective(problem, threads)


def cholesky_solve(H, g, mu, threads: int = 1):
    """Newton's (H + μI)·d = g of a batch on the kernel ``kernels/numba/objective.cholesky_solve``: (d, ok),
    as ``fastperceptron.solvers.cholesky_solve``."""
    from ...kernels.numba import objective as numba_solvers

    H, g = np.ascontiguousarray(H), np.ascontiguousarray(g)
    d, ok = np.empty_like(g), np.empty(g.shape[0], dtype=bool)
    call_with_threads(threads, numba_solvers.cholesky_solve, H, g, np.ascontiguousarray(mu, dtype=H.dtype),
                  np.empty_like(H), d, ok)
    return d, ok


class NumbaDenseObjective(DenseObjective):
    """Shared X: BLAS products around the fused pass ``kernels/numba/objective.dense``."""

    def __init__(self, problem: Problem, threads: int):
        from ...kernels.numba import objective as numba_solvers

        super().__init__(problem, np)
        self.kernel, self.threads = numba_solvers, threads
        self.consts = numba_solvers.constants(problem.dtype)
        N = self.X.shape[0]
        B, _, K = self.shape
        self.Y2 = self.Y.reshape(N, -1)                                 # (N, B·K) or (N, K)
        self.S2 = np.empty((N, 0), problem.dtype) if self.s is None else self.s.reshape(N, -1)  # (N, B|1)
        self._all_models = np.arange(B)
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()

    def _columns(self, models, m):
        """(y_idx, s_idx) of the fused pass for the m·K neurons of ``models``: the column of Y2 and
        of S2 each neuron reads (empty: the neuron's own column)."""
        B, _, K = self.shape
        k = np.tile(np.arange(K), m)
        b = np.repeat(self._all_models if models is None else models, K)
        if self.Y2.shape[1] == K:
            y_idx = k
        else:
            y_idx = np.empty(0, np.int64) if models is None else b * K + k
        s_idx = b if self.S2.shape[1] > 1 else np.empty(0, np.int64)
        return y_idx.astype(np.int64), s_idx.astype(np.int64)

    def _pointwise(self, Z, c, need, models, rows=slice(None)):
        k = self.kernel
        n, m, K = Z.shape
        Z = np.ascontiguousarray(Z.reshape(n, m * K))
        c = np.zeros(m * K, Z.dtype) if c is None else np.ascontiguousarray(c.reshape(m * K))
        y_idx, s_idx = self._columns(models, m)
        code = {"f": k.LOSS, "fg": k.GRADIENT, "fgh": k.HESSIAN, "gh": k.HESSIAN, "mse": k.SQUARED_ERROR}[need]
        R = np.empty_like(Z) if need in ("fgh", "gh") else np.empty((0, 0), Z.dtype)
        f = np.zeros(m * K, Z.dtype)
        k.dense(Z, R, self.Y2[rows], self.S2[rows], c, y_idx, s_idx, f, self.consts, code)
        f = f.reshape(m, K)
        if need in ("f", "mse"):
            return f, None, None
        return f, Z, (R if need in ("fgh", "gh") else None)

    # Threads: each takes a block of whole models and runs the products (BLAS on one thread) and
    # the fused pass on them alone. Every neuron's sums then run in the same order whatever the
    # number of threads, and BLAS's idle threads do not spin against Numba's (measured 2x slower).
    def evaluate(self, theta, need, models=None):
        return self._split(lambda th, mods: DenseObjective.evaluate(self, th, need, mods), theta, models)

    def _squared_errors(self, theta, models):
        return self._split(lambda th, mods: (DenseObjective._squared_errors(self, th, mods),), theta, models)[0]

    def compile(self, theta) -> None:
        """Compile the kernel (or load it from the cache) on the first model alone."""
        K = self.shape[2]
        DenseObjective._squared_errors(self, theta[:K], np.arange(1))

    def _split(self, fn, theta, models):
        from concurrent.futures import ThreadPoolExecutor

        B, _, K = self.shape
        chosen = self._all_models if models is None else np.asarray(models)
        blocks = min(self.threads, len(chosen))
        with compile_errors():
            if blocks <= 1:
                return fn(theta, models)
            cuts = np.linspace(0, len(chosen), blocks + 1).astype(np.int64)
            with self._blas.limit(limits=1, user_api="blas"), ThreadPoolExecutor(blocks) as pool:
                parts = list(pool.map(lambda i: fn(theta[cuts[i] * K:cuts[i + 1] * K], chosen[cuts[i]:cuts[i + 1]]),
                                      range(blocks)))
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(len(parts[0])))


class NumbaRowsObjective:
    """Per-model X or groups: the rows kernel ``kernels/numba/objective.evaluate``."""

    def __init__(self, problem: Problem, threads: int):
        from ...kernels.numba import objective as numba_solvers

        p = problem
        dt = p.dtype
        B, D, K = p.W0.shape
        self.kernel, self.threads = numba_solvers, threads
        self.shape, self.P = (B, D, K), D + int(p.bias)
        s = p.sample_weight
        if p.grouped:
            starts = p.groups.offsets[:-1].astype(np.int64)
            self.X, self.xstart = p.X, starts
            self.nrows = np.diff(p.groups.offsets).astype(np.int64)
            self.Y, self.ystart = p.Y, starts
            self.S, self.sstart = (np.empty(0, dt), starts) if s is None else (s, starts)
        else:  # one X per model, (B, N, D)
            N = p.X.shape[1]
            start = np.arange(B, dtype=np.int64) * N
            self.X, self.xstart = p.X.reshape(B * N, D), start
            self.nrows = np.full(B, N, dtype=np.int64)
            self.Y = p.Y.reshape(-1, K)
            self.ystart = start if p.Y.ndim == 3 else np.zeros(B, np.int64)
            if s is None:
                self.S, self.sstart = np.empty(0, dt), np.zeros(B, np.int64)
            else:
                self.S = s.reshape(-1)
                self.sstart = start if s.ndim == 2 else np.zeros(B, np.int64)
        self.consts = numba_solvers.constants(dt)
        self.denominator = p.loss_denominator()
        self.all_models = np.arange(B, dtype=np.int64)
        self.all_tasks = self._tasks(self.all_models)
        self.hessian = p.solver == "newton"

    def _tasks(self, models):
        return balanced_tasks(self.nrows[models], self.threads * _TASKS_PER_THREAD)

    def _run(self, theta, need, models):
        B, _, K = self.shape
        if models is None:
            models, tasks = self.all_models, self.all_tasks
        else:
            models = np.asarray(models, dtype=np.int64)
            tasks = self._tasks(models)
        M, P = theta.shape
        dt = theta.dtype
        f = np.empty(M, dt)
        g = np.empty((M, P), dt)
        H = np.empty((M, P, P) if need in (self.kernel.HESSIAN, self.kernel.CURVATURE) else (M, 0, 0), dt)
        call_with_threads(self.threads, self.kernel.evaluate, self.X, self.xstart, self.nrows, self.Y, self.ystart,
                      self.S, self.sstart, models, np.ascontiguousarray(theta), K, tasks, need, self.consts, f, g, H)
        return f, g, H

    def evaluate(self, theta, need, models=None):
        k = self.kernel
        f, g, H = self._run(theta, {"f": k.LOSS, "fg": k.GRADIENT, "fgh": k.HESSIAN, "gh": k.CURVATURE}[need],
                            models)
        return {"f": (f,), "fg": (f, g), "fgh": (f, g, H), "gh": (f, g, H)}[need]

    def compile(self, theta) -> None:
        """Compile the kernel (or load it from the cache) on the first model alone."""
        self._run(theta[:self.shape[2]], self.kernel.SQUARED_ERROR, np.arange(1))

    def mse(self, theta):
        f, _, _ = self._run(theta, self.kernel.SQUARED_ERROR, None)
        B, _, K = self.shape
        return f.reshape(B, K).sum(axis=1) / self.denominator


class Solver(SolverLayout):
    """The second-order solvers on the Numba kernels: shared X through BLAS and the fused pass,
    per-model data and groups through the rows kernel, Newton's step as a batched Cholesky kernel."""

    backend = "numba"

    def start(self, problem: Problem, threads: int | None = None):
        import functools

        from ... import solvers

        threads = prepare(threads)
        fast = objective(problem, threads)
        solve = functools.partial(cholesky_solve, threads=threads)
        run = solvers.start(problem, fast, solve=solve)
        fast.compile(run.parameters())  # now, where a failure can fall back
        if problem.solver == "newton":
            solve(np.eye(1, dtype=problem.dtype)[None], np.ones((1, 1), problem.dtype), np.zeros(1))
        return run
