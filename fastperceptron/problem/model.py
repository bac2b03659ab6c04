"""The validated batch every backend trains: :class:`Problem`, and the choices it is checked against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import ColumnTransform
from .groups import GroupLayout

__all__ = ["Problem", "Prior", "RULES", "DTYPES", "SOLVERS", "DEFAULT_ITERATIONS", "NEWTON_MAX_PARAMETERS", "auto_solver",
           "default_tol", "default_names"]

def default_names(prefix: str, n: int) -> list[str]:
    """The names of columns given as arrays: x1 … xD for features, y1 … yK for targets (1-based, as
    the tutorial, statsmodels and R name them)."""
    return [f"{prefix}{i + 1}" for i in range(n)]


RULES = ("seed", "logistic")
DTYPES = ("float64", "float32")
#: "gd": the tutorial's fixed-rate gradient steps; "newton" and "lbfgs": the second-order solvers of
#: SPEC §7 (fastperceptron/solvers/), for rule "logistic"; "auto" picks one of those two (auto_solver).
SOLVERS = ("gd", "newton", "lbfgs", "auto")
#: Iterations when none are asked: the tutorial's 20,000 gradient steps, or a cap on the solvers'.
DEFAULT_ITERATIONS = {"gd": 20_000, "newton": 100, "lbfgs": 100}
#: "auto" uses Newton up to this many parameters per output (D, plus one with a bias): its Hessian
#: costs N·P² per model and evaluation, L-BFGS's gradient N·P (README, "Which solver"). An ensemble
#: on one shared table gets L-BFGS beyond 16 (the pooled start makes it a few near-Newton steps:
#: 7-8 iterations on a 20,000 × 50 table); any other batch beyond 32 (from scratch, L-BFGS needs
#: 60-700 iterations on breast cancer's 30 correlated columns, Newton 9).
NEWTON_MAX_PARAMETERS = {"ensemble": 16, "alone": 32}


def auto_solver(parameters: int, ensemble: bool) -> str:
    """"newton" or "lbfgs" for solver "auto", from the parameters per output and whether the batch is
    an ensemble on one shared table (NEWTON_MAX_PARAMETERS)."""
    return "newton" if parameters <= NEWTON_MAX_PARAMETERS["ensemble" if ensemble else "alone"] else "lbfgs"


def default_tol(solver: str, dtype) -> float | None:
    """The solvers' default convergence tolerance on the mean gradient (None for "gd": no early stop).
    float32 sums carry about 1e-7 relative error, so its default is looser."""
    if solver == "gd":
        return None
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-5


@dataclass(frozen=True)
class Prior:
    """SPEC §8's pull toward a parent: neuron (b, k) adds ½·shrink[b, k]·‖θ − anchor[b, k]‖² to its
    loss, θ = (w, c) on the user's columns, the bias included (``fastperceptron.pooling`` sets it;
    the second-order solvers apply it, on every backend)."""

    anchor: np.ndarray  # (B, K, P) float64: the parent's θ of every neuron
    shrink: np.ndarray  # (B, K) float64 >= 0
    start: np.ndarray | None = None  # (B, K, P) where the solvers start (a warm start); None: the anchor

    def for_steps(self, D: int, dtype):
        """What gradient steps need (solver "gd"): (anchor weights (B, D, K), anchor bias (B, K),
        shrink (B, K), start weights (B, D, K), start bias (B, K)), of ``dtype``. The steps are
        W += η·(Xᵀ·Δ − λ·W − ρ·(W − A)) and c += η·(Σ Δ − ρ·(c − a)), from the start (the anchor
        unless given); without a bias, the bias arrays are zeros and unused."""
        B, K, P = self.anchor.shape
        split = lambda t: (np.ascontiguousarray(t[:, :, :D].transpose(0, 2, 1), dtype=dtype),  # noqa: E731
                           np.ascontiguousarray(t[:, :, D] if P > D else np.zeros((B, K)), dtype=dtype))
        aw, ac = split(np.asarray(self.anchor, dtype=np.float64))
        sw, sc = split(np.asarray(self.anchor if self.start is None else self.start, dtype=np.float64))
        return aw, ac, np.ascontiguousarray(self.shrink, dtype=dtype), sw, sc


@dataclass(frozen=True)
class Problem:
    """A validated batch of B models. Arrays are host numpy arrays of ``dtype``.

    X: (N, D) shared by all models, or (B, N, D). Y: (N, K) shared, or (B, N, K).
    sample_weight: None, (N,) shared, or (B, N). learning_rate: (B,). W0: (B, D, K). seeds: (B,).

    With ``groups`` (SPEC §6) there is one model per group: X (N, D), Y (N, K) and sample_weight
    (N,) hold the rows sorted by group (``groups.order``), model b owns sorted rows
    ``groups.offsets[b]:groups.offsets[b + 1]``, and B is the number of groups.
    """

    X: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray | None
    learning_rate: np.ndarray
    W0: np.ndarray
    seeds: np.ndarray
    rule: str
    bias: bool
    dtype: np.dtype
    iterations: int
    tol: float | None
    record_every: int | None
    init: str
    groups: GroupLayout | None = None
    solver: str = "gd"
    l2: np.ndarray | None = None  # (B,) of dtype, or None for no penalty
    #: the columns' shift and scale applied to X (``fastperceptron.problem.columns``), folded back into the
    #: trained weights; None when X is the user's own
    columns: ColumnTransform | None = None
    #: SPEC §8's penalty toward each model's parent (partial pooling), or None
    prior: Prior | None = None

    @property
    def n_parameters(self) -> int:
        """Parameters per output neuron: D weights, plus the bias."""
        return self.W0.shape[1] + int(self.bias)

    @property
    def n_models(self) -> int:
        return self.W0.shape[0]

    @property
    def shared_X(self) -> bool:
        """X (N, D) shared by every model (not split into groups)."""
        return self.X.ndim == 2 and self.groups is None

    @property
    def grouped(self) -> bool:
        return self.groups is not None

    def loss_denominator(self) -> np.ndarray:
        """Each model's total sample weight times K (N·K without weights), float64 (B,): what the
        summed squared errors are divided by (SPEC §5)."""
        B, _, K = self.W0.shape
        if self.groups is not None:
            rows = self.groups.sizes.astype(np.float64) if self.sample_weight is None else np.add.reduceat(
                self.sample_weight.astype(np.float64), self.groups.offsets[:-1])
            return rows * K
        if self.sample_weight is None:
            return np.full(B, float(self.X.shape[-2] * K))
        return np.broadcast_to(self.sample_weight.sum(axis=-1).astype(np.float64) * K, (B,))
