"""Where the second-order solvers start, and the coordinates they walk in (SPEC §7, "units do not
matter").

The optimum of SPEC §7's objective is the one on the user's own columns, whatever their units.
The path to it is the solver's business, and two choices here make it independent of the units:

**Coordinates.** Each neuron works on φ = (v, d), the parameters of its model on centred and
scaled columns, x̂_j = (x_j − μ_j) / σ_j, and maps back to the user's θ = (w, c) by the linear map

    w_j = v_j / σ_j ,   c = d − Σ_j μ_j·v_j / σ_j       (θ = T·φ)

so that L(φ) = L(T·φ) has the same optimum, mapped (the penalty stays ½·λ·‖w‖² on the user's
weights). Its gradient is Tᵀ·∇L and its Hessian Tᵀ·∇²L·T, formed from the objective's own
(no copy of X). μ_j and σ_j² are column j's weighted mean and variance over the model's rows
(without a bias, μ = 0 and σ² is the mean square: there is no intercept to absorb a shift);
σ_j² gets 4λ/Σs added, so that a column's curvature in φ, about (Σs·σ_j²/4 + λ)·/σ_j², is Σs/4
for every column, large or small, penalised or not. A constant column is scaled by its value and
not centred. Data shared by all models use one map (the mean sample weights and the mean λ), so
the pooled start below carries over; per-model data and groups have one map per model.

**Start.** Every neuron starts at φ = 0 with the bias, when there is one, at the log-odds of its
weighted targets, d = log(ȳ / (1 − ȳ)) (scikit-learn's GLMs start there too), rather than at the
random initial weights of SPEC §3, which on raw columns (a Unix time of 1.7·10⁹) put z at ±10⁹.
Explicit ``initial_weights`` are honoured as a warm start.

**One class.** With a bias, a neuron whose weighted targets are all 0 or all 1 has no finite
optimum (the bias is not penalised). It is recognised before the first iteration and not iterated:
its answer is w = 0, c = log((Σ s·y + ½) / (Σ s·(1 − y) + ½)), the log-odds of the targets with
half a sample of each class added (the Krichevsky–Trofimov estimate: finite, and nearer 0 or 1 the
more rows there are), marked unconverged with the reason "one-class".
"""

from __future__ import annotations

import copy

import numpy as np

from ..problem import Problem
from ..problem.columns import constant_columns

__all__ = ["Scaling", "target_sums", "one_class_neurons", "one_class_bias", "start_point"]


def target_sums(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(Σ s·y, Σ s·(1 − y)) of every model and output, (B, K) float64 each."""
    p = problem
    Y = np.asarray(p.Y, dtype=np.float64)
    s = None if p.sample_weight is None else np.asarray(p.sample_weight, dtype=np.float64)
    if p.grouped:
        starts = p.groups.offsets[:-1]
        w = np.ones(Y.shape[0]) if s is None else s
        pos = np.add.reduceat(w[:, None] * Y, starts)
        total = np.add.reduceat(w, starts)[:, None]
        return pos, total - pos
    B = p.n_models
    if Y.ndim == 2:                                     # shared targets (N, K)
        if s is None:
            pos, total = Y.sum(axis=0)[None], float(Y.shape[0])
        elif s.ndim == 1:
            pos, total = (s @ Y)[None], s.sum()
        else:
            pos, total = s @ Y, s.sum(axis=1)[:, None]
    else:                                               # per-model targets (B, N, K)
        w = np.ones((1, Y.shape[1])) if s is None else (s if s.ndim == 2 else s[None])
        pos, total = np.einsum("bn,bnk->bk", np.broadcast_to(w, Y.shape[:2]), Y), w.sum(axis=1)[:, None]
    pos = np.broadcast_to(pos, (B, Y.shape[-1]))
    return pos, np.broadcast_to(total, pos.shape) - pos


def one_class_neurons(problem: Problem, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """(B, K) True where the neuron has a bias and weighted targets of one class only."""
    if not problem.bias:
        return np.zeros(pos.shape, dtype=bool)
    return (pos <= 0) | (neg <= 0)


def one_class_bias(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """The finite bias given to a one-class neuron: log((Σ s·y + ½) / (Σ s·(1 − y) + ½))."""
    return np.log((pos + 0.5) / (neg + 0.5))


def _moments(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(μ, second central moment, Σs) of every column: (Bt, D), (Bt, D), (Bt,), Bt = 1 for data
    shared by all models (mean sample weights), else B. Without a bias μ = 0 and the moment is the
    mean square. Accumulated column by column in float64 (no (N, D) temporary)."""
    p = problem
    X = p.X
    center = p.bias
    s = None if p.sample_weight is None else np.asarray(p.sample_weight, dtype=np.float64)
    if p.grouped:  # one pass: sums of x' and x'² per group, x' = x less the column's overall mean
        starts = p.groups.offsets[:-1]
        w = None if s is None else s
        total = np.diff(p.groups.offsets).astype(np.float64) if w is None else np.add.reduceat(w, starts)
        mu = np.zeros((starts.shape[0], X.shape[1]))
        m2 = np.empty_like(mu)
        for j in range(X.shape[1]):
            x = X[:, j].astype(np.float64)
            shift = x.mean() if center else 0.0
            x -= shift
            wx = x if w is None else w * x
            m2[:, j] = np.add.reduceat(wx * x, starts) / total
            if center:  # (a preconditioner: the cancellation of E[x'²] − E[x']² costs nothing that matters)
                mean = np.add.reduceat(wx, starts) / total
                m2[:, j] = np.maximum(m2[:, j] - mean * mean, 0.0)
                mu[:, j] = mean + shift
        return mu, m2, total
    if p.shared_X:
        w = None if s is None else (s.mean(axis=0) if s.ndim == 2 else s)
        X64 = np.asarray(X, dtype=np.float64)
        total = np.array([float(X.shape[0]) if w is None else w.sum()])
        mu = np.zeros((1, X.shape[1]))
        if center:
            mu[0] = (X64.mean(axis=0) if w is None else w @ X64 / total[0])
        m2 = np.empty_like(mu)
        for j in range(X.shape[1]):
            x = X64[:, j] - mu[0, j]
            m2[0, j] = (x @ x if w is None else w @ (x * x)) / total[0]
        return mu, m2, total
    B, N, D = X.shape                                   # one dataset per model
    w = np.ones((B, N)) if s is None else np.broadcast_to(s if s.ndim == 2 else s[None], (B, N))
    total = w.sum(axis=1)
    X64 = np.asarray(X, dtype=np.float64)
    mu = np.einsum("bn,bnd->bd", w, X64) / total[:, None] if center else np.zeros((B, D))
    m2 = np.einsum("bn,bnd->bd", w, (X64 - mu[:, None, :]) ** 2) / total[:, None]
    return mu, m2, total


class Scaling:
    """The map θ = T·φ of the module docstring for M neurons (K per model), or one map for all.

    ``a`` (Mt, D) = 1/σ and ``b`` (Mt, D) = −μ/σ (None without a bias); Mt is 1 (one map shared
    by all neurons) or M. Methods take ``neurons``, the index array of the neurons a batch of
    rows belongs to."""

    def __init__(self, problem: Problem):
        p = problem
        B, D, K = p.W0.shape
        mu, m2, total = _moments(p)
        lam = np.zeros(B) if p.l2 is None else np.asarray(p.l2, dtype=np.float64)
        lam = np.array([lam.mean()]) if mu.shape[0] == 1 else lam
        self._set(mu, m2, total, lam, K, p.dtype, bool(p.bias))

    @classmethod
    def from_moments(cls, mu, m2, total, lam, K: int, dtype, bias: bool) -> "Scaling":
        """The map of columns whose moments are known (``fastperceptron.dask`` reduces them over the
        partitions): μ and the second central moment (Mt, D) — without a bias μ = 0 and the mean
        square — Σs (Mt,) and λ (Mt,), Mt = 1 for one map shared by all neurons."""
        out = cls.__new__(cls)
        out._set(np.asarray(mu, np.float64), np.asarray(m2, np.float64), np.asarray(total, np.float64),
                 np.asarray(lam, np.float64), K, dtype, bias)
        return out

    def _set(self, mu, m2, total, lam, K: int, dtype, bias: bool) -> None:
        var = m2 + 4.0 * lam[:, None] / np.maximum(total, np.finfo(np.float64).tiny)[:, None]
        constant = constant_columns(mu, np.sqrt(var))    # includes var == 0 (μ = 0 too: scale 1)
        scale = np.where(constant, np.where(mu != 0, np.abs(mu), 1.0), np.sqrt(np.where(constant, 1.0, var)))
        mu = np.where(constant, 0.0, mu)
        rows = lambda a: np.repeat(a, K, axis=0) if a.shape[0] > 1 else a  # noqa: E731  per neuron
        self.D = mu.shape[1]
        self.shared = mu.shape[0] == 1
        self.a = rows(1.0 / scale).astype(dtype)
        self.b = rows(-mu / scale).astype(dtype) if bias else None

    def on(self, xp) -> "Scaling":
        """This map with its arrays on ``xp`` (numpy or CuPy)."""
        out = copy.copy(self)
        out.a = xp.asarray(self.a)
        out.b = None if self.b is None else xp.asarray(self.b)
        return out

    def _ab(self, neurons):
        if self.shared or neurons.shape[0] == self.a.shape[0]:  # one map, or every neuron in order
            return self.a, self.b
        return self.a[neurons], (None if self.b is None else self.b[neurons])

    def to_theta(self, phi, neurons):
        """θ = T·φ for the neurons ``neurons`` (rows of φ)."""
        a, b = self._ab(neurons)
        theta = phi.copy()
        D = self.D
        theta[:, :D] = a * phi[:, :D]
        if b is not None:
            theta[:, D] += (b * phi[:, :D]).sum(axis=1)
        return theta

    def to_phi(self, theta, neurons):
        """φ = T⁻¹·θ."""
        a, b = self._ab(neurons)
        phi = theta.copy()
        D = self.D
        phi[:, :D] = theta[:, :D] / a
        if b is not None:
            phi[:, D] -= (b * phi[:, :D]).sum(axis=1)
        return phi

    def gradient(self, g, neurons):
        """Tᵀ·g."""
        a, b = self._ab(neurons)
        out = g.copy()
        D = self.D
        out[:, :D] = a * g[:, :D]
        if b is not None:
            out[:, :D] += b * g[:, D:D + 1]
        return out

    def gradient_size(self, g, neurons):
        """|Tᵀ|·g for g >= 0: a bound on the size of Tᵀ·g's terms."""
        a, b = self._ab(neurons)
        out = g.copy()
        D = self.D
        out[:, :D] = abs(a) * g[:, :D]
        if b is not None:
            out[:, :D] += abs(b) * g[:, D:D + 1]
        return out

    def hessian(self, H, neurons):
        """Tᵀ·H·T, in place on H (M, P, P)."""
        a, b = self._ab(neurons)
        D = self.D
        H[:, :, :D] *= a[:, None, :]          # columns: H·T
        if b is not None:
            H[:, :, :D] += b[:, None, :] * H[:, :, D:D + 1]
        H[:, :D, :] *= a[:, :, None]          # rows: Tᵀ·(H·T)
        if b is not None:
            H[:, :D, :] += b[:, :, None] * H[:, D:D + 1, :]
        return H


def start_point(problem: Problem, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """The starting φ of every neuron, (B·K, P) in the run's dtype: 0, with the bias at the log-odds
    of the neuron's weighted targets (clipped to ±30 where they are of one class)."""
    B, D, K = problem.W0.shape
    P = problem.n_parameters
    phi = np.zeros((B * K, P), dtype=problem.dtype)
    if problem.bias:
        with np.errstate(divide="ignore"):
            odds = np.log(pos) - np.log(neg)
        phi[:, D] = np.clip(odds, -30.0, 30.0).reshape(-1)
    return phi
