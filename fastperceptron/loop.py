"""The vectorized training loop: the reference implementation of the numerical contract.

Written once against an array namespace ``xp`` (numpy here; CuPy runs it unchanged), plain enough
to check against the maths by eye. One iteration, for all B models at once (README, "The maths"):

    Z = X_b·W_b + c_b ;  O = σ(Z) = 1 / (1 + exp(-Z))
    Δ = (Y_b - O) ⊙ (O ⊙ (1 - O))   rule "seed"      Δ = Y_b - O   rule "logistic"
    Δ = Δ ⊙ s_b                     (sample weights)
    W_b += η_b · X_bᵀ·Δ ;  c_b += η_b · Σ_n Δ_n

Two layouts, chosen by the data, so that the heavy products are one BLAS call each:

* shared X (N, D): the weights of all models sit side by side as a (D, B·K) matrix, so the forward
  pass is one (N, D) @ (D, B·K) product and the gradient one (D, N) @ (N, B·K) product.
* per-model X (B, N, D): batched products, Z = X @ W and Gᵀ = Δᵀ @ X (which reads X in its own
  memory order, with no transposed copy).

σ(z) = 1 / (1 + exp(-z)) is the tutorial's formula, bit for bit. For z < -709, exp(-z) overflows to
inf and 1 / (1 + inf) = 0, the correctly rounded result; the overflow warning is silenced. No NaN
arises for any finite z.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem

__all__ = ["sigmoid", "VectorizedRun"]


def sigmoid(z, xp=np):
    """The logistic function, evaluated stably: no warning and no NaN for any finite input."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-z))


def _to_host(a) -> np.ndarray:
    get = getattr(a, "get", None)  # CuPy arrays copy to the host with .get()
    return get() if get is not None else np.asarray(a)


class VectorizedRun:
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
            self.sample_axis = 1
        self.s = None if s is None else arr(s)
        # Loss denominators: total sample weight times K, per model.
        if p.sample_weight is None:
            denom = np.full(B, float(N * K))
        else:
            denom = np.broadcast_to(p.sample_weight.sum(axis=-1).astype(np.float64) * K, (B,))
        self.loss_denominator = arr(denom)
        self.c = xp.zeros((B, K), dtype=dt) if p.bias else None
        self.lr_c = arr(p.learning_rate[:, None])               # (B, 1)
        self.iterations = xp.zeros(B, dtype=xp.int64)
        self.active = xp.ones(B, dtype=bool) if p.tol is not None else None
        self.shape = (B, D, K)

    # --- the two layouts ---------------------------------------------------------------------
    def _outputs(self):
        """O = σ(X·W + c) in the layout's per-sample shape."""
        B, D, K = self.shape
        if self.shared:
            N = self.X.shape[0]
            Z = (self.X @ self.W.reshape(D, B * K)).reshape(N, B, K)
            if self.c is not None:
                Z += self.c[None]
        else:
            Z = self.X @ self.W
            if self.c is not None:
                Z += self.c[:, None, :]
        return sigmoid(Z, self.xp)

    def _gradients(self, delta):
        """Xᵀ·Δ in W's layout, and Σ_n Δ_n as (B, K)."""
        B, D, K = self.shape
        if self.shared:
            N = self.X.shape[0]
            G = (self.XT @ delta.reshape(N, B * K)).reshape(D, B, K)
        else:
            G = (delta.transpose(0, 2, 1) @ self.X).transpose(0, 2, 1)
        return G, delta.sum(axis=self.sample_axis)

    # --- training -----------------------------------------------------------------------------
    def advance(self, n: int) -> None:
        """Run ``n`` iterations. Models that have met ``tol`` keep their weights unchanged."""
        xp = self.xp
        Y, s = self.Y, self.s
        w_axes = (0, 2) if self.shared else (1, 2)
        for _ in range(n):
            O = self._outputs()
            if self.rule == "seed":
                delta = (Y - O) * (O * (1.0 - O))
            else:
                delta = Y - O
            if s is not None:
                delta *= s
            G, g = self._gradients(delta)
            U = self.lr_W * G
            u = self.lr_c * g if self.c is not None else None
            if self.active is None:
                self.W += U
                if u is not None:
                    self.c += u
                continue
            # Early stopping: apply this iteration to the models still running, count it, and
            # stop each model whose largest |update| fell below tol.
            active = self.active
            largest = xp.abs(U).max(axis=w_axes)
            if u is not None:
                largest = xp.maximum(largest, xp.abs(u).max(axis=1))
            a_W = active[None, :, None] if self.shared else active[:, None, None]
            self.W = xp.where(a_W, self.W + U, self.W)
            if u is not None:
                self.c = xp.where(active[:, None], self.c + u, self.c)
            self.iterations += active
            self.active = active & (largest >= self.tol)
        if self.active is None:
            self.iterations += n

    def n_active(self) -> int:
        """How many models are still training (all of them when there is no tol)."""
        return self.shape[0] if self.active is None else int(self.active.sum())

    def loss(self):
        """Weighted mean squared error of every model with its current weights, shape (B,)."""
        E = (self.Y - self._outputs()) ** 2
        if self.s is not None:
            E = E * self.s
        return E.sum(axis=(self.sample_axis, 2)) / self.loss_denominator

    # --- results on the host ------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        W = _to_host(self.W)
        return np.ascontiguousarray(W.transpose(1, 0, 2) if self.shared else W)

    def bias(self) -> np.ndarray | None:
        return None if self.c is None else _to_host(self.c)

    def iteration_counts(self) -> np.ndarray:
        return _to_host(self.iterations)
