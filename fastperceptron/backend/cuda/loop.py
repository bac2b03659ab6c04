"""The "cupy" backend's runs: the reference (``fastperceptron.reference``) on CuPy arrays — the
vectorized loop, with the small extras a run split into parts needs, and the loop for groups with
its segment sums by the kernel of ``groups.cu``."""

from __future__ import annotations

import numpy as np

from ...problem import Problem
from ...reference.groups import GroupedRun
from ...reference.loop import VectorizedRun
from . import device
from .kernel import segment_sum

__all__ = ["CupyLoopRun", "CupyGroupRun"]


class CupyLoopRun(VectorizedRun):
    """The reference loop on CuPy arrays, with the small extras the parted run needs."""

    def __init__(self, problem: Problem):
        super().__init__(problem, xp=device.cupy())

    def restore(self, C, iterations, active) -> None:
        cupy = self.xp
        if self.c is not None:
            self.c[...] = cupy.asarray(C)
        self.iterations[...] = cupy.asarray(iterations)
        if self.active is not None:
            self.active[...] = cupy.asarray(active)

    def active_mask(self) -> np.ndarray:
        return np.ones(self.shape[0], bool) if self.active is None else self.active.get()

    def bias(self):
        c = super().bias()
        return c if c is not None else np.zeros((self.shape[0], self.shape[2]), dtype=self.W.dtype)


class CupyGroupRun(GroupedRun):
    """The reference loop for groups on CuPy arrays."""

    def __init__(self, problem: Problem):
        super().__init__(problem, xp=device.cupy(), segment_sum=segment_sum)
