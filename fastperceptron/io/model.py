"""A trained batch as a model file and back, as dicts: which arrays and metadata a result's fields
become (:func:`write`, through :mod:`.files`), and what :func:`read` checks before it gives the
fields of a ``TrainResult`` back. This module never imports the result: ``TrainResult.save`` and
``fastperceptron.load`` call it with and for plain dicts.

Layout of a file (format version 1): arrays ``weights``, ``seeds``, ``loss``, ``iterations``,
``learning_rate``, optionally ``bias``, ``history``, ``groups`` (the labels, int64 or fixed-width
unicode: no pickle), ``group_sizes``, ``l2``, ``converged`` (bool) and ``stop_reason`` (unicode),
and the metadata: format name and version, hyperparameters, backend, dtype, timing, library
versions and the user's metadata. Version 2 adds a groups batch's fallback model
(``fallback_weights``, ``fallback_bias``, and ``min_rows`` in the metadata); only files holding one
are written as version 2, so that older readers refuse them instead of dropping the fallback.
Version 3 adds a pooled batch's hierarchy and the models of its upper levels (SPEC §8): arrays
``pooling_shrink`` (L,), ``pooling_paths_l``, ``pooling_parent_l``, ``pooling_sizes_l`` (level l + 1's
paths), ``pooling_weights_l`` and ``pooling_bias_l`` (level l's models, l = 0 .. L − 1), optionally
``pooling_grid`` and ``pooling_cv_loss``, ``pooling_stop_reason_l`` (why level l's models stopped;
a file without them loads with None there), and the levels' names in the metadata.
"""

from __future__ import annotations

import operator
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..problem.hierarchy import Hierarchy, Pooling
from .files import FORMAT_VERSION, read_model, write_model

__all__ = ["write", "read", "STOP_REASONS"]

#: why a model of solver "newton" or "lbfgs" stopped: at its optimum, at the iteration cap, when its
#: line search found no step lowering the loss, because it has no finite optimum (targets of one
#: class with an unpenalised bias; separable classes without a penalty), or interrupted by Ctrl-C
STOP_REASONS = ("converged", "iterations", "line-search", "one-class", "separable", "interrupted")

_REQUIRED = ("weights", "seeds", "loss", "iterations", "learning_rate")
_OPTIONAL = ("bias", "history", "l2", "group_sizes", "fallback_weights", "fallback_bias", "covariance")
_META = ("backend", "dtype", "seconds", "setup_seconds", "complete", "params", "metadata", "min_rows")


def write(fields: dict, path) -> Path:
    """Write a result's ``fields`` (its attributes by name) to ``path`` (``.npz`` appended when
    there is no suffix); returns the path."""
    meta = {name: fields[name] for name in _META}
    meta["min_rows"] = int(meta["min_rows"])
    arrays = {name: fields[name] for name in _REQUIRED + _OPTIONAL if fields[name] is not None}
    if fields["converged"] is not None:
        arrays["converged"] = np.asarray(fields["converged"], dtype=bool)
    if fields["stop_reason"] is not None:
        arrays["stop_reason"] = np.asarray(fields["stop_reason"], dtype=str)
    groups = fields["groups"]
    if groups is not None:
        arrays["groups"] = np.asarray(groups, dtype=str if groups.dtype.kind == "U" else np.int64)
    else:
        arrays.pop("group_sizes", None)
    version = 2 if fields["fallback_weights"] is not None else 1  # older readers read the rest
    if fields["pooling"] is not None:
        arrays.update(_pooling_arrays(fields["pooling"]))
        meta["pooling_levels"] = list(fields["pooling"].hierarchy.names)
        if fields["pooling"].hierarchy.kinds is not None:
            meta["pooling_kinds"] = list(fields["pooling"].hierarchy.kinds)
        version = FORMAT_VERSION
    return write_model(path, arrays, meta, version)


def _pooling_arrays(pooling: Pooling) -> dict:
    h = pooling.hierarchy
    out = {"pooling_shrink": np.asarray(pooling.shrink, dtype=np.float64)}
    for j in range(h.n_levels):
        out[f"pooling_paths_{j}"] = np.asarray(h.paths[j], dtype=str)
        out[f"pooling_parent_{j}"] = h.parent[j]
        out[f"pooling_sizes_{j}"] = h.sizes[j]
        out[f"pooling_weights_{j}"] = pooling.weights[j]
        if pooling.bias is not None:
            out[f"pooling_bias_{j}"] = pooling.bias[j]
    if pooling.grid is not None:
        out["pooling_grid"], out["pooling_cv_loss"] = pooling.grid, pooling.cv_loss
    for j, reasons in enumerate(pooling.stop_reason or ()):
        out[f"pooling_stop_reason_{j}"] = np.asarray(reasons, dtype=str)
    return out


def _pooling(arrays: dict, meta: dict) -> Pooling | None:
    """The pooled batch's hierarchy and upper levels of a version-3 file, or None."""
    if "pooling_shrink" not in arrays:
        return None
    names = meta.get("pooling_levels")
    shrink = arrays["pooling_shrink"]
    L = shrink.shape[0]
    if not isinstance(names, list) or len(names) != L:
        raise ValueError(f"'pooling_levels' must name the {L} levels")
    get = lambda name: arrays[name]  # noqa: E731  a missing array is a KeyError, reported as corrupt
    hierarchy = Hierarchy(names=tuple(str(n) for n in names), paths=tuple(get(f"pooling_paths_{j}") for j in range(L)),
                          parent=tuple(get(f"pooling_parent_{j}") for j in range(L)),
                          sizes=tuple(get(f"pooling_sizes_{j}") for j in range(L)),
                          kinds=_kinds(meta.get("pooling_kinds"), L))
    with_bias = "pooling_bias_0" in arrays
    return Pooling(hierarchy=hierarchy, weights=tuple(get(f"pooling_weights_{j}") for j in range(L)),
                   bias=tuple(get(f"pooling_bias_{j}") for j in range(L)) if with_bias else None, shrink=shrink,
                   grid=arrays.get("pooling_grid"), cv_loss=arrays.get("pooling_cv_loss"),
                   stop_reason=tuple(get(f"pooling_stop_reason_{j}") for j in range(L))
                   if "pooling_stop_reason_0" in arrays else None)


def _kinds(kinds, L: int) -> tuple | None:
    """The levels' label kinds of the metadata (None in files written before they were kept)."""
    if kinds is None:
        return None
    if not isinstance(kinds, list) or len(kinds) != L or any(k not in ("int", "str") for k in kinds):
        raise ValueError(f"'pooling_kinds' must give 'int' or 'str' for each of the {L} levels")
    return tuple(kinds)


def read(path) -> dict:
    """The fields of the result saved at ``path`` (keywords of ``TrainResult``). Raises
    FileNotFoundError when there is no such file and :class:`ModelFileError` when the file is
    truncated or corrupt, was not written by fastperceptron, comes from a newer version, or holds
    arrays of the wrong kind, NaN parameters, unsorted labels or metadata that cannot be read."""
    path = Path(path)
    arrays, meta = read_model(path, _REQUIRED)
    _check_arrays(arrays, path)
    try:
        fields = _fields(arrays, meta)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ModelFileError(f"{str(path)!r} is corrupt: its metadata cannot be read ({type(exc).__name__}: "
                             f"{exc})") from None
    _check_consistent(fields, path)
    return fields


def _fields(arrays: dict, meta: dict) -> dict:
    params, metadata = meta.get("params", {}), meta.get("metadata", {})
    if not isinstance(params, dict) or not isinstance(metadata, dict):
        raise TypeError("'params' and 'metadata' must be JSON objects")
    dtype = str(meta.get("dtype", arrays["weights"].dtype.name))
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype {dtype!r} is neither 'float32' nor 'float64'")
    complete = meta.get("complete", True)
    if not isinstance(complete, bool):
        raise TypeError(f"'complete' must be true or false, got {complete!r}")
    return dict(
        weights=arrays["weights"],
        bias=arrays.get("bias"),
        seeds=arrays["seeds"],
        loss=arrays["loss"],
        iterations=arrays["iterations"],
        history=arrays.get("history"),
        learning_rate=arrays["learning_rate"],
        backend=str(meta.get("backend", "")),
        dtype=dtype,
        seconds=float(meta.get("seconds", float("nan"))),
        setup_seconds=float(meta.get("setup_seconds", 0.0)),
        complete=complete,
        params=dict(params),
        metadata=dict(metadata),
        groups=arrays.get("groups"),
        group_sizes=arrays.get("group_sizes"),
        l2=arrays.get("l2"),
        converged=arrays.get("converged"),
        stop_reason=arrays.get("stop_reason"),
        fallback_weights=arrays.get("fallback_weights"),
        fallback_bias=arrays.get("fallback_bias"),
        min_rows=operator.index(meta.get("min_rows", 0)),
        pooling=_pooling(arrays, meta),
        covariance=arrays.get("covariance"),
    )


#: the kinds each array of a file may have (numpy's dtype.kind): f float, i/u integer, b bool, U text
_KINDS = {"weights": "f", "bias": "f", "loss": "f", "history": "f", "learning_rate": "f", "l2": "f", "covariance": "f",
          "fallback_weights": "f", "fallback_bias": "f", "seeds": "iu", "iterations": "iu", "group_sizes": "iu",
          "converged": "b", "stop_reason": "U", "groups": "iU"}


def _check_arrays(arrays: dict, path: Path) -> None:
    """Each array of the kind it must have; the parameters finite; group labels sorted and distinct."""
    corrupt = f"{str(path)!r} is corrupt"
    for name, a in arrays.items():
        kinds = _KINDS.get(name)
        if kinds is not None and a.dtype.kind not in kinds:
            raise ModelFileError(f"{corrupt}: {name!r} holds {a.dtype} values")
    for name in ("weights", "bias", "fallback_weights", "fallback_bias", "learning_rate", "l2"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            raise ModelFileError(f"{corrupt}: {name!r} holds NaN or inf")
    labels = arrays.get("groups")
    if labels is not None and labels.ndim == 1 and labels.shape[0] > 1 and not (labels[1:] > labels[:-1]).all():
        raise ModelFileError(f"{corrupt}: its group labels are not sorted and distinct (model b serves the b-th "
                             "label in sorted order)")
    reasons = arrays.get("stop_reason")
    if reasons is not None:
        unknown = sorted(set(reasons.reshape(-1).tolist()) - set(STOP_REASONS))
        if unknown:
            raise ModelFileError(f"{corrupt}: unknown stop reasons {unknown[:3]}")


def _check_consistent(f: dict, path: Path) -> None:
    """The arrays' shapes agree: B models of (D, K) weights."""
    weights = f["weights"]
    B = weights.shape[0] if weights.ndim == 3 else -1
    expected = {"seeds": (B,), "loss": (B,), "iterations": (B,), "learning_rate": (B,)}
    if f["bias"] is not None:
        expected["bias"] = (B, weights.shape[2])
    if f["groups"] is not None:
        expected["groups"] = (B,)
    for name in ("group_sizes", "l2", "converged", "stop_reason"):
        if f[name] is not None:
            expected[name] = (B,)
    if f["fallback_weights"] is not None:
        expected["fallback_weights"] = weights.shape[1:]
        if f["fallback_bias"] is not None:
            expected["fallback_bias"] = weights.shape[2:]
    bad = [n for n, shape in expected.items() if f[n].shape != shape]
    if f["covariance"] is not None:
        P = weights.shape[1] + int(f["bias"] is not None)
        if f["covariance"].shape not in ((B, weights.shape[2], P, P), (B, weights.shape[2], P)):
            bad.append("covariance")
    if f["pooling"] is not None:
        bad += _pooling_problems(f["pooling"], f["groups"], weights.shape[1:], f["bias"] is not None)
    history = f["history"]
    if B < 0 or bad or (history is not None and (history.ndim != 2 or history.shape[0] != B)):
        raise ModelFileError(f"{str(path)!r} is corrupt: array shapes disagree ({bad or 'weights/history'})")


def _pooling_problems(p: Pooling, groups, DK: tuple, with_bias: bool) -> list:
    """What does not fit in a pooled batch's hierarchy: the innermost paths are the groups, level l's
    models one per path of level l (one at level 0), parents in range, parameters finite."""
    h = p.hierarchy
    counts = [1] + [paths.shape[0] for paths in h.paths]
    bad = []
    if groups is None or h.paths[-1].shape != groups.shape or (h.paths[-1] != groups.astype(str)).any():
        bad.append("pooling_paths (the innermost paths are the groups)")
    for j in range(h.n_levels):
        if p.weights[j].shape != (counts[j],) + DK or not np.isfinite(p.weights[j]).all():
            bad.append(f"pooling_weights_{j}")
        if with_bias != (p.bias is not None) or (with_bias and (
                p.bias[j].shape != (counts[j], DK[1]) or not np.isfinite(p.bias[j]).all())):
            bad.append(f"pooling_bias_{j}")
        up = h.parent[j]
        if up.shape != (counts[j + 1],) or h.sizes[j].shape != up.shape or (up.size and (
                up.min() < 0 or up.max() >= counts[j])):
            bad.append(f"pooling_parent_{j}")
        if p.stop_reason is not None and (p.stop_reason[j].shape != (counts[j],) or not np.isin(
                p.stop_reason[j], STOP_REASONS).all()):
            bad.append(f"pooling_stop_reason_{j}")
    return bad
