"""The numba backend's "gemm" layout: data shared by all models, with many samples and features.

The weights of all models sit side by side as one (D, M) matrix, M = B·K (column b·K + k is model
b's output k), so an iteration is two BLAS matrix products over all models at once and one fused
Numba pass between them (``fastperceptron.kernels.numba_gemm``):

    Z = X·W ;  Δ = rule(Y, σ(Z + c)) ⊙ s  and  g = Σ_n Δ  (fused) ;  G = Xᵀ·Δ ;  W += η·G ; c += η·g

The samples are taken ``rows`` at a time (Z of one chunk stays in the cache between the two
products), and G sums the chunks' products in chunk order. Summation orders are BLAS's, so a model
matches the numpy reference within SPEC §4's tolerances rather than bit for bit; repeated runs give
the same bits. Which layout a problem gets is decided in ``fastperceptron.planner``.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .errors import KernelCompileError
from .problem import Problem

__all__ = ["GemmRun", "ROWS"]

#: Samples per chunk: Z of a chunk (ROWS × M values) is reused by the second product while in cache.
ROWS = 4096


class GemmRun:
    """A batch with shared X in the "gemm" layout; the interface of :class:`loop.VectorizedRun`."""

    def __init__(self, problem: Problem, threads: int, rows: int | None = None):
        from .kernels import numba_gemm, numba_kernel

        p = problem
        if not p.shared_X:
            raise ValueError("the gemm layout needs X shared by all models, (N, D)")
        dt = p.dtype
        B, D, K = p.W0.shape
        N = p.X.shape[0]
        M = B * K
        self.kernel, self.threads, self.n_models, self.shape = numba_gemm, threads, B, (B, D, K)
        self.rows = max(1, min(rows or ROWS, N))
        self.X = np.ascontiguousarray(p.X)
        self.XT = np.ascontiguousarray(p.X.T)
        # Targets: (N, K) shared, or (N, M) one column per model and output.
        self.Y = p.Y if p.Y.ndim == 2 else np.ascontiguousarray(p.Y.transpose(1, 0, 2).reshape(N, M))
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
        self.consts = numba_kernel.constants(dt)
        self.denominator = p.loss_denominator()
        self._partial = None  # scratch of the fused pass: per-tile sums
        self._compile()  # (or load from the cache) now, where a failure can fall back

    def _chunks(self):
        N, R = self.X.shape[0], self.rows
        return [(r, min(N, r + R)) for r in range(0, N, R)]

    @contextlib.contextmanager
    def _threads(self):
        """Numba's and BLAS's threads set to ``threads`` for a block of calls; a compile failure
        becomes a KernelCompileError."""
        import numba
        from threadpoolctl import threadpool_limits

        previous = numba.get_num_threads()
        numba.set_num_threads(self.threads)
        try:
            with threadpool_limits(limits=self.threads, user_api="blas"):
                yield
        except (numba.core.errors.NumbaError, numba.core.errors.LoweringError) as exc:  # pragma: no cover
            raise KernelCompileError(f"the Numba kernel failed to compile: {exc}".splitlines()[0]) from exc
        finally:
            numba.set_num_threads(previous)

    def _compile(self) -> None:
        """Run both kernels once on one row of scratch copies: compiles them (or loads the cache)."""
        M = self.W.shape[1]
        Z = np.zeros((1, M), dtype=self.W.dtype)
        with self._threads():
            for mode in (self.mode, 2):
                self._columns(Z, 0, 1, np.zeros_like(self.c), mode)

    def _columns(self, Z, r0, r1, out, mode) -> None:
        """The fused pass (``kernels.numba_gemm.columns``) over the rows r0..r1, whose X·W is in Z."""
        tiles = -(-(r1 - r0) // self.kernel.ROWS)
        if self._partial is None or self._partial.shape[0] < tiles:
            self._partial = np.empty((tiles, Z.shape[1]), dtype=Z.dtype)
        self.kernel.columns(Z, self.Y[r0:r1], self.S[r0:r1], self.c, out, self._partial, self.consts, self.shape[2],
                            mode)

    def advance(self, n: int) -> None:
        B, D, K = self.shape
        M = B * K
        dt = self.W.dtype
        chunks = self._chunks()
        R = self.rows
        Z = np.empty((R, M), dtype=dt)
        G = np.empty((D, M), dtype=dt)
        Gc = np.empty((D, M), dtype=dt) if len(chunks) > 1 else None
        g = np.empty(M, dtype=dt)
        with self._threads():
            for _ in range(n):
                g[:] = 0
                for i, (r0, r1) in enumerate(chunks):
                    Zc = Z[: r1 - r0]
                    np.matmul(self.X[r0:r1], self.W, out=Zc)
                    self._columns(Zc, r0, r1, g, self.mode)
                    if i == 0:
                        np.matmul(self.XT[:, r0:r1], Zc, out=G)
                    else:
                        np.matmul(self.XT[:, r0:r1], Zc, out=Gc)
                        G += Gc
                self._update(G, g)

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
        M = B * K
        out = np.zeros(M, dtype=self.W.dtype)
        Z = np.empty((self.rows, M), dtype=self.W.dtype)
        with self._threads():
            for r0, r1 in self._chunks():
                Zc = Z[: r1 - r0]
                np.matmul(self.X[r0:r1], self.W, out=Zc)
                self._columns(Zc, r0, r1, out, 2)
        return out.reshape(B, K).sum(axis=1) / self.denominator

    def weights(self) -> np.ndarray:
        B, D, K = self.shape
        return np.ascontiguousarray(self.W.reshape(D, B, K).transpose(1, 0, 2))

    def bias(self) -> np.ndarray | None:
        B, D, K = self.shape
        return self.c.reshape(B, K).copy() if self.use_bias else None

    def iteration_counts(self) -> np.ndarray:
        return self.iterations.copy()
