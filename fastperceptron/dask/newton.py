"""One model over every partition of a Dask DataFrame, by Newton's method: the global model (level 0)
of a pooled hierarchy through Dask (:mod:`.pooled`).

It walks as the one-machine solvers walk (:mod:`fastperceptron.solvers`), so that it reaches their
optimum, on raw columns too, and stops for the same reasons:

- in the centred and scaled coordinates φ of :class:`fastperceptron.solvers.start.Scaling`, from the
  columns' weighted means and variances over all rows (one map-reduce, partitions merged by Chan's
  formulas, so offsets of 10⁹ lose no digits); the partitions evaluate z = x̂·v + d on the centred
  and scaled columns x̂ directly, never x·w + c (which would cancel nine digits there);
- from φ = 0, the bias at the targets' log-odds; a model with a bias and targets of one class is not
  iterated (w = 0, c = log((Σs·y + ½)/(Σs·(1 − y) + ½)), "one-class");
- each step d = (H + μI)⁻¹·g (μ = 0 with a penalty, else ε^¾·mean(diag H); raised 100-fold while
  H + μI is not positive definite), the first t in 1, ½, ¼ … that does not raise L beyond its
  rounding (a step within the convergence test's length taken whole), the convergence test of SPEC
  §7's solvers (the gradient of the mean loss ≤ tol and the step ≤ √tol·(1 + max|φ|), or, with a
  penalty, the gradient test met where no lower loss can be found), and without a penalty the
  check L(2φ) < L(φ) that marks separable data ("separable") instead of calling them converged.

Each evaluation is one map-reduce of (L, ∇L, ∇²L) in φ over the partitions, so a step whose full
length is accepted costs one pass.
"""

from __future__ import annotations

import numpy as np

from ..maths import cross_entropy_sigmoid
from ..problem.columns import units_of
from ..solvers.base import MAX_HALVINGS
from ..solvers.start import Scaling, one_class_bias

__all__ = ["global_newton", "squared_error"]

_RANKED = ("one-class", "separable", "line-search", "iterations", "converged")  # worst first


def _columns(part, features, targets, weight):
    X = part[features].to_numpy(dtype=np.float64)
    Y = part[targets].to_numpy(dtype=np.float64)
    s = np.ones(len(part)) if weight is None else part[weight].to_numpy(dtype=np.float64)
    return X, Y, s


def _moments(part, first_row, features, targets, weight, center: bool):
    """(Σs, the weighted mean (D,), Σs·(x − mean)² (D,), Σs·y (K,)) of one partition's rows, whose
    cells are checked first as any table's are (a bad one: ``{"error": message}``, naming the row by
    its place in the whole table, ``first_row`` + its place here)."""
    from .common import read_shard

    read = read_shard(part, np.arange(first_row, first_row + len(part)), targets, features, None, weight)
    if isinstance(read, dict):
        return read
    X, Y, s = _columns(part, features, targets, weight)
    total = s.sum()
    if total <= 0:
        return 0.0, np.zeros(X.shape[1]), np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    mean = s @ X / total if center else np.zeros(X.shape[1])
    return total, mean, s @ ((X - mean) ** 2), s @ Y


def _merge(a, b):
    """Chan's pairwise merge of two partitions' :func:`_moments`."""
    na, ma, qa, ya = a
    nb, mb, qb, yb = b
    n = na + nb
    if n == 0:
        return a
    delta = mb - ma
    return n, ma + delta * nb / n, qa + qb + delta * delta * na * nb / n, ya + yb


def _stats(part, first_row, features, targets, weight, a, b, phi):
    """(L (K,), ∇L (K, P), ∇²L (K, P, P)) of one partition's rows at φ (K, P), in φ, without the
    penalty: the columns centred and scaled, x̂ = a·x + b, z = x̂·v + d."""
    X, Y, s = _columns(part, features, targets, weight)
    Xh = X * a + (0.0 if b is None else b)
    if b is not None:
        Xh = np.hstack([Xh, np.ones((len(X), 1))])
    z = Xh @ phi.T                                                      # (n, K)
    with np.errstate(over="ignore", under="ignore"):
        ce, p = cross_entropy_sigmoid(z, Y)
        f = s @ ce
    g = (s[:, None] * (p - Y)).T @ Xh
    H = np.einsum("nk,np,nq->kpq", s[:, None] * p * (1.0 - p), Xh, Xh)
    return f, g, H


def global_newton(reduce, features, targets, weight, bias: bool, l2: float, tol: float, iterations: int):
    """θ (K, P) on the user's columns, why the model stopped (one of the solvers' stop reasons), the
    iterations it took and the columns' standard units over all rows (SPEC §8), for a model over
    every partition. ``reduce(function, *args)`` maps ``function(partition,
    first_row, *args)`` over the partitions (``first_row``: the partition's first row's place in the
    table) and returns the list of results."""
    from ..io.columns import TableError

    eps = np.finfo(np.float64).eps
    parts = reduce(_moments, features, targets, weight, bias)
    failed = [p["error"] for p in parts if isinstance(p, dict)]
    if failed:
        raise TableError(failed[0])
    total, mean, q, pos = parts[0]
    for other in parts[1:]:
        total, mean, q, pos = _merge((total, mean, q, pos), other)
    K, D = len(targets), len(features)
    scaling = Scaling.from_moments(mean[None], (q / max(total, np.finfo(float).tiny))[None], np.array([total]),
                                   np.array([float(l2)]), K, np.float64, bias)
    a, b = scaling.a[0], None if scaling.b is None else scaling.b[0]
    neg = total - pos
    P = D + int(bias)
    phi = np.zeros((K, P))
    if bias:
        with np.errstate(divide="ignore"):
            phi[:, D] = np.clip(np.log(pos) - np.log(neg), -30.0, 30.0)
    single = ((pos <= 0) | (neg <= 0)) if bias else np.zeros(K, dtype=bool)
    penalty = np.r_[float(l2) * a * a, np.zeros(P - D)]                 # ½λ‖w‖² = ½λ‖a·v‖², in φ

    def evaluate(at):
        out = reduce(_stats, features, targets, weight, a, b, at)
        f = sum(o[0] for o in out) + 0.5 * (penalty * at * at).sum(axis=1)
        g = sum(o[1] for o in out) + penalty * at
        H = sum(o[2] for o in out) + np.diag(penalty)
        return f, g, H

    reason = np.where(single, "one-class", "iterations").astype(object)
    active = ~single
    steps = 0
    if active.any():
        f, g, H = evaluate(phi)
        for _ in range(iterations):
            if not active.any():
                break
            d = _direction(H, g, eps, l2 > 0)
            small_g = np.abs(g).max(axis=1) <= tol * total
            small_d = np.abs(d).max(axis=1) <= np.sqrt(tol) * (1.0 + np.abs(phi).max(axis=1))
            done = active & small_g & small_d
            if done.any() and l2 == 0:  # unpenalised: a minimum, or separable data seen along a ray?
                ray = done & (evaluate(2 * phi)[0] < f)
                reason[ray] = "separable"
                done &= ~ray
                active &= ~ray
            reason[done] = "converged"
            active &= ~done
            if not active.any():
                break
            before = f
            phi, f, g, H, stalled = _line_search(evaluate, phi, d, f, g, H, active, small_d, eps)
            steps += 1
            if l2 > 0:  # penalised, at (i), and no lower loss to be found: at the optimum to working precision
                settled = active & (f >= before) & (np.abs(g).max(axis=1) <= tol * total)
                reason[settled] = "converged"
                active &= ~settled
                stalled &= ~settled
            reason[stalled] = "line-search"
            active &= ~stalled
    if active.any() or (reason == "line-search").any():  # as the solvers' stop_reasons: unpenalised, the
        flat = (np.abs(g).max(axis=1) <= tol * total) & (l2 == 0) & (reason != "converged") & ~single
        reason[flat] = "separable"                           # gradient met but no minimum: separable
    theta = scaling.to_theta(phi, np.arange(K))
    if bias:
        theta[single] = 0.0
        theta[single, D] = one_class_bias(pos, neg)[single]
    worst = min(_RANKED.index(r) for r in reason)
    units = units_of(mean[None], np.sqrt(q / max(total, np.finfo(float).tiny))[None], bias)
    return theta, _RANKED[worst], steps, units


def _direction(H, g, eps, penalised: bool):
    """(H + μI)⁻¹·g per output: μ = 0 when penalised (H is positive definite), else ε^¾·mean(diag H),
    raised (from ε^¾·mean(diag H)) 100-fold while H + μI is not positive definite."""
    K, P = g.shape
    d = np.zeros_like(g)
    for k in range(K):
        mu0 = eps ** 0.75 * max(np.diag(H[k]).mean(), np.finfo(np.float64).tiny)
        mu = 0.0 if penalised else mu0
        for _ in range(21):
            try:
                L = np.linalg.cholesky(H[k] + mu * np.eye(P))
            except np.linalg.LinAlgError:
                mu = mu0 if mu == 0 else 100.0 * mu
                continue
            d[k] = np.linalg.solve(L.T, np.linalg.solve(L, g[k]))
            break
    return d


def _line_search(evaluate, phi, d, f, g, H, active, whole, eps):
    """φ − t·d with the first t in 1, ½, … that does not raise L beyond 8ε|L| (taken whole where the step
    is within the convergence test's length); (φ, L, ∇L, ∇²L, the outputs that found no step)."""
    t = np.where(active, 1.0, 0.0)
    pending = active.copy()
    bound = f + 8 * eps * np.abs(f)
    for _ in range(MAX_HALVINGS):
        trial = phi - t[:, None] * d
        ft, gt, Ht = evaluate(trial)
        ok = pending & ((ft <= bound) | (whole & (t == 1)))
        phi, f, g, H = (np.where(ok[:, None], trial, phi), np.where(ok, ft, f), np.where(ok[:, None], gt, g),
                        np.where(ok[:, None, None], Ht, H))
        pending &= ~ok
        if not pending.any():
            break
        t = np.where(pending, 0.5 * t, t)
    return phi, f, g, H, pending


def _squared(part, first_row, features, targets, weight, theta):
    """(Σ s·(y − σ(z))² (K,), Σ s) of one partition's rows at θ (K, P) on the user's columns."""
    X, Y, s = _columns(part, features, targets, weight)
    z = X @ theta[:, :X.shape[1]].T + (theta[:, X.shape[1]] if theta.shape[1] > X.shape[1] else 0.0)
    with np.errstate(over="ignore", under="ignore"):
        p = cross_entropy_sigmoid(z, Y)[1]
    return s @ ((Y - p) ** 2), s.sum()


def squared_error(reduce, features, targets, weight, theta) -> float:
    """SPEC §5's loss of the model θ over every partition: the weighted mean squared error."""
    out = reduce(_squared, features, targets, weight, theta)
    return float(sum(o[0].sum() for o in out) / (sum(o[1] for o in out) * len(targets)))



def _row_sums(part, first_row, features, targets, weight, theta, offset, scale, cov_type):
    """:func:`fastperceptron.inference.row_sums` of one partition's rows."""
    from ..inference import row_sums

    X, Y, s = _columns(part, features, targets, weight)
    return row_sums(X, Y, s, theta, offset, scale, cov_type)


def covariance(reduce, features, targets, weight, theta, units, l2: float, cov_type: str, keep: str, reason: str):
    """The model's covariance (1, K, P, P) (SPEC §9) from one map-reduce of H and M over the
    partitions, at θ (K, P) on the user's columns, summed in the table's standard units ``units``."""
    from ..inference import finish, fold_map

    K, P = theta.shape
    D = len(features)
    offset, scale = units.offset[0], units.scale[0]
    out = reduce(_row_sums, features, targets, weight, theta, offset, scale, cov_type)
    H = sum(o[0] for o in out)
    M = None if cov_type == "nonrobust" else sum(o[1] for o in out)
    N = np.array([sum(o[2] for o in out)])
    F = fold_map(offset, scale, P > D)
    R = F.T @ np.diag(np.r_[np.full(D, float(l2)), np.zeros(P - D)]) @ F
    return finish(H, M, N, None, cov_type, R, F, keep=keep, terms=list(features) + ["bias"] * (P > D),
                  stop_reason=np.array([reason]))
