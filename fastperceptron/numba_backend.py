"""The "numba" backend: the fused CPU kernel of ``fastperceptron.kernels.numba_kernel``.

This module lays the batch out in blocks of models (the kernel's layout, see its docstring), calls
the kernel once per chunk of iterations, and converts back. The kernel is compiled on first use of
each combination of array kinds and dtype (a few seconds each) and cached on disk (``cache=True``),
so later processes load it in well under a second.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from .errors import KernelCompileError
from .problem import Problem

__all__ = ["NumbaBackend", "NumbaRun", "choose_lanes", "KernelCompileError"]

#: The widest block: measured fastest on the seed problem (AMD EPYC, AVX-512, 2 threads, before FMA
#: contraction: 16 lanes 131, 32 lanes 183, 64 lanes 226, 128 lanes 288, 256 lanes 273 million
#: model-iterations/s). Wide blocks amortise the set-up of each vectorized lane loop.
MAX_LANES = 128
MIN_LANES = 8
#: Per-model data of one block (N·D·L values) is kept under this size. Measured on the per-model
#: case (N = 200, D = 16, float64: 1.6 MB per 64-lane block): 16 lanes 1.2, 32 lanes 1.8, 64 lanes
#: 2.2, 128 lanes 1.7 million model-iterations/s; the block's tile is read from L2/L3 each iteration.
BLOCK_DATA_BYTES = 2 << 20


def choose_lanes(n_models: int, threads: int, per_model_bytes: int = 0) -> int:
    """Models per block: as wide as possible, with at least two blocks per thread and, for
    per-model data, one block's data within ``BLOCK_DATA_BYTES``. A power of two >= 8.

    Results never depend on it: every lane computes the same operations on its own model.
    """
    lanes = MAX_LANES
    while lanes > MIN_LANES and (
        -(-n_models // lanes) < 2 * threads or lanes * per_model_bytes > BLOCK_DATA_BYTES
    ):
        lanes //= 2
    return lanes


def _blocks(a: np.ndarray, lanes: int, dtype) -> np.ndarray:
    """(B, ...) -> (nb, ..., lanes), zero-padded to whole blocks, C-contiguous."""
    B = a.shape[0]
    nb = -(-B // lanes)
    padded = np.zeros((nb * lanes,) + a.shape[1:], dtype=dtype)
    padded[:B] = a
    return np.ascontiguousarray(np.moveaxis(padded.reshape((nb, lanes) + a.shape[1:]), 1, -1))


def _unblock(a: np.ndarray, n_models: int) -> np.ndarray:
    """(nb, ..., lanes) -> (B, ...)."""
    moved = np.moveaxis(a, -1, 1)
    return np.ascontiguousarray(moved.reshape((-1,) + moved.shape[2:])[:n_models])


@contextlib.contextmanager
def compile_errors():
    """A Numba compile failure inside the block becomes a KernelCompileError (the backend falls back)."""
    import numba

    try:
        yield
    except (numba.core.errors.NumbaError, numba.core.errors.LoweringError) as exc:  # pragma: no cover
        raise KernelCompileError(f"the Numba kernel failed to compile: {exc}".splitlines()[0]) from exc


def call_with_threads(threads: int, fn, *args) -> None:
    """Call the kernel ``fn`` on ``threads`` Numba threads; a compile failure is a KernelCompileError."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with compile_errors():
            fn(*args)
    finally:
        numba.set_num_threads(previous)


class NumbaRun:
    """A batch in the kernel's block layout; the same interface as :class:`loop.VectorizedRun`."""

    def __init__(self, problem: Problem, kernel, threads: int):
        p = problem
        dt = p.dtype
        B, D, K = p.W0.shape
        N = p.X.shape[-2]
        self.kernel = kernel
        self.threads = threads
        self.n_models = B
        per_model = 0 if p.shared_X else N * D * dt.itemsize
        lanes = choose_lanes(B, threads, per_model)
        self.X = p.X if p.shared_X else _blocks(p.X, lanes, dt)
        self.Y = p.Y if p.Y.ndim == 2 else _blocks(p.Y, lanes, dt)
        s = p.sample_weight
        self.S = None if s is None else (s if s.ndim == 1 else _blocks(s, lanes, dt))
        self.W = _blocks(p.W0, lanes, dt)
        self.C = np.zeros((self.W.shape[0], K, lanes), dtype=dt)
        self.lr = _blocks(p.learning_rate, lanes, dt)
        self.l2 = _blocks(np.zeros(B) if p.l2 is None else p.l2, lanes, dt)
        self.active = _blocks(np.ones(B), lanes, dt)  # padding lanes are never active
        self.iterations = np.zeros(self.active.shape, dtype=np.int64)
        self.consts = kernel.constants(dt)
        self.seed_rule = p.rule == "seed"
        self.bias_ = p.bias
        self.tol = dt.type(p.tol if p.tol is not None else 0.0)
        self.denominator = p.loss_denominator()
        self._loss_out = np.empty(self.active.shape, dtype=dt)
        self.advance(0)  # compile (or load from the cache) now, where a failure can fall back
        self.loss()

    def _call(self, fn, *args):
        call_with_threads(self.threads, fn, *args)

    def advance(self, n: int) -> None:
        self._call(self.kernel.train_blocks, self.X, self.Y, self.S, self.W, self.C, self.lr, self.l2, self.consts, n,
                   self.seed_rule, self.bias_, self.tol, self.active, self.iterations)

    def n_active(self) -> int:
        return self.n_models if self.tol == 0 else int(np.count_nonzero(self.active))

    def loss(self) -> np.ndarray:
        self._call(self.kernel.loss_blocks, self.X, self.Y, self.S, self.W, self.C, self.consts, self._loss_out)
        return _unblock(self._loss_out, self.n_models) / self.denominator

    def weights(self) -> np.ndarray:
        return _unblock(self.W, self.n_models)

    def bias(self) -> np.ndarray | None:
        return _unblock(self.C, self.n_models) if self.bias_ else None

    def iteration_counts(self) -> np.ndarray:
        return _unblock(self.iterations, self.n_models)


class NumbaBackend:
    """The fused Numba CPU kernel, parallel over blocks of models, SIMD across the models of a block."""

    name = "numba"

    def __init__(self, threads: int | None = None):
        # Numba's OpenMP threads spin after a parallel region and take the cores from whatever runs
        # next on other threads (OpenBLAS in numpy's products: measured 1.5x slower when the gemm
        # layout alternated the two pools). libgomp reads this once, when Numba first starts its
        # threads; a user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import numba

            from .kernels import numba_kernel
        except Exception as exc:  # ImportError, or a broken llvmlite
            raise KernelCompileError(f"Numba cannot be imported: {exc}") from exc
        available = numba.config.NUMBA_NUM_THREADS
        if threads is None:
            threads = available
        elif not 1 <= threads <= available:
            raise ValueError(
                f"threads must be between 1 and {available} (NUMBA_NUM_THREADS), got {threads}; "
                "set NUMBA_NUM_THREADS before starting Python to allow more"
            )
        self.threads = threads
        self.kernel = numba_kernel

    def start(self, problem: Problem, layout: str = "lanes"):
        """The run in ``layout``: "lanes" (this module's NumbaRun), "gemm" (shared X only:
        ``fastperceptron.numba_gemm.GemmRun``) or "groups" (``fastperceptron.numba_groups.GroupRun``,
        the layout of every problem with groups); ``fastperceptron.planner`` chooses. The second-
        order solvers run ``fastperceptron/solvers.py`` on the kernel of ``numba_objective``."""
        if problem.solver != "gd":
            import functools

            from . import solvers
            from .numba_objective import cholesky_solve, objective

            objective = objective(problem, self.threads)
            solve = functools.partial(cholesky_solve, threads=self.threads)
            run = solvers.SolverRun(problem, objective, solve=solve)
            objective.compile(run.parameters())  # now, where a failure can fall back
            if problem.solver == "newton":
                solve(np.eye(1, dtype=problem.dtype)[None], np.ones((1, 1), problem.dtype), np.zeros(1))
            return run
        if problem.grouped or layout in ("groups", "rows"):
            from .numba_groups import GroupRun

            return GroupRun(problem, self.threads)
        if layout == "gemm":
            from .numba_gemm import GemmRun

            return GemmRun(problem, self.threads)
        return NumbaRun(problem, self.kernel, self.threads)
