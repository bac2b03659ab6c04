"""``train``: the batch driver shared by every backend — check, plan, run, result.

The problem is checked (:mod:`fastperceptron.problem`), then run (:mod:`fastperceptron.runner`:
a backend and layout chosen, the run advanced chunk by chunk, read back).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .covariance import attach, check_cov, cluster_codes
from .io.frames import training_data
from .io.inputs import standardize_columns
from .options import bind, docstring, problem_options, signature
from .pooling.fit import train_pooled
from .problem.hierarchy import is_levels
from .problem import make_problem
from .problem.checks import nonneg_int, optional_positive_int
from .result import TrainResult
from .runner import run_problem
from .solvers import warn_unconverged, warn_upper_levels

__all__ = ["train"]


def train(X, y=None, **options) -> TrainResult:
    o = bind("train", options)
    table = X
    X, y, groups, weight, names = training_data(X, y, o["target"], o["features"], o["groups"], o["sample_weight"],
                                                drop=o["drop"], categorical=o["categorical"], positive=o["positive"])
    if o["clusters"] is not None:
        o["clusters"] = cluster_codes(o["clusters"], table, np.shape(X)[-2])
    o.update(groups=groups, sample_weight=weight)
    o["standardize"] = standardize_columns(o["standardize"], names)  # one-hot inputs stay 0/1
    _check_fallback(o, options)
    optional_positive_int("chunk_iterations", o["chunk_iterations"])
    optional_positive_int("threads", o["threads"])
    if is_levels(groups) or o["shrink"] is not None:
        return _pooled(X, y, groups, weight, names, o, options)
    for name in ("shrink_grid", "cv", "seed"):
        if options.get(name) is not None:
            raise ValueError(f"{name}= applies to shrink='cv' (partial pooling): give shrink='cv' and groups=")
    problem = make_problem(X, y, **problem_options(o))
    if o["cov"] is not None:
        check_cov(o, problem.solver, problem.n_models, problem.W0.shape[2], problem.n_parameters)
    result = run_problem(problem, o, names=names.get("feature_names"))
    if names:
        result = replace(result, metadata={**result.metadata, **names})
    if o["cov"] is not None:
        result = attach(result, problem, o, o["clusters"])
    warn_unconverged(result, stacklevel=2)
    if o["fallback"] and result.complete:  # one more model on all rows, with the batch's other options
        model = train(X, y, **{**options, "target": None, "features": None, "groups": None, "sample_weight": weight,
                               "drop": None, "categorical": None, "positive": None, "cov": None, "clusters": None,
                               "seeds": [0], "fallback": False, "min_rows": 0})
        result = replace(result.with_fallback(model, o["min_rows"]), seconds=result.seconds + model.seconds)
    return result


train.__signature__ = signature()
train.__doc__ = docstring(
    "Train B independent sigmoid perceptrons at once and return them as a :class:`TrainResult`.",
    """X : (N, D) array shared by all models, or (B, N, D), one dataset per model; or a table (a
    pandas or polars DataFrame, a polars LazyFrame, a pyarrow Table) whose columns are named by
    ``target``, ``features``, ``groups`` and ``sample_weight``.
y : targets in [0, 1]: (N,), (N, K), (B, N) or (B, N, K). A 2-D ``y`` whose first axis has
    length N is read as (N, K); pass (B, N, 1) when that would be ambiguous. With X a table:
    left out (``target=`` names the column), a column name, or a series beside X's features.""",
    """Ctrl-C during training stops at the end of the current chunk and returns the models as they
are there, with ``complete=False`` and a warning; a second Ctrl-C aborts at once. The keywords,
their defaults and these docs are :mod:`fastperceptron.options`.""")


def _pooled(X, y, groups, weight, names, o, given) -> TrainResult:
    """A hierarchy of groups, or groups with ``shrink``: :mod:`fastperceptron.pooling`."""
    if groups is None:
        raise ValueError("shrink pulls each group's model toward its parent's: give groups= (one label array, or "
                         "one per level of a hierarchy, outermost first)")
    levels = list(groups) if is_levels(groups) else [groups]
    if o["shrink"] is None:
        o = {**o, "shrink": "cv"}
    if o["cov"] is not None:  # the options, before any level is fitted (a pooled fit's solver is auto unless given)
        check_cov(o, given.get("solver") or "auto", 0, 1, 1, pooled=True)
    by = names.get("group_by")
    level_names = [by] if isinstance(by, str) else by
    result = train_pooled(X, y, levels, weight, o, given, level_names)
    if names:
        result = replace(result, metadata={**result.metadata, **names})
    warn_unconverged(result, stacklevel=3)
    warn_upper_levels(result, stacklevel=3)
    return result


def _check_fallback(o: dict, given: dict) -> None:
    """``fallback``/``min_rows`` make sense together, with groups, and with hyperparameters the
    fallback model can share (one value for all groups)."""
    if not isinstance(o["fallback"], (bool, np.bool_)):
        raise TypeError(f"fallback must be True or False, got {o['fallback']!r}")
    min_rows = nonneg_int("min_rows", o["min_rows"])
    if o["fallback"] and o["groups"] is None:
        raise ValueError("fallback=True trains a model for the groups that lack one: it needs groups=")
    if min_rows and not o["fallback"]:
        raise ValueError(f"min_rows={min_rows} sends small groups to the fallback model: set fallback=True as well")
    if o["fallback"]:
        per_group = [name for name, ndim in (("learning_rate", 0), ("l2", 0), ("initial_weights", 2))
                     if given.get(name) is not None and np.ndim(given[name]) > ndim
                     and not isinstance(given[name], str)]
        if per_group:
            raise ValueError(
                f"fallback=True trains the fallback with the batch's hyperparameters, but {', '.join(per_group)} "
                "is given per group: train the fallback model yourself and attach it with "
                "result.with_fallback(model, min_rows)")


