"""The solvers' objective on numpy or CuPy arrays: the reference for every layout (SPEC §7).

For all neurons j = b·K + k at once, at parameters θ (M, P) = (w_j, c_j):

    z = x·w_j + c_j ;  f_j = Σ_n s_n·[softplus(z_n) − y_n·z_n]
    ∇f_j = Σ_n s_n·(σ(z_n) − y_n)·x̃_n ;  ∇²f_j = Σ_n s_n·σ(z_n)·(1 − σ(z_n))·x̃_n·x̃_nᵀ   (x̃ = [x 1])

(the penalty is added by the solvers, ``fastperceptron/solvers/``). softplus(z) = max(z, 0) +
log1p(e^−|z|) and σ(z) come from the same e^−|z|, so neither overflows for any finite z.

Three layouts, as the data come (``Problem``): X shared by all models (one (N, D) @ (D, B·K)
product per pass), one X per model (batched products), and groups (segment sums over each group's
rows, as ``reference/groups.py``). Written once against an array namespace ``xp``; CuPy runs it
unchanged (with the segment-sum kernel of ``backends/cuda/groups.py`` for groups).
"""

from __future__ import annotations

import numpy as np

from ..maths import cross_entropy_sigmoid, softplus_sigmoid
from ..problem import Problem
from .groups import segment_sum as _segment_sum

__all__ = ["DenseObjective", "GroupObjective"]

#: rows per slice when the Hessian of shared data is formed from outer products (bounds memory)
HESSIAN_ROWS = 2048


def _ordered_sum(parts):
    """parts[0] + parts[1] + … in that order (None when the parts are None)."""
    total = parts[0]
    if total is None:
        return None
    for part in parts[1:]:
        total = total + part
    return total


def _theta_parts(theta, D, P):
    """θ (M, P) -> (w (M, D), c (M,) or None)."""
    return theta[:, :D], (theta[:, D] if P > D else None)


class DenseObjective:
    """X shared (N, D) or one per model (B, N, D); targets and weights as the Problem has them.

    ``evaluate(theta, need, models)`` works on the neurons of ``models`` only (an index array of
    models, all when None; theta holds their K neurons each, in that order): the line searches
    evaluate only the neurons still searching. Shared X is taken ``rows`` samples at a time (the
    (rows, M) intermediates stay bounded), the chunks' sums added in order."""

    rows = 4096

    def __init__(self, problem: Problem, xp=np):
        p = problem
        self.xp = xp
        dt = p.dtype
        arr = lambda a: xp.asarray(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
        B, D, K = p.W0.shape
        self.shape, self.P = (B, D, K), D + int(p.bias)
        self.shared = p.shared_X
        s = p.sample_weight
        if self.shared:  # per-sample arrays (N, B|1, K): neuron j = b·K + k is column j
            self.X = arr(p.X)
            self.Y = arr(p.Y.transpose(1, 0, 2) if p.Y.ndim == 3 else p.Y[:, None, :])
            self.s = None if s is None else arr(s.T[:, :, None] if s.ndim == 2 else s[:, None, None])
        else:            # per-sample arrays (B|1, N, K)
            self.X = arr(p.X)
            self.Y = arr(p.Y if p.Y.ndim == 3 else p.Y[None])
            self.s = None if s is None else arr(s[:, :, None] if s.ndim == 2 else s[None, :, None])
        self.denominator = arr(p.loss_denominator())
        iu = np.triu_indices(self.P)
        self.pairs = (xp.asarray(iu[0]), xp.asarray(iu[1]))  # the Hessian's upper triangle

    def _select(self, a, models):
        """a's model axis (0 for per-model arrays, 1 for shared X's) restricted to ``models``."""
        if a is None or models is None:
            return a
        axis = 1 if self.shared else 0
        if a.shape[axis] == 1:
            return a
        return a[:, models] if self.shared else a[models]

    # --- the elementwise middle (the numba backend replaces it) ------------------------------------
    def _pointwise(self, Z, c, need, models, rows=slice(None)):
        """Z (…, K) = x·w of the neurons of ``models``, c their biases (or None), ``rows`` the
        samples of shared X in Z. Returns (per-neuron sums of the loss, Δ = s·(σ − y),
        R = s·σ·(1 − σ)) as ``need`` asks ("f", "fg", "fgh", or "mse": the sums of s·(y − σ)²),
        summed over the sample axis."""
        xp = self.xp
        Y = self._select(self.Y[rows], models)
        s = None if self.s is None else self._select(self.s[rows], models)
        if c is not None:
            Z = Z + c
        ax = 0 if self.shared else 1
        ce, o = cross_entropy_sigmoid(Z, Y, xp)
        weigh = (lambda a: a) if s is None else (lambda a: a * s)  # noqa: E731
        if need == "mse":
            return weigh((Y - o) ** 2).sum(axis=ax), None, None
        f = weigh(ce).sum(axis=ax)
        if need == "f":
            return f, None, None
        R = weigh(o * (1.0 - o)) if need in ("fgh", "gh") else None
        return f, weigh(o - Y), R

    def evaluate(self, theta, need, models=None):
        """L (M,), ∇L (M, P) and the Hessian (M, P, P) as ``need`` says ("f", "fg", "fgh"; "gh":
        the three, where L need not be computed)."""
        xp = self.xp
        _, D, K = self.shape
        M, P = theta.shape
        m = M // K
        w, c = _theta_parts(theta, D, P)
        if not self.shared:
            X = self._select(self.X, models)
            Z = xp.matmul(X, w.reshape(m, K, D).transpose(0, 2, 1))                 # (m, N, K)
            f, delta, R = self._pointwise(Z, None if c is None else c.reshape(m, 1, K), need, models)
            out = [f.reshape(M)]
            if need != "f":
                g = xp.empty_like(theta)
                g[:, :D] = xp.matmul(delta.transpose(0, 2, 1), X).reshape(M, D)
                if P > D:
                    g[:, D] = delta.sum(axis=1).reshape(M)
                out.append(g)
            if need in ("fgh", "gh"):
                Xt = self._tilde(X)
                H = xp.empty((m, K, P, P), dtype=theta.dtype)
                for k in range(K):
                    H[:, k] = xp.matmul((Xt * R[:, :, k:k + 1]).transpose(0, 2, 1), Xt)
                out.append(H.reshape(M, P, P))
            return tuple(out)
        parts = self._map_chunks(lambda rows: self._shared_chunk(w, c, need, models, rows))
        f, g, Ht = (_ordered_sum([part[i] for part in parts]) for i in range(3))
        if need == "f":
            return (f,)
        if need == "fg":
            return f, g
        H = xp.empty((M, P, P), dtype=theta.dtype)  # "fgh" or "gh"
        H[:, self.pairs[0], self.pairs[1]] = Ht.T
        H[:, self.pairs[1], self.pairs[0]] = Ht.T
        return f, g, H

    def _map_chunks(self, fn):
        """[fn(rows) for each chunk of rows of shared X], in order (the numba backend maps them on
        its threads)."""
        N = self.X.shape[0]
        return [fn(slice(r, min(N, r + self.rows))) for r in range(0, N, self.rows)]

    def _shared_chunk(self, w, c, need, models, rows):
        """Shared X: the sums over the samples ``rows`` of the neurons of ``models`` at (w, c):
        (f (M,), g (M, P) or None, the Hessian's upper triangle (T, M) or None)."""
        Xc = self.X[rows]
        M, D = w.shape
        P, K = self.P, self.shape[2]
        Z = (Xc @ w.T).reshape(-1, M // K, K)
        f, delta, R = self._pointwise(Z, None if c is None else c.reshape(1, -1, K), need, models, rows)
        g = Ht = None
        if delta is not None:
            delta = delta.reshape(-1, M)
            g = self.xp.empty((M, P), dtype=w.dtype)
            g[:, :D] = (Xc.T @ delta).T
            if P > D:
                g[:, D] = delta.sum(axis=0)
        if R is not None:
            Xt = self._tilde(Xc)
            R = R.reshape(-1, M)
            if M < P:  # few neurons: one X̃ᵀ·diag(r)·X̃ product each
                Ht = self.xp.stack([(Xt.T @ (Xt * R[:, j:j + 1]))[self.pairs] for j in range(M)], axis=1)
            else:      # many: the rows' outer products times R, all neurons in one product
                Ht = (Xt[:, self.pairs[0]] * Xt[:, self.pairs[1]]).T @ R
        return f.reshape(M), g, Ht

    def _tilde(self, X):
        """[X 1] when the neurons have a bias, else X."""
        if self.P == self.shape[1]:
            return X
        ones = self.xp.ones(X.shape[:-1] + (1,), dtype=X.dtype)
        return self.xp.concatenate([X, ones], axis=-1)

    def mse(self, theta):
        """SPEC §5's loss of every model: Σ s·(y − σ(z))² / (Σ s · K), (B,)."""
        B, _, K = self.shape
        return self._squared_errors(theta, None).reshape(B, K).sum(axis=1) / self.denominator

    def _squared_errors(self, theta, models):
        """Σ_n s·(y − σ(z))² of the neurons of ``models`` (all when None), (M,)."""
        _, D, K = self.shape
        M = theta.shape[0]
        w, c = _theta_parts(theta, D, self.P)
        if self.shared:
            return _ordered_sum([part[0] for part in self._map_chunks(
                lambda rows: self._shared_chunk(w, c, "mse", models, rows))])
        X = self._select(self.X, models)
        Z = self.xp.matmul(X, w.reshape(M // K, K, D).transpose(0, 2, 1))
        return self._pointwise(Z, None if c is None else c.reshape(-1, 1, K), "mse", models)[0].reshape(M)


class GroupObjective:
    """One model per group (SPEC §6): rows sorted by group, sums over each group's rows.
    ``evaluate`` takes ``models`` as :class:`DenseObjective` does (then only their rows are read)."""

    def __init__(self, problem: Problem, xp=np, segment_sum=_segment_sum):
        p = problem
        self.xp = xp
        self.segment_sum = segment_sum
        dt = p.dtype
        arr = lambda a: xp.asarray(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
        G, D, K = p.W0.shape
        self.shape, self.P = (G, D, K), D + int(p.bias)
        self.X = arr(p.X)                                                       # (N, D)
        self.Y = arr(p.Y)                                                       # (N, K)
        self.s = None if p.sample_weight is None else arr(p.sample_weight[:, None])
        self.offsets = xp.asarray(p.groups.offsets)
        self.gid = xp.asarray(p.groups.group_ids())
        self.denominator = arr(p.loss_denominator())

    def _rows(self, models):
        """(X, Y, s, offsets, group of each row) of the groups ``models`` (all when None)."""
        if models is None:
            return self.X, self.Y, self.s, self.offsets, self.gid
        xp = self.xp
        sizes = self.offsets[models + 1] - self.offsets[models]
        offsets = xp.concatenate([xp.zeros(1, dtype=sizes.dtype), xp.cumsum(sizes)])
        n = int(offsets[-1])
        gid = xp.searchsorted(offsets, xp.arange(n), side="right") - 1
        rows = xp.arange(n) + (self.offsets[models] - offsets[:-1])[gid]
        s = None if self.s is None else self.s[rows]
        return self.X[rows], self.Y[rows], s, offsets, gid

    def _column(self, X, d):
        """Column d of x̃ = [x 1] as (N, 1)."""
        if d < X.shape[1]:
            return X[:, d:d + 1]
        return self.xp.ones((X.shape[0], 1), dtype=X.dtype)

    def _z(self, theta, X, gid):
        _, D, K = self.shape
        T = theta.reshape(-1, K, self.P)[gid]                                   # (N, K, P)
        Z = X[:, 0:1] * T[:, :, 0]
        for d in range(1, D):
            Z += X[:, d:d + 1] * T[:, :, d]
        if self.P > D:
            Z += T[:, :, D]
        return Z

    def evaluate(self, theta, need, models=None):
        xp = self.xp
        _, D, K = self.shape
        P, (M, _) = self.P, theta.shape
        X, Y, s, offsets, gid = self._rows(models)
        weigh = (lambda a: a) if s is None else (lambda a: a * s)  # noqa: E731
        Z = self._z(theta, X, gid)
        ce, o = cross_entropy_sigmoid(Z, Y, xp)
        f = self.segment_sum(weigh(ce), offsets).reshape(M)
        if need == "f":
            return (f,)
        delta = weigh(o - Y)
        g = xp.empty((M // K, K, P), dtype=theta.dtype)
        for d in range(P):
            g[:, :, d] = self.segment_sum(self._column(X, d) * delta, offsets)
        if need == "fg":
            return f, g.reshape(M, P)
        R = weigh(o * (1.0 - o))
        H = xp.empty((M // K, K, P, P), dtype=theta.dtype)
        for d in range(P):
            for e in range(d, P):
                H[:, :, d, e] = self.segment_sum(self._column(X, d) * self._column(X, e) * R, offsets)
                H[:, :, e, d] = H[:, :, d, e]
        return f, g.reshape(M, P), H.reshape(M, P, P)

    def mse(self, theta):
        _, o = softplus_sigmoid(self._z(theta, self.X, self.gid), self.xp)
        E = (self.Y - o) ** 2
        E = E if self.s is None else E * self.s
        return self.segment_sum(E, self.offsets).sum(axis=1) / self.denominator
