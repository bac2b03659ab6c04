"""Reading data files for the command line: CSV and Parquet tables, and numpy's .npy/.npz.

CSV and Parquet go through pyarrow (``pip install 'fastperceptron[tables]'``): multi-threaded,
typed columns, strings kept as strings (10⁷ rows load in seconds). Without pyarrow, a CSV is still
read by the standard library, slowly; its columns must then be numeric, except the ``--group-by``
column, which may hold strings. The columns are then picked and checked by
:mod:`fastperceptron.io.columns`, as a DataFrame's are: every problem is a :class:`TableError`
naming the file, the line or row, the column and the fix.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .columns import FLAGS, Table, TableError, check_unique, select
from .inputs import arrays, encode, inputs

__all__ = ["TableError", "read_table", "load_data", "load_inputs", "write_table"]

PYARROW = "pip install 'fastperceptron[tables]' (pyarrow)"


def _csv_stdlib(path: Path) -> Table:
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
    check_unique(path, header)
    cells = np.char.strip(np.array(rows[1:], dtype=str))
    columns = {}
    for j, name in enumerate(header):
        column = cells[:, j]
        empty = column == ""
        try:  # numbers, with an empty cell as NaN (reported by name and line where it is used)
            columns[name] = np.where(empty, "nan", column).astype(np.float64) if not empty.all() else column
        except ValueError:
            columns[name] = column  # text: only a label column may be text
    return Table(source=str(path), names=header, columns=columns, lines=True, flags=FLAGS)


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return None
    return pyarrow


def read_table(path) -> Table:
    """The :class:`~fastperceptron.io.columns.Table` of a CSV or Parquet file."""
    from .frames import table_of

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
        return table_of(table, source=str(p), flags=FLAGS)
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
    return table_of(table, source=str(p), lines=True, flags=FLAGS)


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


def _group_columns(group_by, names: list[str], where: str = ""):
    """``--group-by``: one column (a name or position), or several joined by commas — a hierarchy,
    outermost first (a list); None when not given."""
    if group_by is None:
        return None
    if group_by in names:
        return group_by
    if where:  # new rows: the columns by name
        missing = [s for s in group_by.split(",") if s and s not in names]
        if missing:
            raise TableError(f"{where}no column {missing[0]!r} to group by; columns: {names}")
    picked = _pick([group_by], names, "--group-by")
    return picked if len(picked) > 1 else picked[0]


def _read(p: Path) -> Table:
    """The Table of a CSV, Parquet or 2-D .npy file (a .npy's columns are named by position)."""
    if p.suffix.lower() != ".npy":
        return read_table(p)
    data = _npy(p)
    if data.ndim != 2 or data.shape[1] < 2:
        raise TableError(f"{p}: a .npy must be 2-D with feature columns and target column(s); got {data.shape}")
    names = [str(i) for i in range(data.shape[1])]
    return Table(source=str(p), names=names, columns={n: data[:, i] for i, n in enumerate(names)}, flags=FLAGS)


def load_data(path, target: list[str] | None = None, group_by: str | None = None, features=None, drop=None,
              categorical=None, positive=None, cluster: str | None = None):
    """(X, y, groups or None, metadata) from a CSV/Parquet table, a 2-D .npy or a .npz with X and y.

    ``target``: column names or positions (default: the last column that is not ``group_by``);
    ``features`` (``--features``): the feature columns, in the models' order; else every other
    column except ``group_by`` and those ``drop`` (``--drop``) names is a feature and must be numeric,
    but the ``categorical`` ones (``--categorical``), one-hot encoded; ``positive`` (``--positive``)
    names the label of a two-label target that is 1 (:mod:`fastperceptron.io.inputs`). ``cluster``
    (``--cluster``): a column of cluster labels, no feature, its labels in ``metadata["clusters"]``.
    """
    p = Path(path)
    if not p.is_file():
        raise TableError(f"no data file at {str(path)!r}")
    if p.suffix.lower() == ".npz":
        if group_by:
            raise TableError(f"{p}: --group-by needs a table (CSV or Parquet) with named columns")
        return (*_npz(p), None, {})
    table = _read(p)
    group = _group_columns(group_by, table.names)
    clusters = _pick([cluster], table.names, "--cluster") if cluster else []
    roles = {"--target": _pick(target, table.names, "--target"), "--features": _pick(features, table.names, "--features"),
             "--group-by": [group] if isinstance(group, str) else group or [],
             "--categorical": _pick(categorical, table.names, "--categorical")}
    for flag, names in roles.items():
        if clusters and clusters[0] in names:
            raise TableError(f"{p}: column {clusters[0]!r} is given as both {flag} and --cluster; a column has one role"
                             + (" (clustering by the groups themselves leaves each model one cluster)"
                                if flag == "--group-by" else ""))
    selection = select(table, _pick(target, table.names, "--target") or None,
                       _pick(features, table.names, "--features") or None, group=group,
                       drop=(_pick(drop, table.names, "--drop") + clusters) or None,
                       categorical=_pick(categorical, table.names, "--categorical") or None)
    selection = encode(table, selection, positive)
    X, y, groups, _ = arrays(table, selection)
    meta = selection.meta()
    if clusters:
        from .columns import labels

        found = labels(table, clusters[0])
        meta["clusters"] = found.codes if hasattr(found, "codes") else found
    if p.suffix.lower() == ".npy":  # its columns have positions, not names: new rows are read by position
        del meta["feature_names"], meta["target_names"]
    return X, y, groups, meta


def load_inputs(path, feature_names: list[str] | None, group_by: str | None = None, categorical: dict | None = None,
                keep=None):
    """(X, groups or None, {column: values} of the ``keep`` columns) of new rows: a 2-D .npy, or a
    table whose columns include the model's ``feature_names`` (taken by name, in the model's order,
    other columns ignored; a missing one is a TableError naming it) and, for groups, ``group_by``. A
    model without names (trained on arrays or a .npy) reads the table's columns, less ``group_by``
    and ``keep``, in their order."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"no data file at {str(path)!r}")
    if p.suffix.lower() == ".npy":
        if group_by or keep:
            raise TableError(f"{p}: {'--group-by' if group_by else '--keep'} needs a table (CSV or Parquet) with named "
                             "columns")
        return _npy(p), None, {}
    table = read_table(p)
    group = _group_columns(group_by, table.names, f"{p}: ")
    kept = {name: _values(table, name) for name in _pick(keep, table.names, "--keep")}
    if feature_names:  # by name, in the model's order; a missing name is an error naming it, never a guess
        return (*inputs(table, list(feature_names), group, categorical), kept)
    # a model trained on arrays (or a .npy) has no names: the table's columns are read in its order
    grouped = [] if group is None else group if isinstance(group, list) else [group]
    return (*inputs(table, [n for n in table.names if n not in grouped and n not in kept], group), kept)


def _values(table: Table, name: str) -> np.ndarray:
    """A column's cells as they are, to carry through to predictions: numbers, or text."""
    from .columns import Unsupported

    values = table.columns[name]
    if isinstance(values, Unsupported):
        values = values.values
    if values is None:
        raise TableError(f"{table.source}: column {name!r} cannot be carried through")
    if not isinstance(values, np.ndarray):
        values = np.asarray(values.cast(_string()).to_list() if hasattr(values, "cast") else values.to_list(),
                            dtype=object)
        values = np.where(values == None, "", values).astype(str)  # noqa: E711  (nulls as empty cells)
    return values


def _string():
    import narwhals as nw

    return nw.String


def write_table(path, columns: dict) -> Path:
    """``columns`` {name: (M,) values} as a CSV (floats to every digit: the shortest text that reads
    back the same float64) or a Parquet file by the suffix, atomically; returns the path written."""
    from .files import atomic_write, check_target

    path = check_target(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        pa = _pyarrow()
        if pa is None:
            raise TableError(f"{path}: writing Parquet needs pyarrow: {PYARROW}")
        table = pa.table({k: np.asarray(v) for k, v in columns.items()})
        atomic_write(path, lambda f: pa.parquet.write_table(table, f))
        return path
    names = list(columns)
    cells = [[repr(float(v)) for v in values] if np.asarray(values).dtype.kind == "f" else [str(v) for v in values]
             for values in columns.values()]

    def write(f):
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(names)
        writer.writerows(zip(*cells))
        text.flush()
        text.detach()

    atomic_write(path, write)
    return path


def _npz(p: Path):
    try:
        with open(p, "rb") as f, np.load(f, allow_pickle=False) as z:
            keys = {k.lower(): k for k in z.files}
            if "x" not in keys or "y" not in keys:
                raise TableError(f"{p}: a .npz needs arrays named 'X' and 'y' (found {z.files})")
            return z[keys["x"]], z[keys["y"]]
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, TableError):
            raise
        raise TableError(f"{p}: not a readable .npz file ({exc})") from None


def _npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            return np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise TableError(f"{path}: not a readable .npy file ({exc})") from None
