"""The GPU backends for groups (SPEC §6): "cupy" runs the reference loop of ``loop_groups`` on CuPy
arrays, with its segment sums by a small kernel; "cuda" runs one thread per group through
``kernels/groups.cu``. A grouped batch lives on one device (the first of ``gpu.devices()``); when it
does not fit, the error says so and names the CPU backend (groups are not split across GPUs yet).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .errors import KernelCompileError, UnsupportedProblemError
from .loop_groups import GroupedRun
from .problem import Problem

__all__ = ["CupyGroupRun", "CudaGroupRun", "start"]

THREADS_PER_BLOCK = 256


def _cupy():
    import cupy

    return cupy


@cache
def _module(names: tuple[str, ...]):
    from .kernels import source

    cupy = _cupy()
    code = f'#define FP_THREADS {THREADS_PER_BLOCK}\n#line 1 "kernels/groups.cu"\n' + source("groups.cu")
    try:
        module = cupy.RawModule(code=code, options=("-std=c++14",), name_expressions=names)
        return tuple(module.get_function(n) for n in names)
    except Exception as exc:  # CuPy's CompileException, or a driver error loading the module
        raise KernelCompileError(f"kernels/groups.cu does not compile as {names[0]}: {exc}") from exc


def _ctype(dtype) -> str:
    return "double" if np.dtype(dtype) == np.float64 else "float"


def segment_sum(a, offsets):
    """Σ over each group's rows of ``a`` (N, C) or (N,), in row order, on the GPU: (G, C) or (G,)."""
    cupy = _cupy()
    a = cupy.asarray(a)
    flat = a.reshape(a.shape[0], -1)
    G, C = offsets.shape[0] - 1, flat.shape[1]
    (kernel,) = _module((f"segment_sum<{_ctype(a.dtype)}>",))
    out = cupy.empty((G, C), dtype=a.dtype)
    if not flat.flags.c_contiguous:
        flat = cupy.ascontiguousarray(flat)
    kernel((-(-G * C // THREADS_PER_BLOCK),), (THREADS_PER_BLOCK,), (flat, offsets, out, np.int64(G), np.int32(C)))
    return out.reshape((G,) + a.shape[1:])


class CupyGroupRun(GroupedRun):
    """The reference loop for groups on CuPy arrays."""

    def __init__(self, problem: Problem):
        super().__init__(problem, xp=_cupy(), segment_sum=segment_sum)

    def loss(self) -> np.ndarray:
        return super().loss().get()


class CudaGroupRun:
    """One thread per group, through ``kernels/groups.cu``."""

    def __init__(self, problem: Problem):
        from .gpu import MAX_DK

        cupy = _cupy()
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
        self.train_kernel, self.loss_kernel = _module(
            (f"train_groups<{T}, {sw}, {D}, {K}, {seed}>", f"loss_groups<{T}, {sw}, {D}, {K}>"))
        self.denominator = p.loss_denominator()
        self.grid = (-(-G // THREADS_PER_BLOCK),)

    def advance(self, n: int) -> None:
        self.train_kernel(self.grid, (THREADS_PER_BLOCK,), (
            self.X, self.Y, self.S, self.offsets, self.W, self.C, self.lr, self.l2, self.active, self.iterations,
            np.int64(self.shape[0]), np.int32(n), self.use_bias, self.tol))

    def n_active(self) -> int:
        return self.shape[0] if not self.has_tol else int(self.active.sum())

    def loss(self) -> np.ndarray:
        cupy = _cupy()
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


def start(problem: Problem, name: str):
    """The grouped run of backend ``name`` ("cupy" or "cuda") on the first device."""
    from .gpu import devices

    cupy = _cupy()
    with cupy.cuda.Device(devices()[0]):
        try:
            return CudaGroupRun(problem) if name == "cuda" else CupyGroupRun(problem)
        except cupy.cuda.memory.OutOfMemoryError:
            cupy.get_default_memory_pool().free_all_blocks()
            raise MemoryError(
                "the GPU cannot hold this grouped table; use backend='numba' (the CPU), or dtype='float32'"
            ) from None
