"""A table's columns as a model's inputs and targets: :func:`arrays` for training (after
:func:`encode`), :func:`inputs` for new rows — one reader for the command line's files, frames and
Dask partitions.

- ``categorical`` columns (``train(..., categorical=["segment"])``, the CLI's ``--categorical``):
  each becomes one 0/1 input per level, named ``"segment=gold"``, the levels sorted (as strings) as
  seen in training and saved with the model (``metadata["categorical"]``). A new row whose level was
  never seen gets 0 in every one of its column's inputs (scikit-learn's
  ``OneHotEncoder(handle_unknown="ignore")``): the model answers from its other inputs. Every level is
  kept (none dropped as a reference): the penalty keeps the model identifiable, and no level is special.
- a target of two labels that are not 0/1 numbers (``"yes"``/``"no"``, 1/2): the first in sorted
  order is 0 and the second 1, as scikit-learn's ``LabelEncoder`` orders them, unless ``positive``
  names the label that is 1; saved as ``metadata["target_labels"]`` {target: [label of 0, of 1]}.
- any other feature column that is not numbers (text, dates, lists) is a :class:`TableError` naming
  every such column at once, with the two fixes: leave it out, or declare the text ones categorical.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .columns import Selection, Table, TableError, Unsupported, cite, labels, numeric, target

__all__ = ["encode", "arrays", "inputs", "source_columns", "standardize_columns"]


def _is_numbers(values) -> bool:
    if isinstance(values, Unsupported) or not isinstance(values, np.ndarray):
        return False
    if values.dtype.kind == "O":
        from numbers import Number

        return all(v is None or (isinstance(v, Number) and not isinstance(v, complex)) for v in values[:1000])
    return values.dtype.kind in "biuf"


def _mostly_numbers(values) -> bool:
    """True for a text column whose cells mostly read as numbers: numbers with a few bad cells."""
    cells = values.head(1000).to_list() if hasattr(values, "head") else list(values[:1000])
    read = 0
    for v in cells:
        try:
            float(v)
            read += 1
        except (TypeError, ValueError):
            pass
    return read * 2 >= len(cells)


def _text_kind(values) -> str:
    """How a text column reads, from its first 1,000 cells: "date as text" (2023-04-17), "text, many
    levels" (an id or free text: over 100 distinct cells among them), or "text" (labels)."""
    import re

    cells = [str(v) for v in (values.head(1000).to_list() if hasattr(values, "head") else list(values[:1000]))]
    if cells and sum(bool(re.match(r"\d{4}-\d{2}-\d{2}", c)) for c in cells) * 2 >= len(cells):
        return "date as text"
    return "text, many levels" if len(set(cells)) > 100 else "text"


def _refuse_text(table: Table, selection: Selection) -> None:
    """Every feature column (not declared categorical) that holds no numbers, in one TableError; a
    column of numbers with a few bad cells is told by its first bad cell instead (columns.numeric)."""
    bad = [n for n in selection.features if n not in selection.categorical and not _is_numbers(table.columns[n])]
    for n in bad:
        if not isinstance(table.columns[n], Unsupported) and _mostly_numbers(table.columns[n]):
            numeric(table, n, "feature")  # raises, naming the first cell that is not a number
    if not bad:
        return
    kind = {n: table.columns[n].type_name if isinstance(table.columns[n], Unsupported) else
            _text_kind(table.columns[n]) for n in bad}
    text = [n for n in bad if kind[n] == "text"]  # labels: a one-hot fits them (not a date, not an id)
    f = table.flags
    hint = (f", one-hot encode the text one(s) with {cite(f['categorical'], text)}, or name a label column with "
            f"{f['groups']}") if text else ""
    raise TableError(f"{table.source}: {len(bad):,} feature column(s) hold no numbers: "
                     + ", ".join(f"{n!r} ({kind[n]})" for n in bad) + f"; leave them out with {cite(f['drop'], bad)}"
                     + hint)


def _levels(table: Table, name: str) -> list:
    values = table.columns[name]
    if isinstance(values, Unsupported) or (isinstance(values, np.ndarray) and values.dtype.kind == "f"):
        what = values.type_name if isinstance(values, Unsupported) else "floating-point numbers"
        raise TableError(f"{table.source}: column {name!r} holds {what}; a categorical column holds text or integer "
                         "labels")
    found = labels(table, name)
    return [_key(v) for v in (found.labels if hasattr(found, "labels") else np.unique(found))]


def _two_labels(table: Table, name: str, positive=None) -> list | None:
    """[the label read as 0, the label read as 1] of a target column that is not 0/1 numbers (two
    labels; ``positive`` the one that is 1, else the second in sorted order), or None."""
    values = table.columns[name]
    if _is_numbers(values):
        if positive is None:
            return None  # 0/1 labels or probabilities, checked by columns.target
        distinct = np.unique(numeric(table, name, "target"))
    else:
        found = labels(table, name)
        distinct = found.labels if hasattr(found, "labels") else np.unique(found)
    pair = [v.item() if hasattr(v, "item") else v for v in distinct]
    if len(pair) != 2:
        raise TableError(f"{table.source}: target column {name!r} holds {len(pair):,} distinct label(s) ({pair[:5]}"
                         f"{', ...' if len(pair) > 5 else ''}); a target holds two labels, or 0/1 labels or "
                         "probabilities")
    if positive is not None:
        match = [v for v in pair if _key(v) == _key(positive) or str(v) == str(positive)]
        if not match:
            raise TableError(f"{table.source}: {table.flags['positive']} {positive!r} is not one of target {name!r}'s "
                             f"labels {pair}")
        pair = [v for v in pair if v != match[0]] + match
    return pair


def encode(table: Table, selection: Selection, positive=None) -> Selection:
    """``selection`` with its categorical columns' levels and its targets' two labels read from the
    table (see the module docstring); text columns that are neither are refused, all at once."""
    _refuse_text(table, selection)
    categorical = {name: _levels(table, name) for name in selection.categorical}
    two = {name: _two_labels(table, name, positive) for name in selection.targets}
    if positive is not None and len(selection.targets) != 1:
        raise TableError(f"{table.flags['positive']} names the label that is 1 of one target column; there are "
                         f"{len(selection.targets)}")
    return replace(selection, categorical=categorical, labels={k: v for k, v in two.items() if v is not None})


def _key(v) -> str:
    """A label as its levels are saved: text, an integral number as an integer (100.0 and "100" are
    the level "100", as a column of integers read back as floats or text must still find it)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _codes(table: Table, name: str, levels) -> np.ndarray:
    """Each row's index into ``levels`` (−1 for a level not among them, said once)."""
    found = labels(table, name)
    if hasattr(found, "labels"):
        own, codes = found.labels, found.codes
    else:
        own, codes = np.unique(np.asarray(found), return_inverse=True)
    where = {level: i for i, level in enumerate(levels)}
    index = np.array([where.get(_key(v), -1) for v in own], dtype=np.int64)[np.asarray(codes).reshape(-1)]
    if (index < 0).any():
        import warnings

        from ..errors import UnseenLevelWarning

        unseen = sorted({_key(v) for v, i in zip(own, [where.get(_key(v), -1) for v in own]) if i < 0})
        shown = ", ".join(repr(v) for v in unseen[:5]) + (", ..." if len(unseen) > 5 else "")
        warnings.warn(f"{table.source}: {int((index < 0).sum()):,} row(s) hold a level of {name!r} never seen in "
                      f"training ({shown}): 0 in all of its inputs, the model answers from the others",
                      UnseenLevelWarning, stacklevel=5)
    return index


def _features(table: Table, features, categorical: dict) -> np.ndarray:
    """The (N, inputs) float64 matrix of ``features``, categorical ones one-hot (C order, one copy)."""
    width = sum(len(categorical[n]) if n in categorical else 1 for n in features)
    X = np.empty((table.n_rows, width), dtype=np.float64)
    j = 0
    for name in features:
        if name in categorical:
            levels = categorical[name]
            X[:, j:j + len(levels)] = _codes(table, name, levels)[:, None] == np.arange(len(levels))
            j += len(levels)
        else:
            X[:, j] = numeric(table, name, "feature")
            j += 1
    return X


def _targets(table: Table, names, two: dict) -> np.ndarray:
    """(N, K): each target column's 0/1 by its two labels, else its numbers in [0, 1]."""
    out = []
    for name in names:
        if name not in two:
            out.append(target(table, name))
            continue
        one = str(two[name][1])
        if _is_numbers(table.columns[name]):
            out.append((numeric(table, name, "target") == float(one)).astype(np.float64))
            continue
        found = labels(table, name)
        own = found.labels.astype(str)[found.codes] if hasattr(found, "labels") else np.asarray(found).astype(str)
        out.append((own == one).astype(np.float64))
    return np.column_stack(out)


def _group_labels(table: Table, group):
    """The labels of a group column, of each column of a list (a hierarchy), or None."""
    if group is None:
        return None
    return [labels(table, g) for g in group] if isinstance(group, list) else labels(table, group)


def arrays(table: Table, selection: Selection):
    """(X (N, inputs), y (N, K), groups or None, sample_weight or None) of an :func:`encode`-d
    ``selection``, every cell checked."""
    if table.n_rows == 0:
        raise TableError(f"{table.source}: the table has no rows")
    X = _features(table, selection.features, selection.categorical)
    y = _targets(table, selection.targets, selection.labels) if selection.targets else None
    sw = None if selection.weight is None else numeric(table, selection.weight, "weight")
    return X, y, _group_labels(table, selection.group), sw


def source_columns(feature_names, categorical: dict | None) -> tuple[list, dict]:
    """(the table columns a model reads, {column: levels} of its categorical ones) from its input names
    and ``metadata["categorical"]``, in the inputs' order."""
    categorical = categorical or {}
    expanded = {f"{column}={level}": column for column, levels in categorical.items() for level in levels}
    columns = []
    for name in feature_names:
        column = expanded.get(name, name)
        if column not in columns:
            columns.append(column)
    return columns, categorical


def inputs(table: Table, feature_names, group: str | None = None, categorical: dict | None = None):
    """(X, groups or None) of new rows for a model: its inputs ``feature_names`` read by name (in the
    model's order, whatever the table's; other columns ignored; ``categorical`` columns one-hot by
    their training levels) and the label column ``group``."""
    columns, categorical = source_columns(feature_names, categorical)
    missing = [n for n in columns if n not in table.names]
    if missing:
        raise TableError(f"{table.source}: no column {missing[0]!r}, which the model reads (it was trained on "
                         f"{columns}); the table's columns are {table.names}")
    if table.n_rows == 0:
        raise TableError(f"{table.source}: the table has no rows")
    return _features(table, columns, categorical), _group_labels(table, group)


def standardize_columns(standardize, meta: dict):
    """What ``standardize=True`` standardises of a table read with categorical columns: every input
    but the one-hot ones, which stay 0/1 (so ``l2`` shrinks a rare level's weight as a common
    one's) — (D,) bool; ``standardize`` unchanged otherwise."""
    if standardize is not True or not meta.get("categorical"):
        return standardize
    onehot = {f"{c}={level}" for c, levels in meta["categorical"].items() for level in levels}
    return np.array([name not in onehot for name in meta["feature_names"]])

