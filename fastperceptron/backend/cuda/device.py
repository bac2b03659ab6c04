"""The GPUs and CuPy, read in one place: the import (never before a GPU backend is asked for), the
devices to use, and the compilation of the CUDA sources of ``kernels/cuda/`` through
``cupy.RawModule``, compiled lazily, once per variant (CuPy also keeps them in its on-disk cache)."""

from __future__ import annotations

import os
from functools import cache

__all__ = ["INSTALL", "THREADS_PER_BLOCK", "MAX_DK", "cupy", "devices", "compile_kernels"]

INSTALL = "pip install 'fastperceptron[gpu]' (CuPy for CUDA 12; for CUDA 13: pip install cupy-cuda13x)"
THREADS_PER_BLOCK = 256
MAX_DK = 256  # the largest model (D*K weights) the cuda kernels keep in registers and local memory
# float64 models spill to local memory from D*K = 48 (ptxas, sm_90): choose MAX_DK from the rates by D*K
# of `python bench/gpu_checks.py registers` on a GPU (bench/RESULTS.md, issue 36), not yet measured.


def cupy():
    """The cupy module (imported here, on first use)."""
    import cupy as module

    return module


def devices() -> list[int]:
    """The GPUs to use: ``FASTPERCEPTRON_DEVICES`` (e.g. "0,2") or every visible one."""
    env = os.environ.get("FASTPERCEPTRON_DEVICES", "").strip()
    if env:
        return [int(d) for d in env.split(",") if d.strip()]
    return list(range(cupy().cuda.runtime.getDeviceCount()))


@cache
def compile_kernels(name: str, expressions: tuple[str, ...]):
    """The functions ``expressions`` (template instantiations) of ``kernels/cuda/<name>``, compiled by
    NVRTC. Compile errors point at the file's lines; a failure is a KernelCompileError."""
    from ...errors import KernelCompileError
    from ...kernels import cuda_source

    code = f"#define FP_THREADS {THREADS_PER_BLOCK}\n" + cuda_source(name)
    try:
        module = cupy().RawModule(code=code, options=("-std=c++14",), name_expressions=expressions)
        return tuple(module.get_function(e) for e in expressions)
    except Exception as exc:  # CuPy's CompileException, or a driver error loading the module
        raise KernelCompileError(f"kernels/cuda/{name} does not compile as {expressions[0]}: {exc}") from exc
