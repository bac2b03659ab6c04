"""The numba backend's "lanes" layout: the fused CPU kernel of ``kernels/numba/lanes.py``.

This module lays the batch out in blocks of models (the kernel's layout, see its docstring), calls
the kernel once per chunk of iterations, and converts back. The kernel is compiled on first use of
each combination of array kinds and dtype (a few seconds each) and cached on disk (``cache=True``),
so later processes load it in well under a second. :func:`per_model_layout` decides between this
layout and "rows" for one dataset per model.
"""

from __future__ import annotations

import numpy as np

from ...machine import cpu_threads
from ...problem import Problem
from ...reference.run import GradientRun
from .. import costs
from ..layout import Layout
from .runtime import call_with_threads, prepare

__all__ = ["Lanes", "NumbaRun", "choose_lanes", "per_model_layout", "MAX_LANES"]

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


class NumbaRun(GradientRun):
    """A batch in the kernel's block layout; the :class:`~fastperceptron.reference.run.Run` interface."""

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


def per_model_layout(problem: Problem) -> str:
    """"rows" or "lanes" for one dataset per model, from the cost of one model in a wide batch
    (lanes at full width). It does not depend on B, so that a batch cut into shards (Dask) trains
    every shard, and the whole, in the same layout: the same bits."""
    _, D, K = problem.W0.shape
    N = problem.X.shape[-2]
    a, b = costs.LANES_PER_MODEL
    a += costs.LANES_PER_MODEL_MEMORY * N * D
    lanes = N * K * ((costs.LANES_BLOCK[0] + costs.LANES_BLOCK[1] * D) / MAX_LANES + a + b * D)
    rows = costs.ROWS_MODEL + N * K * (costs.ROWS[0] + costs.ROWS[1] * D)
    return "rows" if rows < lanes else "lanes"


class Lanes(Layout):
    """All iterations of a chunk in one compiled call, SIMD across blocks of models, a block's state
    in L1: small models (the tutorial's 4 × 3 problem, per-model datasets of few samples, narrow
    tables)."""

    backend, name = "numba", "lanes"

    def automatic(self, problem: Problem) -> bool:
        return problem.shared_X or per_model_layout(problem) == "lanes"

    def estimate(self, problem: Problem, threads: int | None = None) -> float:
        P = cpu_threads(threads)
        B, D, K = problem.W0.shape
        N = problem.X.shape[-2]
        f32 = problem.dtype.itemsize == 4
        per_model = 0 if problem.shared_X else N * D * problem.dtype.itemsize
        lanes = choose_lanes(B, P, per_model)
        blocks = -(-B // lanes)
        a, b = costs.LANES_SHARED if problem.shared_X else costs.LANES_PER_MODEL
        if not problem.shared_X:
            a += costs.LANES_PER_MODEL_MEMORY * N * D
        # Blocks run in parallel: a thread does ceil(blocks / P) of them, each of `lanes` models.
        t = -(-blocks // P) * N * K * (costs.LANES_BLOCK[0] + costs.LANES_BLOCK[1] * D + lanes * (a + b * D))
        a32, b32, width = costs.FLOAT32_LANES
        return t * (a32 + b32 * min(1.0, width / B) if f32 else 1.0) * costs.scales()["kernels"][f32]

    def start(self, problem: Problem, threads: int | None = None) -> NumbaRun:
        from ...kernels.numba import lanes as kernel

        return NumbaRun(problem, kernel, prepare(threads))
