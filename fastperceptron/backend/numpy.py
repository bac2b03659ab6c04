"""The "numpy" backend: the reference (``fastperceptron.reference``) on numpy arrays, one layout per
kind of problem."""

from __future__ import annotations

import numpy as np

from ..machine import cpu_threads
from ..problem import Problem
from . import costs
from .layout import GroupsLayout, Layout, SolverLayout

__all__ = ["LAYOUTS", "Loop", "Groups", "Solver"]


class Loop(Layout):
    """The vectorized loop (``reference/loop.py``): two matrix products per iteration with shared X
    (numpy's multi-threaded BLAS), batched products with one X per model, seven elementwise passes."""

    backend, name = "numpy", "loop"

    def estimate(self, problem: Problem, threads: int | None = None) -> float:
        B, D, K = problem.W0.shape
        N, M = problem.X.shape[-2], B * K
        f32 = problem.dtype.itemsize == 4
        if problem.shared_X:
            products = 4.0 * N * D * M / (costs.GEMM_FLOPS * cpu_threads(threads) * costs.gemm_efficiency(N, D, M))
        else:
            products = 4.0 * N * D * M / costs.NUMPY_BATCHED_FLOPS
        t = products + N * M * costs.NUMPY_ELEMENT * costs.scales()["numpy"][f32]
        return costs.NUMPY_FIXED + t * (costs.FLOAT32["numpy"] if f32 else 1.0)

    def start(self, problem: Problem, threads: int | None = None):
        from ..reference.loop import VectorizedRun

        return VectorizedRun(problem, xp=np)


class Groups(GroupsLayout):
    """The reference loop for groups: segment sums over each group's rows (``reference/groups.py``)."""

    backend = "numpy"

    def start(self, problem: Problem, threads: int | None = None):
        from ..reference.groups import GroupedRun

        return GroupedRun(problem)


class Solver(SolverLayout):
    """The second-order solvers on the reference's objective (``reference/objective.py``)."""

    backend = "numpy"

    def start(self, problem: Problem, threads: int | None = None):
        from .. import solvers
        from ..reference.objective import DenseObjective, GroupObjective

        objective = GroupObjective(problem) if problem.grouped else DenseObjective(problem)
        return solvers.start(problem, objective)


LAYOUTS = (Loop(), Groups(), Solver())
