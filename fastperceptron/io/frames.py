"""Tables in and out: pandas, polars (eager or lazy) and pyarrow tables, read by column name.

Every library goes through one compatibility layer, `narwhals <https://narwhals-dev.github.io/narwhals/>`_
(a small pure-Python dependency of the core): no branch per library, and none of them is needed
unless the user has it. Numeric columns become numpy arrays without a Python object per row (a
zero-copy view where the library allows, then one copy into the (N, D) matrix); string columns
stay in the library until used, and a label column is factorized by Arrow or the library itself
(:func:`fastperceptron.io.columns.factorize_strings`). The checks and messages are those of
:mod:`fastperceptron.io.columns`, shared with the command line's files.
"""

from __future__ import annotations

import numpy as np

from .columns import Table, TableError, Unsupported, check_unique, labels, select
from .inputs import arrays, encode, inputs, source_columns

__all__ = ["is_table", "is_series", "table_of", "training_data", "prediction_inputs", "prediction_frame", "column_labels",
           "describe"]


def _narwhals():
    import narwhals as nw

    return nw


def is_table(obj) -> bool:
    """True for a DataFrame or LazyFrame that narwhals knows (pandas, polars, pyarrow, ...)."""
    if obj is None or isinstance(obj, (np.ndarray, list, tuple, str)):
        return False
    nw = _narwhals()
    try:
        return isinstance(nw.from_native(obj, pass_through=True), (nw.DataFrame, nw.LazyFrame))
    except nw.exceptions.DuplicateError:  # a table, with names that table_of refuses in its own words
        return True


def is_series(obj) -> bool:
    """True for a pandas, polars or Arrow series (column)."""
    if obj is None or isinstance(obj, (np.ndarray, list, tuple, str)):
        return False
    nw = _narwhals()
    return isinstance(nw.from_native(obj, series_only=True, pass_through=True), nw.Series)


def library_of(obj) -> str:
    """"pandas", "polars", "pyarrow", ... : the library of a table or series."""
    return _narwhals().get_native_namespace(obj).__name__.split(".")[0]


def describe(obj) -> str:
    """How messages name a table: "the polars DataFrame", "the pandas DataFrame", "the pyarrow Table"."""
    return f"the {library_of(obj)} {type(obj).__name__}"


def _frame(obj, source: str):
    """The narwhals frame of a table whose column names are distinct strings; otherwise a TableError
    naming the columns and the fix (never narwhals' own error)."""
    nw = _narwhals()
    raw = getattr(obj, "column_names", None)
    if raw is None:
        raw = obj.collect_schema().names() if hasattr(obj, "collect_schema") else list(getattr(obj, "columns", []))
    raw = list(raw)
    odd = [n for n in raw if not isinstance(n, str)]
    if odd:
        shown = ", ".join(repr(n) for n in odd[:5]) + (", ..." if len(odd) > 5 else "")
        raise TableError(f"{source}: column names must be text, but {len(odd):,} are not ({shown}); name every "
                         "column (e.g. df.columns = [str(c) for c in df.columns])")
    check_unique(source, raw)
    return nw.from_native(obj)


def table_of(obj, needed=None, source: str | None = None, lines: bool = False, flags=None, row_ids=None) -> Table:
    """A :class:`Table` of the DataFrame or LazyFrame ``obj``: only its ``needed`` columns when given
    (a LazyFrame is collected with those only); ``source`` and ``row_ids`` say how messages name it
    and its rows (:class:`~fastperceptron.io.columns.Table`)."""
    nw = _narwhals()
    source = source or describe(obj)
    frame = _frame(obj, source)
    names = [str(n) for n in frame.columns]
    if needed is not None:  # only the columns used: a lazy frame collects only those, an eager one converts only those
        names = [n for n in names if n in set(needed)]
        frame = frame.select(names)
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    schema = frame.schema
    columns = {str(n): _column(frame.get_column(n), schema[n], nw) for n in frame.columns}
    return Table(source=source, names=names, columns=columns, lines=lines, row_ids=row_ids,
                 index=_index(obj) if row_ids is None else None,  # a shard: its rows are told by row_ids
                 **({"flags": flags} if flags else {}))


def _index(obj) -> np.ndarray | None:
    """A pandas-like table's index labels when they are not its positions 0 .. N − 1, else None."""
    try:
        index = _narwhals().maybe_get_index(_narwhals().from_native(obj))
    except (TypeError, ValueError, AttributeError):
        return None
    if index is None:
        return None
    values = np.asarray(index)
    if values.dtype.kind in "iu" and np.array_equal(values, np.arange(values.shape[0])):
        return None
    return values


def _column(series, dtype, nw):
    """A numpy array for numbers (nulls as NaN: reported by row where used), the narwhals Series for
    strings, else an :class:`Unsupported` marker."""
    if dtype == nw.Decimal:  # exact decimals: as float64, the precision every feature is trained in
        series = series.cast(nw.Float64)
    if dtype.is_numeric() or dtype == nw.Boolean:
        if series.null_count():
            series = series.cast(nw.Float64)
        return np.asarray(series.to_numpy())
    if dtype == nw.String:
        return series
    if dtype in (nw.Categorical, nw.Enum):  # labels: strings stay strings, integer categories integers
        if np.asarray(series.drop_nulls().unique().to_numpy()).dtype.kind in "iub":
            return np.asarray(series.to_numpy())
        return series.cast(nw.String)
    if dtype == nw.Object:
        return np.asarray(series.to_numpy())
    if dtype == nw.Unknown and series.null_count() == len(series):  # a column of empty cells only
        return np.full(len(series), np.nan)
    return Unsupported(_type_name(dtype, nw), len(series), series)


def _type_name(dtype, nw) -> str:
    """How a message names a column's type: a word (dates, lists), not the library's repr."""
    for kind, word in (("Datetime", "date-time"), ("Date", "date"), ("Duration", "duration"), ("Time", "time"),
                       ("List", "list"), ("Array", "array"), ("Struct", "struct"), ("Binary", "binary")):
        if isinstance(dtype, getattr(nw, kind, ())) or dtype == getattr(nw, kind, None):
            return word
    return str(dtype)


def frame_like(like, data: dict):
    """A DataFrame of ``like``'s library holding ``data`` {name: 1-D numpy array}, row m for row m of
    ``like``: a pandas-like table's index is kept (as scikit-learn's pandas output does), so
    ``df.assign(p=out["y"])`` aligns each answer with its own row however ``df`` was shuffled or
    filtered."""
    nw = _narwhals()
    native = nw.from_native(like, allow_series=True)
    out = nw.from_dict(data, backend=nw.get_native_namespace(native)).to_native()
    index = nw.maybe_get_index(native)
    if index is not None:
        out.index = index
    return out


def column_names(obj) -> list[str]:
    """The column names of a table (of a LazyFrame: from its schema, without collecting it); names
    that are not distinct strings are a TableError."""
    frame = _frame(obj, describe(obj))
    names = frame.collect_schema().names() if hasattr(frame, "collect_schema") else frame.columns
    return [str(n) for n in names]


def training_data(X, y, target=None, features=None, groups=None, sample_weight=None, source=None, row_ids=None,
                  drop=None, categorical=None, positive=None):
    """``train``'s data from a table: (X, y, groups, sample_weight, metadata {feature_names,
    target_names, group_by}) with every cell checked; arrays pass through unchanged (metadata {}).

    ``X`` a table: ``target`` (or ``y`` given as a name) names the target column(s), ``features``
    the feature columns (default: every other column), and ``groups`` and ``sample_weight`` may
    name a column. Or, as in scikit-learn, ``y``, ``groups`` and ``sample_weight`` are series or
    arrays beside a table of features. ``drop`` leaves columns out of the default features,
    ``categorical`` one-hot encodes text columns and ``positive`` names a two-label target's 1
    (:mod:`fastperceptron.io.inputs`). ``source`` and ``row_ids``: how messages name the table and
    its rows, for a part of a larger one (:func:`table_of`).
    """
    if isinstance(y, str) or (isinstance(y, (list, tuple)) and y and all(isinstance(v, str) for v in y)):
        if target is not None:
            raise TypeError(f"y={y!r} and target={target!r} both name the target: give one")
        target, y = y, None
    if not is_table(X):
        named = [k for k, v in (("target", target), ("features", features), ("groups", groups),
                                ("sample_weight", sample_weight), ("drop", drop), ("categorical", categorical),
                                ("positive", positive)) if isinstance(v, str) or (
                                    k in ("target", "features", "drop", "categorical", "positive") and v is not None)]
        if named:
            raise TypeError(f"{named[0]}= names a column of a table, but X is not a table (pandas, polars or pyarrow; got "
                            f"{type(X).__name__}): pass the values as arrays (y, groups=, sample_weight=), or X "
                            "as a table")
        if y is None:
            raise TypeError("train() needs the targets: y, or X as a table and target= naming its column(s)")
        return _values(X), _values(y), _labels_of(groups), _values(sample_weight), {}
    if y is None and target is None:
        raise TypeError("X is a table: name its target column(s) with target= (e.g. target='y'), or pass y")
    for value, name in ((y, "y"), (groups, "groups="), (sample_weight, "sample_weight=")):
        check_aligned(X, value, name)
    names = column_names(X)
    group = groups if isinstance(groups, str) or _column_list(groups, names, X) else None
    weight = sample_weight if isinstance(sample_weight, str) else None
    source = source or describe(X)
    probe = Table(source=source, names=names, columns={})
    selection = select(probe, target, features, group, weight, with_targets=y is None, drop=drop,
                       categorical=categorical)
    group_columns = group if isinstance(group, list) else [group] if group else []
    used = selection.features + selection.targets + group_columns + ([weight] if weight else [])
    table = table_of(X, needed=used, source=source, row_ids=row_ids)
    selection = encode(table, selection, positive)
    X_, y_, g_, w_ = arrays(table, selection)
    meta = selection.meta()
    if y is not None:
        y_ = _values(y)
        named = _names(y)
        if named:
            meta["target_names"] = named
        else:
            del meta["target_names"]
    if group is None and groups is not None:
        if isinstance(groups, (list, tuple)) and groups and all(is_series(g) for g in groups):  # levels as series
            g_ = [_labels_of(g) for g in groups]
            if all(_names(g) for g in groups):
                meta["group_by"] = [_names(g)[0] for g in groups]
        else:
            g_ = _labels_of(groups)
            if _names(groups):
                meta["group_by"] = _names(groups)[0]
    if weight is None and sample_weight is not None:
        w_ = _values(sample_weight)
    return X_, y_, g_, w_, meta


def check_aligned(X, values, name: str) -> None:
    """A pandas Series given beside a pandas table (``y``, ``groups=``, ``sample_weight=``,
    ``clusters=``) must have the table's index: its rows are read by position, and a Series taken
    from another ordering of the rows would pair each row with another row's value."""
    index_x, index_v = getattr(X, "index", None), getattr(values, "index", None)
    if index_x is None or index_v is None or not hasattr(values, "to_numpy") or not hasattr(X, "columns"):
        return
    if len(index_v) == len(index_x) and not index_v.equals(index_x):
        raise ValueError(f"{name} is a pandas Series whose index differs from X's: its values are paired with X's rows "
                         f"by position, which would give each row another row's value; align it first "
                         f"({name.rstrip('=')}.loc[X.index], or .reindex(X.index)), or pass .to_numpy() if its order "
                         "is X's")


def _column_list(groups, names, table) -> bool:
    """True when ``groups`` is a list of column names (a hierarchy's levels), not one string label per
    row: some of them name columns, or there are not as many as the table has rows (then the names
    the table lacks are an error naming them)."""
    if not (isinstance(groups, (list, tuple)) and bool(groups) and all(isinstance(g, str) for g in groups)):
        return False
    if any(g in names for g in groups):
        return True
    frame = _narwhals().from_native(table)
    return not hasattr(frame, "shape") or len(groups) != frame.shape[0]


def _values(v):
    """A series or table as its numpy values; anything else unchanged (checked by make_problem)."""
    if v is None or isinstance(v, (np.ndarray, list, tuple, str, int, float)):
        return v
    nw = _narwhals()
    native = nw.from_native(v, allow_series=True, pass_through=True)
    if isinstance(native, nw.Series):
        return np.asarray(native.to_numpy())
    if isinstance(native, nw.DataFrame):
        return np.asarray(native.to_numpy())
    return v


def _names(v) -> list | None:
    """The name(s) of a series (or a table's columns), else None."""
    if v is None or isinstance(v, (np.ndarray, list, tuple, str)):
        return None
    nw = _narwhals()
    native = nw.from_native(v, allow_series=True, pass_through=True)
    if isinstance(native, nw.Series):
        return [str(native.name)] if native.name is not None else None
    if isinstance(native, nw.DataFrame):
        return [str(n) for n in native.columns]
    return None


def _labels_of(groups):
    """Group labels given as a series: factorized by the table library (strings) or as numbers."""
    if not is_series(groups):
        return groups
    nw = _narwhals()
    s = nw.from_native(groups, series_only=True)
    name = str(s.name) if s.name is not None else "groups"
    table = Table(source=f"groups ({describe(groups)})", names=[name], columns={name: _column(s, s.dtype, nw)})
    return labels(table, name)


def column_labels(frame, name: str):
    """The labels of column ``name`` of a table (Factorized strings, or numbers), checked as group
    labels are (an empty cell names its row)."""
    names = column_names(frame)
    if name not in names:
        raise TableError(f"{describe(frame)}: no column {name!r}; its columns are {names}")
    return labels(table_of(frame, needed=[name]), name)


def prediction_inputs(frame, feature_names, group: str | None, categorical: dict | None = None):
    """(X, groups or None) of a table of new rows: the model's ``feature_names`` read by name, in any
    order, other columns ignored (``categorical`` columns one-hot by their training levels); the label
    column ``group`` when given."""
    source = describe(frame)
    if not feature_names:
        raise TableError(f"{source}: this model was trained on arrays, without column names, so it cannot read a "
                         "table's columns by name: pass X as an array (M, D) with the training columns' order")
    names = column_names(frame)
    wanted = [] if group is None else group if isinstance(group, list) else [group]
    for g in wanted:
        if g not in names:
            raise TableError(f"{source}: no column {g!r} with the group labels; its columns are {names} (or give "
                             "groups=)")
    columns = source_columns(feature_names, categorical)[0]
    missing = [n for n in columns if n not in names]
    if missing:  # named among all the table's columns, not only those read
        raise TableError(f"{source}: no column {missing[0]!r}, which the model reads (it was trained on {columns}); "
                         f"the table's columns are {names}")
    table = table_of(frame, needed=columns + wanted)
    return inputs(table, feature_names, group, categorical)


def prediction_frame(like, P: np.ndarray, names, group: str | None = None, labels=None):
    """The probabilities P (M, K) as a table of ``like``'s library: one column per output, named
    ``names``, after the group column when there is one."""
    data = {} if group is None else dict(zip(group, labels)) if isinstance(group, list) else {group: labels}
    for k, name in enumerate(names):
        data[name] = P[:, k]
    return frame_like(like, data)
