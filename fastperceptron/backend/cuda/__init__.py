"""The GPU backends, on CUDA GPUs through CuPy: "cupy" (the reference loop on CuPy arrays) and "cuda"
(the fused kernels of ``kernels/cuda/``), each with its layouts (:data:`LAYOUTS`).

Nothing here imports CuPy until a GPU backend is probed or used. A GPU backend is usable when CuPy
imports, a CUDA device exists, a tiny kernel runs, and the backend reproduces the numpy backend on
a small problem (:func:`probe`: a miscompiled or broken backend is refused with the reason, and
"auto" moves on to the CPU instead of returning wrong numbers). CuPy keeps full float32 precision
(no TF32) unless ``CUPY_TF32`` is set, which the probe refuses.

Gradient steps on shared or per-model data split the models into parts over the GPUs
(:mod:`.parts`); groups and the second-order solvers run on the first device (groups are not
split across GPUs yet). Without a GPU, tests/hostcupy.py runs all of this on the host.
"""

from __future__ import annotations

import os

import numpy as np
from functools import cache


from ...problem import Problem
from ..layout import GroupsLayout, Layout, SolverLayout
from . import device

__all__ = ["LAYOUTS", "probe"]


def _on_first_device(make, what: str):
    """``make()`` on the first GPU; out of memory there is a MemoryError saying what to do."""
    cupy = device.cupy()
    with cupy.cuda.Device(device.devices()[0]):
        try:
            return make()
        except cupy.cuda.memory.OutOfMemoryError:
            cupy.get_default_memory_pool().free_all_blocks()
            raise MemoryError(f"the GPU cannot hold {what}; use backend='numba' (the CPU), or dtype='float32'"
                              ) from None


class Loop(Layout):
    """"cupy": the reference loop on CuPy arrays, the models split into parts over the GPUs."""

    backend, name = "cupy", "loop"

    def start(self, problem: Problem, threads: int | None = None):
        from .loop import CupyLoopRun
        from .parts import PartedRun

        return PartedRun(problem, CupyLoopRun, device.devices())


class Kernel(Layout):
    """"cuda": ``perceptron.cu``, one thread per model, a chunk of iterations per launch, the models
    split into parts over the GPUs; models up to D·K = ``MAX_DK`` weights."""

    backend, name = "cuda", "kernel"

    def start(self, problem: Problem, threads: int | None = None):
        from .kernel import CudaRun
        from .parts import PartedRun

        return PartedRun(problem, CudaRun, device.devices())


class Groups(GroupsLayout):
    """Groups on the first device: the reference's segment sums ("cupy") or one thread per group
    (``groups.cu``, "cuda")."""

    def __init__(self, backend: str):
        self.backend = backend

    def start(self, problem: Problem, threads: int | None = None):
        from .kernel import CudaGroupRun
        from .loop import CupyGroupRun

        run = CudaGroupRun if self.backend == "cuda" else CupyGroupRun
        return _on_first_device(lambda: run(problem), "this grouped table")


class Solver(SolverLayout):
    """The second-order solvers (``fastperceptron/solvers/``) on CuPy arrays of the first device:
    their work is matrix products (cuBLAS), the batched Cholesky and, for groups, the segment-sum
    kernel; both GPU backends run them this way (the "cuda" kernels are the gradient-step ones)."""

    def __init__(self, backend: str):
        self.backend = backend

    def start(self, problem: Problem, threads: int | None = None):
        from ... import solvers
        from ...reference.objective import DenseObjective, GroupObjective
        from .kernel import segment_sum

        cupy = device.cupy()

        def make():
            objective = (GroupObjective(problem, cupy, segment_sum=segment_sum) if problem.grouped
                         else DenseObjective(problem, cupy))
            return solvers.start(problem, objective, xp=cupy)

        return _on_first_device(make, "this problem for the solver")


LAYOUTS = {"cupy": (Loop(), Groups("cupy"), Solver("cupy")), "cuda": (Kernel(), Groups("cuda"), Solver("cuda"))}


@cache
def probe(name: str) -> str:
    """"" when backend ``name`` ("cupy" or "cuda") can run here, else why not."""
    try:
        cupy = device.cupy()
    except ImportError:
        return f"CuPy is not installed: {device.INSTALL}"
    except Exception as exc:  # a broken CUDA installation can fail at import
        return f"CuPy cannot be imported ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, an old driver, no device
        return f"no usable CUDA device ({exc})"
    if count == 0:
        return "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)"
    if os.environ.get("CUPY_TF32", "0") not in ("", "0"):
        return "CUPY_TF32 is set: float32 products would lose precision; unset it"
    try:
        int(cupy.arange(4).sum())
    except Exception as exc:
        return f"a tiny CUDA kernel failed ({type(exc).__name__}: {exc})"
    try:
        return _self_check(name)
    except Exception as exc:
        return f"the {name} backend failed on a small problem ({type(exc).__name__}: {exc})"


def _self_check(name: str) -> str:
    from ...datasets import seed
    from ...problem import make_problem
    from ...reference.loop import VectorizedRun

    X, y = seed()
    problem = make_problem(X, y, models=37, iterations=50, bias=True, rule="logistic", learning_rate=0.5)
    expected = VectorizedRun(problem)
    expected.advance(50)
    run = LAYOUTS[name][0].start(problem)
    run.advance(50)
    error = float(np.abs(run.weights() / expected.weights() - 1).max())
    if not error <= 1e-9:
        return f"the {name} backend disagrees with numpy on a small problem (relative error {error:.2e})"
    return ""
