"""``train(..., cov=...)``: the options checked before training, and each trained model's covariance
attached to its result (:mod:`fastperceptron.inference`, SPEC §9)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .inference import COV_KEEP, problem_covariance
from .memory import physical_bytes, size_text
from .stats import COV_TYPES

__all__ = ["check_cov", "attach", "cluster_codes"]


def cluster_codes(clusters, X_table, n_rows: int):
    """``clusters`` as one int code per row: labels given as an array, or the name of a column of the
    table ``X_table``."""
    from .io.frames import column_labels, is_table
    from .problem.groups import factorize

    from .io.frames import check_aligned

    check_aligned(X_table, clusters, "clusters=")
    if isinstance(clusters, str):
        if not is_table(X_table):
            raise TypeError(f"clusters={clusters!r} names a column of a table, but X is not a table: pass one cluster "
                            "label per row")
        clusters = column_labels(X_table, clusters)
    return factorize(clusters, n_rows, "clusters")[1]


def check_cov(o: dict, solver: str, n_models: int, K: int, P: int, pooled: bool = False) -> None:
    """The ``cov``, ``clusters`` and ``cov_keep`` options, before any training: the kinds, a
    second-order solver, clusters with "cluster" only, "nonrobust" only for partial pooling, and
    memory for B·K·P² numbers."""
    cov, keep = o["cov"], o["cov_keep"]
    if cov not in COV_TYPES:
        raise ValueError(f"cov must be one of {', '.join(repr(c) for c in COV_TYPES)} (or None), got {cov!r}")
    if keep not in COV_KEEP:
        raise ValueError(f"cov_keep must be 'full' or 'diag', got {keep!r}")
    if solver == "gd":
        raise ValueError("cov= describes each model at its optimum, which gradient steps do not reach: use "
                         "solver='newton', 'lbfgs' or 'auto' (CLI: --solver)")
    if pooled and cov != "nonrobust":
        raise ValueError(f"cov={cov!r} is not available for partial pooling: the sandwich measures how the shrunken "
                         "estimate moves with the data, and where the pull toward the parent dominates (a small "
                         "group) that spread goes to 0 while the estimate stays biased toward the parent, so its "
                         "tests would find effects that are not there. Use cov='nonrobust' (the curvature of the "
                         "posterior that pooling is), or shrink=None (CLI: --shrink none) for each group's own fit")
    if (cov == "cluster") != (o["clusters"] is not None):
        raise ValueError("cov='cluster' needs clusters= (one label per row, or a table's column)" if cov == "cluster"
                         else f"clusters= applies to cov='cluster', not cov={cov!r}")
    need = n_models * K * (P * P if keep == "full" else P) * 8
    have = physical_bytes()
    if have is not None and need > have // 4:
        raise MemoryError(f"cov={cov!r} keeps {n_models:,} x {K} covariances of {P} x {P} numbers: {size_text(need)}, "
                          f"over a quarter of this machine's {size_text(have)}; keep the standard errors only with "
                          "cov_keep='diag', or train fewer models at a time")


def attach(result, problem, o: dict, clusters=None):
    """``result`` with each model's covariance (:attr:`TrainResult.covariance`) and ``params["cov"]``."""
    terms = result.feature_labels + ["bias"] * (result.bias is not None)
    V = problem_covariance(problem, result.weights, result.bias, result.stop_reason, o["cov"], clusters,
                           o["cov_keep"], terms)
    return replace(result, covariance=V, params={**result.params, "cov": o["cov"], "cov_keep": o["cov_keep"]})
