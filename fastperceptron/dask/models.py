"""A batch of models across a Dask cluster, cut along the models: ``fastperceptron.dask.train``
without groups (see the package's docstring)."""

from __future__ import annotations

import time

import numpy as np

from ..problem.checks import count_models, model_axis_carriers
from ..result import TrainResult
from .common import combine, gather, train_shard

__all__ = ["train_models", "default_shards"]


def default_shards(n_models: int, workers: dict, bytes_per_model: int) -> int:
    """A few shards per worker (4), more if a shard would exceed a quarter of a worker's memory."""
    shards = 4 * max(1, len(workers))
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    smallest = min((m for m in limits if m), default=0)
    if smallest:
        shards = max(shards, -(-n_models * bytes_per_model // max(1, smallest // 4)))
    return int(max(1, min(shards, n_models)))


def train_models(distributed, X, y, *, client, workers, shards, seeds, models, progress, **train_kwargs) -> TrainResult:
    """The batch of ``X`` and ``y`` in shards of consecutive models over ``workers``."""
    data, lazy, lr, lam = _data(X, y, train_kwargs)
    carriers, n_models = _count(data, lazy, seeds, models, lr, lam)
    seeds = np.arange(n_models, dtype=np.int64) if seeds is None else np.asarray(seeds)
    per_model = {name for name in carriers if name not in ("seeds", "learning_rate", "l2")}
    for name in lazy:
        if name not in per_model:
            raise ValueError(f"a Dask array {name} must hold per-model data chunked along the models (axis 0)")
    boundaries = _boundaries(data, lazy, shards, n_models, workers, train_kwargs)
    shared = {name: client.scatter(a, broadcast=True, hash=False)  # shared data: scattered once, to every worker
              for name, a in data.items() if a is not None and name not in per_model}
    chunk_futures = {name: client.compute(list(a.to_delayed().ravel())) for name, a in lazy.items()}
    start = time.perf_counter()
    futures = []
    for i, (a, b) in enumerate(zip(boundaries[:-1], boundaries[1:])):
        args = {name: shared[name] if name in shared else chunk_futures[name][i] if name in lazy else value[a:b]
                for name, value in data.items() if value is not None}
        kwargs = dict(train_kwargs, l2=lam[a:b] if lam.ndim == 1 else float(lam), seeds=seeds[a:b])
        if lr is not None:
            kwargs["learning_rate"] = lr[a:b] if lr.ndim == 1 else lr.item() if lr.dtype.kind != "U" else str(lr)
        kwargs.update({name: args[name] for name in ("sample_weight", "initial_weights") if name in args})
        futures.append(client.submit(train_shard, args["X"], args["y"], kwargs, pure=False,
                                     key=f"fastperceptron-shard-{i}-{a}-{b}-{time.time_ns()}"))
    parts = gather(distributed, client, futures, progress)
    return combine(parts, seeds, time.perf_counter() - start)


def _data(X, y, train_kwargs: dict):
    """The arrays (numpy, or Dask arrays of per-model data: ``lazy``), the learning rate and l2."""
    import dask.array as da

    data = {"X": X, "y": y, "sample_weight": train_kwargs.pop("sample_weight", None),
            "initial_weights": train_kwargs.pop("initial_weights", None)}
    learning_rate = train_kwargs.pop("learning_rate", None)  # None: train's default (solver "gd" only)
    lam = np.asarray(train_kwargs.pop("l2", 0.0), dtype=np.float64)
    lazy = {name: a for name, a in data.items() if isinstance(a, da.Array)}
    data = {name: (a if name in lazy or a is None else np.asarray(a)) for name, a in data.items()}
    lr = None if learning_rate is None else np.asarray(learning_rate, dtype=None if isinstance(learning_rate, str)
                                                       else np.float64)
    if data["X"].ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (N, D) or 3-D (B, N, D); got shape {data['X'].shape}")
    return data, lazy, lr, lam


def _count(data, lazy, seeds, models, lr, lam):
    """(the arguments carrying the model axis, B): every one of them must agree."""
    shapes = {name: (None if a is None else tuple(a.shape)) for name, a in data.items()}
    shapes["seeds"] = None if seeds is None else np.shape(seeds)
    shapes["learning_rate"] = None if lr is None or lr.dtype.kind == "U" else lr.shape
    shapes["l2"] = lam.shape
    carriers = model_axis_carriers(shapes, data["X"].shape[-2])
    return carriers, count_models(carriers, models)


def _boundaries(data, lazy, shards, n_models, workers, train_kwargs) -> np.ndarray:
    """Where the shards start and end: the chunks of Dask arrays, else an even split."""
    if lazy:
        boundaries = None
        for name, a in lazy.items():
            a = a.rechunk({i: -1 for i in range(1, a.ndim)})
            lazy[name] = a
            edges = np.concatenate([[0], np.cumsum(a.chunks[0])])
            if boundaries is not None and not np.array_equal(edges, boundaries):
                raise ValueError("Dask arrays of per-model data must share their chunks along the models")
            boundaries = edges
        return boundaries
    itemsize = 4 if str(train_kwargs.get("dtype", "float64")) == "float32" else 8
    X, y = data["X"], data["y"]
    per_model_values = (int(np.prod(X.shape[1:])) if X.ndim == 3 else 0) + int(np.prod(y.shape[-2:])) * 6
    count = shards if shards is not None else default_shards(n_models, workers, itemsize * (per_model_values + 16))
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"shards must be a positive integer or None, got {shards!r}")
    return np.linspace(0, n_models, min(int(count), n_models) + 1).round().astype(np.int64)
