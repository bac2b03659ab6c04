"""The elementwise middle of the "gemm" layout: σ, Δ and the bias sums, fused, in Numba.

For data shared by all models with many samples and features, one iteration is two matrix products
over all models at once plus elementwise work between them (SPEC §2):

    Z = X·W            (N, M)   BLAS, M = B·K columns: model b's output k is column b·K + k
    Δ = rule(Y, σ(Z + c)) ⊙ s   (N, M)   this file: one pass over Z, Δ written over it
    g = Σ_n Δ[n, :]    (M,)     this file, in the same pass
    G = Xᵀ·Δ           (D, M)   BLAS

The driver (``fastperceptron/numba_gemm.py``) cuts Z into tiles of rows × columns and gives each
thread whole tiles: its two products (single-threaded BLAS) and this pass between them, while the
tile is in that core's cache. :func:`tile` is that pass over one tile, serial and without the GIL;
it sums each column's rows in order, so the sums depend on the tiles (fixed by the shape) and not
on the threads.

The sigmoid is the lanes kernel's (``numba_kernel._sigmoid_lanes``): the same vectorized exponential,
so both layouts compute σ with the same bits.

Argument conventions (every array C-contiguous unless said, the run's dtype):

    Z (R, w)    a tile: rows of a chunk of samples × w columns, the columns m0 .. m0 + w of the batch;
                X·W on entry, Δ on return (rows may be strided)
    Y (R, M)    targets per column, or (R, K) shared by all models (column j reads Y[:, j % K])
    S (R, B)    sample weights per model (column j reads S[:, j // K]), (R, 1) shared, or (R, 0) none
    c (M,)      biases (zeros when the run has none)
    out (M,)    the column sums (bias gradient or loss), added into at m0 .. m0 + w
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .numba_kernel import _ONE, _exponent_bits, _sigmoid_lanes

#: The pass walks a tile's columns in blocks of COLUMNS (2 KiB of float64 per row: its scratch stays in L1).
COLUMNS = 256


@njit(inline="always")
def _fill(A, n, j0, L, idx, out):
    """out[l] = the value that column j0 + l reads from row n of A (Y or S, see the module docstring):
    A[n, j0 + l] when A has a column per model output, A[n, 0] when it has one column, else
    A[n, idx[l]] (idx: the output k or the model b of each column, computed once per tile)."""
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


@njit(inline="always")
def _columns_of(A, M, j0, L, K, by_model):
    """The idx of ``_fill`` for A (j0: the first global column): empty when A has a column per model
    output (or just one)."""
    if A.shape[1] == M or A.shape[1] == 1:
        return np.empty(0, np.int64)
    idx = np.empty(L, np.int64)
    for l in range(L):
        idx[l] = (j0 + l) // K if by_model else (j0 + l) % K
    return idx


@njit(inline="always", error_model="numpy", fastmath={"contract"})
def _tile(Z, Y, S, c, acc, K, n_out, r0, r1, z0, j0, L, mode):
    """Rows r0..r1 of Z's columns z0..z0+L, which are the batch's columns j0..j0+L: mode 0 "seed" Δ,
    1 "logistic" Δ (written over Z, summed into acc), 2 the squared error (summed into acc, Z
    unchanged)."""
    M = c.shape[0]
    dt = Z.dtype
    one = K[_ONE]
    weighted = S.shape[1] > 0
    z = np.empty(L, dt)
    o = np.empty(L, dt)
    y = np.empty(L, dt)
    s = np.empty(L, dt)
    poly = np.empty(L, dt)
    k1 = _exponent_bits(z)
    k2 = _exponent_bits(z)
    cb = c[j0:j0 + L]
    y_idx = _columns_of(Y, M, j0, L, n_out, False)
    s_idx = _columns_of(S, M, j0, L, n_out, True)
    for n in range(r0, r1):
        row = Z[n, z0:z0 + L]
        for l in range(L):
            z[l] = row[l] + cb[l]
        _sigmoid_lanes(z, o, poly, k1, k2, K)
        _fill(Y, n, j0, L, y_idx, y)
        if mode == 0:
            for l in range(L):
                ol = o[l]
                z[l] = (y[l] - ol) * (ol * (one - ol))
        else:
            for l in range(L):
                z[l] = y[l] - o[l]
        if mode == 2:
            for l in range(L):
                z[l] = z[l] * z[l]
        if weighted:
            _fill(S, n, j0, L, s_idx, s)
            for l in range(L):
                z[l] = z[l] * s[l]
        if mode != 2:
            for l in range(L):
                row[l] = z[l]
        for l in range(L):
            acc[l] += z[l]


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def tile(Z, Y, S, c, out, K, n_out, m0, mode):
    """The fused pass over one tile Z (R, w), the batch's columns m0..m0+w, in blocks of COLUMNS.

    mode 0/1: Z becomes Δ ("seed"/"logistic" rule) and out[j] += Σ_n Δ[n, j]; mode 2: out[j] +=
    Σ_n s·(y − σ(Z + c))², Z unchanged. Each column sums its rows in order.
    """
    R, w = Z.shape
    for z0 in range(0, w, COLUMNS):
        L = min(COLUMNS, w - z0)
        _tile(Z, Y, S, c, out[m0 + z0:m0 + z0 + L], K, n_out, 0, R, z0, m0 + z0, L, mode)
