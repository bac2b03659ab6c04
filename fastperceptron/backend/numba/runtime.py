"""What every Numba layout needs around its kernels: Numba imported (a failure is a
KernelCompileError, so "auto" falls back to numpy), the threads a run may use, and kernel calls on
that many threads with compile failures reported the same way."""

from __future__ import annotations

import contextlib
import os

from ...errors import KernelCompileError

__all__ = ["prepare", "call_with_threads", "compile_errors"]


def prepare(threads: int | None) -> int:
    """Import Numba (or raise KernelCompileError saying why it cannot be) and return the threads a run
    uses: ``threads``, else all that Numba may use (NUMBA_NUM_THREADS)."""
    # Numba's OpenMP threads spin after a parallel region and take the cores from whatever runs next
    # on other threads (OpenBLAS in numpy's products: measured 1.5x slower when the gemm layout
    # alternated the two pools). libgomp reads this once, when Numba first starts its threads; a
    # user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import numba

        from ...kernels.numba import lanes  # noqa: F401 - the kernels import (and a broken llvmlite fails) here
    except Exception as exc:  # ImportError, or a broken llvmlite
        raise KernelCompileError(f"Numba cannot be imported: {exc}") from exc
    available = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return available
    if not 1 <= threads <= available:
        raise ValueError(
            f"threads must be between 1 and {available} (NUMBA_NUM_THREADS), got {threads}; "
            "set NUMBA_NUM_THREADS before starting Python to allow more"
        )
    return threads


@contextlib.contextmanager
def compile_errors():
    """A Numba compile failure inside the block becomes a KernelCompileError (the backend falls back)."""
    import numba

    try:
        yield
    except (numba.core.errors.NumbaError, numba.core.errors.LoweringError) as exc:  # pragma: no cover
        raise KernelCompileError(f"the Numba kernel failed to compile: {exc}".splitlines()[0]) from exc


def call_with_threads(threads: int, fn, *args) -> None:
    """Call the kernel ``fn`` on ``threads`` Numba threads; a compile failure is a KernelCompileError."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with compile_errors():
            fn(*args)
    finally:
        numba.set_num_threads(previous)
