"""Running one checked :class:`~fastperceptron.problem.Problem` to its result: the backend and
layout planned, the run advanced a chunk of iterations at a time — between chunks the progress
bar, the loss history, the end once every model has stopped, Ctrl-C honoured — and read back as a
:class:`~fastperceptron.result.TrainResult`. Chunks last about a quarter of a second (or
``chunk_iterations``), so a model's result never depends on them: the same iterations run in the
same order whatever the chunking. :func:`fastperceptron.train` and the pooled fits of
:mod:`fastperceptron.pooling` run their problems here.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from . import memory
from .errors import BackendUnavailableError, KernelCompileError, StabilityWarning, UnsupportedProblemError
from .planner import candidates, plan
from .problem.steps import warnings_before_training
from .registry import AUTO_ORDER, backends, environment_backend, layouts
from .result import TrainResult

__all__ = ["run_problem"]

_CHUNK_SECONDS = 0.25
_FIRST_CHUNK = 8


def run_problem(problem, o: dict, *, stacklevel: int = 2, names=None) -> TrainResult:
    """Train ``problem`` with the run options of ``o`` (backend, threads, progress,
    chunk_iterations; ``learning_rate`` and ``standardize`` as given, for the warnings and the
    params); warns about unstable steps before (naming the columns by ``names`` when given) and an
    interruption after."""
    chosen = plan(problem, o["backend"], o["threads"])
    for message in warnings_before_training(problem, isinstance(o["learning_rate"], str), names):
        warnings.warn(message, StabilityWarning, stacklevel=stacklevel + 1)
    auto = str(o["backend"]).lower() == "auto" and environment_backend() is None
    run = _Running(problem, o)
    try:
        run.train(chosen.backend, chosen.layout, auto)
    except MemoryError:
        host = run.name in ("numpy", "numba")
        raise MemoryError(memory.message(problem.n_models, _estimate_bytes(problem), f" on {run.name}", host=host)
                          ) from None
    if run.interrupted:
        warnings.warn(f"training interrupted after {run.done:,} of {problem.iterations:,} iterations; the result "
                      "holds the weights reached there and is marked complete=False", stacklevel=stacklevel + 1)
    return run.result()


@dataclass
class _Outcome:
    weights: np.ndarray
    bias: np.ndarray | None
    counts: np.ndarray
    loss: np.ndarray
    converged: np.ndarray | None
    reasons: np.ndarray | None


class _Running:
    """One call's run: started on a backend's layout, advanced chunk by chunk, read back."""

    def __init__(self, problem, options: dict):
        self.problem, self.o = problem, options
        self.name = self.layout = ""
        self.done, self.interrupted, self.history = 0, False, []
        progress = options["progress"]
        self.show, self.delay = (sys.stderr.isatty(), 2.0) if progress is None else (bool(progress), 0.0)

    def train(self, backend: str, layout: str, auto: bool) -> None:
        self.start, self.name = time.perf_counter(), backend
        with _SetupNotice(self.show, backend):
            self.name, self.layout, run = _start(self.problem, backend, layout, auto, self.o["threads"])
        self.setup_seconds = time.perf_counter() - self.start
        with _DeferredInterrupt() as interrupt:
            self._loop(run, interrupt)
            self.interrupted = interrupt.requested and self.done < self.problem.iterations and run.n_active() > 0
        weights, bias = run.weights(), run.bias()
        if self.problem.columns is not None:  # back onto the user's columns
            weights, bias = self.problem.columns.fold(weights, bias)
        reasons = run.stop_reasons()
        if reasons is not None:
            reasons = np.where(reasons == "running", "interrupted" if self.interrupted else "iterations", reasons)
        self.outcome = _Outcome(weights, bias, run.iteration_counts(), run.loss(), run.converged(), reasons)
        self.seconds = time.perf_counter() - self.start

    def _loop(self, run, interrupt) -> None:
        total, every, chunk_option = self.problem.iterations, self.problem.record_every, self.o["chunk_iterations"]
        chunk = chunk_option or _FIRST_CHUNK
        with tqdm(total=total, unit="it", desc=f"{self.problem.n_models:,} models [{self.name}]", disable=not self.show,
                  delay=self.delay, leave=False, dynamic_ncols=True) as bar:
            while self.done < total and run.n_active() > 0 and not interrupt.requested:
                n = min(chunk, total - self.done)
                if every:
                    n = min(n, every - self.done % every)
                t0 = time.perf_counter()
                run.advance(n)
                self.done += n
                if every and self.done % every == 0:
                    self.history.append(run.loss())
                bar.update(n)
                if self.problem.tol is not None:
                    bar.set_postfix(running=f"{run.n_active():,}", refresh=False)
                if chunk_option is None:
                    elapsed = max(time.perf_counter() - t0, 1e-6)
                    chunk = int(min(max(1, n * _CHUNK_SECONDS / elapsed), 2 * chunk, 1_000_000))

    def result(self) -> TrainResult:
        p, out, every = self.problem, self.outcome, self.problem.record_every
        history = None
        if every:
            if not self.interrupted:  # every model stopped early (tol): its loss no longer changes
                self.history += [out.loss] * (p.iterations // every - len(self.history))
            history = (np.stack(self.history, axis=1) if self.history else np.empty((p.n_models, 0), dtype=p.dtype))
        return TrainResult(
            weights=out.weights, bias=out.bias, seeds=p.seeds.copy(), loss=out.loss, iterations=out.counts,
            history=history, learning_rate=p.learning_rate.copy(), backend=self.name, dtype=p.dtype.name,
            seconds=self.seconds, setup_seconds=self.setup_seconds, complete=not self.interrupted,
            params={"rule": p.rule, "init": p.init, "iterations": p.iterations, "tol": p.tol, "record_every": every,
                    "bias": p.bias, "layout": self.layout, "solver": p.solver,
                    "standardize": bool(np.any(self.o["standardize"]))},
            l2=None if p.l2 is None else p.l2.copy(), converged=out.converged, stop_reason=out.reasons,
            groups=None if p.groups is None else p.groups.labels,
            group_sizes=None if p.groups is None else p.groups.sizes,
        )


def _start(problem, name: str, layout: str, chosen_by_auto: bool, threads):
    """The run of ``problem`` on backend ``name``'s ``layout``. When "auto" chose it, a backend that
    cannot take this problem's shape hands over to the next usable one (cuda to cupy) silently, and
    one whose kernel fails to import or compile here does so with a one-line warning (numba to
    numpy, cuda to cupy)."""
    try:
        chosen = next(lay for lay in layouts(name) if lay.name == layout)
        return name, layout, chosen.start(problem, threads)
    except (UnsupportedProblemError, KernelCompileError) as exc:
        if not chosen_by_auto:
            if isinstance(exc, KernelCompileError):
                raise BackendUnavailableError(f"backend {name!r} cannot run here: {exc}") from exc
            raise
        following = AUTO_ORDER[AUTO_ORDER.index(name) + 1:]
        successor = next(n for n in following if backends()[n].available)
        if isinstance(exc, KernelCompileError):
            warnings.warn(f"backend {name!r} cannot run here ({exc}); falling back to {successor}", RuntimeWarning,
                          stacklevel=4)
        return _start(problem, successor, candidates(problem, successor)[0].name, True, threads)


def _estimate_bytes(problem) -> int:
    B, D, K = problem.W0.shape
    data = problem.dtype.itemsize * (problem.X.size + problem.Y.size)
    return memory.estimate_bytes(B, problem.X.shape[-2], D, K, problem.dtype.itemsize, data_bytes=data,
                                 grouped=problem.grouped)


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
