"""Saving and loading trained batches: ``.npz`` without pickle, metadata as JSON, atomic writes.

Layout of a file (format version 1): arrays ``weights``, ``seeds``, ``loss``, ``iterations``,
``learning_rate``, optionally ``bias``, ``history``, ``groups`` (the labels, int64 or fixed-width
unicode: no pickle), ``group_sizes``, ``l2``, ``converged`` (bool) and ``stop_reason`` (unicode), and ``metadata``: a JSON document (as a
uint8 array) with the format name and version, hyperparameters, backend, dtype, timing, library
versions and the user's metadata. Version 2 adds a groups batch's fallback model
(``fallback_weights``, ``fallback_bias``, and ``min_rows`` in the metadata); only files holding one
are written as version 2, so that older readers refuse them instead of dropping the fallback. Files are written to a temporary file in the same folder,
flushed to disk and renamed over the target, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import glob
import json
import operator
import os
import platform
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .result import STOP_REASONS, TrainResult

__all__ = ["save", "load", "check_target", "atomic_write", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fastperceptron-model"
FORMAT_VERSION = 2  # 2: a groups batch's fallback model; a file without one is still written as 1
_REQUIRED = ("weights", "seeds", "loss", "iterations", "learning_rate", "metadata")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"metadata value {obj!r} of type {type(obj).__name__} is not JSON-serialisable")


def check_target(path, suffix: str = "") -> Path:
    """``path`` as a Path (``suffix`` appended when it has none), or a clear error when no file can
    be written there: it is a directory, or its folder does not exist. The CLI calls it before
    training, so that a mistyped ``--out`` does not cost the run."""
    path = Path(path)
    if path.is_dir():
        example = path / f"model{suffix or '.npz'}"
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a directory; give a file name, e.g. {str(example)!r}")
    if suffix and path.suffix == "":
        path = path.with_suffix(suffix)
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: the folder {str(folder)!r} {what}; create it first "
            f"(mkdir -p {str(folder)!r}) or choose another path")
    return path


_PARTIAL = "saving"  # the temporary file of a save in progress: .NAME.saving-XXXXXXXX.tmp
_STALE_SECONDS = 60  # a partial file untouched this long before a new save began: a killed save's


def atomic_write(path: Path, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The temporary file is ``.NAME.saving-XXXXXXXX.tmp`` in the target's folder. A save killed
    mid-write (power cut, SIGKILL) leaves it behind; the next save to the same target removes such
    leftovers once it has written its own file (only those last written more than a minute before
    it began, so that a concurrent save to the same name is not disturbed).
    """
    path = check_target(path)
    began = time.time()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_PARTIAL}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from None
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp's 0600, else: the mode of a file written with open()
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _remove_leftovers(path, began - _STALE_SECONDS)


def _file_mode(path: Path) -> int:
    """The permissions the target gets: those it has when it exists (a save keeps them), else
    0666 less the process's umask, as for any file written with open()."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        pass
    try:  # Linux: the umask without changing it (os.umask sets it, a race with other threads)
        with open("/proc/self/status") as f:
            umask = next((int(line.split()[1], 8) for line in f if line.startswith("Umask:")), None)
    except OSError:
        umask = None
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _remove_leftovers(path: Path, before: float) -> None:
    """Remove partial files of earlier, killed saves to ``path`` last written before ``before``."""
    for old in path.parent.glob(f".{glob.escape(path.name)}.{_PARTIAL}-*.tmp"):
        try:
            if old.stat().st_mtime < before:
                old.unlink()
        except OSError:  # gone already, or not ours to remove: leave it
            pass


def save(result: TrainResult, path) -> Path:
    """Write ``result`` to ``path`` (``.npz`` appended when there is no suffix); returns the path."""
    from . import __version__

    path = check_target(path, ".npz")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if result.fallback_weights is not None else 1,  # old readers read it
        "backend": result.backend,
        "dtype": result.dtype,
        "seconds": result.seconds,
        "setup_seconds": result.setup_seconds,
        "complete": result.complete,
        "params": result.params,
        "metadata": result.metadata,
        "min_rows": int(result.min_rows),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "fastperceptron": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    try:
        text = json.dumps(meta, default=_json_default, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cannot save: {exc}") from None
    arrays = {
        "weights": result.weights,
        "seeds": result.seeds,
        "loss": result.loss,
        "iterations": result.iterations,
        "learning_rate": result.learning_rate,
        "metadata": np.frombuffer(text.encode("utf-8"), dtype=np.uint8),
    }
    if result.bias is not None:
        arrays["bias"] = result.bias
    if result.history is not None:
        arrays["history"] = result.history
    if result.l2 is not None:
        arrays["l2"] = result.l2
    if result.converged is not None:
        arrays["converged"] = np.asarray(result.converged, dtype=bool)
    if result.stop_reason is not None:
        arrays["stop_reason"] = np.asarray(result.stop_reason, dtype=str)
    if result.fallback_weights is not None:
        arrays["fallback_weights"] = result.fallback_weights
        if result.fallback_bias is not None:
            arrays["fallback_bias"] = result.fallback_bias
    if result.groups is not None:
        arrays["groups"] = np.asarray(result.groups, dtype=str if result.groups.dtype.kind == "U" else np.int64)
        if result.group_sizes is not None:
            arrays["group_sizes"] = result.group_sizes
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def load(path) -> TrainResult:
    """Read a model written by :meth:`TrainResult.save`. Never unpickles anything.

    Raises FileNotFoundError when there is no such file and :class:`ModelFileError` when the file is
    truncated or corrupt, was not written by fastperceptron, or comes from a newer version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    not_ours = f"{str(path)!r} is not a fastperceptron model file"
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            names = set(z.files)
            if "metadata" not in names:
                raise ModelFileError(f"{not_ours}: it has no 'metadata' entry (arrays: {sorted(names)})")
            meta = json.loads(z["metadata"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ModelFileError(f"{not_ours}: its metadata do not name the format {FORMAT!r}")
            version = meta.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise ModelFileError(
                    f"{str(path)!r} was written in model format {version!r} by fastperceptron "
                    f"{meta.get('versions', {}).get('fastperceptron', '?')}; this version reads format "
                    f"{FORMAT_VERSION} and older: upgrade with pip install -U fastperceptron"
                )
            missing = [n for n in _REQUIRED if n not in names]
            if missing:
                raise ModelFileError(f"{str(path)!r} is corrupt: missing arrays {missing}")
            arrays = {n: z[n] for n in names if n != "metadata"}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        why = str(exc).split(". ")[0]  # numpy's pickle hint (allow_pickle=...) is not for model files
        raise ModelFileError(f"{not_ours} or is truncated/corrupt ({type(exc).__name__}: {why})") from None
    _check_arrays(arrays, path)
    try:
        result = _result(arrays, meta)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} is corrupt: its metadata cannot be read ({type(exc).__name__}: "
                             f"{exc})") from None
    _check_consistent(result, path)
    return result


def _result(arrays: dict, meta: dict) -> TrainResult:
    params, metadata = meta.get("params", {}), meta.get("metadata", {})
    if not isinstance(params, dict) or not isinstance(metadata, dict):
        raise TypeError("'params' and 'metadata' must be JSON objects")
    dtype = str(meta.get("dtype", arrays["weights"].dtype.name))
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype {dtype!r} is neither 'float32' nor 'float64'")
    complete = meta.get("complete", True)
    if not isinstance(complete, bool):
        raise TypeError(f"'complete' must be true or false, got {complete!r}")
    return TrainResult(
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
    )


#: the kinds each array of a file may have (numpy's dtype.kind): f float, i/u integer, b bool, U text
_KINDS = {"weights": "f", "bias": "f", "loss": "f", "history": "f", "learning_rate": "f", "l2": "f",
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


def _check_consistent(r: TrainResult, path: Path) -> None:
    B = r.weights.shape[0] if r.weights.ndim == 3 else -1
    expected = {"seeds": (B,), "loss": (B,), "iterations": (B,), "learning_rate": (B,)}
    if r.bias is not None:
        expected["bias"] = (B, r.weights.shape[2])
    if r.groups is not None:
        expected["groups"] = (B,)
        if r.groups.dtype.kind not in "iU":
            raise ModelFileError(f"{str(path)!r} is corrupt: group labels of dtype {r.groups.dtype}")
    for name in ("group_sizes", "l2", "converged", "stop_reason"):
        if getattr(r, name) is not None:
            expected[name] = (B,)
    if r.fallback_weights is not None:
        expected["fallback_weights"] = r.weights.shape[1:]
        if r.fallback_bias is not None:
            expected["fallback_bias"] = r.weights.shape[2:]
    bad = [n for n, shape in expected.items() if getattr(r, n).shape != shape]
    if B < 0 or bad or (r.history is not None and (r.history.ndim != 2 or r.history.shape[0] != B)):
        raise ModelFileError(f"{str(path)!r} is corrupt: array shapes disagree ({bad or 'weights/history'})")


