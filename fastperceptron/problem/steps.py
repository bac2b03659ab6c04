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

#: columns whose largest |x| lies outside this range are far from the scale gradient steps assume
SCALE_RANGE = (1e-2, 1e2)


def _row_sums(values: np.ndarray, sw, groups, n_models: int) -> np.ndarray:
    """Σ_n s_n·values_n of every model: values (N, C) of a shared table or the sorted rows of
    groups, or (B, N, C) of one table per model; sw None, (N,) or (B, N). Returns (B, C)."""
    if groups is not None:
        v = values if sw is None else values * sw[:, None]
        return np.add.reduceat(v, groups.offsets[:-1], axis=0)
    if values.ndim == 2:
        if sw is None:
            return np.broadcast_to(values.sum(axis=0), (n_models, values.shape[1]))
        return np.broadcast_to(np.atleast_2d(sw) @ values, (n_models, values.shape[1]))
    w = np.ones(values.shape[:2]) if sw is None else np.broadcast_to(sw, values.shape[:2])
    return np.einsum("bn,bnc->bc", w, values)


def _squares(X: np.ndarray, bias: bool) -> np.ndarray:
    """x̃² of every row and column, float64: (…, N, D [+ 1])."""
    sq = np.square(X, dtype=np.float64)
    if bias:
        sq = np.concatenate([sq, np.ones(sq.shape[:-1] + (1,))], axis=-1)
    return sq


def stable_step(X, sw, groups, bias: bool, l2: np.ndarray, n_models: int) -> np.ndarray:
    """η_b = 1 / (Σ_n s_n·(‖x_n‖² + [bias]) / 4 + λ_b) of every model (B,), float64."""
    norms = _squares(X, bias).sum(axis=-1, keepdims=True)                 # (…, N, 1)
    total = _row_sums(norms, sw, groups, n_models)[:, 0]
    return 1.0 / np.maximum(total / 4.0 + l2, np.finfo(np.float64).tiny)


def rate_warning(X, sw, groups, bias: bool, l2: np.ndarray, rates: np.ndarray) -> str | None:
    """The warning for rates above 2 / S_b (module docstring), or None."""
    stiff = _row_sums(_squares(X, bias), sw, groups, rates.shape[0]).max(axis=1) / 4.0 + l2
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


def scale_warning(X: np.ndarray, names=None) -> str | None:
    """The warning for columns whose largest |x| is outside :data:`SCALE_RANGE`, naming them, or None."""
    top = np.abs(X).max(axis=tuple(range(X.ndim - 1)))
    low, high = SCALE_RANGE
    far = np.flatnonzero((top > high) | ((top > 0) & (top < low)))
    if far.size == 0:
        return None
    label = (lambda j: repr(str(names[j]))) if names is not None else (lambda j: f"column {j}")  # noqa: E731
    shown = ", ".join(f"{label(j)} (largest |x| {top[j]:.3g})" for j in far[:6]) + (", ..." if far.size > 6 else "")
    return (f"{far.size} feature column(s) are far from the scale gradient steps assume (|x| about 1): {shown}. "
            "With such columns the steps crawl along the small ones while the large ones saturate the sigmoid. Use "
            "standardize=True (CLI: --standardize; the weights are folded back onto your columns), or "
            "solver='newton'/'lbfgs' (CLI: --solver), which do not care about the units")


def warnings_before_training(problem, auto_rate: bool) -> list[str]:
    """What would waste a run, said before it starts: gradient steps on columns far from unit scale
    or above the data's stable bound (unless ``auto_rate``: the stable step by construction), and a
    batch of second-order fits that are all the same model."""
    p = problem
    if p.solver == "gd":
        standardized = p.columns is not None and p.columns.standardized
        found = [None if standardized else scale_warning(p.X)]
        if not auto_rate:
            lam = np.zeros(p.n_models) if p.l2 is None else p.l2.astype(np.float64)
            found.append(rate_warning(p.X, p.sample_weight, p.groups, p.bias, lam, p.learning_rate.astype(np.float64)))
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
