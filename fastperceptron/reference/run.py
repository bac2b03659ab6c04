"""What every run of a batch answers, on every backend and layout: the :class:`Run` protocol.

A backend's layout starts a run from a :class:`~fastperceptron.problem.Problem`; the driver
(:func:`fastperceptron.train`) then advances it a chunk of iterations at a time and reads it back.
Every answer is a host numpy array. Runs of gradient steps ("gd") have no convergence state:
:class:`GradientRun` gives them the solvers' two extra answers, as None.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Run", "GradientRun"]


@runtime_checkable
class Run(Protocol):
    def advance(self, n: int) -> None:
        """Run ``n`` more iterations (models that have stopped stay as they are)."""

    def n_active(self) -> int:
        """How many models are still training."""

    def loss(self) -> np.ndarray:
        """SPEC §5's loss of every model with its current weights, (B,)."""

    def weights(self) -> np.ndarray:
        """(B, D, K)."""

    def bias(self) -> np.ndarray | None:
        """(B, K), or None without a bias."""

    def iteration_counts(self) -> np.ndarray:
        """(B,) the iterations each model has run."""

    def converged(self) -> np.ndarray | None:
        """(B,) bool for the second-order solvers, None for gradient steps."""

    def stop_reasons(self) -> np.ndarray | None:
        """(B,) why each model stopped (``fastperceptron.result.STOP_REASONS``, "running" while it
        has not), None for gradient steps."""


class GradientRun:
    """The answers a run of gradient steps does not have: no convergence state."""

    def converged(self) -> None:
        return None

    def stop_reasons(self) -> None:
        return None
