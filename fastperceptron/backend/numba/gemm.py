"""The numba backend's "gemm" layout: data shared by all models, with many samples and features.

The weights of all models sit side by side as one (D, M) matrix, M = B·K (column b·K + k is model
b's output k), so an iteration is two BLAS matrix products over all models at once and one fused
Numba pass between them (``kernels/numba/gemm.py``):

    Z = X·W ;  Δ = rule(Y, σ(Z + c)) ⊙ s  and  g = Σ_n Δ  (fused) ;  G = Xᵀ·Δ ;  W += η·G ; c += η·g

Z is cut into tiles (:func:`tiles`): chunks of rows × blocks of ``COLUMNS`` columns. A thread takes
whole tiles and does all three steps of a tile (BLAS on one thread, the pass without the GIL) while
the tile sits in its core's cache. Measured reasons (bench/RESULTS.md): when OpenBLAS's and Numba's
thread pools took turns on the same cores, each spun after its turn and the pass ran at half its
speed (goal A of issue 10: 30.8 ms per iteration then, 22.4 ms with tiles).

The chunks of rows are gathered into at most ``GROUPS`` consecutive runs; each run sums its chunks'
G and g in order into its own partial, and the partials are added in run order. Tiles, runs and
so every sum are fixed by the shape, never by the number of threads: a run gives the same bits on
any number of threads. Summation orders are BLAS's, so a model matches the numpy reference within
SPEC §4's tolerances rather than bit for bit. Which layout a problem gets is decided in
``fastperceptron.planner`` from the layouts' estimates (:class:`Gemm`).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import KernelCompileError
from ...machine import cpu_threads
from ...problem import Problem
from ...reference.run import GradientRun
from .. import costs
from ..layout import Layout
from .runtime import prepare

__all__ = ["Gemm", "GemmRun", "tiles", "workers", "ROWS", "COLUMNS", "GROUPS"]

#: Values of Z in a tile (2 MiB of float64). A chunk has TILE // (its columns) rows, or fewer when N
#: spreads over GROUPS chunks with fewer (so that small tables still give every thread tiles), and
#: at least MIN_ROWS. 1,024 rows × 256 columns measured best on issue 10's goal A (N = 20,000, D = 50,
#: B = 256): 256 rows 1.11 × 10⁴ model-it/s, 1,024 1.14 × 10⁴, 2,048 1.12 × 10⁴.
TILE = 1 << 18
MIN_ROWS = 256
#: Rows per chunk when set (tests); None: chosen from the shape as above.
ROWS = None
#: Columns (model outputs) per tile.
COLUMNS = 512
#: An iteration estimated under this many seconds of work runs on one thread (see :func:`workers`).
SERIAL_SECONDS = 300e-6
#: Runs of consecutive chunks, each with its own partial sums of G and g: at most GROUPS runs, and
#: their partial G's at most PARTIALS_BYTES together (wide batches then get their threads' work
#: from column blocks).
GROUPS = 16
PARTIALS_BYTES = 64 << 20


def tiles(N: int, D: int, M: int, itemsize: int = 8, rows: int | None = None) -> tuple[list, int, list]:
    """The tiles of an (N, D) table and M model outputs, from the shape alone: the row chunks
    [(r0, r1, run)], the number of runs (each keeps a (D, M) partial G: at most GROUPS of them, and
    fewer where they would pass PARTIALS_BYTES), and the column blocks [(m0, m1)]."""
    width = min(M, COLUMNS)
    R = rows or ROWS or max(MIN_ROWS, min(TILE // width, -(-N // (GROUPS * 64)) * 64))
    starts = list(range(0, N, R))
    n_runs = max(1, min(len(starts), GROUPS, PARTIALS_BYTES // max(1, D * M * itemsize)))
    chunks = [(r0, min(N, r0 + R), i * n_runs // len(starts)) for i, r0 in enumerate(starts)]
    columns = [(m0, min(M, m0 + COLUMNS)) for m0 in range(0, M, COLUMNS)]
    return chunks, n_runs, columns


def workers(N: int, D: int, M: int, threads: int, items: int) -> int:
    """Threads worth waking for one iteration: one when the iteration's work (estimated) is under
    SERIAL_SECONDS, as handing tiles to another thread costs about 0.13 ms here (measured: N = 1,000,
    D = 8, B·K = 10 took 0.11 ms per iteration on one thread, 0.24 ms on two). Never changes a sum."""
    seconds = N * M * (4.0 * D / costs.GEMM_FLOPS + costs.GEMM_ELEMENT)
    return 1 if seconds < SERIAL_SECONDS else max(1, min(threads, items))


class GemmRun(GradientRun):
    """A batch with shared X in the "gemm" layout; the :class:`~fastperceptron.reference.run.Run` interface."""

    def __init__(self, problem: Problem, threads: int, rows: int | None = None):
        from ...kernels.numba import expmath
        from ...kernels.numba import gemm as kernel

        p = problem
        if not p.shared_X:
            raise ValueError("the gemm layout needs X shared by all models, (N, D)")
        dt = p.dtype
        B, D, K = p.W0.shape
        N = p.X.shape[0]
        M = B * K
        self.kernel, self.threads, self.n_models, self.shape = kernel, threads, B, (B, D, K)
        self.chunks, n_runs, self.columns = tiles(N, D, M, dt.itemsize, rows)
        self.X = np.ascontiguousarray(p.X)
        self.XT = np.ascontiguousarray(p.X.T)
        # Targets: (N, K) shared, or (N, M) one column per model and output.
        self.Y = np.ascontiguousarray(p.Y if p.Y.ndim == 2 else p.Y.transpose(1, 0, 2).reshape(N, M))
        s = p.sample_weight
        if s is None:
            self.S = np.empty((N, 0), dtype=dt)
        else:
            self.S = np.ascontiguousarray(s[:, None] if s.ndim == 1 else s.T)
        self.W = np.ascontiguousarray(p.W0.transpose(1, 0, 2).reshape(D, M))
        self.c = np.zeros(M, dtype=dt)
        self.use_bias = p.bias
        self.lr = np.repeat(p.learning_rate, K).astype(dt)  # per column
        self.l2 = None if p.l2 is None else np.repeat(p.l2, K).astype(dt)
        self.tol = p.tol
        self.active = np.ones(B, dtype=bool) if p.tol is not None else None
        self.iterations = np.zeros(B, dtype=np.int64)
        self.mode = 0 if p.rule == "seed" else 1  # the fused pass's mode for Δ (2: the loss)
        self.consts = expmath.constants(dt)
        self.denominator = p.loss_denominator()
        R = max(r1 - r0 for r0, r1, _ in self.chunks)
        self._Gp = np.empty((n_runs, D, M), dtype=dt)  # partial sums of G and g, one per run
        self._gp = np.empty((n_runs, M), dtype=dt)
        # (run, column block) items, dealt to the threads largest first, each to the least loaded one
        # (which thread does an item never changes a sum); each thread keeps its scratch.
        rows = [sum(r1 - r0 for r0, r1, run in self.chunks if run == k) for k in range(n_runs)]
        items = sorted(((rows[k] * (m1 - m0), k, m0, m1) for k in range(n_runs) for m0, m1 in self.columns),
                       reverse=True)
        self.workers = workers(N, D, M, threads, len(items))
        self._items, load = [[] for _ in range(self.workers)], [0] * self.workers
        for cost, k, m0, m1 in items:
            w = load.index(min(load))
            self._items[w].append((k, m0, m1))
            load[w] += cost
        width = max(m1 - m0 for m0, m1 in self.columns)
        self._scratch = [(np.empty(R * width, dtype=dt), np.empty(D * width, dtype=dt)) for _ in range(self.workers)]
        self._pool = ThreadPoolExecutor(self.workers, "fastperceptron-gemm") if self.workers > 1 else None
        self._compile()  # (or load from the cache) now, where a failure can fall back

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=False)

    @contextlib.contextmanager
    def _threads(self):
        """BLAS on one thread for a block of calls (each of our threads runs its own products); a
        compile failure becomes a KernelCompileError."""
        import numba
        from threadpoolctl import threadpool_limits

        try:
            with threadpool_limits(limits=1, user_api="blas"):
                yield
        except (numba.core.errors.NumbaError, numba.core.errors.LoweringError) as exc:  # pragma: no cover
            raise KernelCompileError(f"the Numba kernel failed to compile: {exc}".splitlines()[0]) from exc

    def _compile(self) -> None:
        """Run the pass once on one row of scratch: compiles it (or loads the cache)."""
        M = self.W.shape[1]
        Z = np.zeros((1, M), dtype=self.W.dtype)
        with self._threads():
            for mode in (self.mode, 2):
                self.kernel.tile(Z, self.Y[:1], self.S[:1], self.c, np.zeros_like(self.c), self.consts,
                                 self.shape[2], 0, mode)

    def _work(self, w: int, mode: int) -> None:
        """Thread w's tiles: for each of its (run, column block) items, the run's chunks in order:
        Z = X·W, the fused pass (into the run's g), and unless mode is 2 (the loss), G = Xᵀ·Δ summed
        into the run's G. (``np.dot`` rather than ``np.matmul``: matmul of some thin shapes, Xᵀ·Δ with
        few columns among them, holds the GIL and ran the threads one after the other, measured.)"""
        zbuf, gbuf = self._scratch[w]
        D = self.W.shape[0]
        K = self.shape[2]
        for k, m0, m1 in self._items[w]:
            width = m1 - m0
            G = self._Gp[k, :, m0:m1]
            Gc = gbuf[: D * width].reshape(D, width)
            first = True
            for r0, r1, run in self.chunks:
                if run != k:
                    continue
                Z = zbuf[: (r1 - r0) * width].reshape(r1 - r0, width)
                np.dot(self.X[r0:r1], self.W[:, m0:m1], out=Z)
                self.kernel.tile(Z, self.Y[r0:r1], self.S[r0:r1], self.c, self._gp[k], self.consts, K, m0, mode)
                if mode == 2:
                    continue
                np.dot(self.XT[:, r0:r1], Z, out=Gc)
                if first:
                    G[...] = Gc
                    first = False
                else:
                    G += Gc

    def _sweep(self, mode: int) -> None:
        """Every tile once (see :meth:`_work`), on the threads."""
        self._gp[:] = 0
        if self._pool is None:
            self._work(0, mode)
        else:
            futures = [self._pool.submit(self._work, w, mode) for w in range(1, self.workers)]
            self._work(0, mode)
            for f in futures:
                f.result()

    def advance(self, n: int) -> None:
        with self._threads():
            for _ in range(n):
                self._sweep(self.mode)
                self._update(self._Gp.sum(axis=0), self._gp.sum(axis=0))

    def _update(self, G, g) -> None:
        """W += η·(G − λ·W) and c += η·g; with tol, only for running models, then stop the converged ones
        (the same semantics as the reference loop)."""
        B, D, K = self.shape
        if self.l2 is not None:
            G -= self.l2 * self.W
        G *= self.lr
        if self.use_bias:
            g *= self.lr
        if self.active is not None:
            largest = np.abs(G).reshape(D, B, K).max(axis=(0, 2))
            if self.use_bias:
                largest = np.maximum(largest, np.abs(g).reshape(B, K).max(axis=1))
            mask = np.repeat(self.active, K).astype(G.dtype)
            G *= mask
            g *= mask
            self.iterations += self.active
            self.active = self.active & (largest >= self.tol)
        else:
            self.iterations += 1
        self.W += G
        if self.use_bias:
            self.c += g

    def n_active(self) -> int:
        return self.n_models if self.active is None else int(self.active.sum())

    def loss(self) -> np.ndarray:
        B, D, K = self.shape
        with self._threads():
            self._sweep(2)
        return self._gp.sum(axis=0).reshape(B, K).sum(axis=1) / self.denominator

    def weights(self) -> np.ndarray:
        B, D, K = self.shape
        return np.ascontiguousarray(self.W.reshape(D, B, K).transpose(1, 0, 2))

    def bias(self) -> np.ndarray | None:
        B, D, K = self.shape
        return self.c.reshape(B, K).copy() if self.use_bias else None

    def iteration_counts(self) -> np.ndarray:
        return self.iterations.copy()


class Gemm(Layout):
    """Two BLAS products over all models per iteration, Z = X·W and G = Xᵀ·Δ, with σ, Δ and the bias
    sums fused into one Numba pass between them (shared X only): a mid-size or large table shared by
    the batch, multi-output targets."""

    backend, name, data = "numba", "gemm", "shared"

    def estimate(self, problem: Problem, threads: int | None = None) -> float:
        B, D, K = problem.W0.shape
        N, M = problem.X.shape[-2], B * K
        f32 = problem.dtype.itemsize == 4
        chunks, runs, blocks = tiles(N, D, M, problem.dtype.itemsize)
        W = workers(N, D, M, cpu_threads(threads), runs * len(blocks))
        # Each thread's products are as thin as the problem (its tiles span all D) and run on one
        # thread: few features cost more than with numpy's multi-threaded BLAS.
        flops = 4.0 * N * D * M / (costs.GEMM_FLOPS * costs.gemm_efficiency(N, D, M, d_power=0.75))
        t = (flops + N * M * costs.GEMM_ELEMENT * costs.scales()["gemm"][f32]) / W
        return costs.GEMM_FIXED + (costs.GEMM_HANDOFF if W > 1 else 0.0) + t * (costs.FLOAT32["gemm"] if f32 else 1.0)

    def start(self, problem: Problem, threads: int | None = None) -> GemmRun:
        return GemmRun(problem, prepare(threads))
