"""What both ways of sharding a batch over Dask share: Dask imported (with the install hint), the
client and its workers checked, a shard trained on a worker and read back as plain arrays, the
progress bar, the gather with Ctrl-C, and the shards' results put together as one TrainResult."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from ..errors import ConvergenceWarning
from ..result import TrainResult
from ..training import train as train_here

__all__ = ["require_dask", "check_client", "workers_of", "train_shard", "gather", "combine", "read_shard",
           "SOURCE"]

#: how messages name the user's table (its rows counted from 0 across the partitions)
SOURCE = "the Dask DataFrame"

#: the fields of a shard's result that travel back to the client
_FIELDS = ("weights", "bias", "loss", "iterations", "history", "learning_rate", "backend", "dtype", "seconds",
           "setup_seconds", "complete", "params", "l2", "converged", "stop_reason", "group_sizes", "covariance")


def require_dask():
    """The ``distributed`` module, or an ImportError with the install hint."""
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(f"Dask is not installed ({exc}): pip install 'fastperceptron[dask]'") from None
    return distributed


def check_client(distributed, client) -> None:
    if not isinstance(client, distributed.Client):
        raise TypeError(
            f"client must be a distributed.Client connected to the cluster that trains the shards, got {client!r}: "
            "e.g. client = distributed.Client(distributed.LocalCluster(n_workers=2)) on this machine, or "
            "distributed.Client('tcp://SCHEDULER:8786'); without Dask, call fastperceptron.train")


def workers_of(distributed, client) -> dict:
    """The cluster's workers; an error saying what to do when it has none or cannot be reached."""
    try:
        # Asked of the scheduler itself: client.scheduler_info() returns the client's cached identity,
        # which its periodic refresh overwrites with one listing no workers (a race seen in CI).
        workers = client.sync(client.scheduler.identity, n_workers=-1).get("workers", {})
    except (OSError, distributed.comm.CommClosedError) as exc:
        raise RuntimeError(f"cannot reach the Dask scheduler ({exc}); is the cluster running?") from None
    if not workers:
        raise RuntimeError(
            "the Dask cluster has no workers: start some (e.g. `dask worker SCHEDULER_ADDRESS`, or "
            "LocalCluster(n_workers=N)) before training"
        )
    return workers


def train_shard(X, y, kwargs: dict) -> dict:
    """One task: fp.train on a shard, with this worker's backend; plain arrays and the run's facts back.
    The client warns once, for the whole batch, about models that did not converge."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = train_here(X, y, progress=False, **kwargs)
    return {name: getattr(r, name) for name in _FIELDS}


def read_shard(part, row_ids, *columns):
    """``training_data`` of a shard's pandas rows (``columns``: target, features, groups, weight),
    its messages naming the user's table and row (``row_ids``: each row's place in it); a bad cell
    comes back as ``{"error": message}``, raised by :func:`gather` on the client — not as a failed
    task, whose traceback every worker would log."""
    from ..io.columns import TableError
    from ..io.frames import training_data

    try:
        return training_data(part, None, *columns, source=SOURCE, row_ids=row_ids)
    except TableError as exc:
        return {"error": str(exc)}


def gather(distributed, client, futures, progress):
    """The futures' results, with Dask's progress bar (``progress``; None: on a terminal); Ctrl-C
    cancels the remaining ones. A task that returned ``{"error": message}`` (:func:`read_shard`)
    raises it here, as a :class:`~fastperceptron.io.columns.TableError`."""
    from ..io.columns import TableError

    try:
        if progress or (progress is None and sys.stderr.isatty()):
            distributed.progress(futures, notebook=False)
        results = client.gather(futures)
        failed = [r["error"] for r in results if isinstance(r, dict) and "error" in r]
        if failed:
            raise TableError(failed[0])
        return results
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    except (OSError, distributed.comm.CommClosedError) as exc:
        raise RuntimeError(f"lost the Dask cluster during training ({type(exc).__name__}: {exc})") from None


def combine(parts: list, seeds, seconds: float, order=None, **extra) -> TrainResult:
    """One TrainResult from the shards' ``parts`` (in ``order`` of their models when given)."""
    def cat(key):
        if parts[0][key] is None:
            return None
        values = np.concatenate([p[key] for p in parts])
        return values if order is None else values[order]

    return TrainResult(
        weights=cat("weights"), bias=cat("bias"), seeds=np.asarray(seeds, dtype=np.int64), loss=cat("loss"),
        iterations=cat("iterations"), history=cat("history"), learning_rate=cat("learning_rate"),
        backend="+".join(sorted({p["backend"] for p in parts})), dtype=parts[0]["dtype"], seconds=seconds,
        setup_seconds=max(p["setup_seconds"] for p in parts), complete=all(p["complete"] for p in parts),
        params=parts[0]["params"], metadata={"dask_shards": len(parts)}, l2=cat("l2"), converged=cat("converged"),
        stop_reason=cat("stop_reason"), covariance=cat("covariance") if "covariance" in parts[0] else None, **extra)
