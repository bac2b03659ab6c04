"""How good the probabilities are: log-loss, accuracy and the area under the ROC curve, overall and per
group (``fastperceptron train --validate``; usable on any predictions).

All take targets y in [0, 1] (0/1 labels, or probabilities: the log-loss is then the cross-entropy
against them; accuracy and AUC read y ≥ ½ as the positive class), probabilities p, and optional
row weights. The log-loss clips p to [ε, 1 − ε] (ε = 2.2e-16), as scikit-learn's does, so a confident
wrong answer costs 36 rather than infinity.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_loss", "accuracy", "roc_auc", "scores"]

EPS = float(np.finfo(np.float64).eps)


def _flat(a) -> np.ndarray:
    """One value per row: (M,) or (M, 1) as (M,) float64."""
    return np.asarray(a, dtype=np.float64).reshape(-1)


def _weights(y, weight):
    return np.ones(y.shape[0]) if weight is None else _flat(weight)


def log_loss(y, p, weight=None) -> float:
    """The mean cross-entropy −[y·log p + (1 − y)·log(1 − p)], weighted by ``weight``."""
    y, p = _flat(y), np.clip(_flat(p), EPS, 1 - EPS)
    w = _weights(y, weight)
    return float(w @ -(y * np.log(p) + (1 - y) * np.log1p(-p)) / w.sum())


def accuracy(y, p, threshold: float = 0.5, weight=None) -> float:
    """The share of rows whose 0/1 prediction (p ≥ ``threshold``) is their class (y ≥ ½)."""
    y, p = _flat(y), _flat(p)
    w = _weights(y, weight)
    return float(w @ ((p >= threshold) == (y >= 0.5)) / w.sum())


def roc_auc(y, p, weight=None) -> float:
    """The area under the ROC curve: the chance that a random positive row (y ≥ ½) gets a higher p
    than a random negative one, ties counting half (weighted by ``weight``); NaN without both classes."""
    y, p = _flat(y) >= 0.5, _flat(p)
    w = _weights(y, weight)
    pos, neg = w[y].sum(), w[~y].sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    p, y, w = p[order], y[order], w[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])      # runs of tied probabilities
    neg_run = np.add.reduceat(np.where(y, 0.0, w), starts)
    pos_run = np.add.reduceat(np.where(y, w, 0.0), starts)
    below = np.cumsum(neg_run) - neg_run                          # negatives strictly below each run
    return float((pos_run * (below + 0.5 * neg_run)).sum() / (pos * neg))


def scores(y, p, groups=None, weight=None) -> dict:
    """{"log_loss", "accuracy", "auc", "rows"} over all rows, and with ``groups`` (one code per row)
    "groups": {metric: (median, worst)} over the groups (AUC over those with both classes)."""
    y, p = _flat(y), _flat(p)
    out = {"log_loss": log_loss(y, p, weight), "accuracy": accuracy(y, p, weight=weight), "auc": roc_auc(y, p, weight),
           "rows": int(y.shape[0])}
    if groups is None:
        return out
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
    w = _weights(y, weight)
    per = {"log_loss": [], "accuracy": [], "auc": []}
    for g in np.unique(codes):
        rows = codes == g
        per["log_loss"].append(log_loss(y[rows], p[rows], w[rows]))
        per["accuracy"].append(accuracy(y[rows], p[rows], weight=w[rows]))
        per["auc"].append(roc_auc(y[rows], p[rows], w[rows]))
    auc = np.array(per["auc"])
    auc = auc[np.isfinite(auc)]
    out["groups"] = {
        "log_loss": (float(np.median(per["log_loss"])), float(np.max(per["log_loss"]))),
        "accuracy": (float(np.median(per["accuracy"])), float(np.min(per["accuracy"]))),
        "auc": (float(np.median(auc)), float(np.min(auc))) if auc.size else (float("nan"), float("nan")),
        "count": int(codes.max() + 1), "with_auc": int(auc.size)}
    return out
