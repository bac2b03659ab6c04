"""The backend switch: which backends exist, their layouts, which can run here, and why not.

A backend trains a whole batch ("advance these B models by n iterations"); it is not a set of tiny
array primitives. Each backend is a module or folder of ``fastperceptron.backend`` listing its
layouts (:class:`~fastperceptron.backend.layout.Layout`): this module is the one place that maps a
name to them. Backends are probed and imported lazily, only when asked for, so ``import
fastperceptron`` never imports Numba or CuPy, and a backend that cannot run explains itself.

``backend="auto"`` means the default: the backend named by the environment variable
``FASTPERCEPTRON_BACKEND`` when it is set (:func:`environment_backend`, the one place it is read),
else the fastest usable one (GPU, then Numba, then numpy).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np

from .errors import BackendUnavailableError

__all__ = ["BackendInfo", "backends", "layouts", "resolve_name", "environment_backend", "NAMES", "AUTO_ORDER",
           "ENV_VAR"]

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


def layouts(name: str) -> tuple:
    """The layouts of backend ``name`` (its module is imported now; the libraries it drives are not)."""
    if name == "numpy":
        from .backend.numpy import LAYOUTS
        return LAYOUTS
    if name == "numba":
        from .backend.numba import LAYOUTS
        return LAYOUTS
    from .backend.cuda import LAYOUTS
    return LAYOUTS[name]


def _probe_numpy() -> BackendInfo:
    return BackendInfo("numpy", True, "", f"vectorized numpy loop (numpy {np.__version__})")


def _probe_numba() -> BackendInfo:
    import importlib.util

    description = "fused, parallel, SIMD Numba CPU kernels (kernels/numba/)"
    # Found without importing it: importing Numba takes a while, and happens on first use.
    if importlib.util.find_spec("numba") is None:
        return BackendInfo("numba", False, "Numba is not installed: pip install numba", description)
    return BackendInfo("numba", True, "", description)


def _probe_gpu(name: str, description: str):
    def probe() -> BackendInfo:
        import importlib.util

        from .backend.cuda import device

        if importlib.util.find_spec("cupy") is None:  # no import: CPU-only machines pay nothing
            return BackendInfo(name, False, f"CuPy is not installed: {device.INSTALL}", description)
        from .backend.cuda import probe as gpu_probe

        reason = gpu_probe(name)
        return BackendInfo(name, not reason, reason, description)

    return probe


_PROBES = {
    "numpy": _probe_numpy,
    "numba": _probe_numba,
    "cupy": _probe_gpu("cupy", "the vectorized loop on CuPy arrays (CUDA GPU)"),
    "cuda": _probe_gpu("cuda", "fused CUDA kernels, kernels/cuda/ through cupy.RawModule"),
}


@cache
def _probe(name: str) -> BackendInfo:
    return _PROBES[name]()


def clear_probes() -> None:
    """Forget what the probes found (they are cached for the process): tests that change the machine."""
    _probe.cache_clear()
    from .backend.cuda import probe as gpu_probe

    gpu_probe.cache_clear()


_warned = []


def _warn_slow_cpu_once() -> None:
    """"auto" lands on numpy only when Numba cannot be used: say so once per process."""
    info = _probe("numba")
    if not info.available and not _warned:
        _warned.append(True)
        warnings.warn(f"{info.reason}; training with the slower numpy backend", RuntimeWarning, stacklevel=4)


def backends() -> dict[str, BackendInfo]:
    """Every backend name mapped to a :class:`BackendInfo` (``.available``, ``.reason``)."""
    return {name: _probe(name) for name in NAMES}


def environment_backend() -> str | None:
    """The backend ``$FASTPERCEPTRON_BACKEND`` names, or None when it is unset, empty or "auto"."""
    env = os.environ.get(ENV_VAR, "").strip()
    return None if env.lower() in ("", "auto") else env


def _check_name(name, where: str) -> str:
    if not isinstance(name, str) or name.lower() not in NAMES + ("auto",):
        choices = ", ".join(repr(n) for n in ("auto",) + NAMES)
        raise ValueError(f"unknown backend {name!r}{where}; choose one of {choices}")
    return name.lower()


def resolve_name(name: str = "auto") -> str:
    """The concrete backend that ``name`` stands for here; raises if it cannot run."""
    name = _check_name(name, "")
    if name == "auto":
        env = environment_backend()
        if env is not None:
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
