"""Gradient steps that suit the data: the stable step ``learning_rate="auto"``, and the two warnings of
solver "gd" — a rate above the stable bound, and columns whose scales are far from 1.

SPEC §2's update sums over the samples, W += η·Xᵀ·Δ, so the step that keeps it stable shrinks with
the data: for the cross-entropy, the Hessian of model b's loss is X̃ᵀ·diag(s·σ'(z))·X̃ + λ with
σ' ≤ ¼ (X̃ = [X 1] with a bias), so

    L_b = Σ_n s_n·(‖x_n‖² + [bias]) / 4 + λ_b        (the trace of that bound: ≥ its largest eigenvalue)

bounds the curvature, and η_b = 1 / L_b (``learning_rate="auto"``, the scikit-learn estimators'
default too) is stable for rule "logistic" and for the tutorial's rule "seed", whose curvature is
smaller (its σ'·(σ' + (σ − y)·σ''/σ') stays under 0.16). The tutorial's 4 × 3 table has L = 2, so
its rate of 1 is stable; a 5,000-row table of incomes has L ≈ 10¹².

A rate is certainly unstable when it exceeds 2 / S_b, with S_b = max_j Σ_n s_n·x̃_nj² / 4 + λ_b the
curvature along the stiffest single column at z = 0 (a lower bound of the largest eigenvalue): near
z = 0 the steps then grow instead of shrinking. :func:`rate_warning` says so, once, before training.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stable_step", "rate_warning", "scale_warning", "warnings_before_training", "identical_models", "SCALE_RANGE"]

#: columns whose root mean square lies outside this range are far from the scale gradient steps assume
SCALE_RANGE = (1e-2, 1e2)


def _curvatures(X: np.ndarray, sw, groups, bias: bool, n_models: int) -> np.ndarray:
    """Σ_n s_n·x̃_nj² of every model and column j of x̃ = [x 1], (B, D [+ 1]) float64: X (N, D) of a
    shared table or the sorted rows of groups, or (B, N, D) one table per model; sw None, (N,) or
    (B, N). Sums of products (einsum), with no (N, D) temporary where numpy allows."""
    if groups is not None:
        starts = groups.offsets[:-1]
        w = np.ones(X.shape[0]) if sw is None else sw
        columns = [np.add.reduceat(w * np.square(X[:, j], dtype=np.float64), starts) for j in range(X.shape[1])]
        columns += [np.add.reduceat(w.astype(np.float64), starts)] if bias else []
        return np.stack(columns, axis=1)
    if X.ndim == 2:
        if sw is None:
            sums = np.einsum("nd,nd->d", X, X, dtype=np.float64)[None]
            total = np.array([[float(X.shape[0])]])
        elif sw.ndim == 1:
            sums = np.einsum("n,nd,nd->d", sw, X, X, dtype=np.float64)[None]
            total = np.array([[float(sw.sum())]])
        else:
            sums, total = sw @ np.square(X, dtype=np.float64), sw.sum(axis=1, dtype=np.float64)[:, None]
    else:
        w = np.ones(X.shape[:2]) if sw is None else np.broadcast_to(sw, X.shape[:2])
        sums = np.einsum("bn,bnd,bnd->bd", w, X, X, dtype=np.float64)
        total = w.sum(axis=1, dtype=np.float64)[:, None]
    out = np.concatenate([sums, np.broadcast_to(total, (sums.shape[0], 1))], axis=1) if bias else sums
    return np.broadcast_to(out, (n_models, out.shape[1]))


def stable_step(X, sw, groups, bias: bool, l2: np.ndarray, n_models: int) -> np.ndarray:
    """η_b = 1 / (Σ_n s_n·(‖x_n‖² + [bias]) / 4 + λ_b) of every model (B,), float64."""
    total = _curvatures(X, sw, groups, bias, n_models).sum(axis=1)
    return 1.0 / np.maximum(total / 4.0 + l2, np.finfo(np.float64).tiny)


def rate_warning(curvatures: np.ndarray, l2: np.ndarray, rates: np.ndarray) -> str | None:
    """The warning for rates above 2 / S_b (module docstring), or None; ``curvatures`` (B, D [+ 1])
    are :func:`_curvatures`'s."""
    stiff = curvatures.max(axis=1) / 4.0 + l2
    bound = 2.0 / np.maximum(stiff, np.finfo(np.float64).tiny)
    over = np.flatnonzero(rates > bound)
    if over.size == 0:
        return None
    b = int(over[np.argmax(rates[over] / bound[over])])
    return (f"learning_rate {rates[b]:.3g} is above the stable step of these data ({over.size:,} of "
            f"{rates.shape[0]:,} models; model {b}'s bound is 2/S = {bound[b]:.3g}, S being its loss's curvature "
            "along its stiffest column): gradient steps sum over the rows, so they will oscillate or diverge instead "
            "of converging. Use learning_rate='auto' (CLI: --lr auto; 1/L per model, stable on any data), "
            "standardize=True, or solver='newton'/'lbfgs'")


def scale_warning(X: np.ndarray, names=None, rms: np.ndarray | None = None) -> str | None:
    """The warning for columns whose root mean square is outside :data:`SCALE_RANGE`, naming them, or
    None. ``rms``: the columns' root mean squares, when known (else read from X)."""
    if rms is None:
        rows = X.reshape(-1, X.shape[-1])
        rms = np.sqrt(np.einsum("nd,nd->d", rows, rows, dtype=np.float64) / max(1, rows.shape[0]))
    low, high = SCALE_RANGE
    far = np.flatnonzero((rms > high) | ((rms > 0) & (rms < low)))
    if far.size == 0:
        return None
    label = (lambda j: repr(str(names[j]))) if names is not None else (lambda j: f"column {j}")  # noqa: E731
    shown = ", ".join(f"{label(j)} (root mean square {rms[j]:.3g})" for j in far[:6]) + (", ..." if far.size > 6 else "")
    return (f"{far.size} feature column(s) are far from the scale gradient steps assume (|x| about 1): {shown}. "
            "With such columns the steps crawl along the small ones while the large ones saturate the sigmoid. Use "
            "standardize=True (CLI: --standardize; the weights are folded back onto your columns), or "
            "solver='newton'/'lbfgs' (CLI: --solver), which do not care about the units")


def warnings_before_training(problem, auto_rate: bool, names=None) -> list[str]:
    """What would waste a run, said before it starts: gradient steps on columns far from unit scale
    or above the data's stable bound (unless ``auto_rate``: the stable step by construction), and a
    batch of second-order fits that are all the same model. One pass over the data serves both
    gradient-step checks (each column's weighted sum of squares)."""
    p = problem
    if p.solver == "gd":
        standardized = p.columns is not None and p.columns.standardized
        if standardized and auto_rate:
            return []
        curvatures = _curvatures(p.X, p.sample_weight, p.groups, True, p.n_models)  # the bias column: Σ s
        D = p.X.shape[-1]
        rows = curvatures[0, D] if p.shared_X else curvatures[:, D].sum()
        squares = curvatures[:, :D].sum(axis=0) if not p.shared_X else curvatures[0, :D]
        found = [None if standardized else scale_warning(p.X, names, rms=np.sqrt(squares / max(rows, 1e-300)))]
        if not auto_rate:
            lam = np.zeros(p.n_models) if p.l2 is None else p.l2.astype(np.float64)
            used = curvatures if p.bias else curvatures[:, :D]
            found.append(rate_warning(used, lam, p.learning_rate.astype(np.float64)))
        return [message for message in found if message]
    if p.n_models > 1 and identical_models(p):
        return [f"the {p.n_models:,} models are identical: solver {p.solver!r} takes every model to the optimum of "
                "its loss, which does not depend on the seed, and nothing else (sample_weight, l2, per-model data or "
                "initial weights) differs between them; train one model (models=1), or give each model its own "
                "bootstrap weights (fp.bootstrap_weights) or l2"]
    return []


def identical_models(problem) -> bool:
    """Whether every model of a second-order batch reaches the same optimum: one shared table, one
    set of targets and weights, one penalty and no explicit per-model initial weights."""
    p = problem
    shared = p.shared_X and p.Y.ndim == 2 and (p.sample_weight is None or p.sample_weight.ndim == 1)
    same_l2 = p.l2 is None or bool((p.l2 == p.l2[0]).all())
    same_start = p.init != "explicit" or bool((p.W0 == p.W0[0]).all())
    return shared and same_l2 and same_start
