"""The elementwise middle of the "gemm" layout: σ, Δ and the bias sums, fused, in Numba.

For data shared by all models with many samples and features, one iteration is two matrix products
over all models at once plus elementwise work between them (SPEC §2):

    Z = X·W            (N, M)   BLAS, M = B·K columns: model b's output k is column b·K + k
    Δ = rule(Y, σ(Z + c)) ⊙ s   (N, M)   this file: one pass over Z, Δ written over it
    g = Σ_n Δ[n, :]    (M,)     this file, in the same pass
    G = Xᵀ·Δ           (D, M)   BLAS

The driver (``fastperceptron/backend/numba/gemm.py``) cuts Z into tiles of rows × columns and gives each
thread whole tiles: its two products (single-threaded BLAS) and this pass between them, while the
tile is in that core's cache. :func:`tile` is that pass over one tile, serial and without the GIL.
Its vector loops run over 256 lanes: a wide tile's columns, 256 at a time, one row per step; a
narrow tile's (fewer than 128 columns) several whole rows per step. Each lane sums its rows in
order and a column's lanes are added in order, so the sums depend on the tile's shape (fixed by
the problem's shape) and never on the threads.

The sigmoid is the lanes kernel's (``expmath.sigmoid_lanes``): the same vectorized exponential,
so both layouts compute σ with the same bits.

Argument conventions (every array C-contiguous unless said, the run's dtype):

    Z (R, w)    a tile: rows of a chunk of samples × w columns, the columns m0 .. m0 + w of the batch;
                X·W on entry, Δ on return
    Y (R, M)    targets per column, or (R, K) shared by all models (column j reads Y[:, j % K])
    S (R, B)    sample weights per model (column j reads S[:, j // K]), (R, 1) shared, or (R, 0) none
    c (M,)      biases (zeros when the run has none)
    out (M,)    the column sums (bias gradient or loss), added into at m0 .. m0 + w
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .expmath import ONE, exponent_bits, sigmoid_lanes

#: Lanes of the pass's vector loops: COLUMNS columns of a row, or whole rows of a narrow tile (2 KiB of
#: float64: the scratch stays in L1).
COLUMNS = 256


@njit(inline="always")
def _offsets(A, M, j0, L, n, K, by_model):
    """Where each of n lanes (lane l: row l // L of a step, column j0 + l % L) reads A (Y or S, see
    the module docstring), from the step's first row: (l // L)·a + the column, a = A.shape[1]. One
    gather per step through these replaced a loop per row of the step, which made narrow tiles
    (25 rows of 10 columns a step) cost 5.5 ns per value against 2.0 (measured, AVX-512 and AVX2).
    Unsigned, so that the reads need no wraparound check."""
    a = A.shape[1]
    off = np.zeros(n, np.uint64)
    if a == 0:
        return off
    for l in range(n):
        j = j0 + l % L
        if a == M:
            col = j
        elif a == 1:
            col = 0
        else:
            col = j // K if by_model else j % K
        off[l] = (l // L) * a + col
    return off


@njit(inline="always")
def _gather(Af, start, off, out, nl, same):
    """out[l] = Af[start + off[l]] for the nl lanes of a step; same: every lane reads Af[start] (a
    step of one row of an A with one column, where a broadcast is cheaper than a gather)."""
    Ar = Af[start:]
    if same:
        v = Ar[0]
        for l in range(nl):
            out[l] = v
    else:
        for l in range(nl):
            out[l] = Ar[off[l]]


@njit(inline="always", error_model="numpy", fastmath={"contract"})
def _block(Z, Y, S, c, out, K, n_out, z0, L, q, m0, mode):
    """Z's columns z0..z0+L (the batch's columns m0 + z0 ...), q rows at a time: q·L lanes, lane
    l = row r + l // L, column z0 + l % L, read at Z.flat[r·w + z0 + l] (q > 1 only when L is all of
    Z's columns, so that q rows are contiguous). mode 0 "seed" Δ, 1 "logistic" Δ (written over Z and
    summed), 2 the squared error (summed, Z unchanged). Each lane sums its rows in order; the lanes
    of a column are then added in order into out."""
    R, w = Z.shape
    M = c.shape[0]
    dt = Z.dtype
    one = K[ONE]
    weighted = S.shape[1] > 0
    n = q * L
    flat = Z.reshape(R * w)
    z = np.empty(n, dt)
    o = np.empty(n, dt)
    y = np.empty(n, dt)
    s = np.empty(n, dt)
    poly = np.empty(n, dt)
    acc = np.zeros(n, dt)
    cb = np.empty(n, dt)
    k1 = exponent_bits(z)
    k2 = exponent_bits(z)
    j0 = m0 + z0
    for l in range(n):
        cb[l] = c[j0 + l % L]
    y_off = _offsets(Y, M, j0, L, n, n_out, False)
    s_off = _offsets(S, M, j0, L, n, n_out, True)
    yf = Y.reshape(Y.size)
    sf = S.reshape(S.size)
    y_same = q == 1 and Y.shape[1] == 1
    s_same = q == 1 and S.shape[1] == 1
    for r in range(0, R, q):
        nl = min(q, R - r) * L  # lanes in use: fewer in the last rows of the tile
        zr = flat[r * w + z0:r * w + z0 + nl]  # a view: non-negative indices below, no wraparound checks
        for l in range(nl):
            z[l] = zr[l] + cb[l]
        sigmoid_lanes(z[:nl], o[:nl], poly[:nl], k1[:nl], k2[:nl], K)
        _gather(yf, r * Y.shape[1], y_off, y, nl, y_same)
        if mode == 0:
            for l in range(nl):
                ol = o[l]
                z[l] = (y[l] - ol) * (ol * (one - ol))
        else:
            for l in range(nl):
                z[l] = y[l] - o[l]
        if mode == 2:
            for l in range(nl):
                z[l] = z[l] * z[l]
        if weighted:
            _gather(sf, r * S.shape[1], s_off, s, nl, s_same)
            for l in range(nl):
                z[l] = z[l] * s[l]
        if mode != 2:
            for l in range(nl):
                zr[l] = z[l]
        for l in range(nl):
            acc[l] += z[l]
    for l in range(n):
        out[j0 + l % L] += acc[l]


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def tile(Z, Y, S, c, out, K, n_out, m0, mode):
    """The fused pass over one tile Z (R, w), C-contiguous, the batch's columns m0..m0+w.

    mode 0/1: Z becomes Δ ("seed"/"logistic" rule) and out[j] += Σ_n Δ[n, j]; mode 2: out[j] +=
    Σ_n s·(y − σ(Z + c))², Z unchanged. Wide tiles go COLUMNS columns at a time, one row per step;
    narrow ones (w < COLUMNS / 2) COLUMNS // w whole rows per step, so that the vector loops stay
    long. The sums' order is fixed by the tile's shape.
    """
    R, w = Z.shape
    q, step = (1, COLUMNS) if 2 * w > COLUMNS else (COLUMNS // w, w)
    for z0 in range(0, w, step):  # one call site: two inlined copies made Numba warn (NumbaIRAssumptionWarning)
        _block(Z, Y, S, c, out, K, n_out, z0, min(step, w - z0), q, m0, mode)
