"""What ``backend="auto"`` trains a problem with, and why: the cheapest layout that fits.

Every backend lists its layouts (:class:`~fastperceptron.backend.layout.Layout`, through
:func:`fastperceptron.registry.layouts`); a layout says which problems it fits and estimates the
seconds of one iteration from the problem's shape (shared or per-model data, N, D, K, B, dtype,
threads) with the constants of :mod:`fastperceptron.backend.costs`, measured on the project's CPUs.
:func:`plan` takes, among the layouts that fit and that "auto" may choose, the one with the lowest
estimate; a problem with groups or of the second-order solvers has one layout per backend, taken on
the fastest usable CPU backend. With a usable GPU, ``auto`` picks the GPU backends first (``cuda``,
else ``cupy``): their speed has not been measured yet, so there is no GPU cost model.

The choice never changes what is computed: every layout implements SPEC §2, and the layouts agree
within SPEC §4's tolerances (each is bit-for-bit repeatable). To pin one, pass
``backend="numba:lanes"``, ``"numba:gemm"``, ``"numba:rows"`` or ``"numpy"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .machine import cpu_threads
from .problem import Problem
from .registry import AUTO_ORDER, NAMES, backends as _backends, environment_backend, layouts, resolve_name

__all__ = ["Plan", "plan", "explain", "estimate", "candidates", "split_backend", "layout_names"]

#: The second-order solvers on one table shared by at most this many neurons (B·K) run on numpy:
#: measured on the 2-core Zen 3 (N 2,000-200,000, D 4 and 30), numpy took 0.4-0.98 of numba's time
#: for 1 and 4 neurons, and numba 0.4-0.7 of numpy's for 32 (bench/RESULTS.md, issue 25).
SOLVER_NUMPY_NEURONS = 4


@dataclass(frozen=True)
class Plan:
    """The backend and layout chosen for a problem, why, and the estimates behind the choice."""

    backend: str
    layout: str
    reason: str
    estimates: dict = field(default_factory=dict)  # "backend:layout" -> estimated seconds per iteration

    @property
    def name(self) -> str:
        return f"{self.backend}:{self.layout}"

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.reason}"]
        if self.estimates:
            best = min(self.estimates.values())
            lines.append("estimated seconds per iteration (relative to the fastest):")
            for name, t in sorted(self.estimates.items(), key=lambda kv: kv[1]):
                lines.append(f"  {name:<12} {t:10.3g} s   {t / best:5.2f}x")
        return "\n".join(lines)


def layout_names(backend: str) -> tuple[str, ...]:
    """The names of ``backend``'s layouts."""
    return tuple(lay.name for lay in layouts(backend))


def _layout(backend: str, name: str):
    return next(lay for lay in layouts(backend) if lay.name == name)


def split_backend(name: str) -> tuple[str, str | None]:
    """"numba:gemm" -> ("numba", "gemm"); "numba" -> ("numba", None). Raises on an unknown layout."""
    backend, _, layout = str(name).lower().partition(":")
    if not layout:
        return backend, None
    if backend not in NAMES or layout not in layout_names(backend):
        choices = ", ".join(f"'{b}:{lay}'" for b in NAMES for lay in layout_names(b))
        raise ValueError(f"unknown backend layout {name!r}; choose one of {choices}")
    return backend, layout


def candidates(problem: Problem, backend: str) -> tuple:
    """The layouts of ``backend`` that fit ``problem``."""
    return tuple(lay for lay in layouts(backend) if lay.fits(problem))


def estimate(problem: Problem, backend: str, layout: str, threads: int | None = None) -> float:
    """Estimated seconds of one iteration of ``problem`` on ``backend``/``layout`` (CPU layouts)."""
    seconds = _layout(backend, layout).estimate(problem, threads)
    if seconds is None:
        raise ValueError(f"no cost model for {backend}:{layout}")
    return seconds


def _cheapest(problem: Problem, backend_names, threads) -> tuple:
    """(the layout of the lowest estimate among those that fit and that "auto" may choose, the
    estimates of all that fit) over ``backend_names``."""
    est, allowed = {}, {}
    for b in backend_names:
        for lay in candidates(problem, b):
            est[lay.qualified] = lay.estimate(problem, threads)
            if lay.automatic(problem):
                allowed[lay.qualified] = lay
    best = min(allowed, key=est.get)
    return allowed[best], est


def _named(problem: Problem, name: str, layout: str | None, threads) -> Plan:
    """The plan when the caller names the backend (and perhaps its layout)."""
    name = resolve_name(name)  # checks the name and availability (and reads nothing else)
    if layout is not None:
        chosen = _layout(name, layout)
        if not chosen.fits(problem):
            raise ValueError(chosen.refusal(problem))
        return Plan(name, layout, "named by the caller")
    fitting = candidates(problem, name)
    if len(fitting) == 1:
        return Plan(name, fitting[0].name, "named by the caller (its only layout)")
    best, est = _cheapest(problem, [name], threads)
    return Plan(name, best.name, "named by the caller; layout by the cost model", est)


def plan(problem: Problem, backend: str = "auto", threads: int | None = None, available=None) -> Plan:
    """Choose the backend and layout for ``problem``.

    ``backend``: "auto", a backend name (its layout is then chosen by the same cost model), or
    "backend:layout". ``available``: the backends usable here (default: probed).
    """
    name, layout = split_backend(backend)
    if name != "auto":
        return _named(problem, name, layout, threads)
    resolved = resolve_name("auto")  # the environment variable, or the usable backends
    if environment_backend() is not None:
        return plan(problem, resolved, threads, available)
    infos = available if available is not None else {n: i.available for n, i in _backends().items()}
    for gpu in ("cuda", "cupy"):
        if infos.get(gpu):
            return Plan(gpu, candidates(problem, gpu)[0].name,
                        "a usable GPU (GPU backends come first; no GPU cost model yet)")
    cpu = [n for n in AUTO_ORDER if n in ("numba", "numpy") and infos.get(n)]
    if problem.solver != "gd":
        B, _, K = problem.W0.shape
        if problem.shared_X and B * K <= SOLVER_NUMPY_NEURONS and "numpy" in cpu:
            return Plan("numpy", "solver", f"solver={problem.solver!r} with {B * K} neuron(s) on a shared table: "
                        "numpy's BLAS products beat the numba kernel's row passes there")
        return Plan(cpu[0], "solver", f"solver={problem.solver!r}; {cpu[0]} is the fastest usable CPU backend")
    if problem.grouped:  # no cost model: the compiled kernel walks each group's rows, numpy sums segments
        return Plan(cpu[0], "groups", f"one model per group; {cpu[0]} is the fastest usable CPU backend")
    best, est = _cheapest(problem, cpu, threads)
    shape = "shared" if problem.shared_X else "per-model"
    B, D, K = problem.W0.shape
    reason = (f"lowest estimated time for {shape} data, N = {problem.X.shape[-2]:,}, D = {D}, K = {K}, "
              f"B = {B:,}, {problem.dtype.name}, {cpu_threads(threads)} threads")
    return Plan(best.backend, best.name, reason, est)


def explain(X, y=None, *, backend="auto", threads=None, **kwargs) -> Plan:
    """What ``fp.train(X, y, backend=backend, **kwargs)`` would train with here, and why.

    Takes the arguments of :func:`fastperceptron.train` (they are checked the same way) and returns
    a :class:`Plan`: ``plan.backend``, ``plan.layout``, ``plan.reason`` and the estimated seconds
    per iteration of every candidate (``plan.estimates``); ``print(plan)`` shows them. Nothing is
    trained.
    """
    from .io.frames import training_data
    from .options import bind, problem_options
    from .problem import make_problem
    from .problem.checks import optional_positive_int

    optional_positive_int("threads", threads)
    options = bind("explain", kwargs)
    X, y, options["groups"], options["sample_weight"], _ = training_data(
        X, y, options["target"], options["features"], options["groups"], options["sample_weight"])
    if "iterations" not in kwargs:
        options["iterations"] = 0
    return plan(make_problem(X, y, **problem_options(options)), backend, threads)
