"""The "cuda" backend's fused kernels: ``kernels/cuda/perceptron.cu`` (:class:`CudaRun`, one thread per
model, the whole chunk of iterations in one launch) and ``kernels/cuda/groups.cu``
(:class:`CudaGroupRun`, one thread per group; :func:`segment_sum`, the "cupy" backend's segment sums).

The perceptron kernel is compiled per variant (dtype, which data are shared, sample weights, D, K,
rule) on first use; it keeps a model's D*K weights in registers, up to ``MAX_DK``. Larger models
raise UnsupportedProblemError, and "auto" then uses "cupy". Data shared by all models is staged in
shared memory (:func:`staging`).
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedProblemError
from ...problem import Problem
from ...reference.run import GradientRun
from . import device
from .device import MAX_DK, THREADS_PER_BLOCK

__all__ = ["CudaRun", "CudaGroupRun", "segment_sum", "staging", "SHARED_MEMORY_BUDGET"]

SHARED_MEMORY_BUDGET = 16 * 1024  # bytes of staged shared data per block: 8 blocks of 256 fit an SM


def _model_kernels(dtype: str, shared_x: bool, shared_y: bool, weights: int, D: int, K: int, seed_rule: bool):
    """The compiled (train, loss) kernels of one variant of ``perceptron.cu``."""
    T = "double" if dtype == "float64" else "float"
    flag = lambda v: "true" if v else "false"  # noqa: E731
    args = f"{T}, {flag(shared_x)}, {flag(shared_y)}, {weights}, {D}, {K}"
    return device.compile_kernels("perceptron.cu", (f"train_models<{args}, {flag(seed_rule)}>", f"loss_models<{args}>"))


def _ctype(dtype) -> str:
    return "double" if np.dtype(dtype) == np.float64 else "float"


def staging(N: int, row_bytes: int, budget: int) -> tuple[int, int]:
    """(tile, shared-memory bytes): how many samples of the shared data a block stages at once.

    ``row_bytes`` is what one sample's shared data takes (x, y, s of the arrays that all models
    share; 0 when none is shared). Everything is staged once when it fits in ``budget``, else tiles
    of as many samples as fit, every iteration."""
    if row_bytes == 0:
        return max(N, 1), 0
    tile = max(1, min(N, budget // row_bytes))
    return tile, tile * row_bytes


class CudaRun(GradientRun):
    """One part of a batch on the current device, trained by the fused kernel."""

    def __init__(self, problem: Problem):
        cupy = device.cupy()
        p = problem
        B, D, K = p.W0.shape
        if D * K > MAX_DK:
            raise UnsupportedProblemError(
                f"the cuda backend keeps a model's D*K = {D}*{K} weights in registers and handles "
                f"D*K <= {MAX_DK}; use backend='cupy' (or 'auto', which does)")
        last = lambda a: np.ascontiguousarray(np.moveaxis(a, 0, -1))  # noqa: E731  (B, ...) -> (..., B)
        dev = lambda a: cupy.asarray(a, dtype=p.dtype)  # noqa: E731
        self.shape = (B, D, K)
        self.N = N = p.X.shape[-2]
        shared_x, shared_y = p.X.ndim == 2, p.Y.ndim == 2
        self.X = dev(p.X if shared_x else last(p.X))
        self.Y = dev(p.Y if shared_y else last(p.Y))
        s = p.sample_weight
        self.weights_kind = 0 if s is None else (1 if s.ndim == 1 else 2)
        self.S = dev(np.zeros(1) if s is None else (s if s.ndim == 1 else last(s)))
        self.W = dev(last(p.W0).reshape(D * K, B))
        self.C = cupy.zeros((K, B), dtype=p.dtype)
        self.lr = dev(p.learning_rate)
        self.l2 = dev(np.zeros_like(p.learning_rate) if p.l2 is None else p.l2)
        self.active = cupy.ones(B, dtype=cupy.uint8)
        self.iterations = cupy.zeros(B, dtype=cupy.int64)
        self.use_bias = np.int32(p.bias)
        self.tol = p.dtype.type(p.tol or 0.0)
        self.has_tol = p.tol is not None
        self.train_kernel, self.loss_kernel = _model_kernels(
            p.dtype.name, shared_x, shared_y, self.weights_kind, D, K, p.rule == "seed")
        row = p.dtype.itemsize * (D * shared_x + K * shared_y + (self.weights_kind == 1))
        self.tile, self.shared_mem = staging(N, row, SHARED_MEMORY_BUDGET)
        total = np.full(B, float(N)) if s is None else np.broadcast_to(s.sum(axis=-1).astype(float), (B,))
        self.denominator = total * K
        self.grid = (-(-B // THREADS_PER_BLOCK),)

    def restore(self, C, iterations, active) -> None:
        cupy = device.cupy()
        self.C[...] = cupy.asarray(np.ascontiguousarray(C.T))
        self.iterations[...] = cupy.asarray(iterations)
        self.active[...] = cupy.asarray(active.astype(np.uint8))

    def advance(self, n: int) -> None:
        B = self.shape[0]
        self.train_kernel(self.grid, (THREADS_PER_BLOCK,), (
            self.X, self.Y, self.S, self.W, self.C, self.lr, self.l2, self.active, self.iterations, np.int64(B),
            np.int32(self.N), np.int32(self.tile), np.int32(n), self.use_bias, self.tol), shared_mem=self.shared_mem)

    def n_active(self) -> int:
        return self.shape[0] if not self.has_tol else int(self.active.sum())

    def active_mask(self) -> np.ndarray:
        return self.active.get().astype(bool)

    def loss(self) -> np.ndarray:
        cupy = device.cupy()
        B = self.shape[0]
        out = cupy.empty(B, dtype=self.W.dtype)
        self.loss_kernel(self.grid, (THREADS_PER_BLOCK,), (self.X, self.Y, self.S, self.W, self.C, out, np.int64(B),
                                                           np.int32(self.N), np.int32(self.tile)),
                         shared_mem=self.shared_mem)
        return out.get() / self.denominator

    def weights(self) -> np.ndarray:
        B, D, K = self.shape
        return np.ascontiguousarray(self.W.get().T).reshape(B, D, K)

    def bias(self) -> np.ndarray:
        return np.ascontiguousarray(self.C.get().T)

    def iteration_counts(self) -> np.ndarray:
        return self.iterations.get()


def segment_sum(a, offsets):
    """Σ over each group's rows of ``a`` (N, C) or (N,), in row order, on the GPU: (G, C) or (G,)."""
    cupy = device.cupy()
    a = cupy.asarray(a)
    flat = a.reshape(a.shape[0], -1)
    G, C = offsets.shape[0] - 1, flat.shape[1]
    (kernel,) = device.compile_kernels("groups.cu", (f"segment_sum<{_ctype(a.dtype)}>",))
    out = cupy.empty((G, C), dtype=a.dtype)
    if not flat.flags.c_contiguous:
        flat = cupy.ascontiguousarray(flat)
    kernel((-(-G * C // THREADS_PER_BLOCK),), (THREADS_PER_BLOCK,), (flat, offsets, out, np.int64(G), np.int32(C)))
    return out.reshape((G,) + a.shape[1:])



class CudaGroupRun(GradientRun):
    """One thread per group, through ``kernels/cuda/groups.cu``."""

    def __init__(self, problem: Problem):
        cupy = device.cupy()
        p = problem
        G, D, K = p.W0.shape
        if D * K > MAX_DK:
            raise UnsupportedProblemError(
                f"the cuda backend keeps a model's D*K = {D}*{K} weights in registers and handles "
                f"D*K <= {MAX_DK}; use backend='cupy' (or 'auto', which does)")
        dev = lambda a: cupy.asarray(np.ascontiguousarray(a), dtype=p.dtype)  # noqa: E731
        self.shape = (G, D, K)
        self.X, self.Y = dev(p.X), dev(p.Y)
        self.has_weights = p.sample_weight is not None
        self.S = dev(p.sample_weight if self.has_weights else np.zeros(1))
        self.offsets = cupy.asarray(p.groups.offsets)
        self.W = dev(p.W0.reshape(G, D * K).T)
        self.C = cupy.zeros((K, G), dtype=p.dtype)
        self.pulled = np.int32(p.prior is not None)
        self.prior = (dev(np.zeros(1)),) * 3  # (A_w (D·K, G), a_c (K, G), ρ (K, G)), unread without one
        if p.prior is not None:  # SPEC §8: pulled toward the parents' models, from the start given
            aw, ac, rho, sw, sc = p.prior.for_steps(D, p.dtype)
            self.prior = (dev(aw.reshape(G, D * K).T), dev(ac.T), dev(rho.T))
            self.W = dev(sw.reshape(G, D * K).T)
            if p.bias:
                self.C = dev(sc.T)
        self.lr = dev(p.learning_rate)
        self.l2 = dev(np.zeros_like(p.learning_rate) if p.l2 is None else p.l2)
        self.active = cupy.ones(G, dtype=cupy.uint8)
        self.iterations = cupy.zeros(G, dtype=cupy.int64)
        self.bias_ = p.bias
        self.use_bias = np.int32(p.bias)
        self.tol = p.dtype.type(p.tol or 0.0)
        self.has_tol = p.tol is not None
        T, sw = _ctype(p.dtype), int(self.has_weights)
        seed = "true" if p.rule == "seed" else "false"
        self.train_kernel, self.loss_kernel = device.compile_kernels(
            "groups.cu", (f"train_groups<{T}, {sw}, {D}, {K}, {seed}>", f"loss_groups<{T}, {sw}, {D}, {K}>"))
        self.denominator = p.loss_denominator()
        self.grid = (-(-G // THREADS_PER_BLOCK),)

    def advance(self, n: int) -> None:
        self.train_kernel(self.grid, (THREADS_PER_BLOCK,), (
            self.X, self.Y, self.S, self.offsets, self.W, self.C, self.lr, self.l2, self.active, self.iterations,
            np.int64(self.shape[0]), np.int32(n), self.use_bias, self.tol, *self.prior, self.pulled))

    def n_active(self) -> int:
        return self.shape[0] if not self.has_tol else int(self.active.sum())

    def loss(self) -> np.ndarray:
        cupy = device.cupy()
        out = cupy.empty(self.shape[0], dtype=self.W.dtype)
        self.loss_kernel(self.grid, (THREADS_PER_BLOCK,), (
            self.X, self.Y, self.S, self.offsets, self.W, self.C, out, np.int64(self.shape[0])))
        return out.get() / self.denominator

    def weights(self) -> np.ndarray:
        G, D, K = self.shape
        return np.ascontiguousarray(self.W.get().T).reshape(G, D, K)

    def bias(self) -> np.ndarray | None:
        return np.ascontiguousarray(self.C.get().T) if self.bias_ else None

    def iteration_counts(self) -> np.ndarray:
        return self.iterations.get()
