"""Train one batch across a Dask cluster: ``fastperceptron.dask.train(X, y, client=client, ...)``.

``pip install 'fastperceptron[dask]'``; only this package imports Dask (an edge: the public API,
nothing below imports it). Without groups the models are sharded (:mod:`.models`), with groups the
rows (:mod:`.groups`), and with a pooled hierarchy (``groups=[outer, inner]``, ``shrink``) the rows
by the outermost level (:mod:`.pooled`); a Dask DataFrame without groups is one model, fitted by
Newton's method over its partitions (:mod:`.table`).

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

from ..options import bind
from ..result import TrainResult
from ..solvers import warn_unconverged
from .common import check_client, require_dask, workers_of
from .models import default_shards

__all__ = ["train", "default_shards"]


def train(X, y, *, client, shards=None, seeds=None, models=None, progress=None, groups=None,
          **train_kwargs) -> TrainResult:
    """Train B models across the workers of ``client``; same arguments and result as ``fp.train``.

    With ``groups`` (one model per group, SPEC §6): X is a Dask DataFrame, ``groups`` the name of its
    label column and ``y`` the name(s) of its target column(s) (``sample_weight`` may name a column of
    row weights); every other column is a feature. Or X (N, D), y and groups (N,) are Dask arrays
    with the same row chunks. Groups are never split across shards, shards are balanced by rows, and
    the result equals ``fp.train(..., groups=...)`` on one machine (see
    :mod:`fastperceptron.dask.groups`).

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
    distributed = require_dask()
    bind("fastperceptron.dask.train", train_kwargs)  # an unknown keyword is refused here, not on a worker
    if train_kwargs.get("fallback") or train_kwargs.get("min_rows"):
        raise ValueError("fallback= and min_rows= are not available through Dask: each shard sees only its own "
                         "rows. Train the fallback model on all rows separately and attach it with "
                         "result.with_fallback(model, min_rows)")
    check_client(distributed, client)
    for name in ("categorical", "positive", "drop"):
        if train_kwargs.get(name) is not None:
            raise ValueError(f"{name}= is not available through Dask (each shard would read its own levels and "
                             "labels): encode those columns first, or name the features with features= / y")
    if train_kwargs.get("cov") == "cluster" or train_kwargs.get("clusters") is not None:
        raise ValueError("cov='cluster' is not available through Dask (a cluster's rows may lie in several shards): "
                         "use cov='HC1' (or 'nonrobust', 'HC0') here, or compute() a table that fits and call "
                         "fastperceptron.train with clusters=")
    train_kwargs.pop("fallback", None)
    train_kwargs.pop("min_rows", None)
    train_kwargs.pop("progress", None)
    if isinstance(groups, (list, tuple)) or train_kwargs.get("shrink") is not None:
        from .pooled import train_pooled_dask

        result = train_pooled_dask(distributed, X, y, groups=[groups] if isinstance(groups, str) else list(groups),
                                   client=client, workers=workers_of(distributed, client), shards=shards,
                                   progress=progress, **train_kwargs)
    elif groups is None and _is_dask_frame(X):
        from .table import train_frame

        if seeds is not None or models is not None:
            raise ValueError("a Dask DataFrame without groups is one model fitted over its partitions: leave seeds "
                             "and models out (shard an ensemble's models with arrays: train(X, y, models=B))")
        result = train_frame(client, X, y, **train_kwargs)
    elif groups is not None:
        from .groups import train_groups

        if train_kwargs.get("standardize"):
            raise ValueError("standardize=True is not available for groups through Dask: each shard sees only its "
                             "own rows, so their statistics would differ from shard to shard. Standardise the "
                             "columns first (with the whole table's mean and standard deviation), then train")
        if models is not None:
            raise ValueError("with groups there is one model per group: leave models out")
        result = train_groups(distributed, X, y, groups=groups, client=client, workers=workers_of(distributed, client),
                              shards=shards, seeds=seeds, progress=progress, **train_kwargs)
    else:
        from .models import train_models

        result = train_models(distributed, X, y, client=client, workers=workers_of(distributed, client),
                              shards=shards, seeds=seeds, models=models, progress=progress, **train_kwargs)
    warn_unconverged(result, stacklevel=2)
    return result


def _is_dask_frame(X) -> bool:
    import dask.dataframe as dd

    return isinstance(X, dd.DataFrame)

