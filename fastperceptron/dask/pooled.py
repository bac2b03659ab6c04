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
from ..io.frames import training_data
from ..options import bind
from ..pooling.fit import train_pooled
from ..problem.groups import factorize, lookup
from ..problem.hierarchy import Hierarchy, Pooling
from ..result import TrainResult
from .common import combine, gather
from .groups import _ROW, _shard_rows, assign_shards

__all__ = ["train_pooled_dask", "global_model"]


def _stats(part, features, targets, weight, theta, bias: bool):
    """(f (K,), g (K, P), H (K, P, P), Σs) of one partition's rows at θ (K, P), without the penalty."""
    X = part[features].to_numpy(dtype=np.float64)
    Y = part[targets].to_numpy(dtype=np.float64)
    s = np.ones(len(part)) if weight is None else part[weight].to_numpy(dtype=np.float64)
    Xt = np.hstack([X, np.ones((len(X), 1))]) if bias else X
    z = Xt @ theta.T
    p = 1.0 / (1.0 + np.exp(-z))
    f = s @ (np.logaddexp(0.0, z) - Y * z)
    g = ((s[:, None] * (p - Y)).T @ Xt)
    H = np.einsum("nk,np,nq->kpq", s[:, None] * p * (1 - p), Xt, Xt)
    return f, g, H, s.sum()


def global_model(client, frame, features, targets, weight, bias: bool, l2: float, tol: float = 1e-10,
                 iterations: int = 100) -> tuple[np.ndarray, float]:
    """Level 0's θ (K, P) over every partition of ``frame`` by Newton with step halving, and the
    seconds it took. l2 penalises the weights, not the bias (SPEC §7)."""
    import dask

    start = time.perf_counter()
    parts = client.persist(frame[features + targets + ([weight] if weight else [])]).to_delayed()
    K, P = len(targets), len(features) + int(bias)
    pen = np.r_[np.full(len(features), float(l2)), [0.0] * int(bias)]

    def evaluate(theta):
        out = client.compute([dask.delayed(_stats)(p, features, targets, weight, theta, bias) for p in parts],
                             sync=True)
        f = sum(o[0] for o in out) + 0.5 * (pen * theta * theta).sum(axis=1)
        g = sum(o[1] for o in out) + pen * theta
        H = sum(o[2] for o in out) + np.diag(pen)
        return f, g, H, sum(o[3] for o in out)

    theta = np.zeros((K, P))
    f, g, H, total = evaluate(theta)  # total: Σs, the scale of the gradient test (SPEC §7's, as the solvers')
    for _ in range(iterations):
        step = np.stack([np.linalg.solve(H[k] + 1e-12 * np.trace(H[k]) * np.eye(P), g[k]) for k in range(K)])
        t = 1.0
        while True:
            trial = theta - t * step
            ft, gt, Ht, _ = evaluate(trial)
            if (ft <= f + 1e-12 * np.abs(f)).all() or t < 1e-12:
                break
            t /= 2
        theta, f, g, H = trial, ft, gt, Ht
        if np.abs(t * step).max() <= 1e-12 * (1 + np.abs(theta).max()) or np.abs(g).max() <= tol * total:
            break
    return theta, time.perf_counter() - start


def _subtree(part, features, targets, group_cols, weight, root, kwargs):
    """One task: the subtrees of this shard's outermost labels, pulled toward ``root``."""
    if len(part) == 0:
        return None
    part = part.sort_values(_ROW, kind="stable").drop(columns=[_ROW])
    X, y, levels, sw, names = training_data(part, None, targets, features, group_cols, weight)
    o = bind("train", kwargs)
    return train_pooled(X, y, levels, sw, o, kwargs, names.get("group_by"), root=root)


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
    table = Table(source="the Dask DataFrame", names=[str(c) for c in X.columns], columns={})
    s = select(table, y, None, list(groups), sample_weight)
    features, targets = s.features, s.targets
    o = bind("train", kwargs)
    start = time.perf_counter()
    root, _ = global_model(client, X, features, targets, s.weight, bool(o["bias"]), float(o["l2"]))
    outer = groups[0]
    sizes = X[outer].value_counts(sort=False, dropna=False).compute()
    if sizes.index.hasnans:
        raise ValueError(f"the group column {outer!r} has missing labels: drop or fill those rows first")
    labels = factorize(np.asarray(sizes.index))[0]
    counts = sizes.reindex(labels if labels.dtype.kind != "U" else labels.astype(object)).to_numpy()
    n_shards = max(1, min(int(shards) if shards is not None else 4 * len(workers), len(labels)))
    parts = _shard_rows(X, outer, labels, assign_shards(counts, n_shards), n_shards).to_delayed()
    task = dask.delayed(_subtree, pure=False)
    tasks = client.compute([task(p, features, targets, list(groups), s.weight, root, kwargs) for p in parts])
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
    fields = [{name: getattr(r, name) for name in ("weights", "bias", "loss", "iterations", "history",
                                                       "learning_rate", "backend", "dtype", "setup_seconds",
                                                       "complete", "params", "l2", "converged", "stop_reason")}
              for r in results]
    G = paths[-1].size
    merged = combine(fields, np.arange(G), seconds, order=orders[-1], groups=paths[-1], group_sizes=sizes[-1])
    hierarchy = Hierarchy(names=first.hierarchy.names, paths=tuple(paths), parent=tuple(parent), sizes=tuple(sizes))
    pooling = Pooling(hierarchy=hierarchy, weights=tuple(weights), bias=None if first.bias is None else tuple(bias),
                      shrink=first.shrink)
    return replace(merged, pooling=pooling)
