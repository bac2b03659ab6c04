"""What ``backend="auto"`` trains a problem with, and why: a cost model from measured constants.

A problem can run on several backends, and the numba backend has two layouts of the batch:

* ``numba:lanes`` (``kernels/numba_kernel.py``): all iterations of a chunk in one compiled call,
  SIMD across blocks of models, each block's state in L1. Best when each model is small: the
  tutorial's 4 × 3 problem, per-model datasets, few samples.
* ``numba:rows`` (``kernels/numba_groups.py``, one dataset per model only): each model walks its own
  rows through a whole chunk of iterations while they sit in cache, vector loops over the rows (the
  groups kernel, each model's dataset a group). Best when each model has many samples (N ≳ 100).
* ``numba:gemm`` (``kernels/numba_gemm.py``, data shared by all models only): two BLAS matrix
  products over all models at once per iteration, with σ, Δ and the bias sums fused into one
  Numba pass between them. Best when the shared table is large (N·D) and the batch wide (B·K).
* ``numpy`` (``fastperceptron/loop.py``), the reference: the same products as ``gemm``, with the
  elementwise work in seven numpy passes.

:func:`plan` estimates the seconds of one iteration of each usable candidate from the problem's
shape (shared or per-model data, N, D, K, B, dtype, threads) and takes the cheapest. The
constants below were measured on the project's 2-core AMD EPYC (Zen 3, AVX2, 2 threads) with
``fastperceptron bench --case grid``. They are relative costs, and they did not carry over to an
AVX-512 CPU (a Zen 5) as they were: there numpy's ufuncs and the Numba kernels gain much more than
the BLAS products, so on AVX-512 CPUs the elementwise parts are weighted by factors fitted there
(``_AVX512``; a deterministic choice by the CPU's flags rather than a timed calibration, so a
problem gets the same layout, and the same bits, on every run). The grid's tables in
``bench/RESULTS.md`` compare each pick with the fastest backend measured, on both CPUs. With a usable
GPU, ``auto`` picks the GPU backends first (``cuda``, else ``cupy``), as before: their speed has
not been measured yet, so there is no GPU cost model.

The choice never changes what is computed: every layout implements SPEC §2, and the layouts agree
within SPEC §4's tolerances (each is bit-for-bit repeatable). To pin one, pass
``backend="numba:lanes"``, ``"numba:gemm"`` or ``"numpy"``.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass, field

from .problem import Problem

__all__ = ["Plan", "plan", "explain", "estimate", "LAYOUTS", "split_backend"]

#: The layouts of each backend; the first is the one used when the backend's layout is not named.
LAYOUTS = {"numpy": ("loop", "groups", "solver"), "numba": ("lanes", "gemm", "rows", "groups", "solver"),
           "cupy": ("loop", "groups", "solver"), "cuda": ("kernel", "groups", "solver")}

# --- measured constants (seconds, float64, per thread) ----------------------------------------------
# Fitted to `fastperceptron bench --case grid` and the cases on the 2-core AMD EPYC (AVX2).
#: lanes kernel, per model, sample and output: A + B·D, with X shared or one X per model.
#: Refitted 2026-11-25 on the float64 shared grid (best of two runs), after the exponential stopped
#: converting floats to integers one lane at a time on AVX2 (σ 22 % faster); was (2.8e-9, 0.31e-9).
_LANES_SHARED = (2.15e-9, 0.256e-9)
_LANES_PER_MODEL = (1.3e-9, 0.46e-9)
#: lanes kernel with one dataset per model: the data of a block of models outgrows the caches, so
#: each sample also costs this much per value of a model's dataset (N·D). Refitted with the rows
#: layout's shapes (N = 20 to 1,000, D = 8 to 50), where per-model datasets reach 400 KB.
_LANES_PER_MODEL_MEMORY = 0.55e-12
#: lanes kernel, per block, sample and output: the set-up of its lane loops, A + B·D (narrow blocks
#: of few models pay it on few lanes).
_LANES_BLOCK = (38e-9, 5.0e-9)  # refitted with _LANES_SHARED; was (46e-9, 3.8e-9)
#: rows layout (one dataset per model, each model walking its own rows with the groups kernel): a
#: fixed cost per model and iteration (its update, the loop set-up), and per row and output A + B·D.
#: Fitted to 9 per-model shapes (N from 4 to 1,000, D from 3 to 50, K = 1 and 10).
_ROWS_MODEL = 136e-9
_ROWS = (1.85e-9, 0.43e-9)
#: gemm layout: matrix-product speed (FLOP/s, one thread's BLAS on its own tiles), the fused pass per
#: value (measured alone: 2.8 ns on one thread), a fixed cost per iteration (adding the partial sums,
#: the update) and the cost of handing tiles to other threads when it does (``numba_gemm.workers``).
#: Refitted 2026-11-25 when threads took whole tiles and narrow tiles several rows per step: 39
#: shared shapes (the grid and goals A, B) timed through GemmRun.advance; estimates within
#: 0.63–1.27 of the measured times.
_GEMM_FLOPS = 33.0e9
_GEMM_ELEMENT = 2.8e-9
_GEMM_FIXED = 47e-6
_GEMM_HANDOFF = 159e-6
#: numpy loop: the elementwise passes per element (numpy uses one thread), a fixed cost per
#: iteration, and the speed of batched products of per-model data (FLOP/s, in all).
_NUMPY_ELEMENT = 6.0e-9
_NUMPY_FIXED = 20e-6
_NUMPY_BATCHED_FLOPS = 5.0e9
#: float32 does the same work in this fraction of float64's time (vector lanes twice as wide):
#: medians over the float32 and float64 grids of 2026-11-25 (bench/RESULTS.md). The lanes kernel
#: gains only with models to fill the wider vectors: 0.45 + 0.45·min(1, 32/B) (0.9 at B = 10, 0.5
#: at B = 256).
_FLOAT32 = {"rows": 0.4, "gemm": 0.45, "numpy": 0.4}
_FLOAT32_LANES = (0.45, 0.45, 32)
#: The constants above were fitted on an AVX2 CPU (Zen 3). On an AVX-512 CPU (measured: a Zen 5)
#: the costs do not scale alike: numpy's ufuncs gain AVX-512 loops, the Numba kernels wider vectors
#: and a faster core, while OpenBLAS may keep its AVX2 kernels (it does on Zen 5). So there each part
#: the elementwise part of each is multiplied by its factor, (float64, float32): numpy's passes, the
#: gemm layout's fused pass, and the Numba kernels of the lanes and rows layouts. Fitted 2026-12-02
#: to the best of three runs per shape of the shared grid on the Zen 5 (bench/RESULTS.md).
_AVX512 = {"numpy": (0.4, 0.4), "gemm": (0.9, 0.3), "kernels": (1.0, 0.6)}
_NO_SCALE = {"numpy": (1.0, 1.0), "gemm": (1.0, 1.0), "kernels": (1.0, 1.0)}


def _scales() -> dict:
    """The factors of this CPU's vector ISA (see _AVX512); none elsewhere."""
    return _AVX512 if cpu_isa() == "AVX-512" else _NO_SCALE


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


def split_backend(name: str) -> tuple[str, str | None]:
    """"numba:gemm" -> ("numba", "gemm"); "numba" -> ("numba", None). Raises on an unknown layout."""
    backend, _, layout = str(name).lower().partition(":")
    if not layout:
        return backend, None
    if backend not in LAYOUTS or layout not in LAYOUTS[backend]:
        choices = ", ".join(f"'{b}:{lay}'" for b, lays in LAYOUTS.items() for lay in lays)
        raise ValueError(f"unknown backend layout {name!r}; choose one of {choices}")
    return backend, layout


def cpu_threads(threads: int | None = None) -> int:
    """The CPU threads a run uses: ``threads``, else what Numba would use (NUMBA_NUM_THREADS), else
    the CPUs this process may run on."""
    if threads:
        return int(threads)
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def cpu_isa() -> str:
    """The widest x86 vector instructions this CPU has: "AVX-512", "AVX2", "AVX", "SSE4.2", else the
    machine's name (from /proc/cpuinfo; read once)."""
    flags = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        return platform.machine()
    return next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))
                 if flag in flags), platform.machine())


def usable_layouts(problem: Problem, backend: str) -> tuple[str, ...]:
    """The layouts of ``backend`` that can train this problem (gemm needs X shared by all models, rows
    one X per model;
    a problem with groups has its own layout on every backend, and so do the second-order solvers,
    whatever the data's layout)."""
    if problem.solver != "gd":
        return ("solver",)
    if problem.grouped:
        return ("groups",)
    if backend == "numba":
        return ("lanes", "gemm") if problem.shared_X else ("lanes", "rows")
    return tuple(lay for lay in LAYOUTS[backend] if lay not in ("groups", "solver"))


def estimate(problem: Problem, backend: str, layout: str, threads: int | None = None) -> float:
    """Estimated seconds of one iteration of ``problem`` on ``backend``/``layout`` (CPU candidates)."""
    P = cpu_threads(threads)
    B, D, K = problem.W0.shape
    N = problem.X.shape[-2]
    M = B * K
    f32 = problem.dtype.itemsize == 4
    scale = _scales()
    if backend == "numba" and layout == "lanes":
        from .numba_backend import choose_lanes

        per_model = 0 if problem.shared_X else N * D * problem.dtype.itemsize
        lanes = choose_lanes(B, P, per_model)
        blocks = -(-B // lanes)
        a, b = _LANES_SHARED if problem.shared_X else _LANES_PER_MODEL
        if not problem.shared_X:
            a += _LANES_PER_MODEL_MEMORY * N * D
        # Blocks run in parallel: a thread does ceil(blocks / P) of them, each of `lanes` models.
        t = -(-blocks // P) * N * K * (_LANES_BLOCK[0] + _LANES_BLOCK[1] * D + lanes * (a + b * D))
        a32, b32, width = _FLOAT32_LANES
        return t * (a32 + b32 * min(1.0, width / B) if f32 else 1.0) * scale["kernels"][f32]
    if backend == "numba" and layout == "rows":
        t = B * (_ROWS_MODEL + N * K * (_ROWS[0] + _ROWS[1] * D)) / P
        return t * (_FLOAT32["rows"] if f32 else 1.0) * scale["kernels"][f32]
    if backend == "numba" and layout == "gemm":
        from .numba_gemm import tiles, workers

        chunks, runs, blocks = tiles(N, D, M, problem.dtype.itemsize)
        W = workers(N, D, M, P, runs * len(blocks))
        # Each thread's products are as thin as the problem (its tiles span all D) and run on one
        # thread: few features cost more than with numpy's multi-threaded BLAS.
        flops = 4.0 * N * D * M / (_GEMM_FLOPS * _gemm_efficiency(N, D, M, d_power=0.75))
        t = (flops + N * M * _GEMM_ELEMENT * scale["gemm"][f32]) / W
        return _GEMM_FIXED + (_GEMM_HANDOFF if W > 1 else 0.0) + t * (_FLOAT32["gemm"] if f32 else 1.0)
    if backend == "numpy":
        if problem.shared_X:
            products = 4.0 * N * D * M / (_GEMM_FLOPS * P * _gemm_efficiency(N, D, M))
        else:
            products = 4.0 * N * D * M / _NUMPY_BATCHED_FLOPS
        t = products + N * M * _NUMPY_ELEMENT * scale["numpy"][f32]
        return _NUMPY_FIXED + t * (_FLOAT32["numpy"] if f32 else 1.0)
    raise ValueError(f"no cost model for {backend}:{layout}")


def _one_numba_layout(problem: Problem, est: dict) -> dict:
    """The candidates of ``est`` less the per-model numba layout that :func:`per_model_layout` rules
    out (all of them for shared data)."""
    if "numba:rows" not in est:
        return est
    drop = "numba:lanes" if per_model_layout(problem) == "rows" else "numba:rows"
    return {k: v for k, v in est.items() if k != drop}


def per_model_layout(problem: Problem) -> str:
    """"rows" or "lanes" for one dataset per model, from the cost of one model in a wide batch
    (lanes at full width). It does not depend on B, so that a batch cut into shards (Dask) trains
    every shard, and the whole, in the same layout: the same bits."""
    from .numba_backend import MAX_LANES

    _, D, K = problem.W0.shape
    N = problem.X.shape[-2]
    a, b = _LANES_PER_MODEL
    a += _LANES_PER_MODEL_MEMORY * N * D
    lanes = N * K * ((_LANES_BLOCK[0] + _LANES_BLOCK[1] * D) / MAX_LANES + a + b * D)
    rows = _ROWS_MODEL + N * K * (_ROWS[0] + _ROWS[1] * D)
    return "rows" if rows < lanes else "lanes"


def _gemm_efficiency(N: int, D: int, M: int, d_power: float = 0.5) -> float:
    """The fraction of the matrix-product speed reached on thin products (D or B·K below about 32;
    tiny N pays the call overhead, counted in the fixed costs). D's power: 0.5 for numpy's products
    (BLAS on all threads), 0.75 fitted for the gemm layout's (one thread per tile)."""
    return min(1.0, D / 32) ** d_power * (min(1.0, M / 32) * min(1.0, N / 64)) ** 0.5


def plan(problem: Problem, backend: str = "auto", threads: int | None = None, available=None) -> Plan:
    """Choose the backend and layout for ``problem``.

    ``backend``: "auto", a backend name (its layout is then chosen by the same cost model), or
    "backend:layout". ``available``: the backends usable here (default: probed).
    """
    from .registry import AUTO_ORDER, backends as _backends, resolve_name

    name, layout = split_backend(backend)
    if name != "auto":
        name = resolve_name(name)  # checks the name and availability (and reads nothing else)
        if layout is not None:
            if layout not in usable_layouts(problem, name):
                if problem.solver != "gd" or layout == "solver":
                    raise ValueError(
                        f"backend layout '{name}:{layout}' does not fit this problem: the 'solver' layout is "
                        f"for (and only for) solver='newton' or 'lbfgs'; use backend='{name}'")
                if problem.grouped or layout == "groups":
                    raise ValueError(
                        f"backend layout '{name}:{layout}' does not fit this problem: the 'groups' layout is "
                        f"for (and only for) training with groups=; use backend='{name}'")
                if layout == "rows":
                    raise ValueError(
                        f"backend layout '{name}:rows' trains one dataset per model, X (B, N, D); this problem "
                        f"has X shared by all models: use backend='{name}' (or '{name}:lanes', '{name}:gemm')")
                raise ValueError(
                    f"backend layout '{name}:{layout}' needs X shared by all models, (N, D); this problem "
                    f"has one dataset per model: use backend='{name}' or '{name}:lanes'"
                )
            return Plan(name, layout, "named by the caller")
        layouts = usable_layouts(problem, name)
        if len(layouts) == 1:
            return Plan(name, layouts[0], "named by the caller (its only layout)")
        est = {f"{name}:{lay}": estimate(problem, name, lay, threads) for lay in layouts}
        candidates = _one_numba_layout(problem, est)
        best = min(candidates, key=candidates.get)
        return Plan(name, best.split(":")[1], "named by the caller; layout by the cost model", est)

    resolved = resolve_name("auto")  # the environment variable, or the usable backends
    infos = available if available is not None else {n: i.available for n, i in _backends().items()}
    from .registry import ENV_VAR

    if os.environ.get(ENV_VAR, "").strip().lower() not in ("", "auto"):
        return plan(problem, resolved, threads, available)
    for gpu in ("cuda", "cupy"):
        if infos.get(gpu):
            return Plan(gpu, usable_layouts(problem, gpu)[0],
                        "a usable GPU (GPU backends come first; no GPU cost model yet)")
    cpu = [n for n in AUTO_ORDER if n in ("numba", "numpy") and infos.get(n)]
    if problem.solver != "gd":
        return Plan(cpu[0], "solver", f"solver={problem.solver!r}; {cpu[0]} is the fastest usable CPU backend")
    if problem.grouped:  # no cost model: the compiled kernel walks each group's rows, numpy sums segments
        return Plan(cpu[0], "groups", f"one model per group; {cpu[0]} is the fastest usable CPU backend")
    est = {f"{n}:{lay}": estimate(problem, n, lay, threads) for n in cpu for lay in usable_layouts(problem, n)}
    candidates = _one_numba_layout(problem, est)
    best = min(candidates, key=candidates.get)
    b, lay = best.split(":")
    shape = "shared" if problem.shared_X else "per-model"
    B, D, K = problem.W0.shape
    reason = (f"lowest estimated time for {shape} data, N = {problem.X.shape[-2]:,}, D = {D}, K = {K}, "
              f"B = {B:,}, {problem.dtype.name}, {cpu_threads(threads)} threads")
    return Plan(b, lay, reason, est)


def explain(X, y, *, backend="auto", threads=None, **kwargs) -> Plan:
    """What ``fp.train(X, y, backend=backend, **kwargs)`` would train with here, and why.

    Takes the arguments of :func:`fastperceptron.train` (they are checked the same way) and returns
    a :class:`Plan`: ``plan.backend``, ``plan.layout``, ``plan.reason`` and the estimated seconds
    per iteration of every candidate (``plan.estimates``); ``print(plan)`` shows them. Nothing is
    trained.
    """
    from .checks import optional_positive_int
    from .problem import make_problem

    optional_positive_int("threads", threads)
    kwargs.setdefault("iterations", 0)
    for ignored in ("progress", "chunk_iterations"):
        kwargs.pop(ignored, None)
    return plan(make_problem(X, y, **kwargs), backend, threads)
