"""``shrink="cv"``: each level's ρ chosen by K-fold cross-validation (SPEC §8), level by level from the top.

The rows are split into ``cv`` folds within each innermost group (a random permutation of the
group's rows, dealt round-robin: reproducible by ``seed``; a group of fewer rows than folds is held
out in only some folds). For fold f, every model is fitted on the rows outside f, so nothing a
held-out row is scored by has seen it:

1. level 0: one model per fold — one batch of ``cv`` models (``groups`` = the fold, the rows
   outside it repeated once per fold);
2. level l: one model per (fold, path) — one batch whose groups are the (fold, path) pairs, pulled
   toward the (fold, parent)'s model — run once per grid value, from the largest ρ down, each run
   starting from the last one's optima (warm starts along the grid; the first from the parents', the
   optimum as ρ → ∞). Every held-out row is scored by its (fold, path)'s model — by the fold's parent
   model where its path has no rows outside the fold — and the level's ρ is the grid value of least
   held-out log-loss, summed over rows (sample-weighted) and outputs (the first of equal ones from
   the small end); its models of that ρ are the next level's parents.

The chosen ρ are then used by the final fit on all rows (:func:`.fit.train_pooled`).
"""

from __future__ import annotations

import numpy as np

from ..problem.checks import nonneg_int
from .levels import fit_level, level_problem, run_level, theta_of

__all__ = ["choose", "folds_of", "held_out_loss"]

_ROWS = 1 << 15  # rows scored at a time


def folds_of(codes: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """The fold of every row (N,): each group's rows (``codes``, its innermost path) shuffled and
    dealt round-robin over the folds."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(codes.shape[0]), codes))  # by group, shuffled within
    starts = np.searchsorted(codes[order], codes[order], side="left")
    fold = np.empty(codes.shape[0], dtype=np.int64)
    fold[order] = (np.arange(codes.shape[0]) - starts) % n_folds
    return fold


def held_out_loss(X, Y, theta) -> np.ndarray:
    """−[y·log σ(z) + (1 − y)·log(1 − σ(z))] of every row and output: X (N, D), Y (N, K), theta
    (N, K, P) each row's model (P = D, or D + 1 with the bias)."""
    D = X.shape[1]
    z = np.einsum("nd,nkd->nk", X, theta[:, :, :D])
    if theta.shape[2] > D:
        z += theta[:, :, D]
    return np.logaddexp(0.0, z) - Y * z


def _score(X, Y, s, fold, codes, fold_models) -> float:
    """The held-out log-loss per row: each row scored by its (fold, path)'s model."""
    total = 0.0
    for a in range(0, X.shape[0], _ROWS):  # (rows, K, P) of models at a time
        b = slice(a, a + _ROWS)
        total += float(s[b] @ held_out_loss(X[b], Y[b], fold_models[fold[b], codes[b]]).sum(axis=1))
    return total / float(s.sum())


def choose(X, Xs, units, y, sw, hierarchy, rows, grid: np.ndarray, o: dict):
    """(ρ (L,), cv_loss (L, R), seconds): see the module docstring. The global model on the user's
    columns X, the levels below in standard units: Xs, ``units`` the map of θ to θ′ (SPEC §8)."""
    n_folds = nonneg_int("cv", o["cv"], minimum=2)
    seed = nonneg_int("seed", 0 if o["seed"] is None else o["seed"])
    Y = np.asarray(y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    s = np.ones(X.shape[0]) if sw is None else np.asarray(sw, dtype=np.float64)
    fold = folds_of(rows[-1].codes, n_folds, seed)
    train_rows = [np.flatnonzero(fold != f) for f in range(n_folds)]
    rep = np.concatenate(train_rows)
    rep_fold = np.repeat(np.arange(n_folds), [r.shape[0] for r in train_rows])
    Yr, sr = Y[rep], None if sw is None else s[rep]
    first = fit_level(X[rep], Yr, sr, rep_fold, None, None, o, l2=o["l2"])
    seconds = first.seconds
    parents = units.theta_in(theta_of(first))[:, None]  # (F, 1, K, P): each fold's model of the level above, θ′
    Xr = Xs[rep]
    X = np.asarray(Xs, dtype=np.float64)  # rows are scored in standard units, by θ′
    R = grid.shape[0]
    rho = np.empty(hierarchy.n_levels)
    losses = np.empty((hierarchy.n_levels, R))
    for j in range(hierarchy.n_levels):
        G = hierarchy.paths[j].shape[0]
        up = hierarchy.parent[j]
        ids = rep_fold * G + rows[j].codes[rep]
        problem = level_problem(Xr, Yr, sr, ids, o)
        present = problem.groups.labels
        f_of, g_of = present // G, present % G
        anchor = parents[f_of, up[g_of]]                             # (U, K, P): each (fold, path)'s parent
        theta, best = anchor, None
        for r in reversed(range(R)):  # from the largest ρ down, each from the last one's optimum
            result = run_level(problem, o, anchor, grid[r], start=theta)
            seconds += result.seconds
            theta = theta_of(result)
            fold_models = parents[:, up].copy()                       # (F, G, K, P): the parent where a path
            fold_models[f_of, g_of] = theta                           # has no rows outside the fold
            losses[j, r] = _score(X, Y, s, fold, rows[j].codes, fold_models)
            if best is None or losses[j, r] <= losses[j, best]:       # ties: the smaller ρ, as argmin's first
                best, chosen = r, fold_models
        rho[j] = grid[best]
        parents = chosen
    return rho, losses, seconds
