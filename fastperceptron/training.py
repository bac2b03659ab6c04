"""``train``: the batch driver shared by every backend.

The backend advances the whole batch by a chunk of iterations at a time; between chunks the driver
updates the progress bar, records the loss history, ends the run once every model has met ``tol``,
and honours Ctrl-C. Chunks last about a quarter of a second (or ``chunk_iterations``), so a model's
result never depends on them: the same iterations run in the same order whatever the chunking.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import replace

import numpy as np
from tqdm.auto import tqdm

from . import memory
from .registry import AUTO_ORDER, ENV_VAR, backends, get_backend
from .planner import plan, usable_layouts
from .columns import standardization
from .errors import BackendUnavailableError, KernelCompileError, StabilityWarning, UnsupportedProblemError
from .checks import optional_positive_int
from .problem import make_problem
from .result import TrainResult

__all__ = ["train"]

_CHUNK_SECONDS = 0.25
_FIRST_CHUNK = 8


class _DeferredInterrupt:
    """Turn the first Ctrl-C (SIGINT) into a flag checked between chunks; a second one aborts.

    Only the main thread can install signal handlers; elsewhere this does nothing.
    """

    def __enter__(self):
        self.requested = False
        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


class _SetupNotice:
    """Say on stderr what a slow backend set-up is doing: a first run on a machine compiles the
    kernels (about 10 s for the numba backend), which otherwise passes without a word. Said only
    when the set-up lasts more than ``DELAY`` seconds (loading the kernels from the cache takes
    less) and progress is shown."""

    DELAY = 1.0

    def __init__(self, show: bool, name: str):
        self.show, self.name, self.said = show, name, False

    def _say(self):
        self.said = True
        print(f"fastperceptron: preparing the {self.name} backend: compiling its kernels for this machine, "
              "once (10-20 s); later runs load them from the cache in well under a second ...",
              file=sys.stderr, flush=True)

    def __enter__(self):
        self.start = time.perf_counter()
        self.timer = threading.Timer(self.DELAY, self._say)
        self.timer.daemon = True
        if self.show:
            self.timer.start()
        return self

    def __exit__(self, *exc):
        if self.show:
            self.timer.cancel()
            self.timer.join()
        if self.said:
            print(f"fastperceptron: the {self.name} backend is ready ({time.perf_counter() - self.start:.1f} s)",
                  file=sys.stderr, flush=True)
        return False


def _estimate_bytes(problem) -> int:
    B, D, K = problem.W0.shape
    data = problem.dtype.itemsize * (problem.X.size + problem.Y.size)
    return memory.estimate_bytes(B, problem.X.shape[-2], D, K, problem.dtype.itemsize, data_bytes=data,
                                 grouped=problem.grouped)


def _start(problem, name, layout, chosen_by_auto, threads):
    """Start the run on backend ``name`` in ``layout``. When "auto" chose it, a backend that cannot
    take this problem's shape hands over to the next usable one (cuda to cupy) silently, and one
    whose kernel fails to import or compile here does so with a one-line warning (numba to numpy,
    cuda to cupy)."""
    try:
        backend = get_backend(name, threads=threads)
        run = backend.start(problem, layout) if name == "numba" else backend.start(problem)
        return name, layout, run
    except (UnsupportedProblemError, KernelCompileError) as exc:
        if not chosen_by_auto:
            if isinstance(exc, KernelCompileError):
                raise BackendUnavailableError(f"backend {name!r} cannot run here: {exc}") from exc
            raise
        following = AUTO_ORDER[AUTO_ORDER.index(name) + 1:]
        successor = next(n for n in following if backends()[n].available)
        if isinstance(exc, KernelCompileError):
            warnings.warn(f"backend {name!r} cannot run here ({exc}); falling back to {successor}", RuntimeWarning,
                          stacklevel=3)
        return _start(problem, successor, usable_layouts(problem, successor)[0], True, threads)


def train(
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
    backend="auto",
    tol=None,
    record_every=None,
    progress=None,
    chunk_iterations=None,
    threads=None,
    groups=None,
    solver="gd",
    l2=0.0,
    fallback=False,
    min_rows=0,
    standardize=False,
) -> TrainResult:
    """Train B independent sigmoid perceptrons at once and return them as a :class:`TrainResult`.

    Parameters
    ----------
    X : (N, D) array shared by all models, or (B, N, D), one dataset per model.
    y : targets in [0, 1]: (N,), (N, K), (B, N) or (B, N, K). A 2-D ``y`` whose first axis has
        length N is read as (N, K); pass (B, N, 1) when that would be ambiguous.
    seeds : B non-negative ints, one per model. ``models=B`` means seeds 0..B-1. B may equally come
        from a 3-D X or y, a 3-D ``initial_weights``, a 2-D ``sample_weight`` or a 1-D
        ``learning_rate``; all that carry it must agree. Without any of them, B = 1 (seed 0).
    iterations : how many updates to run: full-batch gradient steps (default 20,000), or the cap on
        the iterations of solver "newton" or "lbfgs" (default 100).
    learning_rate : a scalar, or one per model (B,) for a sweep (default 1.0, the tutorial's), or
        ``"auto"``: each model's stable step 1 / (Σ_n s_n·(‖x_n‖² + bias) / 4 + l2), the inverse of a
        bound on its loss's curvature (:mod:`fastperceptron.steps`). Updates sum over the rows, so a
        fixed rate that suits the tutorial's 4 rows diverges on a real table: a rate above the data's
        stable bound is warned about before training. For solver "gd" only: the other solvers choose
        their steps by a line search.
    rule : ``"seed"`` (the tutorial's Δ = (y - o)·o·(1 - o), the default of solver "gd") or
        ``"logistic"`` (Δ = y - o, the gradient of the cross-entropy; the only rule of the other
        solvers, and their default).
    bias : learn a bias c_b per output (starts at 0).
    sample_weight : (N,) or (B, N), >= 0: 0/1 masks for ragged data padded to one N, integer counts
        for bootstrap resamples, or any other weights.
    init : ``"uniform"`` (fast counter-based, in [-1, 1), a pure function of each model's seed) or
        ``"legacy"`` (the tutorial's ``np.random.seed(s)`` numbers, bit for bit).
    initial_weights : (D, K) for all models or (B, D, K); overrides ``init``.
    dtype : ``"float64"`` or ``"float32"``.
    backend : ``"auto"``, ``"numpy"``, ``"numba"``, ``"cupy"`` or ``"cuda"``; ``"numba:lanes"`` or
        ``"numba:gemm"`` also fix the numba backend's layout. ``"auto"`` is
        ``$FASTPERCEPTRON_BACKEND`` when set, else the backend and layout that
        :func:`fastperceptron.explain` reports as fastest for this problem here.
    tol : solver "gd": a model stops once the largest |update| of an iteration falls below ``tol``
        (that iteration is applied and counted); its weights then freeze and ``iterations`` records
        its count. The run ends when every model has stopped. Solvers "newton" and "lbfgs": the
        convergence tolerance on the gradient of the mean loss (default 1e-10 in float64, 1e-5 in
        float32; see :mod:`fastperceptron.solvers` for the exact criterion).
    record_every : keep each model's loss every k iterations, in ``history`` (B, iterations // k).
    progress : show a progress bar (True/False); None shows one on a terminal once a run has
        lasted two seconds.
    chunk_iterations : iterations per chunk between progress updates; None adapts it to about a
        quarter of a second. Results never depend on it.
    threads : CPU threads of the numba backend (default: all that Numba may use, which
        ``NUMBA_NUM_THREADS`` sets). Results never depend on it. Ignored by the other backends.
    groups : (N,) one label per row of X (integers or strings; numpy, a list, a pandas Series or
        Categorical): one model per distinct label, in sorted label order, trained on its own rows
        only, in their original order (SPEC §6). X is then (N, D), y (N,) or (N, K) and
        ``sample_weight`` (N,); ``seeds``, ``learning_rate`` and ``initial_weights`` are per group
        (G,), or one value for all. ``result.groups`` holds the labels; predict a table with
        ``result.predict_proba(X_new, groups=g_new)``.
    solver : ``"gd"`` (default: fixed-rate gradient steps, the tutorial's update), ``"newton"``
        (exact Newton steps with a line search: few iterations; for small D, its Hessian costs
        N·(D+1)² per model), ``"lbfgs"`` (limited-memory quasi-Newton: gradient work only; for
        larger D) or ``"auto"`` (Newton up to 16 parameters per output, else L-BFGS). The second-
        order solvers take each model to the minimum of its cross-entropy plus the L2 penalty
        (SPEC §7), stop each model when it has converged and record which did in
        ``result.converged``; models that reach ``iterations`` first are counted in one warning.
    l2 : the L2 penalty λ ≥ 0 on the weights (not the bias): a scalar or one per model (B,). The
        solvers minimise Σ s·cross-entropy + ½·λ·‖W‖² (scikit-learn's ``C`` is 1/λ); solver "gd"
        steps W += η·(Xᵀ·Δ − λ·W).

    fallback : with ``groups``: also train one model on all rows (seed 0, the batch's other
        hyperparameters, which must then be one value for all groups), kept in the result as its
        fallback model. It serves the rows of groups trained on fewer than ``min_rows`` rows, and
        labels never seen in training when predicting with ``unseen="fallback"`` (the way
        scikit-lego's ``GroupedPredictor`` falls back to a global model). Attach one trained
        otherwise with ``result.with_fallback(model, min_rows)``.
    min_rows : groups with fewer training rows are served by the fallback model (default 0: none).
    standardize : train on centred and scaled columns — each column's mean and standard deviation
        over the training rows, weighted by ``sample_weight`` (its mean over models when each model
        has its own; over all rows for groups; per model for one dataset per model; without a bias
        the columns are only scaled, by their root mean square) — and fold the transform back into
        every model's weights and bias, so that the result, its files and its ONNX graph are on your
        columns (:mod:`fastperceptron.columns`). ``l2`` then penalises the weights of the
        standardised columns, and ``initial_weights`` are given on your columns. Without it, the
        solvers still reach the optimum on your columns whatever their units; gradient steps on
        columns far from unit scale are warned about.

    Ctrl-C during training stops at the end of the current chunk and returns the models as they
    are there, with ``complete=False`` and a warning; a second Ctrl-C aborts at once.
    """
    _check_fallback(fallback, min_rows, groups, learning_rate, l2, initial_weights)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    problem = make_problem(
        X, y, seeds=seeds, models=models, iterations=iterations, learning_rate=learning_rate, rule=rule,
        bias=bias, sample_weight=sample_weight, init=init, initial_weights=initial_weights, dtype=dtype,
        tol=tol, record_every=record_every, groups=groups, solver=solver, l2=l2,
        columns=standardization if standardize else None,
    )
    optional_positive_int("chunk_iterations", chunk_iterations)
    optional_positive_int("threads", threads)
    chosen = plan(problem, backend, threads)
    _warn_before_training(problem, learning_rate)
    name = chosen.backend
    chosen_by_auto = str(backend).lower() == "auto" and os.environ.get(ENV_VAR, "auto").strip().lower() in ("", "auto")
    total = problem.iterations
    every = problem.record_every
    n_models = problem.n_models
    if progress is None:
        show, delay = sys.stderr.isatty(), 2.0
    else:
        show, delay = bool(progress), 0.0

    start = time.perf_counter()
    history = []
    done = 0
    chunk = chunk_iterations or _FIRST_CHUNK
    try:
        with _SetupNotice(show, chosen.backend):
            name, layout, run = _start(problem, chosen.backend, chosen.layout, chosen_by_auto, threads)
        setup_seconds = time.perf_counter() - start
        with _DeferredInterrupt() as interrupt, tqdm(
            total=total, unit="it", desc=f"{n_models:,} models [{name}]", disable=not show, delay=delay,
            leave=False, dynamic_ncols=True,
        ) as bar:
            while done < total and run.n_active() > 0 and not interrupt.requested:
                n = min(chunk, total - done)
                if every:
                    n = min(n, every - done % every)
                t0 = time.perf_counter()
                run.advance(n)
                done += n
                if every and done % every == 0:
                    history.append(run.loss())
                bar.update(n)
                if problem.tol is not None:
                    bar.set_postfix(running=f"{run.n_active():,}", refresh=False)
                if chunk_iterations is None:
                    elapsed = max(time.perf_counter() - t0, 1e-6)
                    chunk = int(min(max(1, n * _CHUNK_SECONDS / elapsed), 2 * chunk, 1_000_000))
            interrupted = interrupt.requested and done < total and run.n_active() > 0
            loss = run.loss()
            weights, bias_, counts = run.weights(), run.bias(), run.iteration_counts()
            if problem.columns is not None:  # back onto the user's columns
                weights, bias_ = problem.columns.fold(weights, bias_)
            converged = run.converged() if hasattr(run, "converged") else None
            reasons = run.stop_reasons() if hasattr(run, "stop_reasons") else None
            to_host = [np.asarray(h.get() if hasattr(h, "get") else h) for h in history]
            loss = np.asarray(loss.get() if hasattr(loss, "get") else loss)
    except MemoryError:
        host = name in ("numpy", "numba")
        raise MemoryError(memory.message(n_models, _estimate_bytes(problem), f" on {name}", host=host)) from None
    seconds = time.perf_counter() - start

    hist = None
    if every:
        if not interrupted:
            # Every model stopped early (tol): its weights are frozen, so its loss no longer changes.
            to_host += [loss] * (total // every - len(to_host))
        hist = np.stack(to_host, axis=1) if to_host else np.empty((n_models, 0), dtype=problem.dtype)
    if reasons is not None:
        reasons = np.where(reasons == "running", "interrupted" if interrupted else "iterations", reasons)
    if interrupted:
        warnings.warn(
            f"training interrupted after {done:,} of {total:,} iterations; the result holds the weights "
            "reached there and is marked complete=False",
            stacklevel=2,
        )
    result = TrainResult(
        weights=weights,
        bias=bias_,
        seeds=problem.seeds.copy(),
        loss=loss,
        iterations=counts,
        history=hist,
        learning_rate=problem.learning_rate.copy(),
        backend=name,
        dtype=problem.dtype.name,
        seconds=seconds,
        setup_seconds=setup_seconds,
        complete=not interrupted,
        params={
            "rule": problem.rule,
            "init": problem.init,
            "iterations": total,
            "tol": problem.tol,
            "record_every": every,
            "bias": problem.bias,
            "layout": layout,
            "solver": problem.solver,
            "standardize": bool(standardize),
        },
        l2=None if problem.l2 is None else problem.l2.copy(),
        converged=converged,
        stop_reason=reasons,
        groups=None if problem.groups is None else problem.groups.labels,
        group_sizes=None if problem.groups is None else problem.groups.sizes,
    )
    if reasons is not None:
        from .solvers import warn_unconverged

        warn_unconverged(result, stacklevel=2)
    if fallback and result.complete:
        model = train(X, y, seeds=[0], iterations=iterations, learning_rate=learning_rate, rule=rule, bias=bias,
                      sample_weight=sample_weight, init=init, initial_weights=initial_weights, dtype=dtype,
                      backend=backend, tol=tol, progress=progress, chunk_iterations=chunk_iterations, threads=threads,
                      solver=solver, l2=l2, standardize=standardize)
        result = result.with_fallback(model, min_rows)
        result = replace(result, seconds=result.seconds + model.seconds)
    return result


def _warn_before_training(problem, learning_rate) -> None:
    """The warnings that save a wasted run, said before it starts: gradient steps above the data's
    stable bound or on columns far from unit scale (:mod:`fastperceptron.steps`), and a batch of
    second-order fits that are all the same model."""
    from .steps import rate_warning, scale_warning

    p = problem
    if p.solver == "gd":
        standardized = p.columns is not None and p.columns.standardized
        message = None if standardized else scale_warning(p.X)
        if message:
            warnings.warn(message, StabilityWarning, stacklevel=3)
        if not isinstance(learning_rate, str):  # "auto" is stable by construction
            lam = np.zeros(p.n_models) if p.l2 is None else p.l2.astype(np.float64)
            message = rate_warning(p.X, p.sample_weight, p.groups, p.bias, lam, p.learning_rate.astype(np.float64))
            if message:
                warnings.warn(message, StabilityWarning, stacklevel=3)
    elif p.n_models > 1 and identical_models(p):
        warnings.warn(
            f"the {p.n_models:,} models are identical: solver {p.solver!r} takes every model to the optimum of "
            "its loss, which does not depend on the seed, and nothing else (sample_weight, l2, per-model data or "
            "initial weights) differs between them; train one model (models=1), or give each model its own "
            "bootstrap weights (fp.bootstrap_weights) or l2", StabilityWarning, stacklevel=3)


def identical_models(problem) -> bool:
    """Whether every model of a second-order batch reaches the same optimum: one shared table, one
    set of targets and weights, one penalty and no explicit per-model initial weights."""
    p = problem
    shared = p.shared_X and p.Y.ndim == 2 and (p.sample_weight is None or p.sample_weight.ndim == 1)
    same_l2 = p.l2 is None or bool((p.l2 == p.l2[0]).all())
    same_start = p.init != "explicit" or bool((p.W0 == p.W0[0]).all())
    return shared and same_l2 and same_start


def _check_fallback(fallback, min_rows, groups, learning_rate, l2, initial_weights) -> None:
    """``fallback``/``min_rows`` make sense together, with groups, and with hyperparameters the
    fallback model can share (one value for all groups)."""
    from .checks import nonneg_int

    if not isinstance(fallback, (bool, np.bool_)):
        raise TypeError(f"fallback must be True or False, got {fallback!r}")
    min_rows = nonneg_int("min_rows", min_rows)
    if fallback and groups is None:
        raise ValueError("fallback=True trains a model for the groups that lack one: it needs groups=")
    if min_rows and not fallback:
        raise ValueError(f"min_rows={min_rows} sends small groups to the fallback model: set fallback=True as well")
    if fallback:
        per_group = [name for name, value, ndim in (("learning_rate", learning_rate, 0), ("l2", l2, 0),
                                                    ("initial_weights", initial_weights, 2))
                     if value is not None and np.ndim(value) > ndim]
        if per_group:
            raise ValueError(
                f"fallback=True trains the fallback with the batch's hyperparameters, but {', '.join(per_group)} "
                "is given per group: train the fallback model yourself and attach it with "
                "result.with_fallback(model, min_rows)")
