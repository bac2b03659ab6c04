"""The pooled fit (SPEC §8): the levels of a hierarchy fitted top-down, each model pulled toward its
parent's, with the shrinkage given or chosen by cross-validation (:mod:`.cv`).

Level 0 is one model on all rows, penalised toward 0 by ``l2`` on the user's weights, as in §7.
Each group of level l minimises its rows' loss plus ½·ρ_l·‖θ′ − θ′_parent‖², θ′ = (w·s, c + Σ m·w)
its model in **standard units** — m and s each column's weighted mean and standard deviation over
all the training rows (:func:`fastperceptron.problem.columns.standard_units`) — so that ρ weighs an
income coefficient per dollar and an age coefficient per year alike, and means the same whatever
the columns' units. The levels below the global model are therefore fitted on the columns in those
units (one copy of X), where θ′ is the model itself; the groups of a level are one batch
(``groups=`` with a :class:`~fastperceptron.problem.Prior`), run by
:func:`fastperceptron.runner.run_problem` on the chosen backend, each model starting at its
parent's (the optimum as ρ → ∞). Every model is folded back onto the user's columns at the end.
``standardize=True`` changes nothing in a pooled fit (it is in standard units already; ``l2`` stays
on the user's weights).
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import replace

import numpy as np

from ..errors import ShrinkWarning
from ..problem.checks import real_array
from ..inference import covariances, fold_map
from ..problem.columns import standard_units
from ..problem.hierarchy import Pooling, build
from ..result import TrainResult
from .cv import choose
from .levels import fit_level, theta_of

__all__ = ["train_pooled", "check_options", "DEFAULT_GRID"]

#: the default ``shrink_grid`` of ``shrink="cv"``: 15 values, half a decade apart, 10⁻³ .. 10⁴
DEFAULT_GRID = np.logspace(-3, 4, 15)


def _shrink(value, n_levels: int):
    """``shrink`` as "cv" or (L,) float64 >= 0."""
    if isinstance(value, str):
        if value != "cv":
            raise ValueError(f"shrink must be a number >= 0, one per level, or 'cv', got {value!r}")
        return value
    rho = np.asarray(value, dtype=object).reshape(-1)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in rho):
        raise TypeError(f"shrink must be a number >= 0, one per level, or 'cv', got {value!r}")
    rho = rho.astype(np.float64)
    if rho.size not in (1, n_levels):
        raise ValueError(f"shrink has {rho.size} values for {n_levels} levels: give one, or one per level "
                         "(outermost first)")
    if not np.isfinite(rho).all() or (rho < 0).any():
        raise ValueError(f"shrink must be finite and >= 0 (0: no pooling), got {value!r}")
    return np.broadcast_to(rho, (n_levels,)).copy()


def check_options(o: dict, given: dict) -> dict:
    """The options of a pooled fit: solver "auto" unless one is given, no fallback (the parents serve)."""
    o = dict(o)
    if "solver" not in given:
        o["solver"] = "auto"
    if o["fallback"] or o["min_rows"]:
        raise ValueError("a pooled batch serves unseen and small groups by their parents (predict with "
                         "unseen='parent'): leave fallback and min_rows out")
    for name in ("seeds", "models", "initial_weights"):
        if given.get(name) is not None:
            raise ValueError(f"{name}= does not apply to a pooled batch: its models start at their parents'")
    if np.ndim(o["l2"]) != 0:
        raise ValueError(f"l2 penalises the one global model (level 0) of a pooled batch: give one number, got "
                         f"{o['l2']!r} (the levels below are pulled toward their parents by shrink)")
    chosen_by = [name for name in ("cv", "shrink_grid", "seed") if given.get(name) is not None]
    if chosen_by and not (isinstance(o["shrink"], str) and o["shrink"] == "cv"):
        raise ValueError(f"{'=, '.join(chosen_by)}= choose shrink='cv' by cross-validation, but shrink={o['shrink']!r} "
                         "is given: leave them out, or give shrink='cv'")
    return o


def train_pooled(X, y, levels, sw, o: dict, given: dict, names=None, root=None, root_reason: str = "converged",
                 units=None) -> TrainResult:
    """``train`` with a hierarchy of groups and/or ``shrink``: see the module docstring. ``root``
    (K, P): level 0's θ on the user's columns, fitted elsewhere (``fastperceptron.dask`` fits it over
    all partitions and each shard its subtrees), with ``shrink`` given, why its fit stopped
    (``root_reason``) and the standard units of all the rows (``units``; default: X's)."""
    o = check_options(o, given)
    X = real_array("X", X)
    if X.ndim != 2:
        raise ValueError(f"with groups, X must be 2-D (N, D): the rows of every group; got shape {X.shape}")
    n = X.shape[0]
    names = list(names) if names else [f"level{j + 1}" for j in range(len(levels))]
    hierarchy, rows = build(levels, n, names)
    if units is None:
        units = standard_units(np.asarray(X, dtype=np.float64), None if sw is None else np.asarray(sw, np.float64),
                               bool(o["bias"]))
    Xs = units.apply(X).astype(X.dtype, copy=False)  # the levels below the global model walk in standard units
    shrink = _shrink(o["shrink"], hierarchy.n_levels)
    grid = cv_loss = None
    seconds = 0.0
    if isinstance(shrink, str):
        if root is not None:
            raise ValueError("shrink='cv' needs every row at every level: give shrink as numbers")
        grid = _grid(o["shrink_grid"])
        shrink, cv_loss, seconds = choose(X, Xs, units, y, sw, hierarchy, rows, grid, o)
        _warn_at_edges(shrink, cv_loss, grid, hierarchy)
    results = [] if root is not None else [fit_level(X, y, sw, None, None, None, o, l2=o["l2"])]
    top = np.asarray(root, dtype=np.float64)[None] if root is not None else theta_of(results[0])
    thetas = [units.theta_in(top)]  # every level's models in standard units, θ′
    for j in range(hierarchy.n_levels):
        anchor = thetas[-1][hierarchy.parent[j]]
        results.append(fit_level(Xs, y, sw, rows[j], anchor, shrink[j], o))
        thetas.append(theta_of(results[-1]))
    reasons = [r.stop_reason for r in results[:-1]]
    if root is not None:
        reasons.insert(0, np.array([root_reason]))
    reasons = None if any(r is None for r in reasons) else tuple(reasons)
    result = _result(results, thetas, hierarchy, shrink, grid, cv_loss, units, seconds, o, reasons)
    if o.get("cov") is None:
        return result
    terms = result.feature_labels + ["bias"] * (result.bias is not None)
    return replace(result, covariance=_covariance(Xs, y, sw, rows[-1].codes, thetas[-1], shrink[-1], units,
                                                  results[-1].stop_reason, o, terms),
                   params={**result.params, "cov": o["cov"], "cov_keep": o["cov_keep"]})


def _covariance(Xs, y, sw, codes, theta, rho, units, reasons, o, terms) -> np.ndarray:
    """The innermost models' covariances (SPEC §9): in standard units, where the pull toward the
    parent (held fixed) adds ρ·I to the Hessian, mapped back onto the user's columns."""
    P = theta.shape[2]
    bias = P > Xs.shape[1]
    Y = np.asarray(y, dtype=np.float64).reshape(Xs.shape[0], -1)
    s = None if sw is None else np.asarray(sw, dtype=np.float64)
    T = fold_map(units.offset[0], units.scale[0], bias)
    return covariances(np.asarray(Xs, dtype=np.float64), Y, s, theta, rho * np.eye(P), o["cov"], gid=codes,
                       clusters=o["clusters"], T=T, keep=o["cov_keep"], terms=terms, stop_reason=reasons)


def _warn_at_edges(shrink, cv_loss, grid, hierarchy) -> None:
    """One ShrinkWarning for the levels whose CV chose an end of the grid while the loss still fell
    toward it and a value beyond could still move the models: at the top, a pull not yet 100 times
    a median group's curvature (about its rows / 4, in standard units); at the bottom, one not yet
    100 times below its smallest group's."""
    edges = []
    for j, name in enumerate(hierarchy.names):
        best = int(np.argmin(cv_loss[j]))
        curvature = np.asarray(hierarchy.sizes[j], dtype=np.float64) / 4
        beyond = (grid[-1] < 100 * np.median(curvature)) if best == grid.size - 1 else (grid[0] > curvature.min() / 100)
        if best in (0, grid.size - 1) and beyond and cv_loss[j][best] < cv_loss[j][1 if best == 0 else -2]:
            edges.append(f"level {j + 1} ({name!r}) chose {grid[best]:.3g}, the grid's "
                         f"{'smallest' if best == 0 else 'largest'}")
    if edges:
        warnings.warn(f"shrink='cv': {'; '.join(edges)} value, and the cross-validated log-loss was still falling "
                      "toward it: the best shrink may lie beyond; widen shrink_grid on that side (e.g. "
                      "shrink_grid=np.logspace(-3, 6, 19))", ShrinkWarning, stacklevel=4)


def _grid(value) -> np.ndarray:
    if value is not None:
        cells = np.asarray(value, dtype=object).reshape(-1)
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in cells):
            raise TypeError(f"shrink_grid must hold numbers >= 0 (the shrink values shrink='cv' tries), got {value!r}")
    grid = DEFAULT_GRID if value is None else np.asarray(value, dtype=np.float64).reshape(-1)
    if grid.size < 2 or not np.isfinite(grid).all() or (grid < 0).any():
        raise ValueError(f"shrink_grid must hold at least two finite values >= 0, got {value!r}")
    return np.unique(grid)


def _weights_bias(theta: np.ndarray, D: int):
    """θ (B, K, P) as weights (B, D, K) and bias (B, K) or None."""
    W = np.ascontiguousarray(theta[:, :, :D].transpose(0, 2, 1))
    return W, (np.ascontiguousarray(theta[:, :, D]) if theta.shape[2] > D else None)


def _result(results, thetas, hierarchy, shrink, grid, cv_loss, units, cv_seconds, o, reasons) -> TrainResult:
    """The innermost level's result, keeping the levels above in ``pooling`` (from ``thetas``, one
    (G_l, K, P) per level in standard units, folded back onto the user's columns, and why each of
    their models stopped, ``reasons``)."""
    inner = results[-1]
    dtype = inner.weights.dtype
    levels = []
    for theta in thetas:
        W, c = units.fold(*_weights_bias(theta, inner.weights.shape[1]))
        levels.append((W.astype(dtype), None if c is None else c.astype(dtype)))
    W, c = units.fold(inner.weights, inner.bias)
    pooling = Pooling(hierarchy=hierarchy, weights=tuple(w for w, _ in levels[:-1]),
                      bias=None if c is None else tuple(b for _, b in levels[:-1]), shrink=shrink, grid=grid,
                      cv_loss=cv_loss, stop_reason=reasons)
    params = {**inner.params, "standardize": bool(np.any(o["standardize"])), "shrink": shrink.tolist(),
              "levels": list(hierarchy.names), "cv": int(o["cv"]) if grid is not None else None}
    return replace(inner, weights=W, bias=c, params=params, pooling=pooling,
                   seconds=sum(r.seconds for r in results) + cv_seconds,
                   setup_seconds=sum(r.setup_seconds for r in results))
