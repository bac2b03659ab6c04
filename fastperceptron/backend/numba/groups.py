"""The numba backend's "groups" layout: the kernels of ``kernels/numba/groups.py`` (see there).
The same run trains one dataset per model as the "rows" layout: each model's rows as a group.

This module lays the sorted rows out feature-major with a tail of zeros, deals the groups to tasks
of about equal rows (so skewed sizes keep every thread busy), cuts groups above ``BIG`` rows into
pieces, and calls the kernels once per chunk of iterations.
"""

from __future__ import annotations

import numpy as np

from ...machine import cpu_threads
from ...problem import Problem
from ...reference.run import GradientRun
from .. import costs
from ..layout import GroupsLayout, Layout
from .lanes import per_model_layout
from .runtime import call_with_threads, prepare

__all__ = ["Groups", "Rows", "GroupRun", "balanced_tasks", "LANES"]

#: Rows per vector block (blocks of rows are rounded up to it): two AVX2 registers of float64 or
#: float32, one AVX-512 register of float64. Measured on the groups case (AVX2): 8 and 16 within 3 %.
LANES = {"float64": 8, "float32": 16}
_TASKS_PER_THREAD = 16
_GROUP_COST = 8  # a group's fixed cost (its update), in rows


def balanced_tasks(sizes: np.ndarray, n_tasks: int) -> np.ndarray:
    """Task boundaries over the groups, (T + 1,): contiguous runs of groups of about equal cost
    (rows + a fixed cost per group). Groups with size 0 cost nothing (the big ones, trained apart)."""
    cost = np.where(sizes > 0, sizes + _GROUP_COST, 0).astype(np.float64)
    total = np.concatenate([[0.0], np.cumsum(cost)])
    if total[-1] == 0:
        return np.array([0, len(sizes)], dtype=np.int64)
    n_tasks = max(1, min(n_tasks, len(sizes)))
    cuts = np.searchsorted(total, np.linspace(0, total[-1], n_tasks + 1)[1:-1], side="right")
    return np.unique(np.concatenate([[0], cuts, [len(sizes)]])).astype(np.int64)


def _rows_of(p: Problem):
    """(X (R, D), Y (R, K), S (R,) or None, offsets (G + 1,), sizes (G,)): the rows of every model
    end to end. Groups: the rows sorted by group. One dataset per model (the "rows" layout): model
    b's N rows are rows b·N … b·N + N − 1, its targets and weights beside them (shared ones repeated)."""
    if p.grouped:
        return p.X, p.Y, p.sample_weight, p.groups.offsets, p.groups.sizes
    B, N, D = p.X.shape
    K = p.Y.shape[-1]
    Y = np.broadcast_to(p.Y, (B, N, K)).reshape(B * N, K)
    S = None if p.sample_weight is None else np.broadcast_to(p.sample_weight, (B, N)).reshape(B * N)
    return p.X.reshape(B * N, D), Y, S, np.arange(B + 1, dtype=np.int64) * N, np.full(B, N, dtype=np.int64)


class GroupRun(GradientRun):
    """A grouped batch on the Numba kernels; the :class:`~fastperceptron.reference.run.Run` interface."""

    def __init__(self, problem: Problem, threads: int):
        from ...kernels.numba import expmath
        from ...kernels.numba import groups as numba_groups

        p = problem
        dt = p.dtype
        G, D, K = p.W0.shape
        self.kernel = numba_groups
        self.threads = threads
        self.lanes = LANES[dt.name]
        L = self.lanes
        X, Y, S, self.offsets, sizes = _rows_of(p)
        N = X.shape[0]
        self.XT = np.zeros((D, N + L), dtype=dt)
        self.XT[:, :N] = X.T
        self.YT = np.zeros((K, N + L), dtype=dt)
        self.YT[:, :N] = Y.T
        self.S = None
        if S is not None:
            self.S = np.zeros(N + L, dtype=dt)
            self.S[:N] = S
        big = sizes > numba_groups.BIG
        self.big = np.flatnonzero(big).astype(np.int64)
        self.pieces = np.zeros(len(self.big) + 1, dtype=np.int64)
        np.cumsum(-(-sizes[big] // numba_groups.PIECE), out=self.pieces[1:])
        self.tasks = balanced_tasks(np.where(big, 0, sizes), threads * _TASKS_PER_THREAD)
        self.all_tasks = balanced_tasks(sizes, threads * _TASKS_PER_THREAD)
        self.W = np.ascontiguousarray(p.W0, dtype=dt)
        self.C = np.zeros((G, K), dtype=dt)
        self.prior = (np.zeros((G, 0), dt),) * 3  # (A_w (G, D·K), a_c (G, K), ρ (G, K)), empty without one
        if p.prior is not None:  # SPEC §8: pulled toward the parents' models, from the start given
            aw, ac, rho, sw, sc = p.prior.for_steps(D, dt)
            self.prior = (np.ascontiguousarray(aw.reshape(G, D * K)), ac, rho)
            self.W = np.ascontiguousarray(sw)
            self.C = np.ascontiguousarray(sc) if p.bias else self.C
        self.lr = np.ascontiguousarray(p.learning_rate, dtype=dt)
        self.l2 = np.zeros(G, dtype=dt) if p.l2 is None else np.ascontiguousarray(p.l2, dtype=dt)
        self.active = np.ones(G, dtype=np.uint8)
        self.iterations = np.zeros(G, dtype=np.int64)
        self.consts = expmath.constants(dt)
        self.seed_rule = p.rule == "seed"
        self.bias_ = p.bias
        self.tol = dt.type(p.tol if p.tol is not None else 0.0)
        self.denominator = p.loss_denominator()
        self._loss_out = np.empty(G, dtype=dt)
        self.advance(0)  # compile (or load from the cache) now, where a failure can fall back
        self.loss()

    def _call(self, fn, *args):
        call_with_threads(self.threads, fn, *args)

    def advance(self, n: int) -> None:
        k = self.kernel
        common = (self.W, self.C, self.lr, self.l2, self.consts, n, self.seed_rule, self.bias_, self.tol, self.active,
                  self.iterations, self.lanes, *self.prior)
        self._call(k.train_small, self.XT, self.YT, self.S, self.offsets, self.tasks, *common)
        if len(self.big) and n:
            self._call(k.train_big, self.XT, self.YT, self.S, self.offsets, self.big, self.pieces, *common)

    def n_active(self) -> int:
        return int(np.count_nonzero(self.active))

    def loss(self) -> np.ndarray:
        self._call(self.kernel.loss_groups, self.XT, self.YT, self.S, self.offsets, self.all_tasks, self.W, self.C,
                   self.consts, self.lanes, self._loss_out)
        return self._loss_out / self.denominator

    def weights(self) -> np.ndarray:
        return self.W.copy()

    def bias(self) -> np.ndarray | None:
        return self.C.copy() if self.bias_ else None

    def iteration_counts(self) -> np.ndarray:
        return self.iterations.copy()


class Groups(GroupsLayout):
    """Each group trains through a whole chunk of iterations while its rows sit in cache, the groups
    dealt to threads in runs of equal rows, big groups cut into pieces all threads share."""

    backend = "numba"

    def start(self, problem: Problem, threads: int | None = None) -> GroupRun:
        return GroupRun(problem, prepare(threads))


class Rows(Layout):
    """One dataset per model, each model's rows through the groups kernel (its dataset a group):
    per-model datasets of about 100 samples or more (1.3–2.6× the lanes kernel there)."""

    backend, name, data = "numba", "rows", "per-model"

    def automatic(self, problem: Problem) -> bool:
        return per_model_layout(problem) == "rows"

    def estimate(self, problem: Problem, threads: int | None = None) -> float:
        B, D, K = problem.W0.shape
        N = problem.X.shape[-2]
        f32 = problem.dtype.itemsize == 4
        t = B * (costs.ROWS_MODEL + N * K * (costs.ROWS[0] + costs.ROWS[1] * D)) / cpu_threads(threads)
        return t * (costs.FLOAT32["rows"] if f32 else 1.0) * costs.scales()["kernels"][f32]

    def start(self, problem: Problem, threads: int | None = None) -> GroupRun:
        return GroupRun(problem, prepare(threads))
