"""The Numba kernels for groups (SPEC §6): one model per group, each walking its own range of rows.

Layout. The rows are sorted by group and stored feature-major, so that a group's values of one
feature are contiguous (the vector loops run over rows, not models):

    XT (D, N + V)   YT (K, N + V)   S None or (N + V,)      rows r of group g: offsets[g] <= r < offsets[g+1]
    W (G, D, K)     C (G, K)        lr (G,)   l2 (G,)   active (G,) 1/0   iterations (G,)

A group's rows go in blocks of up to ``CHUNK``, each rounded up to whole vectors of V rows (V =
``lanes``, chosen by the caller), so every vector loop runs without a scalar remainder: the forward
pass z = Σ_d x_d·w_d + c (d in order), σ (the lane sigmoid of ``expmath``), δ, then the sums
Σ x_d·δ and Σ δ as vectorized dot products. Rows past the group's end (the next group's, or the V
zero columns at the end) get δ = 0. The dot products may reassociate (``_dot``, ``_sum``): their
order depends only on the group's own number of rows and the machine's vector width, so a model's
bits depend neither on the other groups nor on the threads, and agree with the numpy reference's
row-order sums within SPEC §4's tolerances.

Parallelism. Small groups (at most ``BIG`` rows) are dealt to ``tasks``, contiguous runs of groups
of about equal rows; a task trains each of its groups through all iterations of the chunk before
the next one, while that group's rows sit in L1/L2. A group above ``BIG`` rows (a 100,000-row
store beside thousands of 10-row ones) is cut into fixed pieces of ``PIECE`` rows: every iteration,
all pieces of all big groups run in parallel, then each big group sums its pieces in order and
updates. ``BIG`` and ``PIECE`` are constants, not functions of the thread count, so neither is a
result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .expmath import ONE, ZERO, exponent_bits, sigmoid_lanes
from .lanes import weigh

BIG = 16384   # rows above which a group is split into pieces
PIECE = 4096  # rows per piece of a big group
CHUNK = 512   # rows per block of the vector loops (a multiple of every vector width)

_OPTIONS = dict(cache=True, error_model="numpy", fastmath={"contract"})


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _dot(a, b, m):
    """Σ_i a[i]·b[i] over i < m, vectorized (a fixed order for a given m and machine)."""
    s = a[0] * b[0]
    for i in range(1, m):
        s += a[i] * b[i]
    return s


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _dot4(a0, a1, a2, a3, b, m):
    """The four sums Σ_i a_j[i]·b[i] over i < m, b read once for all four (vectorized)."""
    s0, s1, s2, s3 = a0[0] * b[0], a1[0] * b[0], a2[0] * b[0], a3[0] * b[0]
    for i in range(1, m):
        bi = b[i]
        s0 += a0[i] * bi
        s1 += a1[i] * bi
        s2 += a2[i] * bi
        s3 += a3[i] * bi
    return s0, s1, s2, s3


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _sum(a, m):
    """Σ_i a[i] over i < m, vectorized."""
    s = a[0]
    for i in range(1, m):
        s += a[i]
    return s


@njit(inline="always", **_OPTIONS)
def _rows(XT, YT, S, r0, r1, w, c, U, u, z, o, delta, poly, k1, k2, K, seed_rule, use_bias, V):
    """Add the contributions of rows r0..r1 (one group's, or a piece of one) to the gradient sums
    U (D·K) and u (K), with the group's weights w (D·K, flat) and bias c (K). Rows go in blocks of
    up to CHUNK, each rounded up to whole vectors (``lanes``): the rows past r1 get δ = 0."""
    D = XT.shape[0]
    n_out = YT.shape[0]
    CH = z.shape[0]
    one, zero = K[ONE], K[ZERO]
    for r in range(r0, r1, CH):
        m = min(CH, r1 - r)
        mm = min(CH, -(-m // V) * V)
        zs, os_, ds = z[:mm], o[:mm], delta[:mm]
        for k in range(n_out):
            for i in range(mm):
                zs[i] = zero
            d = 0
            while d + 4 <= D:  # four features per pass over zs, added in the same order as one by one
                w0, w1 = w[d * n_out + k], w[(d + 1) * n_out + k]
                w2, w3 = w[(d + 2) * n_out + k], w[(d + 3) * n_out + k]
                x0, x1, x2, x3 = XT[d, r:r + mm], XT[d + 1, r:r + mm], XT[d + 2, r:r + mm], XT[d + 3, r:r + mm]
                for i in range(mm):
                    zs[i] = (((zs[i] + x0[i] * w0) + x1[i] * w1) + x2[i] * w2) + x3[i] * w3
                d += 4
            while d < D:
                wdk = w[d * n_out + k]
                x = XT[d, r:r + mm]
                for i in range(mm):
                    zs[i] += x[i] * wdk
                d += 1
            ck = c[k]
            for i in range(mm):
                zs[i] += ck
            sigmoid_lanes(zs, os_, poly[:mm], k1[:mm], k2[:mm], K)
            y = YT[k, r:r + mm]
            if seed_rule:
                for i in range(mm):
                    oi = os_[i]
                    e = weigh(S, 0, r + i, i, (y[i] - oi) * (oi * (one - oi)))
                    ds[i] = e if i < m else zero
            else:
                for i in range(mm):
                    e = weigh(S, 0, r + i, i, y[i] - os_[i])
                    ds[i] = e if i < m else zero
            d = 0
            while d + 4 <= D:
                s0, s1, s2, s3 = _dot4(XT[d, r:r + mm], XT[d + 1, r:r + mm], XT[d + 2, r:r + mm],
                                       XT[d + 3, r:r + mm], ds, mm)
                U[d * n_out + k] += s0
                U[(d + 1) * n_out + k] += s1
                U[(d + 2) * n_out + k] += s2
                U[(d + 3) * n_out + k] += s3
                d += 4
            while d < D:
                U[d * n_out + k] += _dot(XT[d, r:r + mm], ds, mm)
                d += 1
            if use_bias:
                u[k] += _sum(ds, mm)


@njit(inline="always", **_OPTIONS)
def _apply(w, c, U, u, eta, lam, use_bias, use_tol, tol, active, iterations, g, aw, ac, rho):
    """W += η·(U − λ·W) (and c += η·u) for group g when it is running; count it; stop it below tol.
    With a prior (``rho`` of length K, else empty): W += η·(U − λ·W − ρ·(W − A)) and
    c += η·(u − ρ·(c − a)) (SPEC §8)."""
    if active[g] == 0:
        return
    zero = eta - eta
    largest = zero
    n_out = u.shape[0]
    pulled = rho.shape[0] > 0
    for j in range(U.shape[0]):
        if pulled:
            step = eta * (U[j] - lam * w[j] - rho[j % n_out] * (w[j] - aw[j]))
        else:
            step = eta * (U[j] - lam * w[j])
        largest = max(largest, abs(step))
        w[j] += step
    if use_bias:
        for k in range(n_out):
            step = eta * (u[k] - rho[k] * (c[k] - ac[k])) if pulled else eta * u[k]
            largest = max(largest, abs(step))
            c[k] += step
    iterations[g] += 1
    if use_tol and largest < tol:
        active[g] = 0


@njit(parallel=True, **_OPTIONS)
def train_small(XT, YT, S, offsets, tasks, W, C, lr, l2, K, n_iter, seed_rule, use_bias, tol, active,
                iterations, lanes, AW, AC, RHO):
    """``n_iter`` iterations of every group of at most BIG rows; task t holds groups
    tasks[t]..tasks[t+1]. AW (G, D·K), AC and RHO (G, K): the prior (SPEC §8), or (G, 0) arrays."""
    G, D, n_out = W.shape
    dt = W.dtype
    use_tol = tol > K[ZERO]
    for t in prange(tasks.shape[0] - 1):
        z = np.empty(CHUNK, dt)
        o = np.empty(CHUNK, dt)
        delta = np.empty(CHUNK, dt)
        poly = np.empty(CHUNK, dt)
        k1 = exponent_bits(z)
        k2 = exponent_bits(z)
        U = np.empty(D * n_out, dt)
        u = np.empty(n_out, dt)
        for g in range(tasks[t], tasks[t + 1]):
            r0, r1 = offsets[g], offsets[g + 1]
            if r1 - r0 > BIG:
                continue
            w = W[g].reshape(-1)
            c = C[g]
            for _ in range(n_iter):
                if active[g] == 0:
                    break
                U[:] = 0
                u[:] = 0
                _rows(XT, YT, S, r0, r1, w, c, U, u, z, o, delta, poly, k1, k2, K, seed_rule, use_bias, lanes)
                _apply(w, c, U, u, lr[g], l2[g], use_bias, use_tol, tol, active, iterations, g, AW[g], AC[g], RHO[g])


@njit(parallel=True, **_OPTIONS)
def train_big(XT, YT, S, offsets, big, pieces, W, C, lr, l2, K, n_iter, seed_rule, use_bias, tol, active,
              iterations, lanes, AW, AC, RHO):
    """``n_iter`` iterations of the groups ``big`` (over BIG rows). Big group i owns the pieces
    pieces[i]..pieces[i+1]; piece p covers rows offsets[g] + (p - pieces[i])·PIECE onwards."""
    G, D, n_out = W.shape
    dt = W.dtype
    use_tol = tol > K[ZERO]
    n_pieces = pieces[-1]
    owner = np.empty(n_pieces, np.int64)
    for i in range(big.shape[0]):
        for p in range(pieces[i], pieces[i + 1]):
            owner[p] = i
    partial = np.zeros((n_pieces, D * n_out + n_out), dt)
    for _ in range(n_iter):
        for p in prange(n_pieces):
            i = owner[p]
            g = big[i]
            if active[g] == 0:
                continue
            z = np.empty(CHUNK, dt)
            o = np.empty(CHUNK, dt)
            delta = np.empty(CHUNK, dt)
            poly = np.empty(CHUNK, dt)
            k1 = exponent_bits(z)
            k2 = exponent_bits(z)
            part = partial[p]
            part[:] = 0
            r0 = offsets[g] + (p - pieces[i]) * PIECE
            r1 = min(r0 + PIECE, offsets[g + 1])
            _rows(XT, YT, S, r0, r1, W[g].reshape(-1), C[g], part[:D * n_out], part[D * n_out:], z, o, delta, poly,
                  k1, k2, K, seed_rule, use_bias, lanes)
        for i in prange(big.shape[0]):
            g = big[i]
            U = partial[pieces[i], :D * n_out].copy()
            u = partial[pieces[i], D * n_out:].copy()
            for p in range(pieces[i] + 1, pieces[i + 1]):
                for j in range(D * n_out):
                    U[j] += partial[p, j]
                for k in range(n_out):
                    u[k] += partial[p, D * n_out + k]
            _apply(W[g].reshape(-1), C[g], U, u, lr[g], l2[g], use_bias, use_tol, tol, active, iterations, g, AW[g],
                   AC[g], RHO[g])


@njit(parallel=True, **_OPTIONS)
def loss_groups(XT, YT, S, offsets, tasks, W, C, K, lanes, out):
    """out[g] = Σ over group g's rows and outputs of s·(y − σ(x·W_g + c_g))² (the caller divides)."""
    G, D, n_out = W.shape
    dt = W.dtype
    zero = K[ZERO]
    for t in prange(tasks.shape[0] - 1):
        z = np.empty(CHUNK, dt)
        o = np.empty(CHUNK, dt)
        poly = np.empty(CHUNK, dt)
        k1 = exponent_bits(z)
        k2 = exponent_bits(z)
        for g in range(tasks[t], tasks[t + 1]):
            r0, r1 = offsets[g], offsets[g + 1]
            w = W[g].reshape(-1)
            total = zero
            for r in range(r0, r1, CHUNK):
                m = min(CHUNK, r1 - r)
                for k in range(n_out):
                    zs = z[:m]
                    for i in range(m):
                        zs[i] = zero
                    for d in range(D):
                        wdk = w[d * n_out + k]
                        x = XT[d, r:r + m]
                        for i in range(m):
                            zs[i] += x[i] * wdk
                    ck = C[g, k]
                    for i in range(m):
                        zs[i] += ck
                    sigmoid_lanes(zs, o[:m], poly[:m], k1[:m], k2[:m], K)
                    for i in range(m):
                        e = YT[k, r + i] - o[i]
                        total += weigh(S, 0, r + i, i, e * e)
            out[g] = total
