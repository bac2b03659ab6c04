"""The maths every floor shares: the logistic function and softplus, evaluated stably, and the
copy of an array (numpy or CuPy) to the host."""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "sigmoid_inplace", "softplus_sigmoid", "cross_entropy_sigmoid", "to_host"]


def sigmoid(z, xp=np):
    """The logistic function 1 / (1 + exp(-z)), the tutorial's formula bit for bit. For z < -709,
    exp(-z) overflows to inf and 1 / (1 + inf) = 0, the correctly rounded result: the overflow
    warning is silenced, and no NaN arises for any finite z."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-z))


def sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` of a float numpy array, written over it (the same bits, no temporaries)."""
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def softplus_sigmoid(z, xp=np):
    """(softplus(z), σ(z)) = (log(1 + e^z), 1 / (1 + e^−z)), elementwise, both from e^−|z|: no
    overflow for any finite z."""
    e = xp.exp(-xp.abs(z))
    return xp.maximum(z, 0.0) + xp.log1p(e), xp.where(z >= 0, 1.0, e) / (1.0 + e)


def cross_entropy_sigmoid(z, y, xp=np):
    """(softplus(z) − y·z, σ(z)): the cross-entropy at logits z of targets y in [0, 1], and σ(z),
    elementwise, from e^−|z|. It is summed as (max(z, 0) − y·z) + log1p(e^−|z|): the first part is
    exact for 0/1 targets (0 for a row on the right side), so a saturated row keeps its tiny loss
    (e^−40 at z = 40) instead of losing it to the cancellation of softplus(z) − z, and the line
    search can still tell two points apart there."""
    e = xp.exp(-xp.abs(z))
    return (xp.maximum(z, 0.0) - y * z) + xp.log1p(e), xp.where(z >= 0, 1.0, e) / (1.0 + e)


def to_host(a) -> np.ndarray:
    """``a`` as a numpy array: CuPy arrays are copied with ``.get()``, numpy arrays returned as they are."""
    get = getattr(a, "get", None)
    return get() if get is not None else np.asarray(a)
