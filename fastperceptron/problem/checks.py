"""The checks every argument of ``train`` goes through: real, finite, non-empty arrays of the
right rank, non-negative integers, and the number of models B that every argument carrying a
model axis must agree on. ``make_problem`` (fastperceptron/problem/make.py) applies them."""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["real_array", "check_finite", "check_shape", "nonneg_int", "optional_positive_int", "targets_per_model",
           "model_axis_carriers", "count_models"]


def real_array(name: str, value, dtype=np.float64) -> np.ndarray:
    """``value`` as a real float array, with clear errors for ragged, complex or non-numeric input."""
    try:
        a = np.asarray(value)
    except ValueError as exc:  # numpy 2: inhomogeneous nested sequences
        raise ValueError(f"{name} must be a rectangular array (every row the same length): {exc}") from None
    if a.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({a.dtype}); fastperceptron trains on real numbers: pass {name}.real")
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must contain only numbers, got dtype {a.dtype}; "
                f"convert it first, e.g. np.asarray({name}, dtype=float)"
            ) from None
    a = a.astype(dtype, copy=False)
    return a


def check_finite(name: str, a: np.ndarray, hint: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains NaN or inf (first at index {where}); {hint}")


def check_shape(name: str, a: np.ndarray, allowed: tuple[int, ...], meaning: str) -> None:
    if a.ndim not in allowed:
        raise ValueError(f"{name} must be {meaning}; got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}); it needs at least one element on every axis")


def nonneg_int(name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def optional_positive_int(name: str, value) -> int | None:
    """None, or a positive integer (``threads``, ``chunk_iterations``), with a clear error."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return value


_CARRIER_NAMES = {
    "seeds": "seeds",
    "X": "X (axis 0 of a 3-D X)",
    "y": "y (axis 0 of per-model targets)",
    "sample_weight": "sample_weight (axis 0 of a 2-D sample_weight)",
    "learning_rate": "learning_rate (its length)",
    "l2": "l2 (its length)",
    "initial_weights": "initial_weights (axis 0 of a 3-D initial_weights)",
    "groups": "groups (its number of distinct labels)",
}


def targets_per_model(y_shape: tuple, n_samples: int) -> bool:
    """Whether targets of this shape are one set per model: (B, N, K), or (B, N) (a 2-D y whose
    first axis is not N but whose second is)."""
    return len(y_shape) == 3 or (len(y_shape) == 2 and y_shape[0] != n_samples and y_shape[1] == n_samples)


def model_axis_carriers(shapes: dict, n_samples: int) -> dict:
    """Which arguments carry the model axis B, and the B each says: {name: B}.

    ``shapes`` maps argument names (seeds, X, y, sample_weight, learning_rate, initial_weights) to
    their shapes, or None when absent. A 3-D X or initial_weights, per-model targets, a 2-D
    sample_weight, a 1-D learning_rate and seeds carry B.
    """
    per_model_ndim = {"seeds": 1, "X": 3, "sample_weight": 2, "learning_rate": 1, "l2": 1, "initial_weights": 3}
    carriers = {}
    for name, shape in shapes.items():
        if shape is None:
            continue
        if name == "y" and targets_per_model(shape, n_samples) or per_model_ndim.get(name) == len(shape):
            carriers[name] = shape[0]
    return carriers


def count_models(carriers: dict, models=None) -> int:
    """B from ``model_axis_carriers`` and ``models``; all must agree. 1 when nothing says."""
    said = [("seeds", carriers["seeds"])] if "seeds" in carriers else []
    if models is not None:
        said.append(("models", models))
    said += [(_CARRIER_NAMES[name], size) for name, size in carriers.items() if name != "seeds"]
    sizes = {size for _, size in said}
    if len(sizes) > 1:
        text = ", ".join(f"{name} says {size}" for name, size in said)
        raise ValueError(f"inconsistent number of models B: {text}; all of them must agree")
    return sizes.pop() if sizes else 1
