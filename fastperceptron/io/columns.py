"""A table's columns as the arrays ``train`` reads: one reader for the command line's files, pandas,
polars and Arrow tables and the partitions of a Dask DataFrame.

A :class:`Table` holds a table's column names and its columns, each a numpy array (numbers), a
narwhals Series (strings, factorized by the table library only if used as labels) or an
:class:`Unsupported` marker. :func:`select` picks the feature, target, label and weight columns by
name; :func:`arrays` turns them into ``X``, ``y``, ``groups`` and ``sample_weight``, checking every
cell. Every problem is a :class:`TableError` naming the table, the row, the column and the fix, in
the same words wherever the table came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

__all__ = ["TableError", "Table", "Unsupported", "Selection", "select", "check_unique", "names_of", "numeric",
           "target", "labels", "factorize_strings", "KEYWORDS", "FLAGS"]


class TableError(ValueError):
    """A table that cannot be used as asked; the message names the table, the column and the fix."""


class Unsupported:
    """A column of a type that is neither a number nor a label (dates, lists...); ``values``: its
    cells (a narwhals Series) when the table library has them, to carry through to predictions."""

    def __init__(self, type_name: str, n: int, values=None):
        self.type_name, self.n, self.values = type_name, n, values


#: how a message names the arguments that pick columns: keywords of ``train``, or the CLI's flags
KEYWORDS = {"target": "target=", "groups": "groups=", "features": "features=", "weight": "sample_weight=",
            "drop": "drop=", "categorical": "categorical=", "positive": "positive="}
FLAGS = {"target": "--target", "groups": "--group-by", "features": "--features", "weight": "--sample-weight",
         "drop": "--drop", "categorical": "--categorical", "positive": "--positive"}


def cite(flag: str, names) -> str:
    """How a message shows an argument with column names: ``--drop a,b`` or ``drop=['a', 'b']``."""
    return f"{flag} {','.join(names)}" if flag.startswith("--") else f"{flag}{list(names)!r}"


@dataclass
class Table:
    """``names`` (in the table's order) and ``columns`` {name: column} of a table; ``source`` names
    it in messages (a file, or e.g. "the polars DataFrame"); ``lines``: rows are told as a CSV
    file's lines (the header is line 1); ``flags``: how messages name the column arguments;
    ``row_ids``: each row's number in the user's table when this one holds some of its rows (a
    Dask partition), else None."""

    source: str
    names: list
    columns: dict
    lines: bool = False
    flags: dict = field(default_factory=lambda: dict(KEYWORDS))
    row_ids: np.ndarray | None = None
    index: np.ndarray | None = None  # a pandas-like table's index labels, when not 0 .. N − 1

    @property
    def n_rows(self) -> int:
        first = next(iter(self.columns.values()), None)
        return 0 if first is None else len(first) if not isinstance(first, Unsupported) else first.n

    def where(self, row: int) -> str:
        """How a user finds row ``row`` (0-based, after the header): a CSV's line, else the row."""
        n = int(row) if self.row_ids is None else int(self.row_ids[row])
        if self.lines:
            return f"line {n + 2}"
        label = self.index[row] if self.index is not None else None
        return f"row {n}" if label is None else f"row {n} (index {label.item() if hasattr(label, 'item') else label!r})"


@dataclass(frozen=True)
class Selection:
    """The columns a model reads: features (the columns of its inputs, in order), targets (its K
    outputs), the group label column and the row-weight column (or None); ``categorical`` {column:
    its levels} of the features one-hot encoded and ``labels`` {target: [label of 0, label of 1]}
    of the targets of two labels (:mod:`fastperceptron.io.inputs`)."""

    features: list
    targets: list
    group: str | list | None = None  # one label column, or a list of them: a hierarchy, outermost first
    weight: str | None = None
    categorical: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)

    def inputs(self) -> list:
        """The model's inputs by name: each feature column, or its levels' ``column=level``."""
        out = []
        for name in self.features:
            out += [f"{name}={level}" for level in self.categorical[name]] if name in self.categorical else [name]
        return out

    def meta(self) -> dict:
        """What a result keeps of the selection (``result.metadata``)."""
        meta = {"feature_names": self.inputs(), "target_names": list(self.targets)}
        if self.group is not None:
            meta["group_by"] = self.group
        if self.categorical:
            meta["categorical"] = {k: list(v) for k, v in self.categorical.items()}
        if self.labels:
            meta["target_labels"] = {k: list(v) for k, v in self.labels.items()}
        return meta


def check_unique(source, names) -> None:
    seen, twice = set(), []
    for n in names:
        if n in seen and n not in twice:
            twice.append(n)
        seen.add(n)
    if twice:
        raise TableError(f"{source}: the column name(s) {twice} appear more than once; give every column its own name")


def names_of(value, what: str) -> list | None:
    """A column argument as a list of names: None, one name, or a list of names."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"{what} names column(s) of the table: a column name or a list of names, got {value!r}")


def select(table: Table, targets, features=None, group=None, weight=None, with_targets: bool = True, drop=None,
           categorical=None) -> Selection:
    """The columns named by ``targets`` (one name or several; default: the last column that is no
    other role's), ``features`` (default: every column that is no other role's and not in ``drop``),
    ``group`` and ``weight``; ``categorical`` names features to one-hot encode (added to the features
    when they are not among them; their levels are read by :func:`fastperceptron.io.inputs.encode`).
    A name the table lacks, or a column given two roles, is a TableError. Without targets
    (``with_targets=False``: they come from elsewhere) every other column is a feature."""
    f = table.flags
    named = {"target": names_of(targets, f["target"]), "features": names_of(features, f["features"]),
             "groups": names_of(group, f["groups"]), "weight": names_of(weight, f["weight"]),
             "drop": names_of(drop, f["drop"]), "categorical": names_of(categorical, f["categorical"])}
    if named["features"] and named["drop"]:
        raise TableError(f"{f['features']} names the feature columns and {f['drop']} the columns to leave out: give one")
    for role, names in named.items():
        missing = [n for n in names or [] if n not in table.names]
        if missing:
            raise TableError(f"{table.source}: no column {missing[0]!r} ({f[role]}); its columns are {table.names}")
    taken = {}
    for role, names in named.items():
        for n in names or []:
            role_of = "features" if role == "categorical" else role  # a categorical column is a feature
            if n in taken and taken[n] != role_of:
                raise TableError(f"{table.source}: column {n!r} is given as both {f[taken[n]]} and {f[role]}; a column "
                                 "has one role")
            taken[n] = role_of
    group = group if isinstance(group, list) else named["groups"][0] if named["groups"] else None
    weight = named["weight"][0] if named["weight"] else None
    rest = [n for n in table.names if taken.get(n, "features") == "features"]  # not a target, label, weight, drop
    chosen = set(named["features"] or []) | set(named["categorical"] or [])
    tnames = (named["target"] or [n for n in rest if n not in chosen][-1:]) if with_targets else []
    fnames = named["features"] or [n for n in rest if n not in tnames]
    fnames += [n for n in named["categorical"] or [] if n not in fnames]
    if with_targets and not tnames:
        raise TableError(f"{table.source}: no target column; name it with {f['target']}")
    if not fnames:
        raise TableError(f"{table.source}: no feature columns left once the target columns {tnames} are taken")
    categorical = {n: [] for n in named["categorical"] or []}  # levels: read with the cells
    return Selection(features=fnames, targets=tnames, group=group, weight=weight, categorical=categorical)


def numeric(table: Table, name: str, role: str) -> np.ndarray:
    """Column ``name`` as finite float64 numbers; otherwise a TableError naming the first bad cell."""
    values = table.columns[name]
    if isinstance(values, Unsupported):
        raise TableError(f"{table.source}: column {name!r} has type {values.type_name}; {role} columns must be numbers")
    if not isinstance(values, np.ndarray):  # a column of strings: show its first cell that is not a number
        values = np.asarray(values.head(100_000).to_list(), dtype=object)
    elif values.dtype.kind == "O":  # Python objects: numbers only (None as missing) are numbers
        values = _object_numbers(values)
    if values.dtype.kind not in "biuf":
        where, example = 0, values[0]
        for i, v in enumerate(values):  # the first cell that is not a number (else: numbers written as text)
            if not _is_number(v):
                where, example = i, v.item() if isinstance(v, np.generic) else v
                break
        labels_hint = f", or name it with {table.flags['groups']} if it labels groups" if role == "feature" else ""
        text = " (text)" if isinstance(example, str) and _is_number(example) else ""
        raise TableError(
            f"{table.source}, {table.where(where)}, column {name!r}: {example!r}{text} is not a number; {role} columns "
            f"must be numbers (encode or drop this column{labels_hint})")
    values = values.astype(np.float64, copy=False)
    big = np.abs(values) > 1e150  # their squares overflow float64
    if big.any() and np.isfinite(values[big]).any():
        where = int(np.argmax(big & np.isfinite(values)))
        raise TableError(f"{table.source}, {table.where(where)}, column {name!r}: {float(values[where])!r} is too large: "
                         "its square overflows float64; rescale the column (divide it by a power of ten)")
    bad = ~np.isfinite(values)
    if bad.any():
        where = int(np.argmax(bad))
        what = "an empty cell (or NaN)" if np.isnan(values[where]) else f"{float(values[where])!r}"
        raise TableError(
            f"{table.source}, {table.where(where)}, column {name!r}: {what}; {role} columns need a finite number in "
            f"every row ({int(bad.sum()):,} row(s) lack one): drop or impute those rows first")
    return values


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _object_numbers(values: np.ndarray) -> np.ndarray:
    """An object column as float64 when every cell is a number (int, float, Decimal, numpy scalar;
    None counts as missing, NaN), else unchanged (its first bad cell is then reported)."""
    from numbers import Number

    if not all(v is None or (isinstance(v, Number) and not isinstance(v, complex)) for v in values):
        return values
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def target(table: Table, name: str) -> np.ndarray:
    """A target column: numbers in [0, 1] (0/1 labels or probabilities), named where one is not."""
    y = numeric(table, name, "target")
    bad = (y < 0) | (y > 1)
    if bad.any():
        where = int(np.argmax(bad))
        raise TableError(f"{table.source}, {table.where(where)}, column {name!r}: {float(y[where])!r} is not in [0, 1]; "
                         "targets are 0/1 labels or probabilities (encode the classes as 0 and 1, or choose "
                         f"another {table.flags['target']})")
    return y


def labels(table: Table, name: str):
    """A group column as labels: numpy values, or for strings a ``Factorized`` (sorted labels and one
    code per row) computed by the table library (Arrow's hash table where pyarrow is installed)."""
    values = table.columns[name]
    if isinstance(values, Unsupported) and values.values is not None and "date" in values.type_name:
        import narwhals as nw

        try:  # a date or a time is a label too (clustered by day): by its text
            values = values.values.cast(nw.String)
        except Exception:  # noqa: BLE001 — a library that cannot: the message below
            pass
    if isinstance(values, Unsupported):
        raise TableError(f"{table.source}: column {name!r} has type {values.type_name}; labels (of groups or "
                         "clusters) are integers, strings or dates")
    if isinstance(values, np.ndarray):
        empty = (values == "") if values.dtype.kind == "U" else (
            np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool))
    else:
        empty = np.asarray((values.is_null() | (values == "")).to_numpy(), dtype=bool)
    if empty.any():
        raise TableError(f"{table.source}, {table.where(int(np.argmax(empty)))}, column {name!r}: an empty label "
                         f"({int(empty.sum()):,} row(s) have none); every row needs a label (drop or fill those rows "
                         "first)")
    return values if isinstance(values, np.ndarray) else factorize_strings(values)


def factorize_strings(series):
    """The ``Factorized`` labels of a narwhals string Series: Arrow's dictionary encoding (a hash
    table; zero-copy from polars and Arrow) where pyarrow is installed, else the table library's own
    ``unique`` and ``replace_strict``. Only the G distinct labels are sorted."""
    from ..problem.groups import Factorized

    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        pa = None
    if pa is not None:
        encoded = pc.dictionary_encode(series.to_arrow())
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()  # one dictionary, one array
        dictionary = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    else:
        dictionary = np.asarray(series.unique().to_list(), dtype=str)
        codes = np.asarray(series.replace_strict(dictionary.tolist(), list(range(len(dictionary))),
                                                 return_dtype=_int64()).to_numpy(), dtype=np.int64)
    order = np.argsort(dictionary, kind="stable")
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[order] = np.arange(len(dictionary))
    return Factorized(labels=dictionary[order], codes=rank[codes])


def _int64():
    import narwhals as nw

    return nw.Int64
