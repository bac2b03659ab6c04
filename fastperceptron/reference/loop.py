"""The vectorized training loop: the reference implementation of the numerical contract.

Written once against an array namespace ``xp`` (numpy here; CuPy runs it unchanged), plain enough
to check against the maths by eye. One iteration, for all B models at once (README, "The maths"):

    Z = X_b·W_b + c_b ;  O = σ(Z) = 1 / (1 + exp(-Z))
    Δ = (Y_b - O) ⊙ (O ⊙ (1 - O))   rule "seed"      Δ = Y_b - O   rule "logistic"
    Δ = Δ ⊙ s_b                     (sample weights)
    W_b += η_b · (X_bᵀ·Δ − λ_b·W_b) ;  c_b += η_b · Σ_n Δ_n     (λ_b: ``l2``, SPEC §7)

Two layouts, chosen by the data, so that the heavy products are one BLAS call each:

* shared X (N, D): the weights of all models sit side by side as a (D, B·K) matrix, so the forward
  pass is one (N, D) @ (D, B·K) product and the gradient one (D, N) @ (N, B·K) product.
* per-model X (B, N, D): batched products, Z = X @ W and Gᵀ = Δᵀ @ X (which reads X in its own
  memory order, with no transposed copy).

The loop allocates nothing: every temporary lives in a buffer made once per chunk, and each
operation writes into one (``out=``), in the order of the formulas above, so the bits are those
of the plain expressions (about 2.5 times faster than allocating a new array per operation).

σ(z) = 1 / (1 + exp(-z)) is the tutorial's formula, bit for bit (:func:`fastperceptron.maths.sigmoid`).
"""

from __future__ import annotations

import numpy as np

from ..maths import sigmoid, sigmoid_inplace, to_host
from ..problem import Problem
from .run import GradientRun

__all__ = ["sigmoid", "sigmoid_inplace", "VectorizedRun"]


class VectorizedRun(GradientRun):
    """A batch being trained on the array namespace ``xp``; ``advance(n)`` runs n iterations.

    Internal layout (see the module docstring): shared X keeps W as (D, B, K) and per-sample
    arrays as (N, B, K); per-model X keeps W as (B, D, K) and per-sample arrays as (B, N, K).
    """

    def __init__(self, problem: Problem, xp=np):
        self.xp = xp
        p = problem
        dt = p.dtype
        B, D, K = p.W0.shape
        self.rule = p.rule
        self.tol = p.tol
        self.shared = p.shared_X
        arr = lambda a: xp.asarray(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
        if self.shared:
            N = p.X.shape[0]
            self.X = arr(p.X)                                   # (N, D)
            self.XT = arr(p.X.T)                                # (D, N)
            self.Y = arr(p.Y.transpose(1, 0, 2) if p.Y.ndim == 3 else p.Y[:, None, :])  # (N, B|1, K)
            s = p.sample_weight
            if s is not None:
                s = s.T[:, :, None] if s.ndim == 2 else s[:, None, None]            # (N, B|1, 1)
            self.W = arr(p.W0.transpose(1, 0, 2))               # (D, B, K)
            self.lr_W = arr(p.learning_rate[None, :, None])     # (1, B, 1)
            self.l2_W = None if p.l2 is None else arr(p.l2[None, :, None])
            self.sample_axis = 0
        else:
            N = p.X.shape[1]
            self.X = arr(p.X)                                   # (B, N, D)
            self.Y = arr(p.Y if p.Y.ndim == 3 else p.Y[None])   # (B|1, N, K)
            s = p.sample_weight
            if s is not None:
                s = s[:, :, None] if s.ndim == 2 else s[None, :, None]              # (B|1, N, 1)
            self.W = arr(p.W0)                                  # (B, D, K)
            self.lr_W = arr(p.learning_rate[:, None, None])     # (B, 1, 1)
            self.l2_W = None if p.l2 is None else arr(p.l2[:, None, None])
            self.sample_axis = 1
        self.s = None if s is None else arr(s)
        self.loss_denominator = arr(p.loss_denominator())  # Σ s · K per model
        self.c = xp.zeros((B, K), dtype=dt) if p.bias else None
        self.lr_c = arr(p.learning_rate[:, None])               # (B, 1)
        self.iterations = xp.zeros(B, dtype=xp.int64)
        self.active = xp.ones(B, dtype=bool) if p.tol is not None else None
        self.shape = (B, D, K)
        self.sample_shape = (N, B, K) if self.shared else (B, N, K)  # of Z, O and Δ

    # --- the two layouts ---------------------------------------------------------------------
    def _forward(self, out):
        """out = σ(X·W + c), in the layout's per-sample shape, computed in place."""
        xp = self.xp
        B, D, K = self.shape
        if self.shared:
            N = self.X.shape[0]
            xp.matmul(self.X, self.W.reshape(D, B * K), out=out.reshape(N, B * K))
            if self.c is not None:
                out += self.c[None]
        else:
            xp.matmul(self.X, self.W, out=out)
            if self.c is not None:
                out += self.c[:, None, :]
        # σ(z) = 1 / (1 + exp(-z)), the same operations as the tutorial's, on the buffer.
        xp.negative(out, out=out)
        with np.errstate(over="ignore"):
            xp.exp(out, out=out)
        out += 1.0
        xp.reciprocal(out, out=out)
        return out

    def _gradient(self, delta, out_T):
        """Xᵀ·Δ in W's layout (written into the buffer ``out_T``; returns a view of it)."""
        xp = self.xp
        B, D, K = self.shape
        if self.shared:
            N = self.X.shape[0]
            xp.matmul(self.XT, delta.reshape(N, B * K), out=out_T.reshape(D, B * K))
            return out_T
        xp.matmul(delta.transpose(0, 2, 1), self.X, out=out_T)  # Gᵀ = Δᵀ·X, shape (B, K, D)
        return out_T.transpose(0, 2, 1)

    # --- training -----------------------------------------------------------------------------
    def advance(self, n: int) -> None:
        """Run ``n`` iterations. Models that have met ``tol`` keep their weights unchanged.

        Every temporary lives in a buffer allocated once per call, and each operation writes into
        one (``out=``): the same arithmetic as the plain expressions of the module docstring, in
        the same order and so with the same bits, without allocating memory in the loop.
        """
        xp = self.xp
        Y, s = self.Y, self.s
        B, D, K = self.shape
        O = xp.empty(self.sample_shape, dtype=self.W.dtype)
        delta = xp.empty_like(O)
        tmp = xp.empty_like(O) if self.rule == "seed" else None
        G_buffer = xp.empty((D, B, K) if self.shared else (B, K, D), dtype=self.W.dtype)
        g = xp.empty((B, K), dtype=self.W.dtype) if self.c is not None else None
        decay = xp.empty_like(self.W) if self.l2_W is not None else None
        w_axes = (0, 2) if self.shared else (1, 2)
        for _ in range(n):
            self._forward(O)
            xp.subtract(Y, O, out=delta)                # Δ = Y − O
            if tmp is not None:                         # rule "seed": Δ = (Y − O) ⊙ (O ⊙ (1 − O))
                xp.subtract(1.0, O, out=tmp)
                tmp *= O
                delta *= tmp
            if s is not None:
                delta *= s
            G = self._gradient(delta, G_buffer)
            if decay is not None:                       # X_bᵀ·Δ − λ_b·W_b
                xp.multiply(self.W, self.l2_W, out=decay)
                G -= decay
            G *= self.lr_W                              # η_b · (X_bᵀ·Δ − λ_b·W_b)
            if g is not None:
                delta.sum(axis=self.sample_axis, out=g)
                g *= self.lr_c                          # η_b · Σ_n Δ_n
            if self.active is not None:
                # Early stopping: apply this iteration to the models still running, count it,
                # and stop each model whose largest |update| fell below tol. A stopped model's
                # update stays finite (its weights no longer change), so zeroing it is exact.
                active = self.active
                largest = xp.abs(G).max(axis=w_axes)
                if g is not None:
                    largest = xp.maximum(largest, xp.abs(g).max(axis=1))
                mask = active.astype(G.dtype)
                G *= mask[None, :, None] if self.shared else mask[:, None, None]
                if g is not None:
                    g *= mask[:, None]
                self.iterations += active
                self.active = active & (largest >= self.tol)
            self.W += G
            if g is not None:
                self.c += g
        if self.active is None:
            self.iterations += n

    def n_active(self) -> int:
        """How many models are still training (all of them when there is no tol)."""
        return self.shape[0] if self.active is None else int(self.active.sum())

    def loss(self) -> np.ndarray:
        """Weighted mean squared error of every model with its current weights, shape (B,), on the host."""
        E = (self.Y - self._forward(self.xp.empty(self.sample_shape, dtype=self.W.dtype))) ** 2
        if self.s is not None:
            E = E * self.s
        return to_host(E.sum(axis=(self.sample_axis, 2)) / self.loss_denominator)

    # --- results on the host ------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        W = to_host(self.W)
        return np.ascontiguousarray(W.transpose(1, 0, 2) if self.shared else W)

    def bias(self) -> np.ndarray | None:
        return None if self.c is None else to_host(self.c)

    def iteration_counts(self) -> np.ndarray:
        return to_host(self.iterations)
