"""The second-order solvers of SPEC §7 (the "compute" floor): every model to the optimum of its
penalised cross-entropy, on any backend's objective.

- :mod:`.base`: the template (:class:`~.base.SolverRun`: the objective and its penalty in scaled
  coordinates, the stop test, the line search, the run's interface) and the batched Cholesky solve;
- :mod:`.newton`, :mod:`.lbfgs`: the two steps, as subclasses;
- :mod:`.start`: the coordinates, the start and one-class neurons; :mod:`.pooled`: the pooled start;
- :mod:`.prior`: the pull toward a parent's model of partial pooling (SPEC §8);
- :mod:`.outcome`: the warning about models that did not converge.

:func:`start` is the one place the solver's name is read.
"""

from __future__ import annotations

import numpy as np

from .base import SolverRun, cholesky_solve
from .lbfgs import LbfgsRun
from .newton import NewtonRun
from .outcome import unconverged_message, warn_unconverged, warn_upper_levels
from .pooled import pooled_start

__all__ = ["start", "SolverRun", "NewtonRun", "LbfgsRun", "cholesky_solve", "unconverged_message",
           "warn_unconverged", "warn_upper_levels"]

_RUNS = {"newton": NewtonRun, "lbfgs": LbfgsRun}


def start(problem, objective, xp=np, solve=None) -> SolverRun:
    """The run of ``problem.solver`` ("newton" or "lbfgs") on ``objective`` (arrays of ``xp``);
    ``solve``: a backend's batched Cholesky solve (default :func:`cholesky_solve` on ``xp``)."""
    pooled = None if problem.init == "explicit" or problem.prior is not None else pooled_start(problem)
    return _RUNS[problem.solver](problem, objective, xp, solve, pooled)
