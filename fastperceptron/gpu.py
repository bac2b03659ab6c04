"""The GPU backends: "cupy" (the vectorized loop of ``loop.py`` on CuPy arrays) and "cuda" (the fused
kernel of ``kernels/perceptron.cu`` through ``cupy.RawModule``).

Nothing here imports CuPy until a GPU backend is probed or used. A GPU backend is usable when CuPy
imports, a CUDA device exists, a tiny kernel runs, and the backend reproduces the numpy backend on
a small problem (a self-check: a miscompiled or broken backend is refused with the reason, and
"auto" moves on to the CPU instead of returning wrong numbers).

The model axis is split into parts: one per visible GPU (``FASTPERCEPTRON_DEVICES``, default all),
and more when a part's estimated bytes exceed half of its device's free memory. Every part lives on
its device; ``advance`` launches all parts (different devices overlap), then synchronises. A part
allocates its buffers before it changes any state, so on ``OutOfMemoryError`` the pool is freed,
that part is split in two from its unchanged state, and the step retried. A model's result never
depends on the split (SPEC §2). CuPy keeps full float32 precision (no TF32) unless ``CUPY_TF32``
is set, which the probe refuses.

The "cuda" kernel is compiled per variant (dtype, which data are shared, sample weights, D, K,
rule) on first use; it keeps a model's D*K weights in registers, up to ``MAX_DK``. Larger models
raise UnsupportedProblemError, and "auto" then uses "cupy". Shared data is staged in shared memory
(``staging``). Without a GPU, tests/hostcupy.py runs all of this on the host.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import cache

import numpy as np

from .errors import KernelCompileError, UnsupportedProblemError
from .loop import VectorizedRun
from .problem import Problem

__all__ = ["probe", "GpuBackend", "CudaRun"]

INSTALL = "pip install 'fastperceptron[gpu]' (CuPy for CUDA 12; for CUDA 13: pip install cupy-cuda13x)"
THREADS_PER_BLOCK = 256
MAX_DK = 256  # the largest model (D*K weights) the cuda kernel keeps in registers and local memory
SHARED_MEMORY_BUDGET = 16 * 1024  # bytes of staged shared data per block: 8 blocks of 256 fit an SM


def _cupy():
    import cupy

    return cupy


def devices() -> list[int]:
    """The GPUs to use: ``FASTPERCEPTRON_DEVICES`` (e.g. "0,2") or every visible one."""
    cupy = _cupy()
    env = os.environ.get("FASTPERCEPTRON_DEVICES", "").strip()
    if env:
        return [int(d) for d in env.split(",") if d.strip()]
    return list(range(cupy.cuda.runtime.getDeviceCount()))


@cache
def probe(name: str) -> str:
    """"" when backend ``name`` ("cupy" or "cuda") can run here, else why not."""
    try:
        cupy = _cupy()
    except ImportError:
        return f"CuPy is not installed: {INSTALL}"
    except Exception as exc:  # a broken CUDA installation can fail at import
        return f"CuPy cannot be imported ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, an old driver, no device
        return f"no usable CUDA device ({exc})"
    if count == 0:
        return "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)"
    if os.environ.get("CUPY_TF32", "0") not in ("", "0"):
        return "CUPY_TF32 is set: float32 products would lose precision; unset it"
    try:
        int(cupy.arange(4).sum())
    except Exception as exc:
        return f"a tiny CUDA kernel failed ({type(exc).__name__}: {exc})"
    try:
        return _self_check(name)
    except Exception as exc:
        return f"the {name} backend failed on a small problem ({type(exc).__name__}: {exc})"


def _self_check(name: str) -> str:
    from . import datasets
    from .problem import make_problem

    X, y = datasets.seed()
    problem = make_problem(X, y, models=37, iterations=50, bias=True, rule="logistic", learning_rate=0.5)
    expected = VectorizedRun(problem)
    expected.advance(50)
    run = GpuBackend(name).start(problem)
    run.advance(50)
    error = float(np.abs(run.weights() / expected.weights() - 1).max())
    if not error <= 1e-9:
        return f"the {name} backend disagrees with numpy on a small problem (relative error {error:.2e})"
    return ""


# --- the fused kernel ----------------------------------------------------------------------------
@cache
def _kernel(dtype: str, shared_x: bool, shared_y: bool, weights: int, D: int, K: int, seed_rule: bool):
    """The compiled (train, loss) kernels of one variant, compiled on first use by NVRTC (CuPy also
    keeps them in its on-disk cache). Compile errors point at lines of kernels/perceptron.cu."""
    from .kernels import source

    cupy = _cupy()
    T = "double" if dtype == "float64" else "float"
    flag = lambda v: "true" if v else "false"  # noqa: E731
    args = f"{T}, {flag(shared_x)}, {flag(shared_y)}, {weights}, {D}, {K}"
    names = (f"train_models<{args}, {flag(seed_rule)}>", f"loss_models<{args}>")
    code = f'#define FP_THREADS {THREADS_PER_BLOCK}\n#line 1 "kernels/perceptron.cu"\n' + source("perceptron.cu")
    try:
        module = cupy.RawModule(code=code, options=("-std=c++14",), name_expressions=names)
        return module.get_function(names[0]), module.get_function(names[1])
    except Exception as exc:  # CuPy's CompileException, or a driver error loading the module
        raise KernelCompileError(f"kernels/perceptron.cu does not compile as {names[0]}: {exc}") from exc


def staging(N: int, row_bytes: int, budget: int) -> tuple[int, int]:
    """(tile, shared-memory bytes): how many samples of the shared data a block stages at once.

    ``row_bytes`` is what one sample's shared data takes (x, y, s of the arrays that all models
    share; 0 when none is shared). Everything is staged once when it fits in ``budget``, else tiles
    of as many samples as fit, every iteration."""
    if row_bytes == 0:
        return max(N, 1), 0
    tile = max(1, min(N, budget // row_bytes))
    return tile, tile * row_bytes


class CudaRun:
    """One part of a batch on the current device, trained by the fused kernel."""

    def __init__(self, problem: Problem):
        cupy = _cupy()
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
        self.train_kernel, self.loss_kernel = _kernel(
            p.dtype.name, shared_x, shared_y, self.weights_kind, D, K, p.rule == "seed")
        row = p.dtype.itemsize * (D * shared_x + K * shared_y + (self.weights_kind == 1))
        self.tile, self.shared_mem = staging(N, row, SHARED_MEMORY_BUDGET)
        total = np.full(B, float(N)) if s is None else np.broadcast_to(s.sum(axis=-1).astype(float), (B,))
        self.denominator = total * K
        self.grid = (-(-B // THREADS_PER_BLOCK),)

    def restore(self, C, iterations, active) -> None:
        cupy = _cupy()
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
        cupy = _cupy()
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


class _CupyLoopRun(VectorizedRun):
    """The reference loop on CuPy arrays, with the small extras the parted run needs."""

    def __init__(self, problem: Problem):
        super().__init__(problem, xp=_cupy())

    def restore(self, C, iterations, active) -> None:
        cupy = self.xp
        if self.c is not None:
            self.c[...] = cupy.asarray(C)
        self.iterations[...] = cupy.asarray(iterations)
        if self.active is not None:
            self.active[...] = cupy.asarray(active)

    def active_mask(self) -> np.ndarray:
        return np.ones(self.shape[0], bool) if self.active is None else self.active.get()

    def loss(self) -> np.ndarray:
        return super().loss().get()

    def bias(self):
        c = super().bias()
        return c if c is not None else np.zeros((self.shape[0], self.shape[2]), dtype=self.W.dtype)


def _bytes_per_model(p: Problem) -> int:
    N, D, K = p.X.shape[-2], p.W0.shape[1], p.W0.shape[2]
    data = (p.X[0].size if p.X.ndim == 3 else 0) + (p.Y[0].size if p.Y.ndim == 3 else 0) + N
    return p.dtype.itemsize * (data + 4 * N * K + 3 * D * K + 4 * K) + 16


class PartedRun:
    """A batch split along the models into parts over the GPUs (see the module docstring)."""

    def __init__(self, problem: Problem, make_run, device_ids):
        self.cupy = _cupy()
        self.problem = problem
        self.make_run = make_run
        B = problem.n_models
        need = B * _bytes_per_model(problem)
        parts = len(device_ids)
        for d in device_ids:
            with self.cupy.cuda.Device(d):
                free = self.cupy.cuda.runtime.memGetInfo()[0]
            parts = max(parts, len(device_ids) * -(-need // max(1, len(device_ids) * free // 2)))
        while True:  # on OutOfMemoryError: free the pools, twice as many parts, try again
            edges = np.linspace(0, B, min(parts, B) + 1).round().astype(int)
            try:
                self.parts = [(device_ids[i % len(device_ids)], a, b,
                               self._make(device_ids[i % len(device_ids)], a, b, problem.W0[a:b]))
                              for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
                return
            except self.cupy.cuda.memory.OutOfMemoryError:
                self.parts = []
                for d in device_ids:
                    self._free(d)
                if parts >= B:
                    raise MemoryError(
                        f"the GPU(s) cannot hold this batch even one model at a time (about {need / 2**30:.1f} GiB "
                        "in all); train fewer models per call, use dtype='float32', or backend='numba'"
                    ) from None
                parts *= 2

    def _make(self, dev, a, b, W, state=None):
        """The run of models a..b on device dev, from weights W (and C, iterations, active)."""
        p = self.problem
        per = lambda arr, ndim: arr[a:b] if arr is not None and arr.ndim == ndim else arr  # noqa: E731
        sub = replace(p, X=per(p.X, 3), Y=per(p.Y, 3), sample_weight=per(p.sample_weight, 2),
                      learning_rate=p.learning_rate[a:b], l2=None if p.l2 is None else p.l2[a:b],
                      W0=np.ascontiguousarray(W), seeds=p.seeds[a:b])
        with self.cupy.cuda.Device(dev):
            run = self.make_run(sub)
            if state is not None:
                run.restore(*state)
            return run

    def _free(self, dev):
        with self.cupy.cuda.Device(dev):
            self.cupy.get_default_memory_pool().free_all_blocks()

    def advance(self, n: int) -> None:
        i = 0
        while i < len(self.parts):
            dev, a, b, run = self.parts[i]
            try:
                with self.cupy.cuda.Device(dev):
                    run.advance(n)
                i += 1
            except self.cupy.cuda.memory.OutOfMemoryError:
                # The part allocates before it changes anything: split it from its current state.
                if b - a < 2:
                    raise MemoryError("the GPU is out of memory with a single model per part") from None
                with self.cupy.cuda.Device(dev):
                    W, C, its, act = run.weights(), run.bias(), run.iteration_counts(), run.active_mask()
                del run
                self._free(dev)
                m = (a + b) // 2
                halves = [(dev, a, m, self._make(dev, a, m, W[: m - a], (C[: m - a], its[: m - a], act[: m - a]))),
                          (dev, m, b, self._make(dev, m, b, W[m - a:], (C[m - a:], its[m - a:], act[m - a:])))]
                self.parts[i:i + 1] = halves
        for dev, *_ in self.parts:
            self.cupy.cuda.Device(dev).synchronize()

    def _each(self, method):
        out = []
        for dev, _, _, run in self.parts:
            with self.cupy.cuda.Device(dev):
                out.append(getattr(run, method)())
        return out

    def n_active(self) -> int:
        return sum(self._each("n_active"))

    def loss(self) -> np.ndarray:
        return np.concatenate(self._each("loss"))

    def weights(self) -> np.ndarray:
        return np.concatenate(self._each("weights"))

    def bias(self):
        return np.concatenate(self._each("bias")) if self.problem.bias else None

    def iteration_counts(self) -> np.ndarray:
        return np.concatenate(self._each("iteration_counts"))


def _start_solver(problem: Problem):
    """The second-order solvers (``fastperceptron/solvers.py``) on CuPy arrays of the first device:
    their work is matrix products (cuBLAS), the batched Cholesky and, for groups, the segment-sum
    kernel; both GPU backends run them this way (the "cuda" kernel is the gradient-step one)."""
    from . import solvers

    cupy = _cupy()
    segment_sum = None
    if problem.grouped:
        from .gpu_groups import segment_sum
    with cupy.cuda.Device(devices()[0]):
        try:
            return solvers.start(problem, xp=cupy, segment_sum=segment_sum)
        except cupy.cuda.memory.OutOfMemoryError:
            cupy.get_default_memory_pool().free_all_blocks()
            raise MemoryError(
                "the GPU cannot hold this problem for the solver; train fewer models per call, use "
                "dtype='float32', or backend='numba' (the CPU)") from None


class GpuBackend:
    """The "cupy" or "cuda" backend over the GPUs of ``devices()``."""

    def __init__(self, name: str):
        self.name = name

    def start(self, problem: Problem) -> PartedRun:
        if problem.solver != "gd":
            return _start_solver(problem)
        if problem.grouped:
            from . import gpu_groups

            return gpu_groups.start(problem, self.name)
        make = CudaRun if self.name == "cuda" else _CupyLoopRun
        return PartedRun(problem, make, devices())
