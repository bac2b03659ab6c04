"""Each model's covariance at its optimum (SPEC §9): H⁻¹ ("nonrobust"), the sandwich H⁻¹·M·H⁻¹ ("HC0",
"HC1") and its clustered form ("cluster"), for a batch of models on shared data, one dataset per
model, or groups.

With x̃ = [x, 1], p = σ(x̃·θ̂) and the penalty's Hessian R (diag(λ, …, λ, 0) of SPEC §7, or the pull
of SPEC §8 in its coordinates), per model and output:

    H = Σ_n s_n·p_n·(1 − p_n)·x̃_nᵀx̃_n + R          M = Σ_n s_n²·(y_n − p_n)²·x̃_nᵀx̃_n
    HC1 = N/(N − P)·HC0                                 cluster: M = Σ_c u_cᵀu_c, u_c = Σ_{n∈c} s_n·(y_n − p_n)·x̃_n,
                                                        times G/(G − 1)·(N − 1)/(N − P)

N the model's rows of positive weight, G its clusters among them. The sums run on the columns
centred and scaled (their mean and standard deviation over all rows): on raw columns (an offset of
10⁹) H's entries would span 18 orders of magnitude, and its inverse lose them. The result is mapped
back onto the user's θ, V = T·V′·Tᵀ. Shared data: one matrix product per pair of parameters over the
models; groups: one ``np.bincount`` per pair over the rows, each row counted for its own group.
"""

from __future__ import annotations

import numpy as np

from .maths import cross_entropy_sigmoid
from .problem.model import default_names

__all__ = ["covariances", "finish", "row_sums", "problem_covariance", "fold_map", "COV_KEEP"]

#: what ``cov_keep=`` keeps of each covariance: the whole (P, P) matrix, or its diagonal (P,)
COV_KEEP = ("full", "diag")


def fold_map(offset: np.ndarray, scale: np.ndarray, bias: bool) -> np.ndarray:
    """T (P, P) with θ = T·θ′ for columns x′ = (x − offset)/scale: w = w′/s, c = c′ − Σ (m/s)·w′."""
    D = scale.shape[0]
    P = D + int(bias)
    T = np.zeros((P, P))
    T[np.arange(D), np.arange(D)] = 1.0 / scale
    if bias:
        T[D, :D] = -offset / scale
        T[D, D] = 1.0
    return T


def _pairs(P: int):
    rows, cols = np.triu_indices(P)
    return rows, cols


def _segments(gid):
    """The rows of each model of a groups batch as contiguous runs: (order, or None when ``gid`` is
    already sorted, as a groups problem's rows are; the runs' starts in sorted order; their models)."""
    order = None if gid.size < 2 or bool((gid[1:] >= gid[:-1]).all()) else np.argsort(gid, kind="stable")
    sorted_gid = gid if order is None else gid[order]
    starts = np.flatnonzero(np.r_[True, sorted_gid[1:] != sorted_gid[:-1]]) if gid.size else np.zeros(0, np.int64)
    return order, starts, sorted_gid[starts]


def _pair_sums(columns, weights, segments) -> np.ndarray:
    """Σ_n weights_n·x_n,p·x_n,q over each model's rows, for every pair p ≤ q: (models present,
    pairs). ``columns`` (P, N) contiguous, in the runs' order; one N-vector at a time (no (N, P²)
    temporary: at 10⁶ rows that costs more in fresh memory than the sums)."""
    _, starts, _ = segments
    P = columns.shape[0]
    out = []
    for p in range(P):
        wp = weights * columns[p]
        out.extend(np.add.reduceat(wp * columns[q], starts) for q in range(p, P))
    return np.stack(out, axis=1)


def _gram(Xt, weights, gid, n_models: int) -> np.ndarray:
    """Σ_n weights_n·x̃_nᵀx̃_n per model and output: (B, K, P, P). ``Xt`` (N, P) shared rows with
    ``weights`` (B, N, K), or the rows of all groups with ``gid`` (N,) and ``weights`` (N, K), or
    (B, N, P) per-model rows with ``weights`` (B, N, K)."""
    P = Xt.shape[-1]
    a, b = _pairs(P)
    K = weights.shape[-1]
    out = np.empty((n_models, K, P, P))
    if gid is not None:
        segments = _segments(gid)
        order, _, present = segments
        columns = np.ascontiguousarray((Xt if order is None else Xt[order]).T)
        out[:] = 0.0
        for k in range(K):
            w = weights[:, k] if order is None else weights[order, k]
            out[present[:, None], k, a, b] = _pair_sums(columns, w, segments)
    elif Xt.ndim == 2:
        Z = Xt[:, a] * Xt[:, b]
        sums = np.einsum("bnk,nj->bkj", weights, Z)                # one product per pair, over the models
        out[:, :, a, b] = sums
    else:
        sums = np.einsum("bnk,bnj->bkj", weights, Xt[:, :, a] * Xt[:, :, b])
        out[:, :, a, b] = sums
    out[:, :, b, a] = out[:, :, a, b]
    return out


def _cluster_meat(Xt, e, gid, clusters, n_models: int):
    """(Σ_c u_cᵀu_c (B, K, P, P), G (B,) clusters with rows): u_c = Σ_{n∈c} e_n·x̃_n per model and
    output. Shapes as :func:`_gram`'s (e for the weights)."""
    P = Xt.shape[-1]
    K = e.shape[-1]
    codes = np.unique(clusters, return_inverse=True)[1].reshape(-1)
    C = int(codes.max()) + 1
    out = np.zeros((n_models, K, P, P))
    if gid is not None:
        keys, key_of = np.unique(gid.astype(np.int64) * C + codes, return_inverse=True)
        owner = keys // C
        for k in range(K):
            U = np.stack([np.bincount(key_of, weights=e[:, k] * Xt[:, p], minlength=keys.size) for p in range(P)], 1)
            for p in range(P):
                for q in range(p, P):
                    out[:, k, p, q] = np.bincount(owner, weights=U[:, p] * U[:, q], minlength=n_models)
        counts = np.bincount(owner, minlength=n_models)
    else:
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
        counts = np.zeros(n_models, dtype=np.int64)
        for m in range(n_models):
            rows = Xt if Xt.ndim == 2 else Xt[m]
            active = np.add.reduceat(np.abs(e[m]).sum(axis=1)[order] > 0, starts)
            counts[m] = int((active > 0).sum())
            for k in range(K):
                U = np.add.reduceat((e[m, :, k, None] * rows)[order], starts, axis=0)   # (C, P)
                out[m, k] = U.T @ U
        return _mirror(out), counts
    return _mirror(out), counts


def _mirror(M):
    P = M.shape[-1]
    a, b = np.triu_indices(P, 1)
    M[..., b, a] = M[..., a, b]
    return M


def _inverse(H) -> np.ndarray:
    """H⁻¹ of every (P, P) matrix; NaN where one is singular."""
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        flat = H.reshape(-1, *H.shape[-2:])
        out = np.empty_like(flat)
        for i, h in enumerate(flat):
            try:
                out[i] = np.linalg.inv(h)
            except np.linalg.LinAlgError:
                out[i] = np.nan
        return out.reshape(H.shape)


#: a model whose Hessian (in centred, scaled coordinates) has a 1-norm condition number above 1/this
#: is not identified: its covariance is NaN (the inverse would keep fewer than six digits)
SINGULAR = 1e-10


def _singular(H, Hinv) -> np.ndarray:
    """(…) True where H is singular to working precision: cond₁(H) = ‖H‖₁‖H⁻¹‖₁ > 1/SINGULAR."""
    with np.errstate(invalid="ignore", over="ignore"):
        cond = np.abs(H).sum(axis=-2).max(axis=-1) * np.abs(Hinv).sum(axis=-2).max(axis=-1)
    return ~(cond * SINGULAR < 1.0)


def _warn_collinear(H, singular, terms) -> None:
    """One CovarianceWarning: how many models are not identified, and for the first the terms
    its Hessian's null direction moves (on the user's columns)."""
    import warnings

    from .errors import CovarianceWarning, caller_level

    first = np.argwhere(singular)[0]
    v = np.linalg.eigh(H[tuple(first)])[1][:, 0]   # the null direction, in the centred and scaled coordinates:
    moving = [terms[j] for j in np.flatnonzero(np.abs(v) > 0.05 * np.abs(v).max())]  # whatever the units
    which = ("the model has" if singular.size == 1 else
             f"{int(singular.sum()):,} of {singular.size:,} models have")
    warnings.warn(
        f"{which} a singular Hessian at the optimum, so the covariance is NaN: collinear columns among the "
        f"rows ({'' if singular.size == 1 else f'model {first[0]}: '}"
        f"{', '.join(moving)} move together — a one-hot of every level beside a bias, a copy of a column, "
        "or a column constant within a group); drop one of those columns, leave out the bias (bias=False) "
        "when they are a one-hot of every level, or set l2 > 0 (a finite C in the scikit-learn estimators)",
        CovarianceWarning, stacklevel=caller_level())


def _warn_undefined(factor, converged, cov_type: str, P: int) -> None:
    """One CovarianceWarning for converged models whose small-sample factor is undefined: HC1 with
    no more rows than parameters, "cluster" with fewer than two clusters."""
    import warnings

    from .errors import CovarianceWarning, caller_level

    bad = int((np.isnan(factor) & converged).sum())
    if bad:
        why = (f"no more rows than its {P} parameters, where HC1's N/(N − P) is undefined" if cov_type == "HC1"
               else "fewer than two clusters among its rows, where a cluster covariance is undefined")
        warnings.warn(f"{bad:,} of {factor.size:,} models have {why}: their covariance is NaN (use cov='nonrobust' "
                      "or 'HC0' for them, or leave those groups out)", CovarianceWarning, stacklevel=caller_level())


def covariances(X, Y, s, theta, penalty, cov_type: str, *, gid=None, clusters=None, T=None, keep: str = "full",
                terms=None, stop_reason=None):
    """Each model's covariance of θ̂ (B, K, P, P), or its diagonal (B, K, P) with keep="diag".

    ``X`` (N, D) rows shared by all models, or with ``gid`` (N,) the rows of every group (row n
    belongs to model gid[n]), or (B, N, D) one dataset per model; ``Y`` (N, K) or (B, N, K); ``s``
    None, (N,) or (B, N); ``theta`` (B, K, P) the models on X's columns (P = D, or D + 1 with the
    bias last); ``penalty`` the penalty's Hessian on X's columns, (P, P) or broadcastable to
    (B, K, P, P); ``clusters`` (N,) labels for cov_type "cluster"; ``T`` (P, P): θ_user = T·θ
    (default: X's columns are the user's). A model whose Hessian is singular (:data:`SINGULAR`)
    gets NaN and one :class:`CovarianceWarning` names the terms (``terms``, default x1 … and
    "bias") that move together. A model whose ``stop_reason`` (B,) is not "converged" gets NaN too
    (SPEC §9: no optimum to describe)."""
    B, K, P = theta.shape
    D = X.shape[-1]
    bias = P > D
    rows = X.reshape(-1, D)
    offset = rows.mean(axis=0) if bias else np.zeros(D)
    scale = rows.std(axis=0) if bias else np.sqrt((rows * rows).mean(axis=0))
    scale = np.where(scale > 1e-12 * np.maximum(np.abs(offset), 1e-300), scale, 1.0)
    F = fold_map(offset, scale, bias)                           # θ = F·θ′ on the centred, scaled columns
    Xs = (X - offset) / scale
    Xt = np.concatenate([Xs, np.ones(Xs.shape[:-1] + (1,))], axis=-1) if bias else Xs
    thetas = theta @ np.linalg.inv(F).T                          # θ′
    if gid is not None:
        z = np.stack([np.einsum("np,np->n", Xt, thetas[gid, k]) for k in range(K)], axis=1)
        Yr, w = Y, (np.ones(X.shape[0]) if s is None else s)[:, None]
    else:
        z = np.einsum("np,bkp->bnk", Xt, thetas) if Xt.ndim == 2 else np.einsum("bnp,bkp->bnk", Xt, thetas)
        Yr = np.broadcast_to(Y, z.shape)
        w = np.ones(z.shape[:2] + (1,)) if s is None else np.broadcast_to(s, z.shape[:2])[..., None]
    with np.errstate(over="ignore", under="ignore"):
        p = cross_entropy_sigmoid(z, Yr)[1]
    H = _gram(Xt, w * p * (1 - p), gid, B)
    M = N = G = None
    if cov_type != "nonrobust":
        e = w * (Yr - p)
        positive = (w[..., 0] > 0)
        N = (np.bincount(gid, weights=positive.astype(float), minlength=B) if gid is not None
             else positive.sum(axis=-1) * np.ones(B))
        M, G = _cluster_meat(Xt, e, gid, clusters, B) if cov_type == "cluster" else (_gram(Xt, e * e, gid, B), None)
    return finish(H, M, N, G, cov_type, F.T @ np.asarray(penalty, dtype=np.float64) @ F, F if T is None else T @ F,
                  keep=keep, terms=terms or default_names("x", D) + ["bias"] * bias, stop_reason=stop_reason)


def finish(H, M, N, G, cov_type: str, R, T, *, keep: str = "full", terms=None, stop_reason=None) -> np.ndarray:
    """V = T·V′·Tᵀ from the sums over the models' rows in the coordinates θ′ of the sums (θ = T·θ′):
    ``H`` (B, K, P, P) the data's Hessian, ``R`` the penalty's (broadcast to H), ``M`` the meat (HC0,
    HC1, cluster) with ``N`` (B,) the rows of positive weight and ``G`` (B,) the clusters (see
    :func:`covariances` for the rest)."""
    B, K, P, _ = H.shape
    H = H + R
    Hinv = _inverse(H)
    converged = np.ones(B, bool) if stop_reason is None else np.asarray(stop_reason) == "converged"
    singular = _singular(H, Hinv) & converged[:, None]
    if cov_type == "nonrobust":
        V = Hinv
    else:
        if cov_type == "cluster":
            factor = np.where(G > 1, G / np.maximum(G - 1, 1) * (N - 1) / np.maximum(N - P, 1), np.nan)
        else:
            factor = np.ones(B) if cov_type == "HC0" else N / np.where(N > P, N - P, np.nan)
        _warn_undefined(factor, converged, cov_type, P)
        V = factor[:, None, None, None] * (Hinv @ M @ Hinv)
    if singular.any():
        V[singular] = np.nan
        _warn_collinear(H, singular, terms or default_names("x", P))
    V[~converged] = np.nan
    V = T @ V @ T.T
    return np.einsum("...ii->...i", V).copy() if keep == "diag" else V


def row_sums(X, Y, s, theta, offset, scale, cov_type: str):
    """(H, M or None, N) of one model's rows (``X`` (n, D) of a larger table, ``Y`` (n, K), ``s``
    (n,) or None) at ``theta`` (K, P) on the user's columns, in the coordinates of the columns
    centred and scaled by the whole table's ``offset`` and ``scale``: the parts of :func:`finish`
    that add over the rows (a Dask DataFrame's partitions). Not for "cluster"."""
    K, P = theta.shape
    bias = P > X.shape[1]
    F = fold_map(offset, scale, bias)
    Xs = (X - offset) / scale
    Xt = np.hstack([Xs, np.ones((X.shape[0], 1))]) if bias else Xs
    z = Xt @ (theta @ np.linalg.inv(F).T).T                      # (n, K)
    w = (np.ones(X.shape[0]) if s is None else s)[:, None]
    with np.errstate(over="ignore", under="ignore"):
        p = cross_entropy_sigmoid(z, Y)[1]
    H = _gram(Xt, (w * p * (1 - p))[None], None, 1)
    if cov_type == "nonrobust":
        return H, None, 0.0
    e = w * (Y - p)
    return H, _gram(Xt, (e * e)[None], None, 1), float((w > 0).sum())


def _penalty(problem) -> np.ndarray:
    """SPEC §7's penalty Hessian diag(λ_b, …, λ_b, 0) of each model on the user's columns,
    (B, 1, P, P): on the standardised ones when ``standardize=True`` penalised those (mapped back)."""
    p = problem
    B, D, K = p.W0.shape
    P = p.n_parameters
    lam = np.zeros(B) if p.l2 is None else np.asarray(p.l2, dtype=np.float64)
    L = np.zeros((B, 1, P, P))
    L[:, 0, np.arange(D), np.arange(D)] = lam[:, None]
    t = p.columns
    if t is None or not t.standardized:
        return L
    A = np.linalg.inv(np.stack([fold_map(t.offset[b], t.scale[b], p.bias) for b in range(t.offset.shape[0])]))
    return np.einsum("mpi,bkpq,mqj->bkij", A, L, A) if A.shape[0] == 1 else np.einsum(
        "bpi,bkpq,bqj->bkij", A, L, A)


def problem_covariance(problem, weights, bias, stop_reason, cov_type: str, clusters=None, keep: str = "full",
                       terms=None):
    """:func:`covariances` of a trained problem's models (``weights`` (B, D, K), ``bias`` (B, K) or
    None, on the user's columns), NaN for a model that did not converge (SPEC §9); ``clusters`` (N,)
    in the user's row order."""
    p = problem
    X = p.X.astype(np.float64)
    if p.columns is not None:  # the rows on the user's columns again (x = x′·s + m)
        t = p.columns
        X = X * (t.scale[0] if X.ndim == 2 else t.scale[:, None, :]) + (t.offset[0] if X.ndim == 2 else
                                                                     t.offset[:, None, :])
    theta = weights.astype(np.float64).transpose(0, 2, 1)
    if bias is not None:
        theta = np.concatenate([theta, bias.astype(np.float64)[:, :, None]], axis=2)
    gid = None
    if p.grouped:
        gid = p.groups.group_ids()
        clusters = None if clusters is None else np.asarray(clusters)[p.groups.order]
    s = None if p.sample_weight is None else p.sample_weight.astype(np.float64)
    return covariances(X, p.Y.astype(np.float64), s, theta, _penalty(p), cov_type, gid=gid, clusters=clusters,
                       keep=keep, terms=terms, stop_reason=stop_reason)
