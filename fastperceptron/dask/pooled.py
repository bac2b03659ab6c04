"""A pooled hierarchy across a Dask cluster: ``fastperceptron.dask.train(ddf, "y", groups=[outer, inner],
shrink=[...])`` (SPEC §8).

The global model (level 0) needs every row: it is fitted by Newton's method over the partitions,
each iteration one map-reduce of the loss, gradient and Hessian sums (:func:`global_model`). The
levels below it never mix rows of two outermost groups, so the table is sharded by the outermost
level, as ``groups=`` shards by its one column (:mod:`.groups`): each shard fits the subtrees of its
outermost labels top-down, pulled toward that global model, on its worker
(:func:`fastperceptron.pooling.fit.train_pooled` with ``root``). The client merges the shards'
levels into one hierarchy. The result equals ``fp.train`` on one machine to the solvers' tolerance
(the global model's path differs; its optimum does not).

``shrink`` must be given (a number, or one per level): ``"cv"`` would need every fold of every level
across shards; choose it on one machine, or on a sample, and pass the values.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..io.columns import Table, select
from ..options import bind
from ..covariance import check_cov
from ..pooling.fit import check_options, train_pooled
from ..problem.model import default_tol
from ..problem.groups import lookup
from ..problem.hierarchy import Hierarchy, Pooling
from ..result import TrainResult
from .common import SOURCE, combine, gather, read_shard
from .groups import _ROW, _shard_rows, assign_shards, group_sizes
from .newton import global_newton

__all__ = ["train_pooled_dask", "global_model", "partition_reduce"]


def partition_reduce(client, frame, columns):
    """``reduce(function, *args)``: ``function(partition, its first row's place in the table, *args)``
    over the persisted partitions of ``frame[columns]``, their results as a list."""
    import dask

    parts = client.persist(frame[columns]).to_delayed()
    lengths = client.compute([dask.delayed(len)(p) for p in parts], sync=True)
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64).tolist()

    def reduce(function, *args):
        return client.compute([dask.delayed(function)(p, first, *args) for p, first in zip(parts, firsts)],
                              sync=True)

    return reduce


def global_model(client, frame, features, targets, weight, bias: bool, l2: float, tol: float = 1e-10,
                 iterations: int = 100):
    """Level 0's θ (K, P) over every partition of ``frame`` (:func:`.newton.global_newton`: the
    one-machine solvers' coordinates, start and stop tests), why it stopped, the standard units of
    all the rows, and the seconds it took."""
    start = time.perf_counter()
    reduce = partition_reduce(client, frame, features + targets + ([weight] if weight else []))
    theta, reason, _, units = global_newton(reduce, features, targets, weight, bias, l2, tol, iterations)
    return theta, reason, units, time.perf_counter() - start


def _subtree(part, features, targets, group_cols, weight, root, root_reason, units, kwargs):
    """One task: the subtrees of this shard's outermost labels, pulled toward ``root``."""
    if len(part) == 0:
        return None
    part = part.sort_values(_ROW, kind="stable")
    read = read_shard(part.drop(columns=[_ROW]), part[_ROW].to_numpy(), targets, features, group_cols, weight)
    if isinstance(read, dict):  # a bad cell, named by the user's row
        return read
    X, y, levels, sw, names = read
    o = bind("train", kwargs)
    return train_pooled(X, y, levels, sw, o, kwargs, names.get("group_by"), root=root, root_reason=root_reason,
                        units=units)


def train_pooled_dask(distributed, X, y, *, groups, client, workers, shards=None, sample_weight=None,
                      progress=None, **kwargs) -> TrainResult:
    """See the module docstring."""
    import dask
    import dask.dataframe as dd

    if not isinstance(X, dd.DataFrame) or not all(isinstance(g, str) for g in groups):
        raise TypeError("a pooled hierarchy through Dask takes a Dask DataFrame and its label columns, outermost "
                        "first: groups=['region', 'store']")
    shrink = kwargs.get("shrink")
    if shrink is None or isinstance(shrink, str):
        raise ValueError("through Dask, shrink must be given as numbers (one, or one per level): choose it with "
                         "shrink='cv' on one machine (or a sample) and pass r.params['shrink']")
    table = Table(source=SOURCE, names=[str(c) for c in X.columns], columns={})
    s = select(table, y, None, list(groups), sample_weight)
    features, targets = s.features, s.targets
    o = check_options(bind("train", kwargs), kwargs)  # refused here, before any work, as on one machine
    if o["cov"] is not None:
        check_cov(o, o["solver"] or "auto", 0, 1, 1, pooled=True)
    if o["solver"] == "gd":
        raise ValueError("through Dask, a pooled hierarchy's global model is fitted by Newton's method over the "
                         "partitions: solver='gd' is not available there (leave solver out, or give 'newton', "
                         "'lbfgs' or 'auto')")
    start = time.perf_counter()
    tol = default_tol("newton", o["dtype"]) if o["tol"] is None else float(o["tol"])
    iterations = 100 if o["iterations"] is None else int(o["iterations"])
    outer = groups[0]
    labels, counts = group_sizes(X, outer)
    root, reason, units, _ = global_model(client, X, features, targets, s.weight, bool(o["bias"]), float(o["l2"]),
                                          tol, iterations)
    n_shards = max(1, min(int(shards) if shards is not None else 4 * len(workers), len(labels)))
    parts = _shard_rows(X, outer, labels, assign_shards(counts, n_shards), n_shards).to_delayed()
    task = dask.delayed(_subtree, pure=False)
    tasks = client.compute([task(p, features, targets, list(groups), s.weight, root, reason, units, kwargs)
                            for p in parts])
    results = [r for r in gather(distributed, client, tasks, progress) if r is not None]
    result = _merge(results, time.perf_counter() - start)
    result.metadata.update(feature_names=features, target_names=targets, group_by=list(groups),
                           dask_shards=len(results))
    return result


def _merge(results: list, seconds: float) -> TrainResult:
    """One pooled result from the shards' (each the subtrees of some outermost labels)."""
    first = results[0].pooling
    L = first.hierarchy.n_levels
    paths, parent, sizes, weights, bias = [], [], [], [results[0].pooling.weights[0]], []
    bias.append(None if first.bias is None else first.bias[0])
    reasons = None if first.stop_reason is None else [first.stop_reason[0]]  # the global model's: one for all
    orders = []
    for j in range(L):
        level = np.concatenate([r.pooling.hierarchy.paths[j] for r in results])
        order = np.argsort(level, kind="stable")
        paths.append(level[order])
        orders.append(order)
        sizes.append(np.concatenate([r.pooling.hierarchy.sizes[j] for r in results])[order])
        if j == 0:
            parent.append(np.zeros(level.size, dtype=np.int64))
        else:
            up = np.concatenate([r.pooling.hierarchy.paths[j - 1][r.pooling.hierarchy.parent[j]] for r in results])
            parent.append(lookup(paths[j - 1], up[order]))
        if j < L - 1:
            weights.append(np.concatenate([r.pooling.weights[j + 1] for r in results])[order])
            if first.bias is not None:
                bias.append(np.concatenate([r.pooling.bias[j + 1] for r in results])[order])
            if reasons is not None:
                reasons.append(np.concatenate([r.pooling.stop_reason[j + 1] for r in results])[order])
    fields = [{name: getattr(r, name) for name in ("weights", "bias", "loss", "iterations", "history",
                                                       "learning_rate", "backend", "dtype", "setup_seconds",
                                                       "complete", "params", "l2", "converged", "stop_reason",
                                                       "covariance")}
              for r in results]
    G = paths[-1].size
    merged = combine(fields, np.arange(G), seconds, order=orders[-1], groups=paths[-1], group_sizes=sizes[-1])
    hierarchy = Hierarchy(names=first.hierarchy.names, paths=tuple(paths), parent=tuple(parent), sizes=tuple(sizes),
                          kinds=first.hierarchy.kinds)
    pooling = Pooling(hierarchy=hierarchy, weights=tuple(weights), bias=None if first.bias is None else tuple(bias),
                      shrink=first.shrink, stop_reason=None if reasons is None else tuple(reasons))
    return replace(merged, pooling=pooling)
