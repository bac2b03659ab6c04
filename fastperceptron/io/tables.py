"""Reading data files for the command line: CSV and Parquet tables, and numpy's .npy/.npz.

CSV and Parquet go through pyarrow (``pip install 'fastperceptron[tables]'``): multi-threaded,
typed columns, strings kept as strings (10⁷ rows load in seconds). Without pyarrow, a CSV is still
read by the standard library, slowly; its columns must then be numeric, except the ``--group-by``
column, which may hold strings. Every problem is a :class:`TableError` naming the file, the column
and the fix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["TableError", "read_table", "load_data", "load_inputs"]

PYARROW = "pip install 'fastperceptron[tables]' (pyarrow)"


class TableError(ValueError):
    """A data file that cannot be used as asked; the message names the file, the column and the fix."""


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return None
    return pyarrow


def _csv_stdlib(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"{path}: not a readable CSV file ({exc}); a CSV is UTF-8 text") from None
    if len(rows) < 2:
        raise TableError(f"{path}: a CSV needs a header line and at least one data row")
    header = [h.strip() for h in rows[0]]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise TableError(f"{path}, line {i}: {len(row)} fields, but the header has {len(header)}")
    _check_unique(path, header)
    cells = np.char.strip(np.array(rows[1:], dtype=str))
    columns = {}
    for j, name in enumerate(header):
        column = cells[:, j]
        empty = column == ""
        try:  # numbers, with an empty cell as NaN (reported by name and line where it is used)
            columns[name] = np.where(empty, "nan", column).astype(np.float64) if not empty.all() else column
        except ValueError:
            columns[name] = column  # text: only a label column may be text
    return header, columns


def _check_unique(path, names) -> None:
    seen, twice = set(), []
    for n in names:
        if n in seen and n not in twice:
            twice.append(n)
        seen.add(n)
    if twice:
        raise TableError(f"{path}: the column name(s) {twice} appear more than once in the header; give every "
                         "column its own name")


def _arrow_columns(table, path) -> tuple[list[str], dict]:
    """Numeric columns as numpy arrays; string columns stay Arrow arrays until their use is known
    (a group column is factorized by Arrow, without a Python string per row)."""
    import pyarrow as pa

    names = [str(n) for n in table.column_names]
    _check_unique(path, names)
    columns = {}
    for i, name in enumerate(names):
        col = table.column(i)
        t = col.type
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            columns[name] = col
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            if col.null_count:  # empty cells become NaN, reported by line and column where they are used
                col = col.cast(pa.float64())
            columns[name] = col.to_numpy()
        elif pa.types.is_null(t):  # a column of empty cells only
            columns[name] = np.full(len(col), np.nan)
        else:
            columns[name] = _Unsupported(str(t), len(col))
    return names, columns


def _where(path, row: int) -> str:
    """How a user finds row ``row`` (0-based, after the header) of the file: a CSV's line, else the row."""
    return f"line {row + 2}" if Path(path).suffix.lower() == ".csv" else f"row {row}"


def _labels(path, name: str, values):
    """A group column as labels: numpy values, or for Arrow strings a ``Factorized`` (sorted labels
    and one code per row), computed by Arrow."""
    from ..problem.groups import Factorized

    if isinstance(values, _Unsupported):
        raise TableError(f"{path}: column {name!r} has type {values.type_name}; group labels are integers or strings")
    if not hasattr(values, "combine_chunks"):
        empty = (values == "") if values.dtype.kind == "U" else (
            np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool))
        if empty.any():
            raise TableError(f"{path}, {_where(path, int(np.argmax(empty)))}, column {name!r}: an empty label "
                             f"({int(empty.sum()):,} row(s) have none); every row needs a label (drop or fill those "
                             "rows first)")
        return values
    import pyarrow.compute as pc

    empty = pc.or_(pc.is_null(values), pc.equal(values, "")).combine_chunks().to_numpy(zero_copy_only=False)
    if empty.any():
        raise TableError(f"{path}, {_where(path, int(np.argmax(empty)))}, column {name!r}: an empty label "
                         f"({int(empty.sum()):,} row(s) have none); every row needs a label (drop or fill those rows "
                         "first)")
    encoded = pc.dictionary_encode(values).combine_chunks()
    dictionary = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
    rank = np.empty(len(dictionary), dtype=np.int64)
    order = np.argsort(dictionary, kind="stable")
    rank[order] = np.arange(len(dictionary))
    codes = rank[np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    return Factorized(labels=dictionary[order], codes=codes)


class _Unsupported:
    """A column of a type that is neither a number nor a label (dates, lists...)."""

    def __init__(self, type_name: str, n: int):
        self.type_name, self.n = type_name, n


def read_table(path) -> tuple[list[str], dict]:
    """(column names, {name: 1-D numpy array}) of a CSV or Parquet file."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"no data file at {str(path)!r}")
    suffix = p.suffix.lower()
    pa = _pyarrow()
    if suffix in (".parquet", ".pq"):
        if pa is None:
            raise TableError(f"{p}: reading Parquet needs pyarrow: {PYARROW}")
        try:
            table = pa.parquet.read_table(p)
        except (pa.ArrowException, OSError) as exc:
            raise TableError(f"{p}: not a readable Parquet file ({exc})") from None
        return _arrow_columns(table, p)
    if pa is None:
        return _csv_stdlib(p)
    try:
        table = pa.csv.read_csv(p)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise TableError(f"{p}: not a readable CSV file ({(str(exc).splitlines() or [type(exc).__name__])[0]})") from None
    if table.num_rows == 0:
        raise TableError(f"{p}: a CSV needs a header line and at least one data row")
    try:
        table.column_names
    except UnicodeDecodeError as exc:
        raise TableError(f"{p}: not a readable CSV file ({exc}); a CSV is UTF-8 text with a header line") from None
    return _arrow_columns(table, p)


def _numeric(path, name: str, values, role: str) -> np.ndarray:
    if isinstance(values, _Unsupported):
        raise TableError(f"{path}: column {name!r} has type {values.type_name}; {role} columns must be numbers")
    if hasattr(values, "combine_chunks"):  # an Arrow string column: show its first cell that is not a number
        values = np.asarray(values.slice(0, 100_000).to_pylist(), dtype=object)
    if values.dtype.kind not in "biuf":
        where, example = 0, values[0]
        for i, v in enumerate(values):  # the first cell that is not a number
            try:
                float(v)
            except (TypeError, ValueError):
                where, example = i, v.item() if isinstance(v, np.generic) else v
                break
        raise TableError(
            f"{path}, {_where(path, where)}, column {name!r}: {example!r} is not a number; {role} columns must be "
            "numbers (encode or drop this column, or name it with --group-by if it labels groups)")
    values = values.astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        where = int(np.argmax(bad))
        what = "an empty cell (or NaN)" if np.isnan(values[where]) else f"{float(values[where])!r}"
        raise TableError(
            f"{path}, {_where(path, where)}, column {name!r}: {what}; {role} columns need a finite number in every "
            f"row ({int(bad.sum()):,} row(s) lack one): drop or impute those rows first")
    return values


def _target(path, name: str, values) -> np.ndarray:
    """A target column: numbers in [0, 1] (0/1 labels or probabilities), named where one is not."""
    y = _numeric(path, name, values, "target")
    bad = (y < 0) | (y > 1)
    if bad.any():
        where = int(np.argmax(bad))
        raise TableError(f"{path}, {_where(path, where)}, column {name!r}: {float(y[where])!r} is not in [0, 1]; "
                         "targets are 0/1 labels or probabilities (encode the classes as 0 and 1, or choose "
                         "another --target)")
    return y


def _pick(spec: list[str] | None, names: list[str], flag: str) -> list[str]:
    out = []
    for item in (s for part in spec or [] for s in part.split(",") if s):
        if item in names:
            out.append(item)
        elif item.lstrip("-").isdigit() and -len(names) <= int(item) < len(names):
            out.append(names[int(item)])
        else:
            raise TableError(f"{flag} {item!r} is neither a column name nor a position; columns: {names}")
    return out


def load_data(path, target: list[str] | None = None, group_by: str | None = None):
    """(X, y, groups or None, metadata) from a CSV/Parquet table, a 2-D .npy or a .npz with X and y.

    ``target``: column names or positions (default: the last column that is not ``group_by``);
    every other column except ``group_by`` is a feature and must be numeric.
    """
    p = Path(path)
    if not p.is_file():
        raise TableError(f"no data file at {str(path)!r}")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        if group_by:
            raise TableError(f"{p}: --group-by needs a table (CSV or Parquet) with named columns")
        try:
            with open(p, "rb") as f, np.load(f, allow_pickle=False) as z:
                keys = {k.lower(): k for k in z.files}
                if "x" not in keys or "y" not in keys:
                    raise TableError(f"{path}: a .npz needs arrays named 'X' and 'y' (found {z.files})")
                return z[keys["x"]], z[keys["y"]], None, {}
        except (ValueError, OSError, EOFError) as exc:
            if isinstance(exc, TableError):
                raise
            raise TableError(f"{path}: not a readable .npz file ({exc})") from None
    if suffix == ".npy":
        data = _npy(p)
        if data.ndim != 2 or data.shape[1] < 2:
            raise TableError(f"{path}: a .npy must be 2-D with feature columns and target column(s); got {data.shape}")
        names = [str(i) for i in range(data.shape[1])]
        columns = {n: data[:, i] for i, n in enumerate(names)}
    else:
        names, columns = read_table(p)
    if group_by is not None:
        (group_by,) = _pick([group_by], names, "--group-by")
    candidates = [n for n in names if n != group_by]
    tnames = _pick(target, names, "--target") or candidates[-1:]
    if group_by in tnames:
        raise TableError(f"--group-by {group_by!r} is also a --target column; a column is one or the other")
    fnames = [n for n in candidates if n not in tnames]
    if not fnames:
        raise TableError(f"{path}: no feature columns left once the target columns {tnames} are taken")
    X = np.column_stack([_numeric(p, n, columns[n], "feature") for n in fnames])
    y = np.column_stack([_target(p, n, columns[n]) for n in tnames])
    groups = None if group_by is None else _labels(p, group_by, columns[group_by])
    meta = {"feature_names": fnames, "target_names": tnames}
    if group_by is not None:
        meta["group_by"] = group_by
    return X, y, groups, meta


def load_inputs(path, feature_names: list[str] | None, group_by: str | None = None):
    """(X, groups or None) of new rows: a 2-D .npy, or a table whose columns include the model's
    ``feature_names`` (taken by name, in the model's order) and, for groups, ``group_by``."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"no data file at {str(path)!r}")
    if p.suffix.lower() == ".npy":
        if group_by:
            raise TableError(f"{p}: --group-by needs a table (CSV or Parquet) with named columns")
        return _npy(p), None
    names, columns = read_table(p)
    groups = None
    if group_by is not None:
        if group_by not in names:
            raise TableError(f"{p}: no column {group_by!r} to group by; columns: {names}")
        groups = _labels(p, group_by, columns[group_by])
    if feature_names and all(n in names for n in feature_names):
        fnames = list(feature_names)
    else:
        fnames = [n for n in names if n != group_by]
        if feature_names:
            missing = [n for n in feature_names if n not in names]
            if len(fnames) != len(feature_names):
                raise TableError(f"{p}: the model needs the columns {feature_names}; missing {missing}")
    return np.column_stack([_numeric(p, n, columns[n], "feature") for n in fnames]), groups


def _npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            return np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise TableError(f"{path}: not a readable .npy file ({exc})") from None
