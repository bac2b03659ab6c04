"""Model files: ``.npz`` without pickle, metadata as JSON, atomic writes. This module speaks dicts of
arrays and a JSON-able metadata dict; what a trained batch puts in them is
``fastperceptron.result_files``'s business (it never imports the result).

Layout of a file (format version 1): arrays ``weights``, ``seeds``, ``loss``, ``iterations``,
``learning_rate``, optionally ``bias``, ``history``, ``groups`` (the labels, int64 or fixed-width
unicode: no pickle), ``group_sizes``, ``l2``, ``converged`` (bool) and ``stop_reason`` (unicode), and ``metadata``: a JSON document (as a
uint8 array) with the format name and version, hyperparameters, backend, dtype, timing, library
versions and the user's metadata. Version 2 adds a groups batch's fallback model
(``fallback_weights``, ``fallback_bias``, and ``min_rows`` in the metadata); only files holding one
are written as version 2, so that older readers refuse them instead of dropping the fallback;
version 3 adds a pooled batch's hierarchy and parents (``pooling_*``, :mod:`.model`), likewise. Files are written to a temporary file in the same folder,
flushed to disk and renamed over the target, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

__all__ = ["write_model", "read_model", "check_target", "atomic_write", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fastperceptron-model"
FORMAT_VERSION = 3  # 2: a groups batch's fallback model; 3: a pooled batch's hierarchy; others are written as 1


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


def write_model(path, arrays: dict, meta: dict, version: int = 1) -> Path:
    """Write ``arrays`` (numeric or fixed-width text, no objects) and ``meta`` (JSON-serialisable;
    the format's name, ``version``, the date and library versions are added) to ``path``
    (``.npz`` appended when there is no suffix), atomically; returns the path written."""
    from ..version import __version__

    path = check_target(path, ".npz")
    meta = {"format": FORMAT, "format_version": version, **meta,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": {"fastperceptron": __version__, "numpy": np.__version__,
                         "python": platform.python_version()}}
    try:
        text = json.dumps(meta, default=_json_default, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cannot save: {exc}") from None
    arrays = {**arrays, "metadata": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def read_model(path, required=()) -> tuple[dict, dict]:
    """(arrays, metadata) of a model file; never unpickles anything. Raises FileNotFoundError when
    there is no such file and :class:`ModelFileError` when it is truncated or corrupt, was not
    written by fastperceptron, comes from a newer version or lacks one of ``required``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    not_ours = f"{str(path)!r} is not a fastperceptron model file"
    with open(path, "rb") as f:
        head = f.read(4)
    if head != b"PK\x03\x04" and head[:4] != b"PK\x05\x06":  # not a zip archive, as .npz files are
        raise ModelFileError(f"{not_ours} (a .npz written by train --out or result.save); "
                             f"{'a table, which --data reads' if path.suffix.lower() in ('.csv', '.parquet') else 'it is not a .npz archive'}")
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
                versions = meta.get("versions")
                by = versions.get("fastperceptron", "?") if isinstance(versions, dict) else "?"
                raise ModelFileError(
                    f"{str(path)!r} was written in model format {version!r} by fastperceptron {by}; this version "
                    f"reads format {FORMAT_VERSION} and older: upgrade with pip install -U fastperceptron"
                )
            missing = [n for n in required if n not in names]
            if missing:
                raise ModelFileError(f"{str(path)!r} is corrupt: missing arrays {missing}")
            return {n: z[n] for n in names if n != "metadata"}, meta
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        why = str(exc).split(". ")[0]  # numpy's pickle hint (allow_pickle=...) is not for model files
        raise ModelFileError(f"{not_ours} or is truncated/corrupt ({type(exc).__name__}: {why})") from None
