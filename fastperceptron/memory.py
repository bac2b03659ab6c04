"""How much memory a batch needs, and the library's own message when there is not enough.

``make_problem`` checks a lower bound of the need against the machine's physical memory before it
allocates anything per model, so ``fp.train(X, y, models=10**13)`` says what it would need and what to do
instead of surfacing numpy's raw "Unable to allocate 72.8 TiB"; ``train`` gives the same message
when an allocation fails later (the estimate is rough: a batch that fits by it can still run out).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["estimate_bytes", "minimum_bytes", "physical_bytes", "check", "message"]


def estimate_bytes(n_models: int, n: int, d: int, k: int, itemsize: int, *, data_bytes: int, grouped: bool) -> int:
    """Bytes of one training run: the data, the per-model arrays (seeds, rates, weights and their
    copies) and one iteration's outputs, deltas and temporaries, (N, B·K) each unless grouped."""
    per_sample = (1 if grouped else n_models) * n * k * 6
    per_model = n_models * (d * k * 4 + 4)
    return int(data_bytes + itemsize * (per_sample + per_model))


def minimum_bytes(n_models: int, d: int, k: int, itemsize: int, *, data_bytes: int) -> int:
    """A lower bound on any backend's need: the data, each model's seed, its initial and final
    weights, and its loss, rate and iteration count. A batch above the machine's memory by this
    bound cannot run at all; below it, the layout decides (a fused kernel never holds (N, B·K))."""
    return int(data_bytes + n_models * (8 + itemsize * (2 * d * k + 4)))


def physical_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where the OS does not say (Windows)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def size_text(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}" if unit != "bytes" else f"{int(nbytes)} bytes"
        nbytes /= 1024
    return f"{nbytes:.1f} EiB"  # pragma: no cover - the loop returns


def message(n_models: int, needed: int, where: str = "", host: bool = True, bound: str = "about") -> str:
    """The out-of-memory message: what was asked, how much it needs (``bound`` "about" or "at
    least"; and, for host memory, how much the machine has), and the fixes."""
    total = physical_bytes() if host else None
    has = "" if total is None else f", this machine has {size_text(total)}"
    return (f"not enough memory to train {n_models:,} models at once{where} ({bound} {size_text(needed)} needed{has}); "
            "train fewer models per call (several calls with seeds=range(a, b) give the same models), "
            "or use dtype='float32'")


def check(n_models: int, d: int, k: int, dtype, *, data_bytes: int) -> None:
    """Raise MemoryError with :func:`message` when the batch cannot fit in physical memory by
    :func:`minimum_bytes`, before anything per model is allocated."""
    total = physical_bytes()
    needed = minimum_bytes(n_models, d, k, np.dtype(dtype).itemsize, data_bytes=data_bytes)
    if total is not None and needed > total:
        raise MemoryError(message(n_models, needed, bound="at least"))
