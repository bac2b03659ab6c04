"""Which model serves each row of a groups batch — its group's, a fallback's, or for a pooled batch
its path's or its deepest seen ancestor's — and the table of those models (``TrainResult.route``,
``predict_proba(X, groups=)``, the ONNX graph)."""

from __future__ import annotations

import numpy as np

from .io.columns import TableError
from .io.frames import column_names, describe, prediction_inputs
from .problem.groups import lookup
from .problem.model import default_names

__all__ = ["route", "model_table", "level_starts", "level_columns", "table_inputs", "model_labels", "coef_table",
           "interval", "predict_groups"]


def route(result, groups, unseen):
    """``TrainResult.route``: (idx (M,) into :func:`model_table`, served by a fallback or ancestor (M,))."""
    if result.groups is None:
        raise ValueError("groups= given, but this batch was not trained with groups; leave it out")
    if result.pooling is not None:  # the innermost paths, then the levels above (see _table)
        level, index = result.pooling.hierarchy.route(groups, "parent" if unseen is None else unseen)
        return level_starts(result)[level] + index, level < result.pooling.hierarchy.n_levels
    unseen = "error" if unseen is None else unseen
    if unseen not in ("error", "fallback"):
        raise ValueError(f"unseen must be 'error' or 'fallback', got {unseen!r}")
    if unseen == "fallback" and result.fallback_weights is None:
        raise ValueError("unseen='fallback' needs a fallback model: train with fallback=True, or attach one "
                         "with result.with_fallback(model)")
    by = result.metadata.get("group_by")
    name = f"groups (column {by!r})" if isinstance(by, str) else "groups"
    if unseen == "fallback":
        idx, missed = lookup(result.groups, groups, name, unseen="mask")
    else:
        idx, missed = lookup(result.groups, groups, name), None
    by_fallback = np.zeros(idx.shape[0], dtype=bool) if missed is None else missed
    if result.fallback_weights is not None and result.min_rows > 0:
        by_fallback |= result.group_sizes[idx] < result.min_rows  # (an unseen label's idx is in range)
    return np.where(by_fallback, result.n_models, idx), by_fallback


def level_starts(result) -> np.ndarray:
    """A pooled batch's first row of level l = 0 .. L in :func:`model_table` (the innermost level L
    first, at 0, then levels 0 .. L − 1)."""
    sizes = [result.n_models] + [w.shape[0] for w in result.pooling.weights]
    return np.cumsum([0] + sizes)[[*range(1, len(sizes)), 0]]


def model_table(result):
    """Weights (G + 1, D, K) and biases (G + 1, K) or None: the groups' models, then the fallback
    (zero weights when there is none); for a pooled batch the innermost paths, then levels 0 .. L − 1."""
    B, D, K = result.weights.shape
    if result.pooling is not None:  # the innermost paths, then levels 0 .. L − 1
        W = np.concatenate([result.weights, *result.pooling.weights]).astype(np.float64)
        if result.bias is None:
            return W, None
        return W, np.concatenate([result.bias, *result.pooling.bias]).astype(np.float64)
    fw = np.zeros((D, K)) if result.fallback_weights is None else result.fallback_weights
    W = np.concatenate([result.weights.astype(np.float64), fw[None].astype(np.float64)])
    if result.bias is None and result.fallback_bias is None:
        return W, None
    c = np.zeros((B, K)) if result.bias is None else result.bias.astype(np.float64)
    fc = np.zeros(K) if result.fallback_bias is None else result.fallback_bias.astype(np.float64)
    return W, np.concatenate([c, fc[None]])


def level_columns(result, names: list, flag: str = "groups=") -> list:
    """The label columns of a pooled batch's levels, outermost first, from the column ``names`` a user
    gave for them: the levels are matched by name when the model knows its levels' names (given in
    another order, they are put in the model's; a name that is one of the model's levels at another
    depth, or a count that differs, is refused), and taken in the order given when none of the names
    is the model's (new data whose label columns are named otherwise)."""
    trained = list(result.pooling.hierarchy.names)
    names = list(names)
    if len(names) != len(trained):
        raise ValueError(f"{flag} names {len(names)} label column(s) ({', '.join(names)}), but the model has "
                         f"{len(trained)} level(s), outermost first: {', '.join(trained)}")
    if sorted(names) == sorted(trained):
        return trained  # by name, whatever the order given
    misplaced = [n for j, n in enumerate(names) if n in trained and trained.index(n) != j]
    if misplaced or any(n in trained for n in names):
        shown = misplaced[0] if misplaced else next(n for n in names if n in trained)
        raise ValueError(f"{flag} {','.join(names)}: the model's levels are {','.join(trained)} (outermost first), "
                         f"and {shown!r} is one of them: name the level columns as in training (in any order), or "
                         "all by other names, outermost first")
    return names


def table_inputs(result, frame, groups, column):
    """(X, groups, their column name(s)) of a table of new rows (``TrainResult.predict_proba``):
    ``groups`` names the label column(s) (a pooled batch's levels matched by name:
    :func:`fastperceptron.serving.level_columns`), or is None (the columns the batch was trained
    with, which the table must have), or holds the labels themselves."""
    named = isinstance(groups, str) or (isinstance(groups, (list, tuple)) and bool(groups) and all(
        isinstance(g, str) for g in groups))
    if named and result.pooling is not None:
        groups = level_columns(result, [groups] if isinstance(groups, str) else groups)
        groups = groups[0] if len(groups) == 1 else groups
    elif groups is None and result.groups is not None:
        trained_by = result.metadata.get("group_by")
        if trained_by is None:
            raise ValueError("this batch has one model per group, trained on label arrays, not a table's column: "
                             "give each row's label with groups= (an array, or the name of the table's column)")
        names = column_names(frame)
        by = trained_by if isinstance(trained_by, list) else [trained_by]
        missing = [b for b in by if b not in names]
        if missing:
            which = (f"the labels of level {by.index(missing[0]) + 1} of {by}" if len(by) > 1 else
                     "the group labels")
            raise TableError(f"{describe(frame)}: no column {missing[0]!r} ({which}, as in training); its columns "
                             f"are {names}; or name the label column(s) with groups=")
        groups, named = trained_by, True
    categorical = result.metadata.get("categorical")
    if not named:
        return prediction_inputs(frame, result.feature_names, None, categorical)[0], groups, column
    X, labels = prediction_inputs(frame, result.feature_names, list(groups) if isinstance(groups, tuple) else groups,
                                  categorical)
    return X, labels, groups


def model_labels(result) -> dict:
    """{column: (B,) labels} naming each model of a batch: its group under the group column's name,
    or for a pooled batch one column per level (each path split at the separator); {} for an
    ensemble."""
    if result.groups is None:
        return {}
    if result.pooling is not None:
        from .problem.hierarchy import SEP

        names = list(result.pooling.hierarchy.names)
        parts = [str(p).split(SEP, len(names) - 1) for p in result.groups]
        return {name: np.array([q[j] for q in parts]) for j, name in enumerate(names)}
    by = result.metadata.get("group_by")
    return {by if isinstance(by, str) else "group": result.groups}


def coef_table(result, alpha: float):
    """``TrainResult.coef_table``: the batch's models as θ (B, K, P) beside their covariance."""
    from .stats import coef_table as table

    if result.covariance is None:
        raise ValueError("this batch has no covariance: train it with cov='nonrobust', 'HC0', 'HC1' or 'cluster' "
                         "(a second-order solver: solver='newton', 'lbfgs' or 'auto'; CLI: train --cov HC1)")
    theta = result.weights.astype(np.float64).transpose(0, 2, 1)
    if result.bias is not None:
        theta = np.concatenate([theta, result.bias.astype(np.float64)[:, :, None]], axis=2)
    terms = list(result.feature_labels) + (["bias"] if result.bias is not None else [])
    return table(theta, result.covariance, alpha, terms=terms, cov_type=str(result.params.get("cov")),
                 targets=result.target_names or default_names("y", result.n_outputs), labels=model_labels(result))


def interval(result, X, groups, unseen, level: float, rows: int = 1 << 14):
    """``predict_proba(..., interval=level)``: (low, high) of each probability, the delta method on
    the logit: σ(z ∓ q·√(x̃·V·x̃ᵀ)), q the normal quantile of ½ + level/2 and V the row's model's
    covariance. Shapes as the probabilities'; NaN for a row served by a fallback or an ancestor (no
    covariance of theirs is kept) and for a model without one (it did not converge)."""
    from statistics import NormalDist

    from .maths import sigmoid

    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"interval is the intervals' coverage, in (0, 1) (e.g. 0.95), got {level!r}")
    V = result.covariance
    if V is None or V.ndim != 4:
        raise ValueError("interval= needs each model's covariance: train with cov='nonrobust' (or 'HC0', 'HC1', "
                         "'cluster') and cov_keep='full'" + ("" if V is None else " (this batch kept its diagonal only)"))
    q = NormalDist().inv_cdf(0.5 + level / 2)
    X = result._inputs(X)
    Xt = np.concatenate([X, np.ones(X.shape[:-1] + (1,))], axis=-1) if result.bias is not None else X
    theta = result.weights.astype(np.float64).transpose(0, 2, 1)
    if result.bias is not None:
        theta = np.concatenate([theta, result.bias.astype(np.float64)[:, :, None]], axis=2)
    if groups is None:
        z = np.einsum("...mp,bkp->bmk", Xt, theta) if Xt.ndim == 2 else np.einsum("bmp,bkp->bmk", Xt, theta)
        var = (np.einsum("mp,bkpq,mq->bmk", Xt, V, Xt) if Xt.ndim == 2 else np.einsum("bmp,bkpq,bmq->bmk", Xt, V, Xt))
    else:
        idx = route(result, groups, unseen)[0]
        own = idx < result.n_models
        safe = np.where(own, idx, 0)
        z, var = np.empty((X.shape[0], result.n_outputs)), np.empty((X.shape[0], result.n_outputs))
        for a in range(0, X.shape[0], rows):
            b = slice(a, a + rows)
            z[b] = np.einsum("mp,mkp->mk", Xt[b], theta[safe[b]])
            var[b] = np.einsum("mp,mkpq,mq->mk", Xt[b], V[safe[b]], Xt[b])
        var[~own] = np.nan
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(var >= 0, var, np.nan))
    return sigmoid(z - q * se), sigmoid(z + q * se)


def predict_groups(result, X, groups, unseen=None, rows: int = 1 << 16) -> np.ndarray:
    """``predict_proba(X, groups=)``: each row of X (M, D) by the model :func:`route` picks, (M, K)."""
    from .maths import sigmoid

    if X.ndim != 2:
        raise ValueError(f"with groups, X must be (M, {result.n_features}); got shape {X.shape}")
    idx, _ = route(result, groups, unseen)
    if idx.shape[0] != X.shape[0]:
        raise ValueError(f"groups has {idx.shape[0]:,} labels but X has {X.shape[0]:,} rows; give one per row")
    W, c = model_table(result)
    out = np.empty((X.shape[0], result.n_outputs))
    for a in range(0, X.shape[0], rows):  # in slices: W[idx] is (rows, D, K)
        i = idx[a:a + rows]
        Z = np.einsum("md,mdk->mk", X[a:a + rows], W[i])
        if c is not None:
            Z += c[i]
        out[a:a + rows] = sigmoid(Z)
    return out

