"""The elementwise middle of the "gemm" layout: σ, Δ and the bias sums, fused, in Numba.

For data shared by all models with many samples and features, one iteration is two matrix products
over all models at once plus elementwise work between them (SPEC §2):

    Z = X·W            (N, M)   BLAS, M = B·K columns: model b's output k is column b·K + k
    Δ = rule(Y, σ(Z + c)) ⊙ s   (N, M)   this file: one pass over Z, Δ written over it
    g = Σ_n Δ[n, :]    (M,)     this file, in the same pass
    G = Xᵀ·Δ           (D, M)   BLAS

The products run at the machine's matrix-product speed (OpenBLAS); the middle is one fused pass
instead of numpy's seven, in parallel over tiles of ``ROWS`` × ``COLUMNS``. Each tile sums its
rows in order into its own partial sums, which are then added tile by tile in order: the tiles are
fixed by the shape, so no sum depends on the number of threads. The driver is
``fastperceptron/numba_gemm.py``.

The sigmoid is the lanes kernel's (``numba_kernel._sigmoid_lanes``): the same vectorized exponential,
so both layouts compute σ with the same bits.

Argument conventions (every array C-contiguous, the run's dtype):

    Z (R, M)    the rows of a chunk of samples: X·W on entry, Δ on return
    Y (R, M)    targets per column, or (R, K) shared by all models (column j reads Y[:, j % K])
    S (R, B)    sample weights per model (column j reads S[:, j // K]), (R, 1) shared, or (R, 0) none
    c (M,)      biases (zeros when the run has none)
    out (M,)    the column sums (bias gradient or loss), added into
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .numba_kernel import _ONE, _exponent_bits, _sigmoid_lanes

#: A tile of the fused pass: ROWS rows × COLUMNS columns (2 KiB of float64 per row segment: a tile's scratch stays in L1).
COLUMNS = 256
ROWS = 64


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
    """The idx of ``_fill`` for A: empty when A has a column per model output (or just one)."""
    if A.shape[1] == M or A.shape[1] == 1:
        return np.empty(0, np.int64)
    idx = np.empty(L, np.int64)
    for l in range(L):
        idx[l] = (j0 + l) // K if by_model else (j0 + l) % K
    return idx


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _tile(Z, Y, S, c, acc, K, n_out, r0, r1, j0, L, mode):
    """Rows r0..r1 of the columns j0..j0+L: mode 0 "seed" Δ, 1 "logistic" Δ (written over Z, summed
    into acc), 2 the squared error (summed into acc, Z unchanged)."""
    M = Z.shape[1]
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
        row = Z[n, j0:j0 + L]
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


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def columns(Z, Y, S, c, out, partial, K, n_out, mode):
    """The fused pass over Z (R, M), in tiles of ROWS rows × COLUMNS columns run in parallel.

    mode 0/1: Z becomes Δ ("seed"/"logistic" rule) and out[j] += Σ_n Δ[n, j]; mode 2: out[j] +=
    Σ_n s·(y − σ(Z + c))², Z unchanged. ``partial`` (R // ROWS + 1, M) is scratch: each row tile
    sums into its own row of it, and the tiles are then added in order, so no sum depends on the
    number of threads.
    """
    R, M = Z.shape
    n_rt = (R + ROWS - 1) // ROWS
    n_cb = (M + COLUMNS - 1) // COLUMNS
    for t in prange(n_rt * n_cb):
        rt = t // n_cb
        j0 = (t % n_cb) * COLUMNS
        L = min(COLUMNS, M - j0)
        acc = partial[rt, j0:j0 + L]
        acc[:] = 0
        _tile(Z, Y, S, c, acc, K, n_out, rt * ROWS, min(R, (rt + 1) * ROWS), j0, L, mode)
    for rt in range(n_rt):
        for j in range(M):
            out[j] += partial[rt, j]
