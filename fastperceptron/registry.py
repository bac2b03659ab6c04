"""The backend switch: which backends exist, which can run here, and why not.

A backend trains a whole batch ("advance these B models by n iterations"); it is not a set of tiny
array primitives. Backends are probed and imported lazily, only when asked for, so ``import
fastperceptron`` never imports Numba or CuPy, and a backend that cannot run explains itself.

``backend="auto"`` means the default: the backend named by the environment variable
``FASTPERCEPTRON_BACKEND`` when it is set, else the fastest usable one (GPU, then Numba, then numpy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import numpy as np

from .errors import BackendUnavailableError
from .loop import VectorizedRun
from .problem import Problem

__all__ = ["BackendInfo", "backends", "get_backend", "resolve_name", "NAMES", "ENV_VAR"]

NAMES = ("numpy", "numba", "cupy", "cuda")
AUTO_ORDER = ("cuda", "cupy", "numba", "numpy")  # fastest first
ENV_VAR = "FASTPERCEPTRON_BACKEND"


@dataclass(frozen=True)
class BackendInfo:
    """Whether a backend can run here; ``reason`` says why not (empty when available)."""

    name: str
    available: bool
    reason: str = ""
    description: str = ""


class NumpyBackend:
    """The reference backend: the vectorized loop of :mod:`fastperceptron.loop` on numpy arrays."""

    name = "numpy"

    def start(self, problem: Problem) -> VectorizedRun:
        if problem.solver != "gd":
            from . import solvers

            return solvers.start(problem)
        if problem.grouped:
            from .loop_groups import GroupedRun

            return GroupedRun(problem)
        return VectorizedRun(problem, xp=np)


def _probe_numpy() -> BackendInfo:
    return BackendInfo("numpy", True, "", f"vectorized numpy loop (numpy {np.__version__})")


def _probe_numba() -> BackendInfo:
    import importlib.util

    description = "fused, parallel, SIMD Numba CPU kernel (kernels/numba_kernel.py)"
    # Found without importing it: importing Numba takes a while, and happens on first use.
    if importlib.util.find_spec("numba") is None:
        return BackendInfo("numba", False, "Numba is not installed: pip install numba", description)
    return BackendInfo("numba", True, "", description)


def _probe_gpu(name: str, description: str):
    def probe() -> BackendInfo:
        import importlib.util

        if importlib.util.find_spec("cupy") is None:  # no import: CPU-only machines pay nothing
            from .gpu import INSTALL

            return BackendInfo(name, False, f"CuPy is not installed: {INSTALL}", description)
        from .gpu import probe as gpu_probe

        reason = gpu_probe(name)
        return BackendInfo(name, not reason, reason, description)

    return probe


_PROBES = {
    "numpy": _probe_numpy,
    "numba": _probe_numba,
    "cupy": _probe_gpu("cupy", "the vectorized loop on CuPy arrays (CUDA GPU)"),
    "cuda": _probe_gpu("cuda", "fused CUDA kernel, kernels/perceptron.cu through cupy.RawModule"),
}
def _numba_backend(threads=None):
    from .numba_backend import NumbaBackend

    return NumbaBackend(threads)


def _gpu_backend(name):
    def make(threads=None):
        from .gpu import GpuBackend

        return GpuBackend(name)

    return make


_FACTORIES = {
    "numpy": lambda threads=None: NumpyBackend(),
    "numba": _numba_backend,
    "cupy": _gpu_backend("cupy"),
    "cuda": _gpu_backend("cuda"),
}


@cache
def _probe(name: str) -> BackendInfo:
    return _PROBES[name]()


_warned = []


def _warn_slow_cpu_once() -> None:
    """"auto" lands on numpy only when Numba cannot be used: say so once per process."""
    info = _probe("numba")
    if not info.available and not _warned:
        import warnings

        _warned.append(True)
        warnings.warn(f"{info.reason}; training with the slower numpy backend", RuntimeWarning, stacklevel=4)


def backends() -> dict[str, BackendInfo]:
    """Every backend name mapped to a :class:`BackendInfo` (``.available``, ``.reason``)."""
    return {name: _probe(name) for name in NAMES}


def _check_name(name, where: str) -> str:
    if not isinstance(name, str) or name.lower() not in NAMES + ("auto",):
        choices = ", ".join(repr(n) for n in ("auto",) + NAMES)
        raise ValueError(f"unknown backend {name!r}{where}; choose one of {choices}")
    return name.lower()


def resolve_name(name: str = "auto") -> str:
    """The concrete backend that ``name`` stands for here; raises if it cannot run."""
    name = _check_name(name, "")
    if name == "auto":
        env = os.environ.get(ENV_VAR, "").strip()
        if env and env.lower() != "auto":
            name = _check_name(env, f" in the environment variable {ENV_VAR}")
        else:
            chosen = next(n for n in AUTO_ORDER if _probe(n).available)
            if chosen == "numpy":
                _warn_slow_cpu_once()
            return chosen
    info = _probe(name)
    if not info.available:
        usable = ", ".join(n for n in NAMES if _probe(n).available)
        raise BackendUnavailableError(f"backend {name!r} is not available: {info.reason} (usable here: {usable})")
    return name


def get_backend(name: str = "auto", threads: int | None = None):
    """An instance of the backend ``name`` (or of the one ``"auto"`` picks).

    ``threads``: CPU threads for the numba backend (default: all of NUMBA_NUM_THREADS).
    """
    return _FACTORIES[resolve_name(name)](threads=threads)
