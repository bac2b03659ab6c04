"""Facts about the machine, read in one place: the CPU's name, its widest vector instructions, the
threads a run uses, and numpy's BLAS (with the fix where it leaves AVX-512 unused)."""

from __future__ import annotations

import functools
import os
import platform

import numpy as np

__all__ = ["cpu_threads", "usable_cpus", "cpu_isa", "vector_isa", "blas", "describe"]


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_threads(threads: int | None = None) -> int:
    """The CPU threads a run uses: ``threads``, else what Numba would use (NUMBA_NUM_THREADS), else
    the CPUs this process may run on."""
    if threads:
        return int(threads)
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return usable_cpus()


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` line of /proc/cpuinfo, or None where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def cpu_isa() -> str:
    """The widest x86 vector instructions this CPU has: "AVX-512", "AVX2", "AVX", "SSE4.2", else the
    machine's name (from /proc/cpuinfo; read once)."""
    flags = set((_cpuinfo("flags") or "").split())
    return next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))
                 if flag in flags), platform.machine())


def vector_isa() -> str:
    """:func:`cpu_isa`, and with NUMBA_CPU_NAME set, the CPU Numba compiles for instead."""
    target = os.environ.get("NUMBA_CPU_NAME")
    return f"{cpu_isa()} (Numba compiles for {target})" if target else cpu_isa()


def blas() -> tuple[str, str | None]:
    """numpy's BLAS as threadpoolctl reports it ("OpenBLAS 0.3.31, Haswell kernels"), and a hint when
    it leaves vector width unused: OpenBLAS up to at least 0.3.31 does not recognise AMD Zen 5 and
    runs its AVX2 (Haswell) kernels there; its AVX-512 ones, chosen with OPENBLAS_CORETYPE before
    Python starts, made matrix products 1.6x faster on a Zen 5 (bench/RESULTS.md, 2026-12-02)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency
        return "unknown (threadpoolctl is not installed)", None
    info = next((i for i in threadpool_info() if i.get("user_api") == "blas"), None)
    if info is None:
        return "none found", None
    name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(info.get("internal_api"), info.get("internal_api"))
    arch = info.get("architecture")
    text = f"{name} {info.get('version')}" + (f", {arch} kernels" if arch else "")
    hint = None
    if name == "OpenBLAS" and arch in ("Haswell", "Zen", "Sandybridge") and cpu_isa() == "AVX-512":
        hint = (f"this CPU has AVX-512 but OpenBLAS runs its {arch} (AVX2) kernels: "
                "export OPENBLAS_CORETYPE=SkylakeX before starting Python for its AVX-512 ones "
                "(1.6x faster matrix products on an AMD Zen 5)")
    return text, hint


def describe() -> str:
    """A one-line description of the machine: CPU, vector ISA, threads, Python, numpy and its BLAS."""
    name = _cpuinfo("model name") or platform.processor() or platform.machine()
    return (f"{name}, {vector_isa()}, {usable_cpus()} threads, Python {platform.python_version()}, "
            f"numpy {np.__version__} ({blas()[0]})")
