"""One model per group across a Dask cluster: ``fastperceptron.dask.train(..., groups=...)``.

The table stays a Dask DataFrame; its rows move only through Dask's own partitioning:

1. one small pass counts the rows of every group (``groupby(...).size()``), which gives the sorted
   labels (so each group's seed and index are those of a single-machine run) and its size;
2. the groups are dealt to shards balanced by rows (largest first, each to the lightest shard), and
   every row learns its shard and its position in the table;
3. ``set_index(shard, divisions=...)`` moves each shard's rows into its own partition: a group is
   never split across shards;
4. each partition is one task calling :func:`fastperceptron.train` with ``groups`` on a worker, after
   putting its rows back in table order (SPEC §6: a model trains on its rows in their order).

The result, reassembled in sorted label order, equals the single-machine one.
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from ..io.columns import Table, select
from ..problem.groups import factorize, lookup
from ..problem.model import default_names
from ..result import TrainResult
from ..io.columns import TableError
from .common import SOURCE, combine, gather, read_shard, train_shard

__all__ = ["train_groups", "assign_shards"]

_ROW, _SHARD = "__fp_row", "__fp_shard"


def assign_shards(sizes: np.ndarray, shards: int) -> np.ndarray:
    """The shard of every group: largest groups first, each to the shard with the fewest rows so far
    (ties: the lowest shard). Deterministic."""
    out = np.empty(len(sizes), dtype=np.int64)
    heap = [(0, s) for s in range(shards)]
    for g in np.argsort(-np.asarray(sizes), kind="stable"):
        rows, s = heapq.heappop(heap)
        out[g] = s
        heapq.heappush(heap, (rows + int(sizes[g]), s))
    return out


def _as_frame(X, y, groups, sample_weight):
    """(frame, feature columns, target columns, group column, weight column) from a Dask DataFrame
    with named columns, or from Dask arrays of the same row chunks."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        if not isinstance(groups, str):
            raise ValueError(f"with a Dask DataFrame, groups must name one of its columns ({list(X.columns)}); "
                             f"got {groups!r}")
        if sample_weight is not None and not isinstance(sample_weight, str):
            raise ValueError("with a Dask DataFrame, sample_weight must name its column of row weights")
        if y is None or not (isinstance(y, str) or isinstance(y, (list, tuple)) and all(isinstance(c, str) for c in y)):
            raise ValueError("with a Dask DataFrame, y must name its target column(s) (a name or a list of names)")
        table = Table(source=SOURCE, names=[str(c) for c in X.columns], columns={})
        s = select(table, y, None, groups, sample_weight)  # the names checked as a table's are
        return X, s.features, s.targets, s.group, s.weight
    if not all(isinstance(a, da.Array) for a in (X, y, groups)):
        raise TypeError("fastperceptron.dask.train with groups takes a Dask DataFrame (and column names) "
                        "or Dask arrays X (N, D), y (N,) or (N, K) and groups (N,)")
    y2 = y[:, None] if y.ndim == 1 else y
    features, targets = default_names("x", X.shape[1]), default_names("y", y2.shape[1])
    frame = dd.from_dask_array(X, columns=features)
    for k, name in enumerate(targets):
        frame[name] = dd.from_dask_array(y2[:, k].rechunk(X.chunks[0]), columns=name)
    frame["__fp_group"] = dd.from_dask_array(groups.rechunk(X.chunks[0]), columns="__fp_group")
    weight = None
    if sample_weight is not None:
        weight = "__fp_weight"
        frame[weight] = dd.from_dask_array(sample_weight.rechunk(X.chunks[0]), columns=weight)
    return frame, features, targets, "__fp_group", weight


def _add_row_numbers(part, starts, partition_info=None):
    i = partition_info["number"] if partition_info else 0
    return part.assign(**{_ROW: np.arange(starts[i], starts[i] + len(part), dtype=np.int64)})


def _train_partition(part, features, targets, group_col, weight_col, labels, seeds, kwargs):
    """One task: this shard's rows, back in table order, trained with groups — read from the pandas
    partition by column name, as ``fp.train`` reads any table."""
    part = part.sort_values(_ROW, kind="stable")
    read = read_shard(part.drop(columns=[_ROW]), part[_ROW].to_numpy(), targets, features, group_col, weight_col)
    if isinstance(read, dict):  # a bad cell, named by the user's row
        return read
    X, y, groups, sw, _ = read
    local = np.unique(part[group_col].to_numpy())
    index = lookup(labels, local)  # this shard's groups among all of them (sorted the same way)
    kw = dict(kwargs)
    per_group_ndim = {"learning_rate": 1, "l2": 1, "initial_weights": 3}  # else one value for every group
    for name, ndim in per_group_ndim.items():
        if np.ndim(kw.get(name)) == ndim:
            kw[name] = np.asarray(kw[name])[index]
    kw.update(groups=groups, sample_weight=sw, seeds=seeds[index])
    return {"index": index, **train_shard(X, y, kw)}


def train_groups(distributed, X, y, *, groups, client, workers, shards=None, seeds=None, sample_weight=None,
                 progress=None, **train_kwargs) -> TrainResult:
    """See :func:`fastperceptron.dask.train` (its ``groups`` case)."""
    import dask
    import dask.dataframe as dd

    frame, features, targets, group_col, weight_col = _as_frame(X, y, groups, sample_weight)
    labels, sizes = group_sizes(frame, group_col)
    counts = sizes
    G = len(labels)
    seeds = np.arange(G, dtype=np.int64) if seeds is None else np.asarray(seeds, dtype=np.int64)
    if seeds.shape != (G,):
        raise ValueError(f"seeds has {seeds.size} values but the table has {G:,} groups; give one per group")
    n_shards = int(shards) if shards is not None else 4 * len(workers)
    n_shards = max(1, min(n_shards, G))
    parts = _shard_rows(frame, group_col, labels, assign_shards(counts, n_shards), n_shards).to_delayed()
    start = time.perf_counter()
    task = dask.delayed(_train_partition, pure=False)
    tasks = client.compute([task(p, features, targets, group_col, weight_col, labels, seeds, train_kwargs)
                            for p in parts])
    results = [r for r in gather(distributed, client, tasks, progress) if r is not None and len(r["index"])]
    index = np.concatenate([r["index"] for r in results])
    order = np.argsort(index)
    if not np.array_equal(index[order], np.arange(G)):
        raise RuntimeError("the shards did not return every group exactly once")
    result = combine(results, seeds, time.perf_counter() - start, order=order, groups=labels,
                     group_sizes=np.concatenate([r["group_sizes"] for r in results])[order])
    if isinstance(X, dd.DataFrame):  # the names, kept as fp.train keeps a table's
        result.metadata.update(feature_names=features, target_names=targets, group_by=group_col)
    return result


def group_sizes(frame, column: str):
    """(the sorted labels of ``column``, the rows of each): one pass over the partitions; a missing or
    empty label is a TableError naming its row, counted across the partitions from 0."""
    sizes = frame[column].value_counts(sort=False, dropna=False).compute()
    if sizes.index.hasnans or (sizes.index == "").any():
        lengths = frame.map_partitions(len).compute().to_numpy()
        bad = frame[column].map_partitions(_first_empty, meta=(column, np.int64)).compute().to_numpy()
        part = int(np.flatnonzero(bad >= 0)[0])
        row = int(lengths[:part].sum() + bad[part])
        count = int(sizes[sizes.index.isna() | (sizes.index == "")].sum())
        raise TableError(f"{SOURCE}, row {row}, column {column!r}: an empty label ({count:,} row(s) have none); every "
                         "row needs a label (drop or fill those rows first)")
    labels = factorize(np.asarray(sizes.index))[0]  # sorted, checked like the single-machine labels
    counts = sizes.reindex(labels if labels.dtype.kind != "U" else labels.astype(object)).to_numpy()
    return labels, counts


def _first_empty(labels):
    """A one-row series: the position of the partition's first missing or empty label, else −1."""
    import pandas as pd

    bad = (labels.isna() | (labels.astype(str) == "")).to_numpy() if labels.dtype == object else (
        labels.isna().to_numpy())
    return pd.Series([int(np.argmax(bad)) if bad.any() else -1], dtype=np.int64)


def _shard_rows(frame, group_col: str, labels, shard_of, n_shards: int):
    """The frame with every row numbered (its place in the table) and moved into its group's shard."""
    lengths = frame.map_partitions(len).compute()
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    frame = frame.map_partitions(_add_row_numbers, starts, meta=frame._meta.assign(**{_ROW: np.array([], np.int64)}))
    key = labels.astype(object) if labels.dtype.kind == "U" else labels
    mapping = dict(zip(key.tolist(), shard_of.tolist()))
    frame = frame.assign(**{_SHARD: frame[group_col].map(mapping, meta=(group_col, np.int64))})
    return frame.set_index(_SHARD, divisions=list(range(n_shards)) + [n_shards - 1], sorted=False)
