"""The reference loop for groups (SPEC §6): one model per group of rows, by segment sums.

The rows are sorted by group (``Problem.groups``), so model g owns the rows ``offsets[g]:offsets[g+1]``
and every sum over a model's rows is a segment sum over one contiguous range, in the rows' original
order. One iteration, for all G models at once, written as plainly as the maths (README, "The maths"):

    z_n = Σ_d x_nd · W[g(n), d, :] + c[g(n)]        (g(n): the group of row n; d in order)
    o_n = σ(z_n) ;  δ_n = (y_n − o_n) ⊙ o_n ⊙ (1 − o_n)   rule "seed",   δ_n = y_n − o_n   "logistic"
    δ_n = δ_n · s_n                                  (row weights)
    W[g, d, :] += η_g · (Σ_{n in g} x_nd · δ_n − λ_g · W[g, d, :]) ;  c[g] += η_g · Σ_{n in g} δ_n

Memory stays at a few (N, K) arrays: the products are formed one feature d at a time. Written once
against an array namespace ``xp`` (numpy; CuPy runs it unchanged) and a ``segment_sum``: numpy's
``add.reduceat`` here (a sequential sum over each range), a small CUDA kernel with the same order
for CuPy (``fastperceptron.backend.cuda.groups``).
"""

from __future__ import annotations

import numpy as np

from ..maths import sigmoid, to_host
from ..problem import Problem
from .run import GradientRun

__all__ = ["GroupedRun", "segment_sum"]


def segment_sum(a: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Σ over the rows of every segment ``offsets[g]:offsets[g + 1]`` (all non-empty), in row order."""
    return np.add.reduceat(a, offsets[:-1], axis=0)


class GroupedRun(GradientRun):
    """G models, one per group of rows, trained by the formulas of the module docstring."""

    def __init__(self, problem: Problem, xp=np, segment_sum=segment_sum):
        p = problem
        self.xp = xp
        self.segment_sum = segment_sum
        dt = p.dtype
        arr = lambda a: xp.asarray(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
        G, D, K = p.W0.shape
        self.shape = (G, D, K)
        self.rule = p.rule
        self.tol = p.tol
        self.X = arr(p.X)                                            # (N, D), sorted by group
        self.Y = arr(p.Y)                                            # (N, K)
        self.s = None if p.sample_weight is None else arr(p.sample_weight[:, None])  # (N, 1)
        self.offsets = xp.asarray(p.groups.offsets)
        self.gid = xp.asarray(p.groups.group_ids())                  # (N,) the group of each row
        self.W = arr(p.W0)                                           # (G, D, K)
        self.c = xp.zeros((G, K), dtype=dt) if p.bias else None
        self.prior = None
        if p.prior is not None:  # SPEC §8: pulled toward the parents' models, from the start given
            aw, ac, rho, sw, sc = p.prior.for_steps(D, dt)
            self.prior = (arr(aw), arr(ac), arr(rho))
            self.W = arr(sw)
            self.c = arr(sc) if p.bias else None
        self.lr = arr(p.learning_rate)                               # (G,)
        self.l2 = None if p.l2 is None else arr(p.l2)                # (G,) or None
        self.loss_denominator = arr(p.loss_denominator())
        self.iterations = xp.zeros(G, dtype=xp.int64)
        self.active = xp.ones(G, dtype=bool) if p.tol is not None else None

    def _forward(self):
        """o = σ(z) for every row, (N, K)."""
        X, W, gid = self.X, self.W, self.gid
        Z = X[:, 0:1] * W[gid, 0, :]
        for d in range(1, self.shape[1]):
            Z += X[:, d:d + 1] * W[gid, d, :]
        if self.c is not None:
            Z += self.c[gid]
        return sigmoid(Z, self.xp)

    def advance(self, n: int) -> None:
        xp = self.xp
        G, D, K = self.shape
        for _ in range(n):
            O = self._forward()
            delta = self.Y - O
            if self.rule == "seed":
                delta *= O * (1.0 - O)
            if self.s is not None:
                delta *= self.s
            U = xp.empty_like(self.W)                             # η_g · Σ_{n in g} x_nd · δ_n
            for d in range(D):
                U[:, d, :] = self.segment_sum(self.X[:, d:d + 1] * delta, self.offsets)
            if self.l2 is not None:
                U -= self.l2[:, None, None] * self.W
            if self.prior is not None:
                U -= self.prior[2][:, None, :] * (self.W - self.prior[0])
            U *= self.lr[:, None, None]
            u = None
            if self.c is not None:
                u = self.segment_sum(delta, self.offsets)
                if self.prior is not None:
                    u -= self.prior[2] * (self.c - self.prior[1])
                u *= self.lr[:, None]
            if self.active is not None:  # as in reference/loop.py: apply, count, stop below tol
                largest = xp.abs(U).max(axis=(1, 2))
                if u is not None:
                    largest = xp.maximum(largest, xp.abs(u).max(axis=1))
                mask = self.active.astype(U.dtype)
                U *= mask[:, None, None]
                if u is not None:
                    u *= mask[:, None]
                self.iterations += self.active
                self.active = self.active & (largest >= self.tol)
            self.W += U
            if u is not None:
                self.c += u
        if self.active is None:
            self.iterations += n

    def n_active(self) -> int:
        return self.shape[0] if self.active is None else int(self.active.sum())

    def loss(self):
        """Each group's weighted mean squared error, (G,)."""
        E = (self.Y - self._forward()) ** 2
        if self.s is not None:
            E = E * self.s
        return to_host(self.segment_sum(E, self.offsets).sum(axis=1) / self.loss_denominator)

    def weights(self) -> np.ndarray:
        return to_host(self.W)

    def bias(self) -> np.ndarray | None:
        return None if self.c is None else to_host(self.c)

    def iteration_counts(self) -> np.ndarray:
        return to_host(self.iterations)
