"""Train one batch across a Dask cluster: ``fastperceptron.dask.train(X, y, client=client, ...)``.

``pip install 'fastperceptron[dask]'``; only this module imports Dask.

The model axis is embarrassingly parallel, so the batch is cut into shards of consecutive models,
and each shard is one task calling :func:`fastperceptron.train` on a worker with that worker's best
backend (a GPU worker uses its GPU), unless ``backend`` says otherwise. A model's result depends
only on its own inputs (SPEC §2), so the gathered result is the one ``fp.train`` gives on one
machine with the same backend.

- Data shared by all models (a 2-D X, shared targets or sample weights, shared initial weights) is
  scattered once to every worker (``broadcast=True``), not shipped with each task; a copy on every
  worker also survives the loss of one.
- Per-model data given as numpy arrays is sliced per shard and travels inside that shard's task,
  so Dask can recompute the task elsewhere if its worker dies.
- Per-model data given as a Dask array chunked along the models is trained where it lives: one
  shard per chunk, each task taking its chunk as a dependency, never passing through the client.
- Faults: a worker lost mid-run costs only its shards, which Dask reruns on the others; the result
  is complete and identical. A cluster with no workers, or one that disappears, gives a clear error.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .checks import count_models, model_axis_carriers
from .errors import ConvergenceWarning
from .result import TrainResult
from .solvers import warn_unconverged
from .training import train as _train_local

__all__ = ["train", "default_shards"]


def _require_dask():
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(f"Dask is not installed ({exc}): pip install 'fastperceptron[dask]'") from None
    return distributed


def _train_shard(X, y, seeds, kwargs):
    """One task: fp.train on a shard of models; host arrays back, with the run's facts."""
    with warnings.catch_warnings():  # the driver warns once, for the whole batch
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = _train_local(X, y, seeds=seeds, progress=False, **kwargs)
    return {
        "weights": r.weights, "bias": r.bias, "loss": r.loss, "iterations": r.iterations, "history": r.history,
        "learning_rate": r.learning_rate, "backend": r.backend, "dtype": r.dtype, "seconds": r.seconds,
        "setup_seconds": r.setup_seconds, "complete": r.complete, "params": r.params, "l2": r.l2,
        "converged": r.converged,
        "stop_reason": r.stop_reason,
    }


def default_shards(n_models: int, workers: dict, bytes_per_model: int) -> int:
    """A few shards per worker (4), more if a shard would exceed a quarter of a worker's memory."""
    shards = 4 * max(1, len(workers))
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    smallest = min((m for m in limits if m), default=0)
    if smallest:
        shards = max(shards, -(-n_models * bytes_per_model // max(1, smallest // 4)))
    return int(max(1, min(shards, n_models)))


def train(X, y, *, client, shards=None, seeds=None, models=None, progress=None, groups=None,
          **train_kwargs) -> TrainResult:
    """Train B models across the workers of ``client``; same arguments and result as ``fp.train``.

    With ``groups`` (one model per group, SPEC §6): X is a Dask DataFrame, ``groups`` the name of its
    label column and ``y`` the name(s) of its target column(s) (``sample_weight`` may name a column of
    row weights); every other column is a feature. Or X (N, D), y and groups (N,) are Dask arrays
    with the same row chunks. Groups are never split across shards, shards are balanced by rows, and
    the result equals ``fp.train(..., groups=...)`` on one machine (see
    :mod:`fastperceptron.dask_groups`).

    Parameters
    ----------
    X, y, seeds, models, **train_kwargs : as for :func:`fastperceptron.train` (``learning_rate``,
        ``rule``, ``bias``, ``sample_weight``, ``init``, ``initial_weights``, ``dtype``, ``backend``,
        ``tol``, ``record_every``, ...). X, y and sample_weight may also be Dask arrays of per-model
        data chunked along the models (axis 0).
    client : a ``distributed.Client``.
    shards : how many tasks to cut the models into; default: four per worker, more when a shard
        would need over a quarter of a worker's memory. With Dask arrays: one per chunk.
    progress : Dask's progress bar (True/False; None: on a terminal).

    Ctrl-C cancels the remaining shards and raises KeyboardInterrupt.
    """
    distributed = _require_dask()
    import dask.array as da

    if train_kwargs.get("fallback") or train_kwargs.get("min_rows"):
        raise ValueError("fallback= and min_rows= are not available through Dask: each shard sees only its own "
                         "rows. Train the fallback model on all rows separately and attach it with "
                         "result.with_fallback(model, min_rows)")
    if not isinstance(client, distributed.Client):
        raise TypeError(
            f"client must be a distributed.Client connected to the cluster that trains the shards, got {client!r}: "
            "e.g. client = distributed.Client(distributed.LocalCluster(n_workers=2)) on this machine, or "
            "distributed.Client('tcp://SCHEDULER:8786'); without Dask, call fastperceptron.train")

    train_kwargs.pop("fallback", None)
    train_kwargs.pop("min_rows", None)
    if groups is not None:
        from .dask_groups import train_groups

        if train_kwargs.get("standardize"):
            raise ValueError("standardize=True is not available for groups through Dask: each shard sees only its "
                             "own rows, so their statistics would differ from shard to shard. Standardise the "
                             "columns first (with the whole table's mean and standard deviation), then train")

        if models is not None:
            raise ValueError("with groups there is one model per group: leave models out")
        return train_groups(X, y, groups=groups, client=client, shards=shards, seeds=seeds, progress=progress,
                            **train_kwargs)

    data = {"X": X, "y": y, "sample_weight": train_kwargs.pop("sample_weight", None),
            "initial_weights": train_kwargs.pop("initial_weights", None)}
    learning_rate = train_kwargs.pop("learning_rate", None)  # None: train's default (solver "gd" only)
    l2 = train_kwargs.pop("l2", 0.0)
    lazy = {name: a for name, a in data.items() if isinstance(a, da.Array)}
    data = {name: (a if name in lazy or a is None else np.asarray(a)) for name, a in data.items()}
    lr = None if learning_rate is None else np.asarray(learning_rate, dtype=np.float64)
    lam = np.asarray(l2, dtype=np.float64)
    if data["X"].ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (N, D) or 3-D (B, N, D); got shape {data['X'].shape}")
    n_samples = data["X"].shape[-2]
    shapes = {name: (None if a is None else tuple(a.shape)) for name, a in data.items()}
    shapes["seeds"] = None if seeds is None else np.shape(seeds)
    shapes["learning_rate"] = None if lr is None else lr.shape
    shapes["l2"] = lam.shape
    carriers = model_axis_carriers(shapes, n_samples)
    n_models = count_models(carriers, models)
    seeds = np.arange(n_models, dtype=np.int64) if seeds is None else np.asarray(seeds)
    per_model = {name for name in carriers if name not in ("seeds", "learning_rate", "l2")}
    for name in lazy:
        if name not in per_model:
            raise ValueError(f"a Dask array {name} must hold per-model data chunked along the models (axis 0)")

    try:
        workers = client.scheduler_info().get("workers", {})
    except (OSError, distributed.comm.CommClosedError) as exc:
        raise RuntimeError(f"cannot reach the Dask scheduler ({exc}); is the cluster running?") from None
    if not workers:
        raise RuntimeError(
            "the Dask cluster has no workers: start some (e.g. `dask worker SCHEDULER_ADDRESS`, or "
            "LocalCluster(n_workers=N)) before training"
        )

    # Where the shards start and end: the chunks of Dask arrays, else an even split.
    if lazy:
        boundaries = None
        for name, a in lazy.items():
            a = a.rechunk({i: -1 for i in range(1, a.ndim)})
            lazy[name] = a
            edges = np.concatenate([[0], np.cumsum(a.chunks[0])])
            if boundaries is not None and not np.array_equal(edges, boundaries):
                raise ValueError("Dask arrays of per-model data must share their chunks along the models")
            boundaries = edges
    else:
        itemsize = 4 if str(train_kwargs.get("dtype", "float64")) == "float32" else 8
        X_, y_ = data["X"], data["y"]
        per_model_values = (int(np.prod(X_.shape[1:])) if X_.ndim == 3 else 0) + int(np.prod(y_.shape[-2:])) * 6
        count = shards if shards is not None else default_shards(n_models, workers, itemsize * (per_model_values + 16))
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"shards must be a positive integer or None, got {shards!r}")
        boundaries = np.linspace(0, n_models, min(int(count), n_models) + 1).round().astype(np.int64)

    # Shared data: scattered once, to every worker.
    shared = {}
    for name, a in data.items():
        if a is not None and name not in per_model:
            shared[name] = client.scatter(a, broadcast=True, hash=False)
    chunk_futures = {}
    for name, a in lazy.items():
        chunk_futures[name] = client.compute(list(a.to_delayed().ravel()))

    start = time.perf_counter()
    futures = []
    for i, (a, b) in enumerate(zip(boundaries[:-1], boundaries[1:])):
        args = {}
        for name, value in data.items():
            if value is None:
                continue
            if name in shared:
                args[name] = shared[name]
            elif name in lazy:
                args[name] = chunk_futures[name][i]
            else:
                args[name] = value[a:b]
        kwargs = dict(train_kwargs, l2=lam[a:b] if lam.ndim == 1 else float(lam))
        if lr is not None:
            kwargs["learning_rate"] = lr[a:b] if lr.ndim == 1 else float(lr)
        for name in ("sample_weight", "initial_weights"):
            if name in args:
                kwargs[name] = args[name]
        futures.append(client.submit(_train_shard, args["X"], args["y"], seeds[a:b], kwargs, pure=False,
                                     key=f"fastperceptron-shard-{i}-{a}-{b}-{time.time_ns()}"))
    try:
        if progress or (progress is None and _stderr_is_tty()):
            distributed.progress(futures, notebook=False)
        parts = client.gather(futures)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    except (OSError, distributed.comm.CommClosedError) as exc:
        raise RuntimeError(f"lost the Dask cluster during training ({type(exc).__name__}: {exc})") from None
    seconds = time.perf_counter() - start
    result = _combine(parts, seeds, seconds)
    warn_unconverged(result, stacklevel=2)
    return result


def _stderr_is_tty() -> bool:
    import sys

    return sys.stderr.isatty()


def _combine(parts, seeds, seconds) -> TrainResult:
    cat = lambda key: None if parts[0][key] is None else np.concatenate([p[key] for p in parts])  # noqa: E731
    backends = sorted({p["backend"] for p in parts})
    return TrainResult(
        weights=cat("weights"), bias=cat("bias"), seeds=np.asarray(seeds, dtype=np.int64), loss=cat("loss"),
        iterations=cat("iterations"), history=cat("history"), learning_rate=cat("learning_rate"),
        backend="+".join(backends), dtype=parts[0]["dtype"], seconds=seconds,
        setup_seconds=max(p["setup_seconds"] for p in parts), complete=all(p["complete"] for p in parts),
        params=parts[0]["params"], metadata={"dask_shards": len(parts)}, l2=cat("l2"), converged=cat("converged"),
        stop_reason=cat("stop_reason"),
    )
