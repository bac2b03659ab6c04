"""The exponential and the sigmoid of a block of lanes, written out for SIMD, and the kernels'
constants (shared by every Numba kernel: lanes, gemm, groups, objective).

The exponential is written out (Cody–Waite range reduction, a Taylor polynomial on |r| ≤ ln2/2 of
degree 13 for float64 and 7 for float32, and 2^k built from exponent bits in integers as wide as
the floats) because the Numba wheels link LLVM without SVML, so ``math.exp`` in a loop stays a
scalar libm call. ``error_model="numpy"`` removes the ZeroDivisionError check that would keep the
division scalar (1 + e^-z is never 0). It is within a few ulp of libm's; σ(z) = 1 / (1 + exp(-z))
keeps the tutorial's form, saturates without NaN for any finite z.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import types
from numba.extending import overload

__all__ = ["constants", "sigmoid_lanes", "exp_lanes", "exponent_bits", "ONE", "ZERO", "C0"]

# --- constants, in the run's dtype (index into the ``consts`` array) --------------------------------
_LOG2E, _LN2_HI, _LN2_LO, _LO, _HI, ONE, ZERO = range(7)
C0 = 7  # first Taylor coefficient 1/0!, then 1/1!, ... 1/13!
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
            p = K[C0 + degree]
            for i in range(degree - 1, -1, -1):  # a constant trip count: unrolled
                p = p * r + K[C0 + i]
            poly[l] = p
            t_of[l] = t
        for l in range(x.shape[0]):
            ki = k1[l] - shifter_bits
            h = ki >> one_int
            k1[l] = (h + bias) << shift  # 2^h and 2^(k-h) as bit patterns: both stay normal
            k2[l] = (ki - h + bias) << shift

    @njit(inline="always", error_model="numpy", fastmath={"contract"})
    def sigmoid_lanes(z, out, poly, k1, k2, K):
        one = K[ONE]
        exp_parts(z, -one, poly, k1, k2, K)
        f1 = k1.view(float_type)
        f2 = k2.view(float_type)
        for l in range(z.shape[0]):
            out[l] = one / (one + (poly[l] * f1[l]) * f2[l])

    @njit(inline="always", error_model="numpy", fastmath={"contract"})
    def exp_lanes(x, out, poly, k1, k2, K):
        exp_parts(x, K[ONE], poly, k1, k2, K)
        f1 = k1.view(float_type)
        f2 = k2.view(float_type)
        for l in range(x.shape[0]):
            out[l] = (poly[l] * f1[l]) * f2[l]

    return sigmoid_lanes, exp_lanes


_sigmoid_lanes64, _exp_lanes64 = _make_lanes(_DEGREE, np.int64, np.float64, 1023, 52)
_sigmoid_lanes32, _exp_lanes32 = _make_lanes(7, np.int32, np.float32, 127, 23)


def sigmoid_lanes(z, out, poly, k1, k2, K):  # pragma: no cover
    """out[l] = 1 / (1 + exp(-z[l])) for every lane; the other arguments are scratch buffers."""
    raise NotImplementedError


def exp_lanes(x, out, poly, k1, k2, K):  # pragma: no cover
    """out[l] = exp(x[l]) for every lane (x clamped to the dtype's finite range); out may be x."""
    raise NotImplementedError


def exponent_bits(z):  # pragma: no cover
    """A scratch buffer of integers as wide as z's floats, one per lane."""
    raise NotImplementedError


@overload(sigmoid_lanes, inline="always")
def _sigmoid_lanes_impl(z, out, poly, k1, k2, K):
    if z.dtype == types.float32:
        return lambda z, out, poly, k1, k2, K: _sigmoid_lanes32(z, out, poly, k1, k2, K)
    return lambda z, out, poly, k1, k2, K: _sigmoid_lanes64(z, out, poly, k1, k2, K)


@overload(exp_lanes, inline="always")
def _exp_lanes_impl(x, out, poly, k1, k2, K):
    if x.dtype == types.float32:
        return lambda x, out, poly, k1, k2, K: _exp_lanes32(x, out, poly, k1, k2, K)
    return lambda x, out, poly, k1, k2, K: _exp_lanes64(x, out, poly, k1, k2, K)


@overload(exponent_bits, inline="always")
def _exponent_bits_impl(z):
    if z.dtype == types.float32:
        return lambda z: np.empty(z.shape[0], np.int32)
    return lambda z: np.empty(z.shape[0], np.int64)
