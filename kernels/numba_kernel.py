"""The fused Numba CPU kernel: all iterations of a chunk in compiled code, SIMD across models.

Layout. Models are grouped in blocks of L consecutive models (L, a power of two from 8 to 128, is
chosen by the caller: ``fastperceptron.numba_backend.choose_lanes``); inside a block every array
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

Shared and per-model arrays use one kernel body: the helpers ``_xrow``, ``_xat``, ``_y`` and ``_weigh`` are
resolved by type at compile time (``numba.extending.overload``), so there is no branch in the loops.

Each lane computes exactly the update of SPEC §2, in a fixed order (z = c + Σ_d x_d·w_d over d in
order; G = Σ_n x_n·δ_n over n in order), with no reduction across lanes: a model's bits do not
depend on the batch size, its block, its lane, or the number of threads. Padding lanes (B rounded
up to a whole block) hold zeros and a zero learning rate.

The exponential is written out (Cody–Waite range reduction, a Taylor polynomial on |r| ≤ ln2/2 of
degree 13 for float64 and 7 for float32, and 2^k built from exponent bits in integers as wide as
the floats) because the Numba wheels link LLVM without SVML, so
``math.exp`` in a loop stays a scalar libm call. ``error_model="numpy"`` removes the
ZeroDivisionError check that would keep the division scalar (1 + e^-z is never 0). It is within a few ulp of libm's; σ(z) =
1 / (1 + exp(-z)) keeps the tutorial's form, saturates without NaN for any finite z.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import overload

# --- constants, in the run's dtype (index into the ``consts`` array) --------------------------------
_LOG2E, _LN2_HI, _LN2_LO, _LO, _HI, _ONE, _ZERO = range(7)
_C0 = 7  # first Taylor coefficient 1/0!, then 1/1!, ... 1/13!
_DEGREE = 13  # float64; float32 uses the terms up to 1/7! (truncation error 5e-9 on |r| <= ln2/2)


def constants(dtype) -> np.ndarray:
    """The constants of the kernels, in ``dtype`` (float64 or float32)."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        lo, hi = -746.0, 710.0  # beyond: exp is 0 or inf
        ln2_hi, ln2_lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
    else:
        lo, hi = -104.0, 89.0
        # ln2 split for float32: ln2_hi has 16 significant bits, so k * ln2_hi is exact for |k| < 2^8.
        ln2_hi, ln2_lo = 0.693145751953125, 1.428606765330187e-06
    taylor = [1.0]
    for i in range(1, _DEGREE + 1):
        taylor.append(taylor[-1] / i)
    values = [1.4426950408889634, ln2_hi, ln2_lo, lo, hi, 1.0, 0.0]
    return np.array(values + taylor, dtype=dtype)


# --- compile-time dispatch: shared or per-model arrays ---------------------------------------------
def _xrow(X, b, n):  # pragma: no cover
    raise NotImplementedError


def _xat(xrow, d, L, l):  # pragma: no cover
    raise NotImplementedError


def _y(Y, b, n, k, l):  # pragma: no cover
    raise NotImplementedError


def _weigh(S, b, n, l, v):  # pragma: no cover
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


@overload(_weigh, inline="always")
def _weigh_impl(S, b, n, l, v):
    if isinstance(S, (types.NoneType, types.Omitted)):
        return lambda S, b, n, l, v: v
    if S.ndim == 1:
        return lambda S, b, n, l, v: v * S[n]
    return lambda S, b, n, l, v: v * S[b, n, l]


# --- the sigmoid of one block's lanes ------------------------------------------------------------------
# exp(x) = p(r) * 2^h * 2^(k-h), with k = round(x / ln2), r = x - k ln2 (Cody-Waite) and p the
# Taylor polynomial of e^r. k is rounded by adding 1.5·2^m (m = the mantissa bits): the sum's low
# bits then hold k as an integer, read through an integer view of the same memory. That keeps every
# step a vector instruction on AVX2, which has no float64 → int64 conversion (a float-to-int cast
# there is four scalar conversions per vector: 26 % of the sigmoid's time, measured). The powers of
# two are built from exponent bits in integers of the dtype's width (int64 for float64, int32 for
# float32), so every lane loop stays in one vector width.
def _make_lanes(degree, int_type, float_type, exponent_bias, mantissa_bits):
    """The lane exponential and sigmoid for one dtype: its polynomial degree and its integer of the
    same width."""
    one_int, bias, shift = int_type(1), int_type(exponent_bias), int_type(mantissa_bits)
    shifter = float_type(1.5 * 2.0 ** mantissa_bits)  # t = y + shifter rounds y to an integer k in t's low bits
    shifter_bits = np.array([shifter], dtype=float_type).view(int_type)[0]

    @njit(inline="always", error_model="numpy", fastmath={"contract"})
    def exp_parts(x, sign, poly, k1, k2, K):
        """exp(sign·x[l]) = (poly[l] · 2^h) · 2^(k−h): fills poly and the exponent bits k1, k2."""
        log2e, ln2_hi, ln2_lo, lo, hi = K[_LOG2E], K[_LN2_HI], K[_LN2_LO], K[_LO], K[_HI]
        t_of = k1.view(float_type)  # t, then read back as integers below
        for l in range(x.shape[0]):
            xl = min(max(sign * x[l], lo), hi)
            t = xl * log2e + shifter
            k = t - shifter  # round(xl / ln2), exactly, as a float
            r = (xl - k * ln2_hi) - k * ln2_lo
            p = K[_C0 + degree]
            for i in range(degree - 1, -1, -1):  # a constant trip count: unrolled
                p = p * r + K[_C0 + i]
            poly[l] = p
            t_of[l] = t
        for l in range(x.shape[0]):
            ki = k1[l] - shifter_bits
            h = ki >> one_int
            k1[l] = (h + bias) << shift  # 2^h and 2^(k-h) as bit patterns: both stay normal
            k2[l] = (ki - h + bias) << shift

    @njit(inline="always", error_model="numpy", fastmath={"contract"})
    def sigmoid_lanes(z, out, poly, k1, k2, K):
        one = K[_ONE]
        exp_parts(z, -one, poly, k1, k2, K)
        f1 = k1.view(float_type)
        f2 = k2.view(float_type)
        for l in range(z.shape[0]):
            out[l] = one / (one + (poly[l] * f1[l]) * f2[l])

    @njit(inline="always", error_model="numpy", fastmath={"contract"})
    def exp_lanes(x, out, poly, k1, k2, K):
        exp_parts(x, K[_ONE], poly, k1, k2, K)
        f1 = k1.view(float_type)
        f2 = k2.view(float_type)
        for l in range(x.shape[0]):
            out[l] = (poly[l] * f1[l]) * f2[l]

    return sigmoid_lanes, exp_lanes


_sigmoid_lanes64, _exp_lanes64 = _make_lanes(_DEGREE, np.int64, np.float64, 1023, 52)
_sigmoid_lanes32, _exp_lanes32 = _make_lanes(7, np.int32, np.float32, 127, 23)


def _sigmoid_lanes(z, out, poly, k1, k2, K):  # pragma: no cover
    """out[l] = 1 / (1 + exp(-z[l])) for every lane; the other arguments are scratch buffers."""
    raise NotImplementedError


def _exp_lanes(x, out, poly, k1, k2, K):  # pragma: no cover
    """out[l] = exp(x[l]) for every lane (x clamped to the dtype's finite range); out may be x."""
    raise NotImplementedError


def _exponent_bits(z):  # pragma: no cover
    """A scratch buffer of integers as wide as z's floats, one per lane."""
    raise NotImplementedError


@overload(_sigmoid_lanes, inline="always")
def _sigmoid_lanes_impl(z, out, poly, k1, k2, K):
    if z.dtype == types.float32:
        return lambda z, out, poly, k1, k2, K: _sigmoid_lanes32(z, out, poly, k1, k2, K)
    return lambda z, out, poly, k1, k2, K: _sigmoid_lanes64(z, out, poly, k1, k2, K)


@overload(_exp_lanes, inline="always")
def _exp_lanes_impl(x, out, poly, k1, k2, K):
    if x.dtype == types.float32:
        return lambda x, out, poly, k1, k2, K: _exp_lanes32(x, out, poly, k1, k2, K)
    return lambda x, out, poly, k1, k2, K: _exp_lanes64(x, out, poly, k1, k2, K)


@overload(_exponent_bits, inline="always")
def _exponent_bits_impl(z):
    if z.dtype == types.float32:
        return lambda z: np.empty(z.shape[0], np.int32)
    return lambda z: np.empty(z.shape[0], np.int64)


# --- training ----------------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def train_blocks(X, Y, S, W, C, lr, l2, K, n_iter, seed_rule, use_bias, tol, active, iterations):
    """Advance every block by ``n_iter`` iterations (tol <= 0: no early stopping)."""
    nb, D, n_out, L = W.shape
    N = Y.shape[-3] if Y.ndim == 4 else Y.shape[0]
    dt = W.dtype
    one, zero = K[_ONE], K[_ZERO]
    use_tol = tol > zero
    for b in prange(nb):
        z = np.empty(L, dt)
        o = np.empty(L, dt)
        delta = np.empty(L, dt)
        poly = np.empty(L, dt)
        k1 = _exponent_bits(z)
        k2 = _exponent_bits(z)
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
                    _sigmoid_lanes(z, o, poly, k1, k2, K)
                    if seed_rule:
                        for l in range(L):
                            ol = o[l]
                            delta[l] = _weigh(S, b, n, l, (_y(Y, b, n, k, l) - ol) * (ol * (one - ol)))
                    else:
                        for l in range(L):
                            delta[l] = _weigh(S, b, n, l, _y(Y, b, n, k, l) - o[l])
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
    one, zero = K[_ONE], K[_ZERO]
    for b in prange(nb):
        z = np.empty(L, dt)
        o = np.empty(L, dt)
        poly = np.empty(L, dt)
        k1 = _exponent_bits(z)
        k2 = _exponent_bits(z)
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
                _sigmoid_lanes(z, o, poly, k1, k2, K)
                for l in range(L):
                    e = _y(Y, b, n, k, l) - o[l]
                    acc[l] += _weigh(S, b, n, l, e * e)
        for l in range(L):
            out[b, l] = acc[l] + zero * one
