"""The fused Numba CPU kernel: all iterations of a chunk in compiled code, SIMD across models.

Layout. Models are grouped in blocks of L consecutive models (L, a power of two from 8 to 128, is
chosen by the caller: ``fastperceptron.backend.numba.lanes.choose_lanes``); inside a block every array
has the model ("lane") as its last, contiguous axis, so each innermost loop runs over the lanes of
one block and LLVM turns it into vector instructions (8 float64 or 16 float32 lanes per AVX-512
register). L is read from the arrays' shape at run time: with a compile-time L, LLVM unrolls the
lane loops into scalar code instead of vectorizing them. Blocks are independent and run in
parallel (``prange``); one block's state and data (W: D·K·L, and for per-model data X: N·D·L)
stay in L1/L2 for all iterations of the chunk.

    W (nb, D, K, L)   C (nb, K, L)   lr (nb, L)   l2 (nb, L)   active (nb, L) 1/0   iterations (nb, L)
    X (N, D) shared, or (nb, N, D, L) per model
    Y (N, K) shared, or (nb, N, K, L) per model
    S None, (N,) shared, or (nb, N, L) per model

Shared and per-model arrays use one kernel body: the helpers ``_xrow``, ``_xat``, ``_y`` and ``weigh`` are
resolved by type at compile time (``numba.extending.overload``), so there is no branch in the loops.

Each lane computes exactly the update of SPEC §2, in a fixed order (z = c + Σ_d x_d·w_d over d in
order; G = Σ_n x_n·δ_n over n in order), with no reduction across lanes: a model's bits do not
depend on the batch size, its block, its lane, or the number of threads. Padding lanes (B rounded
up to a whole block) hold zeros and a zero learning rate.

The sigmoid of a block's lanes is ``expmath.sigmoid_lanes`` (the exponential written out for SIMD).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import overload

from .expmath import ONE, ZERO, constants, exponent_bits, sigmoid_lanes

__all__ = ["train_blocks", "loss_blocks", "weigh", "constants"]

# --- compile-time dispatch: shared or per-model arrays ---------------------------------------------
def _xrow(X, b, n):  # pragma: no cover
    raise NotImplementedError


def _xat(xrow, d, L, l):  # pragma: no cover
    raise NotImplementedError


def _y(Y, b, n, k, l):  # pragma: no cover
    raise NotImplementedError


def weigh(S, b, n, l, v):  # pragma: no cover
    raise NotImplementedError


@overload(_xrow, inline="always")
def _xrow_impl(X, b, n):
    """Sample n as seen by block b: X[n], (D,), when shared; the (D, L) tile X[b, n] per model."""
    if X.ndim == 2:
        return lambda X, b, n: X[n]
    return lambda X, b, n: X[b, n]


@overload(_xat, inline="always")
def _xat_impl(xrow, d, L, l):
    if xrow.ndim == 1:
        return lambda xrow, d, L, l: xrow[d]
    return lambda xrow, d, L, l: xrow[d, l]


@overload(_y, inline="always")
def _y_impl(Y, b, n, k, l):
    if Y.ndim == 2:
        return lambda Y, b, n, k, l: Y[n, k]
    return lambda Y, b, n, k, l: Y[b, n, k, l]


@overload(weigh, inline="always")
def _weigh_impl(S, b, n, l, v):
    if isinstance(S, (types.NoneType, types.Omitted)):
        return lambda S, b, n, l, v: v
    if S.ndim == 1:
        return lambda S, b, n, l, v: v * S[n]
    return lambda S, b, n, l, v: v * S[b, n, l]


# --- training ----------------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def train_blocks(X, Y, S, W, C, lr, l2, K, n_iter, seed_rule, use_bias, tol, active, iterations):
    """Advance every block by ``n_iter`` iterations (tol <= 0: no early stopping)."""
    nb, D, n_out, L = W.shape
    N = Y.shape[-3] if Y.ndim == 4 else Y.shape[0]
    dt = W.dtype
    one, zero = K[ONE], K[ZERO]
    use_tol = tol > zero
    for b in prange(nb):
        z = np.empty(L, dt)
        o = np.empty(L, dt)
        delta = np.empty(L, dt)
        poly = np.empty(L, dt)
        k1 = exponent_bits(z)
        k2 = exponent_bits(z)
        G = np.empty(D * n_out * L, dt)
        g = np.empty(n_out * L, dt)
        largest = np.empty(L, dt)
        Wb = W[b].reshape(-1)  # flat views: index (d·K + k)·L + l
        Cb = C[b].reshape(-1)
        lrb = lr[b]
        l2b = l2[b]
        act = active[b]
        its = iterations[b]
        for _ in range(n_iter):
            if use_tol:
                running = zero
                for l in range(L):
                    running += act[l]
                if running == zero:
                    break
            G[:] = zero
            g[:] = zero
            for n in range(N):
                xn = _xrow(X, b, n)  # read once per sample: forward and gradient use the same tile
                for k in range(n_out):
                    for l in range(L):
                        z[l] = Cb[k * L + l]
                    for d in range(D):
                        w = (d * n_out + k) * L
                        for l in range(L):
                            z[l] += _xat(xn, d, L, l) * Wb[w + l]
                    sigmoid_lanes(z, o, poly, k1, k2, K)
                    if seed_rule:
                        for l in range(L):
                            ol = o[l]
                            delta[l] = weigh(S, b, n, l, (_y(Y, b, n, k, l) - ol) * (ol * (one - ol)))
                    else:
                        for l in range(L):
                            delta[l] = weigh(S, b, n, l, _y(Y, b, n, k, l) - o[l])
                    for d in range(D):
                        w = (d * n_out + k) * L
                        for l in range(L):
                            G[w + l] += _xat(xn, d, L, l) * delta[l]
                    if use_bias:
                        for l in range(L):
                            g[k * L + l] += delta[l]
            # W += η·G (and c += η·g); with tol, only for running lanes, then stop the converged.
            if use_tol:
                for l in range(L):
                    largest[l] = zero
            for j in range(D * n_out):
                for l in range(L):
                    u = lrb[l] * (G[j * L + l] - l2b[l] * Wb[j * L + l])
                    if use_tol:
                        largest[l] = max(largest[l], abs(u))
                        u = u * act[l]
                    Wb[j * L + l] += u
            if use_bias:
                for k in range(n_out):
                    for l in range(L):
                        u = lrb[l] * g[k * L + l]
                        if use_tol:
                            largest[l] = max(largest[l], abs(u))
                            u = u * act[l]
                        Cb[k * L + l] += u
            if use_tol:
                for l in range(L):
                    its[l] += np.int64(act[l])
                    if largest[l] < tol:
                        act[l] = zero
        if not use_tol:
            for l in range(L):
                its[l] += n_iter


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def loss_blocks(X, Y, S, W, C, K, out):
    """out[b, l] = Σ_n s·Σ_k (y − σ(x·W + c))² of every lane (the caller divides by Σ s · K).

    Its forward pass repeats train_blocks' on purpose: a shared inline helper measured 12–20 %
    slower on the seed problem (reference counting of the array arguments in the hot loop).
    """
    nb, D, n_out, L = W.shape
    N = Y.shape[-3] if Y.ndim == 4 else Y.shape[0]
    dt = W.dtype
    one, zero = K[ONE], K[ZERO]
    for b in prange(nb):
        z = np.empty(L, dt)
        o = np.empty(L, dt)
        poly = np.empty(L, dt)
        k1 = exponent_bits(z)
        k2 = exponent_bits(z)
        acc = np.zeros(L, dt)
        Wb = W[b].reshape(-1)
        Cb = C[b].reshape(-1)
        for n in range(N):
            xn = _xrow(X, b, n)
            for k in range(n_out):
                for l in range(L):
                    z[l] = Cb[k * L + l]
                for d in range(D):
                    w = (d * n_out + k) * L
                    for l in range(L):
                        z[l] += _xat(xn, d, L, l) * Wb[w + l]
                sigmoid_lanes(z, o, poly, k1, k2, K)
                for l in range(L):
                    e = _y(Y, b, n, k, l) - o[l]
                    acc[l] += weigh(S, b, n, l, e * e)
        for l in range(L):
            out[b, l] = acc[l] + zero * one
