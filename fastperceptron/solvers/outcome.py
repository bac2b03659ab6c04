"""What the user is told when models stop before their optimum: each cause, its count and its fix."""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ConvergenceWarning
from ..result import STOP_REASONS

__all__ = ["unconverged_message", "warn_unconverged", "warn_upper_levels"]

_ADVICE = {
    "iterations": "reached the iteration cap of {cap:,}: raise iterations",
    "line-search": "stopped when no step of the line search lowered the loss further{at}: {fix}",
    "one-class": ("have targets of one class only (e.g. a small group), so their unpenalised bias has no finite "
                  "optimum: they were not iterated, and got weights 0 and the bias log((Σs·y + ½)/(Σs·(1 − y) + ½)); "
                  "train without bias, or drop them"),
    "separable": ("have separable classes and no penalty, so their weights grow without bound (no finite "
                  "optimum): {penalty}"),
    "interrupted": "were interrupted",
}


def warn_unconverged(result, category=None, prefix: str = "", stacklevel: int = 2) -> None:
    """Warn once (``category``, default :class:`fastperceptron.ConvergenceWarning`) about the
    models of ``result`` that did not converge, when there are any and it was not interrupted."""
    if result.stop_reason is None or not result.complete:
        return
    message = unconverged_message(result.stop_reason, result.iterations, result.params.get("solver", "?"),
                                  result.params.get("iterations", 0),
                                  penalty=L2_FIX if result.pooling is None else SHRINK_FIX)
    if message:
        warnings.warn(prefix + message, category or ConvergenceWarning, stacklevel=stacklevel + 1)


def warn_upper_levels(result, stacklevel: int = 2) -> None:
    """Warn about the models of a pooled batch's upper levels that did not converge (the global
    model on separable data without a penalty, say): every group below is pulled toward them."""
    pooling = result.pooling
    if pooling is None or pooling.stop_reason is None or not result.complete:
        return
    names = pooling.hierarchy.names
    for j, reasons in enumerate(pooling.stop_reason):
        message = unconverged_message(np.asarray(reasons), None, result.params.get("solver", "?"),
                                      result.params.get("iterations", 0), f"result.pooling.stop_reason[{j}]",
                                      L2_FIX if j == 0 else SHRINK_FIX)
        if message:
            level = "the global model (level 0)" if j == 0 else f"level {j} ({names[j - 1]!r})"
            warnings.warn(f"{level}, toward which the groups below are pulled: {message}", ConvergenceWarning,
                          stacklevel=stacklevel + 1)


#: the fix for models without a penalty on separable data: an L2 penalty, or for the groups of a
#: pooled batch a pull toward their parents
L2_FIX = "set l2 > 0 (a finite C in the scikit-learn estimators)"
SHRINK_FIX = "give shrink > 0 (each group then pulled toward its parent's model)"


def unconverged_message(reasons: np.ndarray, iterations: np.ndarray | None, solver: str, cap: int,
                        where: str = "result.stop_reason", penalty: str = L2_FIX) -> str | None:
    """The one warning about the models that did not converge, naming each cause with its count and
    the fix that works, or None when every model converged. ``reasons`` (B,) are
    ``SolverRun.stop_reasons()`` values; ``iterations`` (B,) the iterations each model ran (None:
    not known, not shown)."""
    missed = reasons != "converged"
    if not missed.any():
        return None
    fix = ("use solver='lbfgs', or scale the features (standardize=True)" if solver == "newton" else
           "use solver='newton', or scale the features (standardize=True)")
    parts = []
    for reason in STOP_REASONS[1:]:
        hit = reasons == reason
        if hit.any():
            shown = ""
            if iterations is not None:
                at = np.unique(iterations[hit])
                shown = " (at iteration " + ", ".join(str(int(k)) for k in at[:3]) + (", ..." if at.size > 3 else "") + ")"
            parts.append(f"{int(hit.sum()):,} " + _ADVICE[reason].format(cap=cap, at=shown, fix=fix, penalty=penalty))
    return (f"{int(missed.sum()):,} of {reasons.shape[0]:,} models did not converge (solver {solver!r}; "
            f"{where} says why for each): " + "; ".join(parts))
