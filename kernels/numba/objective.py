"""The Numba kernels of the second-order solvers (SPEC §7): the loss, gradient and Hessian of every
neuron, in two layouts.

**Rows** (``evaluate``): each model walks its own rows once per evaluation. The same layout serves
groups and per-model data (fastperceptron/numba_objective.py builds it without copying X):

    X (R, D)  rows; model b reads X[xstart[b] : xstart[b] + nrows[b]]
    Y (RY, K) targets; model b reads Y[ystart[b] + i]          (ystart = 0 for shared targets)
    S (RS,)   row weights, S[sstart[b] + i]; an empty S means none
    theta (M, P): row i·K + k is output k of model models[i], parameters (w_0 … w_{D-1}[, c])

Groups: X sorted by group, xstart = ystart = sstart = the group offsets. One X per model: X
reshaped to (B·N, D), xstart = b·N.

Per row and output, with e = exp(−|z|): f += s·((max(z, 0) − y·z) + log1p(e)) (in that order: exact
for a saturated row of a 0/1 target, as :func:`fastperceptron.maths.cross_entropy_sigmoid`), δ = s·(σ − y),
g += δ·x̃, and for the Hessian r = s·σ·(1 − σ), H += r·x̃·x̃ᵀ (upper triangle, mirrored at the
end). A model's rows are taken ``BLOCK`` at a time, transposed into a (D, BLOCK) tile, so that
z, the exponential and logarithm (written out, below) and every sum over the block's rows run as
vector instructions; each block's sums (``_dot``, whose additions may be reordered into vector
lanes) are added in the rows' order. Models are dealt to ``tasks`` of about equal rows (prange): a
model's bits depend neither on the other models nor on the threads (they may differ in the last
bit between AVX2 and AVX-512 machines).

**Dense** (``dense``): X shared by all models, the products in BLAS and this file's fused pass
between them (below).

**Newton's step** (``cholesky_solve``): the reference's batched Cholesky solve, one neuron per
iteration of a prange.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .expmath import C0, ONE, ZERO, exp_lanes, exponent_bits
from .expmath import constants as exp_constants

__all__ = ["evaluate", "dense", "cholesky_solve", "constants", "LOSS", "GRADIENT", "HESSIAN", "SQUARED_ERROR", "CURVATURE", "COLUMNS",
           "ROWS", "BLOCK"]

# what ``evaluate`` and ``dense`` compute (``need``); CURVATURE: the gradient and Hessian without the loss
LOSS, GRADIENT, HESSIAN, SQUARED_ERROR, CURVATURE = 0, 1, 2, 3, 4

BLOCK = 64  # rows of a block of the rows kernel

# log(1 + e) for e = exp(−|z|) in [0, 1] is written out like the exponential (no SVML in Numba's
# LLVM): log(1 + e) = b + 2·atanh(s) = b + 2s·Σ_i s^(2i)/(2i + 1), with s = e/(2 + e), b = 0 when
# e ≤ √2 − 1, else s = (e − 1)/(e + 3), b = ln 2 (so |s| ≤ 0.1716 and 11 terms reach float64's ε).
_LOG_TERMS = 11
_SQRT2M1, _LN2 = 7 + 14, 7 + 15  # after the exponential's constants
_A0 = 7 + 16  # 1/1, 1/3, 1/5, ...


def constants(dtype) -> np.ndarray:
    """The exponential's constants (``expmath.constants``) followed by the logarithm's."""
    log = [math.sqrt(2.0) - 1.0, math.log(2.0)] + [1.0 / (2 * i + 1) for i in range(_LOG_TERMS)]
    base = exp_constants(dtype)
    assert base.shape[0] == _SQRT2M1 and C0 == 7
    return np.concatenate([base, np.array(log, dtype=base.dtype)])


@njit(inline="always")
def _fill(A, n, j0, L, idx, out):
    """out[l] = the value that column j0 + l reads from row n of A (Y or S, see the module
    docstring of ``gemm``): A[n, j0 + l] when A has a column per model output, A[n, 0] when
    it has one column, else A[n, idx[l]] (idx: the output k or the model b of each column)."""
    if A.shape[1] == 1:
        v = A[n, 0]
        for l in range(L):
            out[l] = v
    elif idx.shape[0] == 0:
        for l in range(L):
            out[l] = A[n, j0 + l]
    else:
        for l in range(L):
            out[l] = A[n, idx[l]]


@njit(inline="always", error_model="numpy", fastmath={"contract"})
def _log1p_unit(e, out, K):
    """out[l] = log(1 + e[l]) for e[l] in [0, 1]."""
    one, zero = K[ONE], K[ZERO]
    two = one + one
    cut, ln2 = K[_SQRT2M1], K[_LN2]
    for l in range(e.shape[0]):
        x = e[l]
        big = x > cut
        s = (x - (one if big else zero)) / (x + (two + one if big else two))
        t = s * s
        q = K[_A0 + _LOG_TERMS - 1]
        for i in range(_LOG_TERMS - 2, -1, -1):
            q = q * t + K[_A0 + i]
        out[l] = (ln2 if big else zero) + two * s * q


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _dot(a, b, n):
    """Σ_l a[l]·b[l] over l < n, the additions free to run in vector lanes."""
    acc = a[0] * 0
    for l in range(n):
        acc += a[l] * b[l]
    return acc


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _total(a, n):
    acc = a[0] * 0
    for l in range(n):
        acc += a[l]
    return acc


# --- the rows layout ----------------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def evaluate(X, xstart, nrows, Y, ystart, S, sstart, models, theta, K, tasks, need, consts, f, g, H):
    """f (M,), and g (M, P) / H (M, P, P) as ``need`` says, for the neurons of ``models`` (m,):
    row i·K + k of theta, f, g and H is output k of model models[i]; ``tasks`` cut range(m).

    need: LOSS, GRADIENT (f and g), HESSIAN (f, g and H), CURVATURE (g and H; f not written), or
    SQUARED_ERROR (f[j] = Σ s·(y − σ)², for SPEC §5's loss). consts: ``constants(dtype)``."""
    M, P = theta.shape
    D = X.shape[1]
    dt = theta.dtype
    bias = P > D
    weighted = S.shape[0] > 0
    zero, one = consts[ZERO], consts[ONE]
    hessian = need == HESSIAN or need == CURVATURE
    gradient = need == GRADIENT or hessian
    loss = need == LOSS or need == GRADIENT or need == HESSIAN
    for t in prange(tasks.shape[0] - 1):
        xb = np.empty((D, BLOCK), dt)
        z = np.empty(BLOCK, dt)
        e = np.empty(BLOCK, dt)
        o = np.empty(BLOCK, dt)
        v = np.empty(BLOCK, dt)
        yv = np.empty(BLOCK, dt)
        sv = np.empty(BLOCK, dt)
        rx = np.empty(BLOCK, dt)
        poly = np.empty(BLOCK, dt)
        k1 = exponent_bits(z)
        k2 = exponent_bits(z)
        for i in range(tasks[t], tasks[t + 1]):
            b = models[i]
            x0, y0, s0, n = xstart[b], ystart[b], sstart[b], nrows[b]
            for j in range(i * K, i * K + K):
                f[j] = zero
                if gradient:
                    g[j, :] = zero
                if hessian:
                    H[j, :, :] = zero
            for r0 in range(0, n, BLOCK):
                nb = min(BLOCK, n - r0)
                for l in range(nb):
                    row = X[x0 + r0 + l]
                    for d in range(D):
                        xb[d, l] = row[d]
                    sv[l] = S[s0 + r0 + l] if weighted else one
                for k in range(K):
                    j = i * K + k
                    w = theta[j]
                    c = w[D] if bias else zero
                    for l in range(nb):
                        z[l] = c
                    for d in range(D):
                        wd = w[d]
                        for l in range(nb):
                            z[l] += xb[d, l] * wd
                    for l in range(nb):
                        v[l] = -abs(z[l])
                        yv[l] = Y[y0 + r0 + l, k]
                    exp_lanes(v[:nb], e[:nb], poly[:nb], k1[:nb], k2[:nb], consts)
                    for l in range(nb):
                        o[l] = (one if z[l] >= zero else e[l]) / (one + e[l])
                    if need == SQUARED_ERROR:
                        for l in range(nb):
                            rx[l] = sv[l] * ((yv[l] - o[l]) * (yv[l] - o[l]))
                        f[j] += _total(rx, nb)
                        continue
                    if loss:
                        _log1p_unit(e[:nb], v[:nb], consts)
                        for l in range(nb):
                            rx[l] = sv[l] * ((max(z[l], zero) - yv[l] * z[l]) + v[l])
                        f[j] += _total(rx, nb)
                    if not gradient:
                        continue
                    for l in range(nb):
                        v[l] = sv[l] * (o[l] - yv[l])  # δ
                    gj = g[j]
                    for d in range(D):
                        gj[d] += _dot(v, xb[d], nb)
                    if bias:
                        gj[D] += _total(v, nb)
                    if not hessian:
                        continue
                    for l in range(nb):
                        v[l] = sv[l] * (o[l] * (one - o[l]))  # r
                    Hj = H[j]
                    for d in range(D):
                        for l in range(nb):
                            rx[l] = v[l] * xb[d, l]
                        for d2 in range(d, D):
                            Hj[d, d2] += _dot(rx, xb[d2], nb)
                        if bias:
                            Hj[d, D] += _total(rx, nb)
                    if bias:
                        Hj[D, D] += _total(v, nb)
            if hessian:
                for j in range(i * K, i * K + K):
                    for d in range(P):
                        for d2 in range(d + 1, P):
                            H[j, d2, d] = H[j, d, d2]


# --- the shared-data layout: the elementwise pass between two BLAS products -------------------------
# With X shared by all models the products Z = X·Wᵀ and g = Xᵀ·Δ run in BLAS
# (fastperceptron/numba_objective.py); ``dense`` is the fused pass between them, SIMD over columns.

COLUMNS = 256  # a tile: ROWS rows × COLUMNS columns
ROWS = 64


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def _dense_tile(Z, Rh, Y, S, c, y_idx, s_idx, acc, K, r0, r1, j0, L, need):
    """Rows r0..r1 of the columns j0..j0+L of ``dense``."""
    dt = Z.dtype
    one, zero = K[ONE], K[ZERO]
    weighted = S.shape[1] > 0
    z = np.empty(L, dt)
    e = np.empty(L, dt)
    o = np.empty(L, dt)
    y = np.empty(L, dt)
    s = np.empty(L, dt)
    v = np.empty(L, dt)
    poly = np.empty(L, dt)
    k1 = exponent_bits(z)
    k2 = exponent_bits(z)
    cb = c[j0:j0 + L]
    for n in range(r0, r1):
        row = Z[n, j0:j0 + L]
        for l in range(L):
            z[l] = row[l] + cb[l]
            v[l] = -abs(z[l])
        exp_lanes(v, e, poly, k1, k2, K)
        _fill(Y, n, j0, L, y_idx, y)
        if weighted:
            _fill(S, n, j0, L, s_idx, s)
        else:
            s[:] = one
        for l in range(L):
            o[l] = (one if z[l] >= zero else e[l]) / (one + e[l])
        if need == SQUARED_ERROR:
            for l in range(L):
                acc[l] += s[l] * ((y[l] - o[l]) * (y[l] - o[l]))
            continue
        _log1p_unit(e, v, K)
        for l in range(L):
            acc[l] += s[l] * ((max(z[l], zero) - y[l] * z[l]) + v[l])
        if need == LOSS:
            continue
        for l in range(L):
            row[l] = s[l] * (o[l] - y[l])
        if need == HESSIAN:
            rh = Rh[n, j0:j0 + L]
            for l in range(L):
                rh[l] = s[l] * (o[l] * (one - o[l]))


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def dense(Z, Rh, Y, S, c, y_idx, s_idx, f, K, need):
    """The fused pass over Z (R, m) = X·Wᵀ of m neurons (their biases c (m,) not yet added).

    f[j] += Σ_n s·(softplus(z) − y·z), or Σ_n s·(y − σ(z))² for ``need`` SQUARED_ERROR; for
    GRADIENT and HESSIAN, Z becomes Δ = s·(σ(z) − y); for HESSIAN, Rh (R, m) = s·σ·(1 − σ).
    Y (R, ·) and S (R, ·) are read at the columns y_idx (m,) and s_idx (m,) (``_fill``:
    a one-column array is read at column 0, an empty idx reads the neuron's own column); S (R, 0):
    no weights. Serial and without the GIL: the caller runs blocks of neurons on its threads (so
    each f[j] sums its rows in order, whatever the threads)."""
    R, M = Z.shape
    for j0 in range(0, M, COLUMNS):
        L = min(COLUMNS, M - j0)
        yi = y_idx[j0:j0 + L] if y_idx.shape[0] > 0 else y_idx
        si = s_idx[j0:j0 + L] if s_idx.shape[0] > 0 else s_idx
        for r0 in range(0, R, ROWS):
            _dense_tile(Z, Rh, Y, S, c, yi, si, f[j0:j0 + L], K, r0, min(R, r0 + ROWS), j0, L, need)


# --- Newton's linear algebra ------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy")
def cholesky_solve(H, g, mu, L, d, ok):
    """d_j = (H_j + μ_j·I)⁻¹·g_j for every neuron j of a batch, H (M, P, P) symmetric, g (M, P),
    μ (M,), L (M, P, P) scratch: the column Cholesky factorisation of
    ``fastperceptron.solvers.cholesky_solve`` (the reference), one neuron per iteration of a prange.
    ok[j] is False where H_j + μ_j·I is not positive definite (d_j then not meaningful)."""
    M, P = g.shape
    for m in prange(M):
        A, F, b, x = H[m], L[m], g[m], d[m]
        good = True
        for j in range(P):
            pivot = A[j, j] + mu[m]
            for k in range(j):
                pivot -= F[j, k] * F[j, k]
            if not pivot > 0:
                good = False
                pivot = A[j, j] * 0 + 1  # in H's dtype
            F[j, j] = math.sqrt(pivot)
            for i in range(j + 1, P):
                v = A[i, j]
                for k in range(j):
                    v -= F[i, k] * F[j, k]
                F[i, j] = v / F[j, j]
        ok[m] = good
        for j in range(P):  # L·z = g, z kept in x
            v = b[j]
            for k in range(j):
                v -= F[j, k] * x[k]
            x[j] = v / F[j, j]
        for j in range(P - 1, -1, -1):  # Lᵀ·d = z
            v = x[j]
            for k in range(j + 1, P):
                v -= F[k, j] * x[k]
            x[j] = v / F[j, j]
