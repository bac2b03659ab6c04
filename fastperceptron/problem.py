"""The data model: every argument of :func:`fastperceptron.train`, checked and put in one shape.

``make_problem`` turns what a user passes (lists, arrays of any numeric dtype, scalars) into a
:class:`Problem` of host numpy arrays of the run's dtype, or raises a ValueError/TypeError that
names the argument, the problem and the fix. Backends only ever see a valid ``Problem``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import init as _init
from . import memory
from .columns import ColumnTransform, solver_shift
from .steps import stable_step
from .checks import (check_finite, check_shape, count_models, model_axis_carriers, nonneg_int, real_array,
                     targets_per_model)
from .groups import GroupLayout, group_layout

__all__ = ["Problem", "make_problem", "model_axis_carriers", "count_models", "targets_per_model", "RULES", "DTYPES",
           "SOLVERS", "default_tol"]

RULES = ("seed", "logistic")
DTYPES = ("float64", "float32")
#: "gd": the tutorial's fixed-rate gradient steps; "newton" and "lbfgs": the second-order solvers of
#: SPEC §7 (fastperceptron/solvers.py), for rule "logistic"; "auto" picks one of those two by D.
SOLVERS = ("gd", "newton", "lbfgs", "auto")
#: Iterations when none are asked: the tutorial's 20,000 gradient steps, or a cap on the solvers'.
DEFAULT_ITERATIONS = {"gd": 20_000, "newton": 100, "lbfgs": 100}
#: "auto" uses Newton up to this many parameters per output (D, plus one with a bias): its Hessian
#: costs N·P² per model and evaluation, L-BFGS's gradient N·P (README, "Which solver").
NEWTON_MAX_PARAMETERS = 16


def default_tol(solver: str, dtype) -> float | None:
    """The solvers' default convergence tolerance on the mean gradient (None for "gd": no early stop).
    float32 sums carry about 1e-7 relative error, so its default is looser."""
    if solver == "gd":
        return None
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-5


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
    #: the columns' shift and scale applied to X (``fastperceptron.columns``), folded back into the
    #: trained weights; None when X is the user's own
    columns: ColumnTransform | None = None

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


def make_problem(
    X,
    y,
    *,
    seeds=None,
    models=None,
    iterations=None,
    learning_rate=None,
    rule=None,
    bias=False,
    sample_weight=None,
    init="uniform",
    initial_weights=None,
    dtype="float64",
    tol=None,
    record_every=None,
    groups=None,
    solver="gd",
    l2=0.0,
    columns=None,
) -> Problem:
    """Check every argument of ``train`` and return the batch as a :class:`Problem`.

    ``columns``: None, or a function (X, sample_weight, bias) -> :class:`ColumnTransform` of the
    columns to train on (``fastperceptron.columns.standardization``); without it the second-order
    solvers may still shift columns far from 0 (``fastperceptron.columns.solver_shift``)."""
    # --- scalars and choices -------------------------------------------------------------------
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if rule is not None and rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if solver != "gd":
        if rule is None:
            rule = "logistic"
        elif rule != "logistic":
            raise ValueError(
                f"solver={solver!r} minimises the cross-entropy, whose gradient is rule 'logistic'; got "
                f"rule={rule!r}: pass rule='logistic' (or leave it out), or use solver='gd' for rule {rule!r}")
        if learning_rate is not None:
            raise ValueError(
                f"learning_rate is the step of solver='gd'; solver={solver!r} chooses its own steps by a "
                "line search: leave learning_rate out")
    if rule is None:
        rule = "seed"
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if learning_rate is None:
        learning_rate = 1.0
    auto_rate = isinstance(learning_rate, str)
    if auto_rate:
        if learning_rate != "auto":
            raise ValueError(f"learning_rate must be a number, one per model, or 'auto' (the stable step 1/L of each "
                             f"model's data), got {learning_rate!r}")
        learning_rate = 1.0  # replaced once the data are in place (_assemble)
    if init not in _init.METHODS:
        raise ValueError(f"init must be one of {_init.METHODS}, got {init!r}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    if iterations is not None:
        iterations = nonneg_int("iterations", iterations)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol <= 0:
            raise ValueError(f"tol must be a positive finite number or None, got {tol!r}")
        tol = float(tol)
    if record_every is not None:
        record_every = nonneg_int("record_every", record_every, minimum=1)

    # --- data ------------------------------------------------------------------------------------
    X = real_array("X", X)
    if X.ndim == 1:
        raise ValueError(
            f"X must be 2-D (N, D) or 3-D (B, N, D), got a 1-D array of shape {X.shape}; "
            "use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    check_shape("X", X, (2, 3), "2-D (N, D), shared by all models, or 3-D (B, N, D), one dataset per model")
    check_finite("X", X, "remove or impute those values first")
    n, d = X.shape[-2:]
    layout = None
    if groups is not None:
        if X.ndim != 2:
            raise ValueError(f"with groups, X must be 2-D (N, D): the rows of every group; got shape {X.shape}")
        layout = group_layout(groups, n)

    Y = real_array("y", y)
    check_shape("y", Y, (1, 2, 3), "(N,), (N, K), (B, N) or (B, N, K)")
    if Y.ndim == 1:
        Y = Y[:, None]
    elif Y.ndim == 2 and targets_per_model(Y.shape, n):
        Y = Y[:, :, None]  # (B, N): one target vector per model
    if Y.shape[-2] != n:
        raise ValueError(
            f"y has shape {Y.shape} but X has N = {n} samples; y must be (N,), (N, K), (B, N) or (B, N, K)"
            " (a 2-D y whose first axis has length N is read as (N, K))"
        )
    if layout is not None and Y.ndim == 3:
        raise ValueError(f"with groups, y must be (N,) or (N, K), one target row per row of X; got shape {Y.shape}")
    check_finite("y", Y, "targets must be numbers in [0, 1]")
    if Y.min() < 0 or Y.max() > 1:
        bad = tuple(int(i) for i in np.argwhere((Y < 0) | (Y > 1))[0])
        raise ValueError(
            f"y must lie in [0, 1] (targets are probabilities; use 0/1 for class labels); "
            f"found {float(Y[bad])!r} at index {bad} of the (B, N, K) or (N, K) targets"
        )
    k = Y.shape[-1]

    sw = None
    if sample_weight is not None:
        sw = real_array("sample_weight", sample_weight)
        check_shape("sample_weight", sw, (1,) if layout is not None else (1, 2),
                     "(N,), one weight per row" if layout is not None else "(N,) shared by all models or (B, N)")
        if sw.shape[-1] != n:
            raise ValueError(f"sample_weight has shape {sw.shape} but X has N = {n} samples")
        check_finite("sample_weight", sw, "sample weights must be finite numbers >= 0")
        if sw.min() < 0:
            raise ValueError("sample_weight must be >= 0 (0/1 masks, counts, or other non-negative weights)")

    lr = real_array("learning_rate", learning_rate)
    if lr.ndim > 1:
        raise ValueError(f"learning_rate must be a scalar or 1-D (B,), got shape {lr.shape}")
    if lr.size == 0:
        raise ValueError("learning_rate is empty; give a scalar or one value per model")
    check_finite("learning_rate", lr.reshape(-1), "learning rates must be finite")
    if lr.min() < 0:
        raise ValueError(f"learning_rate must be >= 0, got {float(lr.min())!r}")

    lam = real_array("l2", l2)
    if lam.ndim > 1 or lam.size == 0:
        raise ValueError(f"l2 must be a scalar or 1-D (B,), one penalty per model; got shape {lam.shape}")
    check_finite("l2", lam.reshape(-1), "the L2 penalty must be a finite number >= 0")
    if lam.min() < 0:
        raise ValueError(f"l2 must be >= 0 (the strength of the penalty ½·l2·‖W‖²), got {float(lam.min())}")

    W0 = None
    if initial_weights is not None:
        W0 = real_array("initial_weights", initial_weights)
        check_shape("initial_weights", W0, (2, 3), "(D, K) for all models or (B, D, K)")
        if W0.shape[-2:] != (d, k):
            raise ValueError(
                f"initial_weights has shape {W0.shape} but the data need (D, K) = ({d}, {k}) per model"
            )
        check_finite("initial_weights", W0, "initial weights must be finite")

    if seeds is not None:
        seeds = np.asarray(seeds)
        if seeds.ndim == 0:
            seeds = seeds[None]
        if seeds.ndim != 1 or seeds.size == 0 or seeds.dtype.kind not in "iu":
            raise ValueError(f"seeds must be a non-empty 1-D sequence of integers, got {seeds!r:.80}")
        if seeds.dtype.kind == "i" and seeds.min() < 0:
            raise ValueError(f"seeds must be non-negative integers, got {int(seeds.min())}")
    if models is not None:
        models = nonneg_int("models", models, minimum=1)

    # --- the number of models B: every argument that carries it must agree -------------------------
    shapes = {
        "seeds": None if seeds is None else seeds.shape,
        "X": X.shape,
        "y": Y.shape,
        "sample_weight": None if sw is None else sw.shape,
        "learning_rate": lr.shape,
        "l2": lam.shape,
        "initial_weights": None if W0 is None else W0.shape,
    }
    carriers = model_axis_carriers(shapes, n)
    if layout is not None:
        carriers["groups"] = layout.n_groups
    n_models = count_models(carriers, models)
    memory.check(n_models, d, k, dt, data_bytes=X.nbytes + Y.nbytes)
    try:
        columns = columns(X, sw, bool(bias)) if columns is not None else (
            solver_shift(X, sw, bool(bias)) if solver != "gd" else None)
        return _assemble(X, Y, sw, lr, lam, W0, seeds, n_models, layout, dt, rule=rule, bias=bias, init=init,
                         explicit=initial_weights is not None, iterations=iterations, tol=tol,
                         record_every=record_every, solver=solver, columns=columns, auto_rate=auto_rate)
    except MemoryError:
        needed = memory.estimate_bytes(n_models, n, d, k, dt.itemsize, data_bytes=X.nbytes + Y.nbytes,
                                       grouped=layout is not None)
        raise MemoryError(memory.message(n_models, needed)) from None


def _assemble(X, Y, sw, lr, lam, W0, seeds, n_models, layout, dt, *, rule, bias, init, explicit, iterations, tol,
              record_every, solver, columns, auto_rate=False) -> Problem:
    """The per-model arrays of a checked batch, cast to its dtype (``make_problem``'s last part)."""
    n, d = X.shape[-2:]
    k = Y.shape[-1]
    if seeds is None:
        seeds = np.arange(n_models, dtype=np.int64)
    if int(seeds.max()) >= 2**63:
        raise ValueError("seeds must be below 2**63")
    seeds = seeds.astype(np.int64)
    if sw is not None:
        totals = sw.sum(axis=-1).reshape(-1)
        if layout is not None:
            totals = np.add.reduceat(np.take(sw, layout.order), layout.offsets[:-1])
        if (totals <= 0).any():
            b = int(np.argmax(totals <= 0))
            if layout is not None:
                raise ValueError(
                    f"sample_weight of group {layout.labels[b].item()!r} sums to 0: every group needs at least "
                    "one row with positive weight (drop the group's rows, or give them weight)")
            raise ValueError(
                f"sample_weight of model {b} sums to 0: every model needs at least one sample with positive weight"
            )
    lr = np.broadcast_to(lr, (n_models,)).copy()
    lam = np.broadcast_to(lam, (n_models,)).copy()
    if solver == "auto":
        solver = "newton" if d + int(bool(bias)) <= NEWTON_MAX_PARAMETERS else "lbfgs"
    if iterations is None:
        iterations = DEFAULT_ITERATIONS[solver]
    if tol is None:
        tol = default_tol(solver, dt)

    if W0 is None:
        W0 = _init.legacy(seeds, d, k) if init == "legacy" else _init.uniform(seeds, d, k, dtype=dt)
    else:
        W0 = np.broadcast_to(W0, (n_models, d, k))
        if columns is not None:  # the given weights are on the user's columns
            W0 = columns.weights_in(W0)
    if columns is not None:
        X = columns.apply(X)

    # --- the run's dtype ------------------------------------------------------------------------
    def cast(name, a):
        if a is None:
            return None
        with np.errstate(over="ignore"):  # too large for float32 becomes inf, reported just below
            out = np.ascontiguousarray(a, dtype=dt)
        if dt == np.float32:
            check_finite(name, out, "the values are too large for float32; use dtype='float64'")
        return out

    if layout is not None:  # rows sorted by group, once (stable: a group keeps its rows' order)
        # np.take, not X[order]: the same rows, measured 6x faster on a (182,674 x 8) table
        X, Y = np.take(X, layout.order, axis=0), np.take(Y, layout.order, axis=0)
        sw = None if sw is None else np.take(sw, layout.order)
    if auto_rate:
        lr = stable_step(X, sw, layout, bool(bias), lam, n_models)
    return Problem(
        X=cast("X", X),
        Y=cast("y", Y),
        sample_weight=cast("sample_weight", sw),
        learning_rate=cast("learning_rate", lr),
        W0=cast("initial_weights", W0).copy(),
        seeds=seeds,
        rule=rule,
        bias=bool(bias),
        dtype=dt,
        iterations=iterations,
        tol=tol,
        record_every=record_every,
        init="explicit" if explicit else init,
        groups=layout,
        solver=solver,
        l2=cast("l2", lam) if lam.any() else None,
        columns=columns,
    )
