"""One model over every row of a Dask DataFrame: ``fastperceptron.dask.train(ddf, "y", solver="newton")``.

Without groups a model needs every row, so it is not sharded: it is fitted by Newton's method over the
partitions (:func:`.newton.global_newton`, the one-machine solvers' coordinates, start and stop
tests; one map-reduce of the loss, gradient and Hessian per step), as a pooled hierarchy's global
model is. The result equals ``fp.train`` of the same table on one machine to the solvers' tolerance,
and keeps the column names. Gradient steps (``solver="gd"``) and ensembles of several models on one
Dask table are not available this way: compute() a table that fits, or shard the models
(``fastperceptron.dask.train(X, y, models=B)`` with arrays).
"""

from __future__ import annotations

import time

import numpy as np

from ..covariance import check_cov
from ..io.columns import Table, select
from ..options import bind
from ..problem.model import default_tol
from ..result import TrainResult
from .common import SOURCE
from .newton import covariance, global_newton, squared_error
from .pooled import partition_reduce

__all__ = ["train_frame"]

#: the options that say how many models, or how gradient steps go: none applies to one model fitted
#: by Newton over the partitions
_NOT_HERE = ("seeds", "models", "initial_weights", "learning_rate", "record_every", "standardize")


def train_frame(client, X, y, *, sample_weight=None, **kwargs) -> TrainResult:
    """See the module docstring."""
    o = bind("fastperceptron.dask.train", kwargs)
    given = [name for name in _NOT_HERE if kwargs.get(name) not in (None, False)]
    if given:
        raise ValueError(f"{given[0]}= does not apply to one model fitted over a Dask DataFrame's partitions "
                         "(without groups): leave it out, or compute() a table that fits and call fastperceptron.train")
    if o["solver"] not in ("newton", "lbfgs", "auto") or o["rule"] not in (None, "logistic"):
        raise ValueError("a Dask DataFrame without groups is one model fitted by Newton's method over its partitions: "
                         "give solver='newton' (or 'lbfgs', 'auto': the same optimum); for gradient steps, compute() "
                         "a table that fits and call fastperceptron.train")
    if np.ndim(o["l2"]) != 0:
        raise ValueError(f"l2 must be one number for one model over a Dask DataFrame, got {o['l2']!r}")
    if o["dtype"] != "float64":
        raise ValueError("a model over a Dask DataFrame's partitions is fitted in float64: leave dtype out")
    table = Table(source=SOURCE, names=[str(c) for c in X.columns], columns={})
    s = select(table, y, o["features"], None, sample_weight)
    if o["cov"] is not None:
        check_cov(o, "newton", 1, len(s.targets), len(s.features) + int(bool(o["bias"])))
    tol = default_tol("newton", "float64") if o["tol"] is None else float(o["tol"])
    iterations = 100 if o["iterations"] is None else int(o["iterations"])
    start = time.perf_counter()
    reduce = partition_reduce(client, X, s.features + s.targets + ([s.weight] if s.weight else []))
    theta, reason, steps, units = global_newton(reduce, s.features, s.targets, s.weight, bool(o["bias"]),
                                                float(o["l2"]), tol, iterations)
    loss = squared_error(reduce, s.features, s.targets, s.weight, theta)
    D = len(s.features)
    return TrainResult(
        weights=np.ascontiguousarray(theta[:, :D].T[None]), bias=theta[None, :, D].copy() if o["bias"] else None,
        seeds=np.zeros(1, np.int64), loss=np.array([loss]), iterations=np.array([steps], np.int64), history=None,
        learning_rate=np.ones(1), backend="dask", dtype="float64", seconds=time.perf_counter() - start,
        params={"rule": "logistic", "init": "uniform", "iterations": iterations, "tol": tol, "record_every": None,
                "bias": bool(o["bias"]), "layout": "partitions", "solver": "newton", "standardize": False,
                **({"cov": o["cov"], "cov_keep": o["cov_keep"]} if o["cov"] is not None else {})},
        metadata={"feature_names": s.features, "target_names": s.targets}, l2=np.array([float(o["l2"])]),
        converged=np.array([reason == "converged"]), stop_reason=np.array([reason]),
        covariance=None if o["cov"] is None else covariance(reduce, s.features, s.targets, s.weight, theta, units,
                                                            float(o["l2"]), o["cov"], o["cov_keep"], reason))
