"""Column transforms folded into the models: the columns shifted (and scaled) before training, the
trained models mapped back onto the user's columns after it.

    x' = (x − m) / s ;   z = x'·w' + c' = x·w + c   with   w = w' / s ,  c = c' − Σ_d m_d·w_d

so a saved model, ``predict_proba``, ONNX and every other consumer see weights on the raw columns and
need nothing new. Two uses:

* ``standardize=True`` (:func:`standardization`): m and s are each column's mean and standard
  deviation over the training rows, weighted by ``sample_weight`` (the mean weight over models when
  each model has its own; over all rows for groups; per model for one dataset per model). Without a
  bias nothing can absorb a shift: s is then the root mean square and m = 0. A constant column (to
  rounding: :func:`constant_columns`) keeps s = 1. The penalty ``l2`` then applies to w' (standardised coordinates).
* the second-order solvers' shift (:func:`solver_shift`): with a bias, a column whose mean is more
  than ``OFFSET_RATIO`` standard deviations from 0 (a Unix time, a reading of 10⁶ ± 1) is centred,
  s = 1. The bias absorbs the shift and the penalty does not touch it, so the objective is the same
  one on the user's columns, but z and the gradient's sums no longer cancel digits (a sum of
  x·δ ≈ 10⁶·δ that should be ≈ δ loses six of float64's sixteen). X is copied for it, only then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ColumnTransform", "standardization", "standard_units", "units_of", "solver_shift", "constant_columns",
           "OFFSET_RATIO", "CONSTANT_RATIO"]

#: the solvers centre the columns when some column's |mean| exceeds this many standard deviations
OFFSET_RATIO = 1e3
#: a column whose standard deviation is at most this fraction of its |mean| is constant to rounding
#: (a column of 0.7s has a computed deviation of ~1e-17, not 0): it is scaled by 1 (SPEC §8), never
#: by its rounding error, which would give it a weight of ~10¹⁶
CONSTANT_RATIO = 1e-12


def constant_columns(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """True for the columns constant to rounding: sd ≤ CONSTANT_RATIO·|mean| (sd = 0 included)."""
    return sd <= CONSTANT_RATIO * np.abs(mean)


@dataclass(frozen=True)
class ColumnTransform:
    """x' = (x − offset) / scale, column by column: ``offset`` and ``scale`` (Bt, D) float64, with
    Bt = 1 for a table shared by all models (or the rows of all groups) and B for one per model."""

    offset: np.ndarray
    scale: np.ndarray
    standardized: bool = False

    def apply(self, X: np.ndarray) -> np.ndarray:
        """X (N, D) or (B, N, D) in the transformed columns, float64 (a new array)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2:
            return (X - self.offset[0]) / self.scale[0]
        return (X - self.offset[:, None, :]) / self.scale[:, None, :]

    def weights_in(self, W: np.ndarray) -> np.ndarray:
        """Weights (…, D, K) on the user's columns in the transformed ones: w' = w·s."""
        scale = self.scale[0] if W.ndim == 2 else self.scale
        return W * scale[..., :, None]

    def theta_in(self, theta: np.ndarray) -> np.ndarray:
        """Models θ = (w, c) (…, K, P) on the user's columns in the transformed ones, float64:
        θ′ = (w·s, c + Σ_d m_d·w_d) (one transform for all: Bt = 1)."""
        theta = np.asarray(theta, dtype=np.float64)
        D = self.scale.shape[1]
        out = theta.copy()
        out[..., :D] = theta[..., :D] * self.scale[0]
        if theta.shape[-1] > D:
            out[..., D] = theta[..., D] + theta[..., :D] @ self.offset[0]
        return out

    def fold(self, W: np.ndarray, c: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Trained (W' (B, D, K), c' (B, K) or None) back on the user's columns, in W's dtype."""
        w = W.astype(np.float64) / self.scale[:, :, None]
        if c is None:
            return w.astype(W.dtype), None
        bias = c.astype(np.float64) - np.einsum("bd,bdk->bk", np.broadcast_to(self.offset, w.shape[:2]), w)
        return w.astype(W.dtype), bias.astype(c.dtype)


def _moments(X: np.ndarray, sw: np.ndarray | None, center: bool) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of every column, weighted by ``sw``; (Bt, D) each. Without
    ``center`` the mean is 0 and the "deviation" the root mean square. X (N, D) takes sw (N,) or
    (B, N) (their mean over models); X (B, N, D) takes sw (N,) or (B, N), per model."""
    if X.ndim == 2:
        w = None if sw is None else (sw.mean(axis=0) if sw.ndim == 2 else sw)
        total = float(X.shape[0]) if w is None else float(w.sum())
        mean = (X.sum(axis=0) if w is None else w @ X) / total if center else np.zeros(X.shape[1])
        sq = np.empty(X.shape[1])
        for j in range(X.shape[1]):  # column by column: no (N, D) temporary
            x = X[:, j] - mean[j]
            sq[j] = (x @ x if w is None else w @ (x * x)) / total
        return mean[None], np.sqrt(sq)[None]
    B, N, _ = X.shape
    w = np.ones((B, N)) if sw is None else np.broadcast_to(sw, (B, N))
    total = w.sum(axis=1)[:, None]
    mean = np.einsum("bn,bnd->bd", w, X) / total if center else np.zeros((B, X.shape[2]))
    sq = np.einsum("bn,bnd->bd", w, (X - mean[:, None, :]) ** 2) / total
    return mean, np.sqrt(sq)


def standardization(X: np.ndarray, sw: np.ndarray | None, bias: bool, columns=None) -> ColumnTransform:
    """``standardize=True``: centred (with a bias) and scaled columns; see the module docstring.
    ``columns`` (D,) bool: only those (the others keep offset 0 and scale 1: one-hot inputs stay 0/1)."""
    mean, sd = _moments(X, sw, center=bias)
    scale = np.where(constant_columns(mean, sd), 1.0, sd)
    if columns is not None:
        mean, scale = np.where(columns, mean, 0.0), np.where(columns, scale, 1.0)
    return ColumnTransform(offset=mean, scale=scale, standardized=True)


def standard_units(X: np.ndarray, sw: np.ndarray | None, bias: bool) -> ColumnTransform:
    """SPEC §8's standard units of a pooled fit: each column's weighted mean m (not subtracted
    without a bias, which could not absorb it) and standard deviation s over all the training rows
    (s = 1 for a column constant to rounding); the pull toward a parent is measured on
    θ′ = (w·s, c + Σ m·w), the model on these columns."""
    return units_of(*_moments(X, sw, center=True), bias)


def units_of(mean: np.ndarray, sd: np.ndarray, bias: bool) -> ColumnTransform:
    """:func:`standard_units` from the columns' weighted means and standard deviations (1, D)
    (``fastperceptron.dask`` reduces them over the partitions)."""
    mean, sd = np.atleast_2d(np.asarray(mean, np.float64)), np.atleast_2d(np.asarray(sd, np.float64))
    return ColumnTransform(offset=mean if bias else np.zeros_like(mean),
                           scale=np.where(constant_columns(mean, sd), 1.0, sd), standardized=True)


def solver_shift(X: np.ndarray, sw: np.ndarray | None, bias: bool) -> ColumnTransform | None:
    """The second-order solvers' shift of columns far from 0 relative to their spread, or None. The
    test reads E[x²] against E[x]² in one pass (it only needs to tell a ratio of 10³ from one of 1)."""
    if not bias:
        return None
    axes = tuple(range(X.ndim - 1))
    mean = X.mean(axis=axes)
    rows = X.reshape(-1, X.shape[-1])
    square = np.einsum("nd,nd->d", rows, rows) / rows.shape[0]
    if not (mean * mean > OFFSET_RATIO ** 2 * np.maximum(square - mean * mean, 0.0)).any():
        return None
    mean, _ = _moments(X, sw, center=True)
    return ColumnTransform(offset=mean, scale=np.ones_like(mean))
